// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"errors"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/govde/govde/pkg/frame"
	"golang.org/x/sys/unix"
)

// maxBatch is the number of datagrams read (recvmmsg) and written (sendmmsg) per system call.
const maxBatch = 32

// Pacing: when a whole batch goes to one destination whose socket is full, the reader waits
// for it to drain (at most congestionWait) before dropping. This gives a sender that overruns its
// receiver back-pressure instead of making the switch (and the sender) burn CPU on frames it then
// drops: on 2 cores that CPU is what the receiver lacks. Only the source of that batch waits: a
// batch with several destinations (a stuck receiver among them) never waits, and a destination
// that let a whole congestionWait pass without draining is marked stalled, so frames for it are
// dropped at once until it takes one again (a stuck receiver delays its sources once, by
// congestionWait).
//
// The wait parks the reader goroutine in the runtime poller (a write deadline bounds it) when the
// endpoint can take a deadline (a VDE connection can), rather than sleeping in ppoll(2): a thread
// blocked in a system call longer than 20 µs has its P taken away by the runtime's sysmon, which
// then keeps waking itself every 20 µs and hands Ps between threads. On a TCP flow, where the
// switch meets a full receiver many times a second, that cost about as much CPU as the forwarding
// itself (see doc.go). congestionPoll is the ppoll slice for endpoints without deadlines.
const (
	congestionWait = 8 * time.Millisecond
	congestionPoll = 250 * time.Microsecond
)

// How a frame is transformed on its way to a port.
const (
	asIs uint8 = iota
	addTag
	delTag
)

// A pkt is a frame copied for an endpoint's out-queue; it crosses goroutines, so it is pooled.
type pkt struct {
	n int
	b [frame.MaxLen + frame.TagLen]byte
}

var pktPool = sync.Pool{New: func() any { return new(pkt) }}

type outCount struct {
	pkts, bytes uint64
	gen         uint32
}

// rx is the forwarding state of one reader goroutine: everything a frame needs on its way
// through the switch is preallocated here, so forwarding does not allocate.
type rx struct {
	s   *Switch
	src *endpoint
	now int64

	tags [maxBatch]frame.Tag               // tags to insert, per frame of the batch
	tmp  [frame.MaxLen + frame.TagLen]byte // a frame re-tagged for a direct endpoint

	groups  []*txGroup // destinations of batched sends, valid up to ngroups
	ngroups int
	cur     *txGroup
	sendFn  func(fd uintptr) bool
	sendRaw func(fd int)
	waitFn  func(fd uintptr) bool
	mayWait bool // the batch has a single destination (see congestionWait)
	plane   bool // read by the plane: a congestion wait parks the source (flush returns false)
	// hold: the batch is the first part of a TAP's segment whose other frames the plane reads next
	// (planeEP.more), so finish leaves the batch writers unflushed: a TAP destination then joins the
	// whole segment again (one write, not one per batch). The batch that ends the segment, resume, or
	// the source's removal (flushHeld) flushes them.
	hold  bool
	pfd   [1]unix.PollFd
	pwait unix.Timespec

	bws     []*endpoint // batch writers written to in this batch, to Flush
	outc    []outCount  // by port number
	gen     uint32
	touched []*port
	inPkts  uint64
	inBytes uint64
	inDrops uint64
}

func newRx(s *Switch, src *endpoint) *rx {
	r := &rx{s: s, src: src}
	r.sendFn = r.send
	r.sendRaw = func(fd int) { r.send(uintptr(fd)) }
	r.waitFn = r.sendWait
	return r
}

// begin starts a batch of frames received at the current time.
func (r *rx) begin() {
	r.now = r.s.now()
	r.gen++
	r.touched = r.touched[:0]
}

// countOut adds one frame of n bytes to port p's out counters.
func (r *rx) countOut(p *port, n int) {
	if p.num >= len(r.outc) {
		r.outc = append(r.outc, make([]outCount, p.num+1-len(r.outc))...)
	}
	c := &r.outc[p.num]
	if c.gen != r.gen {
		*c = outCount{gen: r.gen}
		r.touched = append(r.touched, p)
	}
	c.pkts++
	c.bytes += uint64(n)
}

