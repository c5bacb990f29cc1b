// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"golang.org/x/sys/unix"

	"bytes"
	"errors"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// FSTP: vde_switch's fast spanning tree, one instance per VLAN. Its state lives here, guarded by
// Switch.mu; the forwarding path only sees its result in the forwarding table (which member ports
// are blocked) and hands received BPDUs to fstpInput. State changes build a list of actions (BPDUs
// to send, VLANs whose MAC entries to flush) under the lock; they are carried out after it is
// released, so that no I/O happens under Switch.mu.
//
// The protocol is the reference's (fstp.c of vde-2): every switch starts as the root of every VLAN
// and says so in a BPDU on each member port when the port becomes active and every helloPeriod. A
// switch adopts better root information (root ID, then root path cost plus the receiving port's
// cost minus the VLAN's bonus, then the sender's bridge ID and port ID: lower is better) received on
// a port, makes that port its root port and at once blocks every other port that speaks FSTP
// (Alternate/Backup, Discarding), telling the neighbours so ("fast" agreement); a neighbour told so
// by a BPDU whose port is the sender's root port unblocks its end. One deliberate difference, for
// redundant links that are nobody's root port: the reference blocks both ends of such a link; here
// the end whose (root cost, bridge ID, port ID) is the better one stays designated and forwarding,
// as in 802.1w, so exactly one end is blocked. A peer running the reference blocks its end anyway,
// so mixed loops still break.
//
// Topology changes (TC) differ from the reference in three ways, to stop TCs circulating in loops
// that mix this switch with the reference. The reference passes a TC received on any port, blocked
// ones included, to every other port it does not block, and it blocks its end of a redundant link
// without telling the peer until its next hello; a TC BPDU carries nothing to recognise it by. So
// for up to a hello period a TC can go round a loop again and again (thousands of BPDUs a second,
// each flushing every switch's MAC entries). Here (fstpTCInLocked): a TC received on any port
// flushes the VLAN's MAC entries; one received on a blocked port is not passed on (the change
// comes along the tree); and after this switch sent TCs, received TCs are passed on at most once
// per tcHold, at the end of it. No TC is dropped, only delayed, so every switch still flushes after
// every change; a TC that circulates through reference switches comes round at most once per
// tcHold, until the reference's hello breaks the circle.

// DefaultPortCost is the FSTP cost of every port (vde_switch's 20000000 for any port speed).
const DefaultPortCost = 20000000

// Protocol timers, in seconds, as vde_switch r586 uses them.
const (
	helloPeriod = 4
	maxAge      = 10 * helloPeriod
	// rootTimeout: the root port's information expires after this long without a BPDU repeating it.
	rootTimeout = 3 * helloPeriod
)

// tcHold: received TCs of a VLAN are passed on at most once in this long (see fstpTCInLocked). It
// is far longer than a TC takes round a loop of switches, and short against the delay a flush may
// bear.
const tcHold = time.Second

// numVLANTables is the number of VLAN ids vde_switch keeps FSTP tables for (NUMOFVLAN, 0…4094).
const numVLANTables = 4095

// ErrHub is returned by SetFSTP in hub mode, where FSTP cannot run.
var ErrHub = errors.New("can't use fstp in hub mode")

// An FSTPRole is a port's spanning-tree role in a VLAN.
type FSTPRole uint8

// Port roles, as fstp/print names them.
const (
	RoleUnknown FSTPRole = iota
	RoleRoot
	RoleDesignated
	RoleAlternate // Alternate/Backup: a blocked port
	RoleEdge
)

// FSTPInfo is the spanning-tree state of one VLAN, as fstp/print shows it.
type FSTPInfo struct {
	VLAN    int
	Enabled bool // FSTP is on (the instance runs only then)
	IsRoot  bool // this switch is the root of the VLAN
	// Root is the root bridge (priority and MAC); RootPriority and RootMAC are its two parts.
	Root         BridgeID
	RootPriority uint16
	RootMAC      frame.MAC
	// Designated is the bridge the root information came from (ff…ff on the root).
	Designated BridgeID
	RootPort   int // 0: this switch is the root
	RootCost   int
	Age        time.Duration // since the root information was last confirmed (the uptime on the root)
	// BonusPort and BonusCost are set by SetFSTPBonus (0 0 by default).
	BonusPort, BonusCost int
	Ports                []FSTPPort // active member ports: untagged first, then tagged, each ascending
}

