// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"slices"
	"sync/atomic"
	"syscall"
)

// Counters are a port's traffic counters in one direction.
type Counters struct {
	Pkts, Bytes, Drops uint64
}

type counters struct {
	pkts, bytes, drops atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{Pkts: c.pkts.Load(), Bytes: c.bytes.Load(), Drops: c.drops.Load()}
}

func (c *counters) reset() {
	c.pkts.Store(0)
	c.bytes.Store(0)
	c.drops.Store(0)
}

// EndpointInfo describes one endpoint of a port.
type EndpointInfo struct {
	// ID identifies the endpoint within the switch: the ctl descriptor number for VDE clients.
	ID int
	// Module is "unix prog" for VDE clients and "tuntap" for TAP devices.
	Module string
	// Descr is the client's description ("" if it sent none).
	Descr string
}

// PortInfo is a snapshot of a port, as port/print shows it.
type PortInfo struct {
	Num          int
	Active       bool
	NotInPool    bool
	UntaggedVLAN int
	// CurUser is the uid of the connected endpoints (-1 when inactive or unknown); User and Group
	// restrict access (-1 = NONE).
	CurUser, User, Group int
	In, Out              Counters
	// MACMoves counts the source MACs that moved to this port from another one (a loop shows as a
	// fast-growing count). port/print does not show it: its output is vde_switch's.
	MACMoves  uint64
	Endpoints []EndpointInfo // newest first
}

// A port is an allocated switch port. Its configuration is guarded by Switch.mu; the forwarding
// path reads only eps (atomically) and the counters.
type port struct {
	num       int
	notInPool bool
	user      int
	group     int
	curUser   int
	untagged  int
	tagged    map[int]bool

	eps     []*endpoint                 // newest first; guarded by Switch.mu
	epsSnap atomic.Pointer[[]*endpoint] // what forwarding reads

	in, out counters
	moves   moveCounter
}

func (p *port) active() bool { return len(p.eps) > 0 }

func (p *port) setEPsLocked(eps []*endpoint) {
	p.eps = eps
	snap := slices.Clone(eps)
	p.epsSnap.Store(&snap)
}

// allocLocked allocates port n (which must be free).
func (s *Switch) allocLocked(n int, notInPool bool) *port {
	p := &port{num: n, notInPool: notInPool, user: -1, group: -1, curUser: -1, untagged: 0, tagged: map[int]bool{}}
	p.setEPsLocked(nil)
	s.ports[n] = p
	s.publishLocked()
	s.emitPort(EventPortAdd, n, 0, "")
	return p
}

// NumPorts returns the internal port count including port 0.
func (s *Switch) NumPorts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.numPorts
}

// SetNumPorts changes the port count: EINVAL if n <= 0, EADDRINUSE if a port >= n is allocated.
func (s *Switch) SetNumPorts(n int) error {
	if n <= 0 || n > MaxPorts {
		return syscall.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := n; i < s.numPorts; i++ {
		if s.ports[i] != nil {
			return syscall.EADDRINUSE
		}
	}
	ports := make([]*port, n)
	copy(ports, s.ports)
	s.ports = ports
	s.numPorts = n
	s.publishLocked()
	return nil
}

// Hub reports whether the switch works as a hub.
func (s *Switch) Hub() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hub
}

// SetHub switches hub mode on or off. A hub does not run FSTP: turning hub mode on turns it off.
func (s *Switch) SetHub(on bool) {
	var a fstpActs
	s.mu.Lock()
	if on {
		s.fstpSetLocked(false, &a)
	}
	s.hub = on
	s.publishLocked()
	s.mu.Unlock()
	s.fstpDo(&a)
}

// CreatePort allocates port n, inactive and not allocatable to unnamed requests:
// EINVAL if n is out of range, EEXIST if allocated.
func (s *Switch) CreatePort(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 || n >= s.numPorts {
		return syscall.EINVAL
	}
	if s.ports[n] != nil {
		return syscall.EEXIST
	}
	s.allocLocked(n, true)
	return nil
}