// handle forwards frame i of the batch, held in b. b stays valid until flush returns.
func (r *rx) handle(i int, b []byte) {
	in := r.src.port
	if len(b) < frame.HeaderLen {
		r.inDrops++
		return
	}
	r.inPkts++
	r.inBytes += uint64(len(b))
	t := r.s.table.Load()
	if t.hub {
		for _, p := range t.ports {
			if p != nil && p != in {
				r.emit(p, i, b, asIs)
			}
		}
		return
	}
	f := frame.Frame(b)
	var vid int
	tagged := f.HasTPID()
	if tagged {
		if len(b) < frame.TaggedHeaderLen {
			r.inDrops++
			return
		}
		vid = int(f.Tag().VID())
		if vt := t.vlans[vid]; vt == nil || in.num >= len(vt.member) || vt.member[in.num] == memberNone {
			r.inDrops++
			return
		}
	} else {
		if in.num >= len(t.untag) {
			return
		}
		vid = int(t.untag[in.num])
		if vid == NoVLAN || t.vlans[vid] == nil {
			r.inDrops++
			return
		}
	}
	vt := t.vlans[vid]
	if t.fstp && f.Dst() == frame.BPDUAddr {
		r.s.fstpInput(in.num, b, vid) // consumed, never forwarded
		return
	}
	if vt.blocked[in.num] {
		return // FSTP discarding: nothing is learned or forwarded from this port
	}
	if src := f.Src(); !src.IsGroup() {
		k := makeKey(src, vid)
		old, created := r.s.fdb.learn(k, in.num, r.now)
		if created {
			r.s.emitHash(EventHashAdd, k, in.num)
		} else if old != in.num {
			r.s.macMoved(in, src, vid, old, r.now)
		}
	}
	if !f.IsGroup() {
		if tp, ok := r.s.fdb.lookup(makeKey(f.Dst(), vid)); ok && tp < len(t.ports) && t.ports[tp] != nil && vt.member[tp] != memberNone {
			if tp == in.num || vt.blocked[tp] {
				return
			}
			p := t.ports[tp]
			switch {
			case tagged == (vt.member[tp] == memberTagged):
				r.emit(p, i, b, asIs)
			case tagged:
				r.emit(p, i, b, delTag)
			default:
				r.setTag(i, vid)
				r.emit(p, i, b, addTag)
			}
			return
		}
	}
	// Flood: ports of the same tagness unchanged first, then the others converted.
	if tagged {
		r.flood(vt.tagged, in, i, b, asIs)
		r.flood(vt.untagged, in, i, b, delTag)
	} else {
		r.flood(vt.untagged, in, i, b, asIs)
		r.setTag(i, vid)
		r.flood(vt.tagged, in, i, b, addTag)
	}
}

func (r *rx) setTag(i, vid int) {
	r.tags[i] = frame.NewTag(uint16(vid))
}

func (r *rx) flood(ports []*port, in *port, i int, b []byte, mode uint8) {
	for _, p := range ports {
		if p != in {
			r.emit(p, i, b, mode)
		}
	}
}

// emit queues frame i (b, transformed by mode) to every endpoint of port p.
func (r *rx) emit(p *port, i int, b []byte, mode uint8) {
	eps := *p.epsSnap.Load()
	if len(eps) == 0 {
		return
	}
	n := len(b)
	switch mode {
	case addTag:
		n += frame.TagLen
	case delTag:
		n -= frame.TagLen
	}
	if n > frame.MaxLen {
		p.out.drops.Add(1)
		return
	}
	r.countOut(p, n)
	for _, d := range eps {
		switch {
		case d.raw != nil || d.rfd != nil:
			r.group(d).add(b, mode, &r.tags[i])
		case d.bw != nil:
			r.queueDirect(d, transform(r.tmp[:], b, mode, &r.tags[i]))
			if r.plane && d.tapfd != nil {
				d.wrote = true
			}
		case d.direct:
			d.writeDirect(transform(r.tmp[:], b, mode, &r.tags[i]))
			if r.plane && d.tapfd != nil {
				d.wrote = true
			}
		default:
			d.enqueue(b, mode, &r.tags[i])
		}
	}
}