// FSTPPort is one active member port of a VLAN's spanning tree.
type FSTPPort struct {
	Port   int
	Tagged bool
	Cost   int
	Role   FSTPRole
	State  uint8 // StateDiscarding or StateForwarding
}

// FSTPStats counts BPDUs.
type FSTPStats struct {
	In, Out, Bad uint64 // received and consumed; sent; received and dropped as malformed
}

// fstpPort is the FSTP state of an active member port of a VLAN.
type fstpPort struct {
	tagged bool
	backup bool // blocked: Alternate/Backup
	edge   bool // edge port: no BPDUs, always forwarding
	// peerBackup: the last BPDU received says the other end is blocked. No topology change is
	// sent to it: a blocked port that passed it on would send it round the loop.
	peerBackup bool
	rcv        [2]bool // a BPDU was received in the current/previous receive period
	state      uint8
}

// speaks reports whether a BPDU came in on the port lately (the reference's FSTP_ACTIVE).
func (p *fstpPort) speaks() bool { return p.rcv[0] || p.rcv[1] }

// fstpVLAN is the spanning-tree instance of one VLAN.
type fstpVLAN struct {
	root      BridgeID
	cost      uint32
	dessw     BridgeID // designated bridge of the root port (ff…ff on the root)
	desPort   [2]byte  // its port id
	rootPort  int
	rootStamp int64 // switch seconds when the root information was last confirmed
	bonusPort int
	bonusCost int
	ports     map[int]*fstpPort // active members
	// The hold on passing on TCs (fstpTCInLocked): until tcUntil (Switch.now), received TCs
	// are not passed on at once; tcPending: one is owed, and tcTimer passes it on at the end of
	// the hold, on every port but tcFrom (-1: TCs came in on several ports).
	tcUntil   int64
	tcPending bool
	tcFrom    int
	tcTimer   *time.Timer
}

// fstpState is the switch's spanning tree, guarded by Switch.mu.
type fstpState struct {
	on     bool
	id     BridgeID
	vlans  map[int]*fstpVLAN // one per existing VLAN
	rcvIdx int
	hellos int
	stop   chan struct{} // closed to stop the running helloLoop

	in, out, bad atomic.Uint64
}

// fstpActs collects what a state change asks for, to be done once Switch.mu is released.
type fstpActs struct {
	sends   []bpduSend
	flush   []int // VLANs whose MAC entries to delete, in order
	publish bool  // a port state changed: rebuild the forwarding table
}

type bpduSend struct {
	p *port
	b []byte
}

// fstpSecs is the switch clock in whole seconds, as the reference's qtime.
func (s *Switch) fstpSecs() int64 { return s.now() / int64(time.Second) }

// fstpNewVLANLocked (re)initialises vlan's instance: this switch is the root and every blocked port
// forwards again. The bonus is kept.
func (s *Switch) fstpNewVLANLocked(vlan int, a *fstpActs) {
	vl := s.fstp.vlans[vlan]
	if vl == nil {
		vl = &fstpVLAN{ports: map[int]*fstpPort{}}
		s.fstp.vlans[vlan] = vl
	}
	vl.root = s.fstp.id
	vl.cost = 0
	vl.dessw = BridgeID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	vl.desPort = [2]byte{}
	vl.rootPort = 0
	vl.rootStamp = 0
	s.emitFSTP(EventFSTPRoot, 0, vlan, 0, vl.root)
	for _, n := range sortedPorts(vl.ports) {
		if pp := vl.ports[n]; pp.backup {
			pp.backup = false
			s.fstpSetStateLocked(vlan, n, pp, StateForwarding, a)
		}
	}
}

func (s *Switch) fstpSetStateLocked(vlan, n int, pp *fstpPort, st uint8, a *fstpActs) {
	s.emitFSTP(EventFSTPStatus, n, vlan, st, BridgeID{})
	pp.state = st
	a.publish = true
}