// CreatePortAuto allocates the lowest free port >= 1 as CreatePort does; ENOSPC if none is free.
func (s *Switch) CreatePortAuto() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; i < s.numPorts; i++ {
		if s.ports[i] == nil {
			s.allocLocked(i, true)
			return i, nil
		}
	}
	return 0, syscall.ENOSPC
}

// RemovePort frees port n: EINVAL out of range, ENXIO not allocated, EADDRINUSE active.
func (s *Switch) RemovePort(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.portLocked(n)
	if err != nil {
		return err
	}
	if p.active() {
		return syscall.EADDRINUSE
	}
	s.ports[n] = nil
	s.publishLocked()
	return nil
}

func (s *Switch) portLocked(n int) (*port, error) {
	if n < 0 || n >= s.numPorts {
		return nil, syscall.EINVAL
	}
	p := s.ports[n]
	if p == nil {
		return nil, syscall.ENXIO
	}
	return p, nil
}

// SetAllocatable sets whether port n may be given to requests for "any port".
func (s *Switch) SetAllocatable(n int, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.portLocked(n)
	if err != nil {
		return err
	}
	p.notInPool = !on
	return nil
}

// SetPortUser restricts port n to uid (-1 = NONE).
func (s *Switch) SetPortUser(n, uid int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.portLocked(n)
	if err != nil {
		return err
	}
	p.user = uid
	return nil
}

// SetPortGroup restricts port n to members of gid (-1 = NONE).
func (s *Switch) SetPortGroup(n, gid int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.portLocked(n)
	if err != nil {
		return err
	}
	p.group = gid
	return nil
}

// CloseEndpoint closes the endpoint id of port n: EINVAL out of range, ENXIO unknown.
func (s *Switch) CloseEndpoint(n, id int) error {
	s.mu.Lock()
	p, err := s.portLocked(n)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var e *endpoint
	for _, x := range p.eps {
		if x.id == id {
			e = x
		}
	}
	s.mu.Unlock()
	if e == nil {
		return syscall.ENXIO
	}
	s.removeEndpoint(e)
	return nil
}

// ResetCounters zeroes the counters (MACMoves included) of port n, or of every port if n is -1.
func (s *Switch) ResetCounters(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == -1 {
		for _, p := range s.ports {
			if p != nil {
				p.reset()
			}
		}
		return nil
	}
	p, err := s.portLocked(n)
	if err != nil {
		return err
	}
	p.reset()
	return nil
}

func (p *port) reset() {
	p.in.reset()
	p.out.reset()
	p.moves.total.Store(0)
}

func (p *port) info() PortInfo {
	pi := PortInfo{
		Num: p.num, Active: p.active(), NotInPool: p.notInPool, UntaggedVLAN: p.untagged,
		CurUser: p.curUser, User: p.user, Group: p.group,
		In: p.in.snapshot(), Out: p.out.snapshot(), MACMoves: p.moves.total.Load(),
	}
	for _, e := range p.eps {
		pi.Endpoints = append(pi.Endpoints, EndpointInfo{ID: e.id, Module: e.module, Descr: e.descr})
	}
	return pi
}

// Ports returns a snapshot of the allocated ports in ascending order; with all false only the
// active ones.
func (s *Switch) Ports(all bool) []PortInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PortInfo
	for _, p := range s.ports {
		if p != nil && (all || p.active()) {
			out = append(out, p.info())
		}
	}
	return out
}

// Port returns a snapshot of port n: EINVAL out of range, ENXIO not allocated.
func (s *Switch) Port(n int) (PortInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.portLocked(n)
	if err != nil {
		return PortInfo{}, err
	}
	return p.info(), nil
}

// vlansLocked returns the VLANs p is a member of, untagged or tagged, in ascending order.
// The caller holds s.mu.
func (p *port) vlansLocked() []int {
	var vs []int
	if p.untagged != NoVLAN {
		vs = append(vs, p.untagged)
	}
	for v, on := range p.tagged {
		if on && v != p.untagged {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs
}