// flush sends the batched frames and publishes the batch's counters. It returns false when a reader of
// the plane must wait for the batch's single destination (r.cur) to drain: the plane then calls resume.
func (r *rx) flush() bool {
	r.mayWait = r.ngroups == 1
	for _, g := range r.groups[:r.ngroups] {
		r.cur = g
		var err error
		if g.e.rfd != nil {
			err = g.e.rfd.Control(r.sendRaw)
		} else {
			err = g.e.raw.Write(r.sendFn)
			if err != nil && g.e.wdl != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				// Another source's congestion wait has just timed out and not yet cleared its
				// deadline (it does so before releasing waitMu): try again once it has.
				g.e.waitMu.Lock()
				g.e.waitMu.Unlock()
				err = g.e.raw.Write(r.sendFn)
			}
		}
		if err != nil {
			g.drops += uint64(g.n - g.sent)
		} else if g.wait {
			if r.plane {
				return false
			}
			r.waitDrain(g)
		}
		r.endGroup(g)
	}
	r.finish()
	return true
}

// resume goes on with a batch whose flush returned false: it sends what is left of it (expired: drops
// it and marks the destination stalled) and reports whether the batch is done; if not, the plane keeps
// waiting.
func (r *rx) resume(expired bool) bool {
	r.hold = false // the source waited: what it holds goes now
	g := r.cur
	g.wait = false
	if expired {
		g.e.stalled.Store(true)
		g.drops += uint64(g.n - g.sent)
		g.sent = g.n
	} else if err := g.e.rfd.Control(r.sendRaw); err != nil {
		g.drops += uint64(g.n - g.sent)
		g.sent = g.n
	} else if g.wait {
		return false
	}
	r.endGroup(g)
	r.finish()
	return true
}

func (r *rx) endGroup(g *txGroup) {
	if g.drops > 0 {
		g.e.port.out.drops.Add(g.drops)
	}
	g.reset()
}

// finish ends a batch: batch writers flushed (unless hold), counters published.
func (r *rx) finish() {
	r.ngroups = 0
	r.cur = nil
	if !r.hold {
		r.flushHeld()
	}
	for _, p := range r.touched {
		c := &r.outc[p.num]
		p.out.pkts.Add(c.pkts)
		p.out.bytes.Add(c.bytes)
	}
	in := r.src.port
	if r.inPkts > 0 {
		in.in.pkts.Add(r.inPkts)
		in.in.bytes.Add(r.inBytes)
	}
	if r.inDrops > 0 {
		in.in.drops.Add(r.inDrops)
	}
	r.inPkts, r.inBytes, r.inDrops = 0, 0, 0
}

// flushHeld flushes the batch writers written to since they were last flushed.
func (r *rx) flushHeld() {
	for i, d := range r.bws {
		if d.bw.Flush() != nil {
			d.port.out.drops.Add(1)
		}
		r.bws[i] = nil
	}
	r.bws = r.bws[:0]
}

// queueDirect gives a frame to a batch writer, to be flushed with the batch; a frame that does not
// fit or fails is dropped and counted.
func (r *rx) queueDirect(d *endpoint, b []byte) {
	if !d.fits(b) || d.bw.QueueFrame(b) != nil {
		d.port.out.drops.Add(1)
		return
	}
	if !slices.Contains(r.bws, d) {
		r.bws = append(r.bws, d)
	}
}

// group returns the batched-send group of endpoint d, creating it for this batch.
func (r *rx) group(d *endpoint) *txGroup {
	for _, g := range r.groups[:r.ngroups] {
		if g.e == d {
			return g
		}
	}
	if r.ngroups == len(r.groups) {
		r.groups = append(r.groups, new(txGroup))
	}
	g := r.groups[r.ngroups]
	r.ngroups++
	g.e = d
	return g
}

// transform returns b as mode makes it: b itself, or b re-tagged into dst, which has room for
// len(b)+frame.TagLen bytes. The forwarding path only asks to strip the tag of a tagged frame.
func transform(dst, b []byte, mode uint8, tag *frame.Tag) []byte {
	var f frame.Frame
	switch mode {
	case addTag:
		f, _ = frame.InsertTag(dst, b, *tag)
	case delTag:
		f, _ = frame.StripTag(dst, b)
	default:
		return b
	}
	return f
}

// enqueue copies a frame into d's out-queue, or drops and counts it when the queue is full.
func (d *endpoint) enqueue(b []byte, mode uint8, tag *frame.Tag) {
	pk := pktPool.Get().(*pkt)
	if mode == asIs {
		pk.n = copy(pk.b[:], b)
	} else {
		pk.n = len(transform(pk.b[:], b, mode, tag))
	}
	select {
	case d.out <- pk:
	default:
		d.port.out.drops.Add(1)
		pktPool.Put(pk)
	}
}