// fstpStateLocked returns the state of member port n of vlan (forwarding unless FSTP blocked it).
func (s *Switch) fstpStateLocked(vlan, n int) uint8 {
	if vl := s.fstp.vlans[vlan]; vl != nil {
		if pp := vl.ports[n]; pp != nil {
			return pp.state
		}
	}
	return StateForwarding
}

// fstpFlags returns the flags byte of a BPDU for member port n of vl.
func fstpFlags(vl *fstpVLAN, n int, pp *fstpPort, agr, tc, tcack bool) uint8 {
	f := pp.state << FlagStateShift
	if tc {
		f |= FlagTC
	}
	if pp.backup {
		f |= FlagBackup
	} else {
		f |= FlagNotBackup
	}
	if vl.rootPort != n {
		f |= FlagNotRoot
	}
	if agr {
		f |= FlagAgreement
	}
	if tcack {
		f |= FlagTCAck
	}
	return f
}

// fstpSendLocked queues a BPDU for member port n of vlan (nothing while FSTP is off).
func (s *Switch) fstpSendLocked(vlan, n int, agr, tc, tcack bool, a *fstpActs) {
	vl := s.fstp.vlans[vlan]
	pp := vl.ports[n]
	p := s.ports[n]
	if !s.fstp.on || pp == nil || p == nil {
		return
	}
	age := int64(0)
	if vl.rootPort != 0 {
		age = s.fstpSecs() - vl.rootStamp
	}
	age = min(max(age, 0), 0xffff)
	b := BPDU{Flags: fstpFlags(vl, n, pp, agr, tc, tcack), Root: vl.root, Cost: vl.cost, Bridge: s.fstp.id,
		Port: MakePortID(n), Age: uint16(age), MaxAge: maxAge, Hello: helloPeriod}
	a.sends = append(a.sends, bpduSend{p, AppendBPDU(make([]byte, 0, TaggedBPDULen), s.mac, vlan, pp.tagged, &b)})
}

// fstpMembers returns the active members of vl in the reference's order: untagged ports, then
// tagged ones, each ascending.
func fstpMembers(vl *fstpVLAN) []int {
	ns := sortedPorts(vl.ports)
	out := make([]int, 0, len(ns))
	for _, tagged := range []bool{false, true} {
		for _, n := range ns {
			if vl.ports[n].tagged == tagged {
				out = append(out, n)
			}
		}
	}
	return out
}

// fstpTopologyChangeLocked flushes vlan's MAC entries (also with FSTP off, as the reference) and
// sends a TC BPDU on every FSTP-speaking, forwarding, non-edge port but from (-1: none) whose peer
// is not known to block its end. It starts the hold on passing on received TCs.
func (s *Switch) fstpTopologyChangeLocked(vlan, from int, a *fstpActs) {
	a.flush = append(a.flush, vlan)
	vl := s.fstp.vlans[vlan]
	vl.tcUntil = s.now() + int64(tcHold)
	for _, n := range fstpMembers(vl) {
		if pp := vl.ports[n]; n != from && !pp.backup && !pp.edge && pp.speaks() && !pp.peerBackup {
			s.fstpSendLocked(vlan, n, false, true, false, a)
		}
	}
}

// fstpFastLocked makes n the root port of vlan: every other FSTP-speaking port is blocked (and
// told so), then n forwards and agrees.
func (s *Switch) fstpFastLocked(vlan, n int, a *fstpActs) {
	vl := s.fstp.vlans[vlan]
	for _, m := range fstpMembers(vl) {
		if pp := vl.ports[m]; m != n && !pp.backup && !pp.edge && pp.speaks() {
			s.fstpSetStateLocked(vlan, m, pp, StateDiscarding, a)
			pp.backup = true
			s.fstpSendLocked(vlan, m, false, false, false, a)
		}
	}
	pp := vl.ports[n]
	pp.backup = false
	s.fstpSetStateLocked(vlan, n, pp, StateForwarding, a)
	s.fstpSendLocked(vlan, n, true, false, false, a)
}

// fstpAddPortLocked: active port n joined vlan (tagged or not), or became active in it.
func (s *Switch) fstpAddPortLocked(vlan, n int, tagged bool, a *fstpActs) {
	vl := s.fstp.vlans[vlan]
	if vl == nil {
		return
	}
	vl.ports[n] = &fstpPort{tagged: tagged, state: StateForwarding}
	a.publish = true
	s.fstpSendLocked(vlan, n, false, false, false, a)
	s.fstpTopologyChangeLocked(vlan, n, a)
}

// fstpDelPortLocked: port n left vlan, or became inactive.
func (s *Switch) fstpDelPortLocked(vlan, n int, a *fstpActs) {
	vl := s.fstp.vlans[vlan]
	if vl == nil {
		return
	}
	if pp := vl.ports[n]; pp != nil && pp.speaks() {
		s.emitFSTP(EventFSTPPortDown, n, vlan, 0, BridgeID{})
	}
	delete(vl.ports, n)
	a.publish = true
	if n == vl.rootPort {
		// The path to the root is gone: this switch is the root until it hears better, and says
		// so at once on every port that speaks FSTP, blocked peers included (a peer that knows a
		// path to the old root answers, and its port becomes this switch's root port).
		s.fstpNewVLANLocked(vlan, a)
		for _, m := range fstpMembers(vl) {
			if pp := vl.ports[m]; !pp.edge && pp.speaks() {
				s.fstpSendLocked(vlan, m, false, false, false, a)
			}
		}
	}
	s.fstpTopologyChangeLocked(vlan, n, a)
}

// fstpDo carries out a, with Switch.mu released (the table was published under it).
func (s *Switch) fstpDo(a *fstpActs) {
	for _, x := range a.sends {
		s.sendFrame(x.p, x.b)
	}
	s.fstp.out.Add(uint64(len(a.sends)))
	s.topologyChange(a.flush...)
}

// finishLocked publishes the forwarding table if a asks for it, releases Switch.mu and carries out a.
func (s *Switch) fstpFinishLocked(a *fstpActs) {
	if a.publish {
		s.publishLocked()
	}
	s.mu.Unlock()
	s.fstpDo(a)
}

// sendFrame writes a frame generated by the switch to every endpoint of p, as the forwarding
// path would (counted, dropped when an endpoint cannot take it).
func (s *Switch) sendFrame(p *port, b []byte) {
	eps := *p.epsSnap.Load()
	if len(eps) == 0 {
		return
	}
	p.out.pkts.Add(1)
	p.out.bytes.Add(uint64(len(b)))
	for _, e := range eps {
		switch {
		case e.out != nil:
			e.enqueue(b, asIs, nil)
		case e.rfd != nil:
			// A socket of the plane: never wait for it (this may run on the plane's thread).
			var werr error
			if err := e.rfd.Control(func(fd int) { _, werr = unix.Write(fd, b) }); err != nil || werr != nil {
				p.out.drops.Add(1)
			}
		case e.ep.WriteFrame(b) != nil:
			p.out.drops.Add(1)
		}
	}
}

// fstpInput handles a frame addressed to the BPDU address, received on port n in vlan while FSTP
// is on: it is consumed (never forwarded); a malformed one is counted and otherwise ignored, as by
// the reference (which still counts it as a sign of life of the port).
func (s *Switch) fstpInput(n int, f []byte, vlan int) {
	b, perr := ParseBPDU(f)
	if perr != nil {
		s.fstp.bad.Add(1)
	} else {
		s.fstp.in.Add(1)
	}
	var a fstpActs
	s.mu.Lock()
	vl := s.fstp.vlans[vlan]
	var pp *fstpPort
	if vl != nil {
		pp = vl.ports[n]
	}
	if !s.fstp.on || pp == nil || pp.edge {
		s.mu.Unlock()
		return
	}
	if !pp.speaks() {
		s.emitFSTP(EventFSTPPortUp, n, vlan, 0, BridgeID{})
	}
	pp.rcv[s.fstp.rcvIdx] = true
	if perr == nil {
		s.fstpReceiveLocked(vlan, n, vl, pp, &b, &a)
	}
	s.fstpFinishLocked(&a)
}

// fstpTCInLocked handles a TC received on member port n of vlan: the VLAN's MAC entries are
// flushed at once, whatever the port. A TC from a blocked port goes no further (its peer sends it
// on along the tree, by which it reaches this switch too). Any other is passed on to the other
// ports at once, unless this switch sent TCs less than tcHold ago: then it is passed on at the end
// of the hold, once for all the TCs received meanwhile. A TC carries nothing to tell it from the
// last one, and reference switches pass TCs on from any port, blocked ones included: without the
// hold a TC would go round a loop that only one end of a link blocks (or whose other end has not
// said so yet) until that end's next hello.
func (s *Switch) fstpTCInLocked(vlan, n int, vl *fstpVLAN, pp *fstpPort, a *fstpActs) {
	if pp.backup {
		a.flush = append(a.flush, vlan)
		return
	}
	now := s.now()
	if !vl.tcPending && now >= vl.tcUntil {
		s.fstpTopologyChangeLocked(vlan, n, a)
		return
	}
	a.flush = append(a.flush, vlan)
	if vl.tcPending {
		if vl.tcFrom != n {
			vl.tcFrom = -1
		}
		return
	}
	vl.tcPending, vl.tcFrom = true, n
	d := time.Duration(max(vl.tcUntil-now, 0))
	if vl.tcTimer == nil {
		vl.tcTimer = time.AfterFunc(d, func() { s.fstpTCRelay(vlan, vl) })
	} else {
		vl.tcTimer.Reset(d)
	}
}

// fstpTCRelay passes on the TCs vl (the instance of vlan) received during the hold.
func (s *Switch) fstpTCRelay(vlan int, vl *fstpVLAN) {
	var a fstpActs
	s.mu.Lock()
	if s.closed || !s.fstp.on || s.fstp.vlans[vlan] != vl || !vl.tcPending {
		s.mu.Unlock()
		return
	}
	vl.tcPending = false
	s.fstpTopologyChangeLocked(vlan, vl.tcFrom, &a)
	s.fstpFinishLocked(&a)
}

// fstpStopTCLocked drops the TC vl owes and stops its timer (FSTP off, the switch closing).
func fstpStopTCLocked(vl *fstpVLAN) {
	vl.tcPending = false
	vl.tcUntil = 0
	if vl.tcTimer != nil {
		vl.tcTimer.Stop()
	}
}

// fstpReceiveLocked is the heart of the protocol: b came in on member port n of vlan.
func (s *Switch) fstpReceiveLocked(vlan, n int, vl *fstpVLAN, pp *fstpPort, b *BPDU, a *fstpActs) {
	pp.peerBackup = b.Flags&FlagBackup != 0
	if b.Flags&FlagTC != 0 {
		s.fstpTCInLocked(vlan, n, vl, pp, a)
	}
	senderCost := b.Cost
	cost := DefaultPortCost
	if n == vl.bonusPort {
		cost -= vl.bonusCost
	}
	b.Cost += uint32(cost) // the path cost through this port (32-bit arithmetic, as the reference)
	var cb, ob [4]byte
	putBE32(cb[:], vl.cost)
	putBE32(ob[:], b.Cost)
	// > 0: the BPDU is better than what this switch holds; < 0: worse.
	valRoot := bytes.Compare(vl.root[:], b.Root[:])
	val := valRoot
	if val == 0 {
		if val = bytes.Compare(cb[:], ob[:]); val == 0 {
			if val = bytes.Compare(vl.dessw[:], b.Bridge[:]); val == 0 {
				val = bytes.Compare(vl.desPort[:], b.Port[:])
			}
		}
	}
	now := s.fstpSecs()
	switch {
	case val == 0: // the root information is confirmed
		vl.rootStamp = now
	case val > 0 || n == vl.rootPort: // better information, or the root port's got worse
		vl.root, vl.cost, vl.dessw, vl.desPort = b.Root, b.Cost, b.Bridge, b.Port
		vl.rootPort = n
		vl.rootStamp = now
		s.emitFSTP(EventFSTPRoot, n, vlan, 0, vl.root)
		s.fstpFastLocked(vlan, n, a)
		s.fstpTopologyChangeLocked(vlan, n, a)
	case valRoot == 0: // same root, a longer path: decide who blocks this link
		var block bool
		if b.Flags&flagsRoleMask == flagsRoot {
			block = false // the link is the sender's path to the root: it must forward
		} else {
			// Neither end's root port: the better designated vector forwards, the other end blocks.
			var mine, theirs [14]byte
			putBE32(mine[:4], vl.cost)
			copy(mine[4:12], s.fstp.id[:])
			pid := MakePortID(n)
			copy(mine[12:], pid[:])
			putBE32(theirs[:4], senderCost)
			copy(theirs[4:12], b.Bridge[:])
			copy(theirs[12:], b.Port[:])
			block = bytes.Compare(mine[:], theirs[:]) > 0
		}
		if block != pp.backup {
			pp.backup = block
			st := StateForwarding
			if block {
				st = StateDiscarding
			}
			s.fstpSetStateLocked(vlan, n, pp, st, a)
			s.fstpTopologyChangeLocked(vlan, n, a)
		}
	default: // the sender believes in a worse root: tell it about ours
		s.fstpSendLocked(vlan, n, false, false, false, a)
	}
}

func putBE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// helloLoop sends the periodic BPDUs until stop is closed or the switch closes.
func (s *Switch) helloLoop(stop chan struct{}) {
	t := time.NewTicker(helloPeriod * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-stop:
			return
		case <-t.C:
			s.fstpHello()
		}
	}
}

// fstpHello: the root port's information expires, every member port hears from this switch, and
// every fourth hello the receive history turns over (a blocked port that heard nothing for a whole
// period forwards again: its peer no longer speaks FSTP).
func (s *Switch) fstpHello() {
	var a fstpActs
	s.mu.Lock()
	if !s.fstp.on {
		s.mu.Unlock()
		return
	}
	now := s.fstpSecs()
	ids := s.vlanIDsLocked()
	for _, v := range ids {
		vl := s.fstp.vlans[v]
		if vl.rootPort != 0 && now-vl.rootStamp > rootTimeout {
			s.fstpNewVLANLocked(v, &a)
		}
		for _, n := range fstpMembers(vl) {
			if !vl.ports[n].edge {
				s.fstpSendLocked(v, n, true, false, false, &a)
			}
		}
	}
	s.fstp.hellos++
	if s.fstp.hellos&3 == 0 {
		idx := 1 - s.fstp.rcvIdx
		s.fstp.rcvIdx = idx
		for _, v := range ids {
			vl := s.fstp.vlans[v]
			for _, n := range fstpMembers(vl) {
				pp := vl.ports[n]
				if pp.backup && !pp.speaks() {
					pp.backup = false
					s.fstpSetStateLocked(v, n, pp, StateForwarding, &a)
				}
				if pp.rcv[idx] && !pp.rcv[1-idx] {
					s.emitFSTP(EventFSTPPortDown, n, v, 0, BridgeID{})
				}
				pp.rcv[idx] = false
			}
		}
	}
	s.fstpFinishLocked(&a)
}

// SetFSTP turns the spanning tree on or off (fstp/setfstp): ErrHub in hub mode. Turning it off
// makes this switch the root of every VLAN again and unblocks every port.
func (s *Switch) SetFSTP(on bool) error {
	var a fstpActs
	s.mu.Lock()
	if s.hub {
		s.mu.Unlock()
		return ErrHub
	}
	s.fstpSetLocked(on, &a)
	s.fstpFinishLocked(&a)
	return nil
}

func (s *Switch) fstpSetLocked(on bool, a *fstpActs) {
	if on == s.fstp.on || s.closed {
		return
	}
	s.fstp.on = on
	a.publish = true
	if on {
		stop := make(chan struct{})
		s.fstp.stop = stop
		s.wg.Go(func() { s.helloLoop(stop) })
		return
	}
	close(s.fstp.stop)
	s.fstp.stop = nil
	for _, v := range s.vlanIDsLocked() {
		fstpStopTCLocked(s.fstp.vlans[v])
		s.fstpNewVLANLocked(v, a)
	}
}

// FSTPEnabled reports whether the spanning tree is on.
func (s *Switch) FSTPEnabled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fstp.on
}

// FSTPStats returns the BPDU counters.
func (s *Switch) FSTPStats() FSTPStats {
	return FSTPStats{In: s.fstp.in.Load(), Out: s.fstp.out.Load(), Bad: s.fstp.bad.Load()}
}

// fstpPortLocked checks a (VLAN, port) pair of an FSTP setting as the reference does: EINVAL for
// a VLAN outside 0…4094 or a port out of range, ENXIO for a VLAN that does not exist. The port need
// not be allocated.
func (s *Switch) fstpPortLocked(vlan, port int) error {
	if vlan < 0 || vlan >= numVLANTables || port < 0 || port >= s.numPorts {
		return syscall.EINVAL
	}
	if !s.vlans[vlan] {
		return syscall.ENXIO
	}
	return nil
}

// SetFSTPEdge sets or clears the edge flag of port in vlan (fstp/setedge): EINVAL out of range,
// ENXIO if the VLAN does not exist. An edge port forwards at once and never sends or receives
// BPDUs. The flag lives as long as the port is an active member of the VLAN: like the reference,
// which clears it whenever the port joins the VLAN or becomes active, a flag set on a port that is
// not an active member is not kept.
func (s *Switch) SetFSTPEdge(vlan, port int, on bool) error {
	var a fstpActs
	s.mu.Lock()
	if err := s.fstpPortLocked(vlan, port); err != nil {
		s.mu.Unlock()
		return err
	}
	if pp := s.fstp.vlans[vlan].ports[port]; pp != nil {
		pp.edge = on
		if on || pp.backup {
			pp.backup = false
			s.fstpSetStateLocked(vlan, port, pp, StateForwarding, &a)
		}
	}
	s.fstpFinishLocked(&a)
	return nil
}

// SetFSTPBonus sets the bonus port and cost of vlan (fstp/bonus): the cost is subtracted from the
// path cost of root information received on that port. EINVAL out of range, ENXIO if the VLAN does
// not exist.
func (s *Switch) SetFSTPBonus(vlan, port, cost int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fstpPortLocked(vlan, port); err != nil {
		return err
	}
	vl := s.fstp.vlans[vlan]
	vl.bonusPort, vl.bonusCost = port, cost
	return nil
}

// FSTP returns the spanning-tree state of vlan: EINVAL unless 0 <= vlan <= MaxVLAN, ENXIO if it
// does not exist.
func (s *Switch) FSTP(vlan int) (FSTPInfo, error) {
	if vlan < 0 || vlan > MaxVLAN {
		return FSTPInfo{}, syscall.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.vlans[vlan] {
		return FSTPInfo{}, syscall.ENXIO
	}
	return s.fstpInfoLocked(vlan), nil
}

// FSTPAll returns the spanning-tree state of every VLAN, in ascending order.
func (s *Switch) FSTPAll() []FSTPInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []FSTPInfo
	for _, v := range s.vlanIDsLocked() {
		out = append(out, s.fstpInfoLocked(v))
	}
	return out
}

func (s *Switch) fstpInfoLocked(vlan int) FSTPInfo {
	vl := s.fstp.vlans[vlan]
	fi := FSTPInfo{VLAN: vlan, Enabled: s.fstp.on, IsRoot: vl.root == s.fstp.id, Root: vl.root,
		RootPriority: uint16(vl.root[0])<<8 | uint16(vl.root[1]), RootMAC: frame.MAC(vl.root[2:]),
		Designated: vl.dessw, RootPort: vl.rootPort, RootCost: int(vl.cost),
		Age:       time.Duration(s.fstpSecs()-vl.rootStamp) * time.Second,
		BonusPort: vl.bonusPort, BonusCost: vl.bonusCost}
	for _, n := range fstpMembers(vl) {
		pp := vl.ports[n]
		role := RoleDesignated
		switch {
		case pp.edge:
			role = RoleEdge
		case n == vl.rootPort:
			role = RoleRoot
		case pp.backup:
			role = RoleAlternate
		}
		fi.Ports = append(fi.Ports, FSTPPort{Port: n, Tagged: pp.tagged, Cost: DefaultPortCost, Role: role, State: pp.state})
	}
	return fi
}

// emitFSTP emits an FSTP event (st for EventFSTPStatus, root for EventFSTPRoot).
func (s *Switch) emitFSTP(kind EventKind, port, vlan int, st uint8, root BridgeID) {
	if s.subscribed() {
		s.emit(Event{Kind: kind, Port: port, VLAN: vlan, State: st, Root: root})
	}
}

// sortedPorts returns the keys of m in ascending order.
func sortedPorts(m map[int]*fstpPort) []int {
	ns := make([]int, 0, len(m))
	for n := range m {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}
