// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/pkg/frame"
)

// Module names shown by port/print.
const (
	ModuleUnix  = "unix prog"
	ModuleTap   = "tuntap"
	outQueueLen = 256 // frames queued for an endpoint without batched I/O
)

// An endpoint is one connection of a port.
type endpoint struct {
	id     int
	module string
	descr  string
	uid    int
	port   *port

	ep  frame.Endpoint
	raw syscall.RawConn // non-nil: batched non-blocking datagram I/O
	rfd *rawfd.FD       // non-nil: the same on a socket opened raw, read by the plane
	// tapfd, when not nil, is the descriptor of a TAP opened raw: the plane reads it (through framer,
	// when the TAP has offloads), and frames for it are written inline (direct) as for any TAP.
	tapfd  *rawfd.FD
	framer frame.RawFramer
	// wrote: the plane wrote frames to this TAP (tapfd) in its current round, so that it reads the
	// TAP's answer at once. Only the plane's goroutine uses it.
	wrote bool
	// wdl sets the write deadline of raw (nil if the endpoint has none): it bounds a congestion
	// wait parked in the runtime poller. waitMu serializes those waits.
	wdl    func(time.Time) error
	waitMu sync.Mutex
	done   <-chan struct{} // closed when the peer goes away; may be nil
	mtu    func() (int, error)
	// direct endpoints (TAPs) never block on write: frames are written inline by the reader
	// that forwards them, sparing a goroutine hand-off per frame.
	direct bool
	bw     batchWriter // direct endpoints that keep frames until the end of a batch (a TAP with offloads)
	curMTU atomic.Int64
	// stalled: the endpoint's socket stayed full for a whole congestion wait; frames for it are
	// dropped at once until it takes one again.
	stalled atomic.Bool

	out     chan *pkt     // generic endpoints: bounded out-queue
	quit    chan struct{} // closed by removeEndpoint
	removed bool          // guarded by Switch.mu
}

// epSpec describes an endpoint to attach.
type epSpec struct {
	ep     frame.Endpoint
	id     int // -1: allocate
	module string
	descr  string
	uid    int
	gids   []int // the requester's primary and supplementary groups (kernel credentials)
	port   int   // 0: any free port
	port0  bool  // the reserved management port
	done   <-chan struct{}
	raw    syscall.RawConn
	rfd    *rawfd.FD
	tapfd  *rawfd.FD       // a TAP opened raw, read by the plane (direct must be set)
	framer frame.RawFramer // its framer, when it has offloads
	direct bool
}

// choosePortLocked returns the port for a request, allocating it if needed, or an errno.
func (s *Switch) choosePortLocked(sp *epSpec) (*port, error) {
	n := sp.port
	switch {
	case sp.port0:
		n = 0
	case n == 0:
		n = -1
		for i := 1; i < s.numPorts; i++ {
			if p := s.ports[i]; p == nil || (!p.active() && !p.notInPool) {
				n = i
				break
			}
		}
		if n < 0 {
			return nil, syscall.ENOSPC
		}
	case n < 0 || n >= s.numPorts:
		return nil, syscall.EINVAL
	}
	p := s.ports[n]
	if p == nil {
		p = s.allocLocked(n, false)
	}
	if err := checkAccess(p, sp.uid, sp.gids); err != nil {
		return nil, err
	}
	if p.active() && p.curUser != sp.uid {
		return nil, syscall.EADDRINUSE
	}
	return p, nil
}

// checkAccess applies a port's user/group restriction to a requester with user uid and groups gids, as
// vde_switch's checkport_ac. Unlike vde_switch, which looks the uid up in the group database, group
// membership is the requesting process's own groups as the kernel recorded them when it connected
// (vde.Cred): the groups it could use to open a file, whatever the database said then or says now.
func checkAccess(p *port, uid int, gids []int) error {
	if p.user == -1 && p.group == -1 {
		return nil
	}
	if uid == 0 || (uid != -1 && uid == p.user) {
		return nil
	}
	if p.group != -1 && slices.Contains(gids, p.group) {
		return nil
	}
	return syscall.EPERM
}

// attach adds an endpoint to the switch and starts its goroutines. On error the caller still owns sp.ep.
func (s *Switch) attach(sp epSpec) (*endpoint, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, net.ErrClosed
	}
	p, err := s.choosePortLocked(&sp)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if sp.id < 0 {
		sp.id = s.nextID
		s.nextID++
	}
	e := &endpoint{id: sp.id, module: sp.module, descr: sp.descr, uid: sp.uid, port: p,
		ep: sp.ep, raw: sp.raw, rfd: sp.rfd, done: sp.done, direct: sp.direct && sp.raw == nil && sp.rfd == nil,
		quit: make(chan struct{})}
	if e.direct {
		e.tapfd, e.framer = sp.tapfd, sp.framer
	}
	if d, ok := sp.ep.(interface{ SetWriteDeadline(time.Time) error }); ok && e.raw != nil {
		e.wdl = d.SetWriteDeadline
	}
	if m, ok := sp.ep.(frame.MTUer); ok {
		e.mtu = m.MTU
		mtu, _ := m.MTU()
		e.curMTU.Store(int64(mtu))
	}
	if e.raw == nil && e.rfd == nil && !e.direct {
		e.out = make(chan *pkt, outQueueLen)
	}
	if bw, ok := sp.ep.(batchWriter); ok && e.direct {
		e.bw = bw
	}
	var joined []int // VLANs the port joins by becoming active
	if !p.active() {
		p.curUser = sp.uid
		joined = p.vlansLocked()
	}
	p.setEPsLocked(append([]*endpoint{e}, p.eps...))
	if !e.inPlane() {
		s.wg.Add(1)
	}
	s.mu.Unlock()

	s.emitPort(EventEndpointAdd, p.num, e.id, "")
	s.emitPort(EventPortDescr, p.num, e.id, e.descr)
	if len(joined) > 0 {
		// The port joins the spanning tree of each of its VLANs (a topology change in each).
		var a fstpActs
		s.mu.Lock()
		for _, v := range joined {
			s.fstpAddPortLocked(v, p.num, v != p.untagged, &a)
		}
		s.fstpFinishLocked(&a)
	}
	switch {
	case e.inPlane():
		if !s.plane.add(e) {
			s.removeEndpoint(e)
		}
	case e.raw != nil:
		go func() {
			defer s.wg.Done()
			s.rawReadLoop(e)
		}()
	default:
		go func() {
			defer s.wg.Done()
			s.readLoop(e)
		}()
	}
	if e.out != nil {
		s.wg.Go(func() { s.writeLoop(e) })
	}
	if e.done != nil {
		s.wg.Go(func() {
			select {
			case <-e.done:
				s.removeEndpoint(e)
			case <-e.quit:
			}
		})
	}
	return e, nil
}

// removeEndpoint detaches and closes e (once). When it was the port's last endpoint the port
// becomes inactive and its MAC table entries are deleted.
func (s *Switch) removeEndpoint(e *endpoint) {
	s.mu.Lock()
	if e.removed {
		s.mu.Unlock()
		return
	}
	e.removed = true
	p := e.port
	eps := slices.DeleteFunc(slices.Clone(p.eps), func(x *endpoint) bool { return x == e })
	p.setEPsLocked(eps)
	last := len(eps) == 0
	var left []int // VLANs the port leaves by becoming inactive
	if last {
		p.curUser = -1
		left = p.vlansLocked()
	}
	s.mu.Unlock()
	close(e.quit)
	if e.inPlane() {
		s.plane.remove(e)
	}
	e.ep.Close()
	s.emitPort(EventEndpointDel, p.num, e.id, "")
	if last {
		s.emitPort(EventPortDel, p.num, 0, "")
		s.flushHash(func(_ fdbKey, port int) bool { return port == p.num })
		var a fstpActs
		s.mu.Lock()
		for _, v := range left {
			s.fstpDelPortLocked(v, p.num, &a)
		}
		s.fstpFinishLocked(&a)
	}
}

// readLoop reads frames one at a time from a generic endpoint and forwards them. The frames an
// endpoint already holds (a TAP with offloads cuts what it reads into several) go in the same batch.
func (s *Switch) readLoop(e *endpoint) {
	defer s.removeEndpoint(e)
	br, _ := e.ep.(bufferedReader)
	bufs := make([][]byte, 1, maxBatch)
	bufs[0] = make([]byte, frame.MaxLen)
	r := newRx(s, e)
	for {
		n, err := e.ep.ReadFrame(bufs[0])
		if err != nil {
			return
		}
		r.begin()
		r.handle(0, bufs[0][:n])
		for i := 1; i < maxBatch && br != nil && br.Buffered(); i++ {
			if i == len(bufs) {
				bufs = append(bufs, make([]byte, frame.MaxLen))
			}
			if n, err = e.ep.ReadFrame(bufs[i]); err != nil {
				break
			}
			r.handle(i, bufs[i][:n])
		}
		r.flush()
		if err != nil {
			return
		}
	}
}

// A bufferedReader holds frames that ReadFrame returns without waiting (a TAP with offloads).
type bufferedReader interface {
	Buffered() bool
}

// A batchWriter may keep the frames written with QueueFrame until Flush, which the reader forwarding
// them calls at the end of its batch (a TAP with offloads joins TCP segments).
type batchWriter interface {
	QueueFrame(b []byte) error
	Flush() error
}

// writeLoop writes a generic endpoint's out-queue. A frame longer than the endpoint's MTU
// allows, or one it fails to write, is dropped and counted.
func (s *Switch) writeLoop(e *endpoint) {
	for {
		select {
		case <-e.quit:
			return
		case pk := <-e.out:
			b := pk.b[:pk.n]
			if !e.fits(b) {
				e.port.out.drops.Add(1)
				pktPool.Put(pk)
				continue
			}
			err := e.ep.WriteFrame(b)
			pktPool.Put(pk)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				e.port.out.drops.Add(1)
			}
		}
	}
}

// fits reports whether b fits the endpoint's MTU (always true without one). The MTU is read
// again when a frame exceeds the cached value, since it may have been raised; when it cannot be
// read (a TAP moved to another network namespace is not found by name) the frame is offered to
// the device, which has the last word.
func (e *endpoint) fits(b []byte) bool {
	if e.mtu == nil {
		return true
	}
	payload := int64(len(b) - frame.HeaderLen)
	if frame.Frame(b).Tagged() {
		payload -= frame.TagLen
	}
	if payload <= e.curMTU.Load() {
		return true
	}
	mtu, err := e.mtu()
	if err != nil {
		return true
	}
	e.curMTU.Store(int64(mtu))
	return payload <= int64(mtu)
}

// inPlane reports whether the plane reads e (a data socket or a TAP opened raw).
func (e *endpoint) inPlane() bool { return e.rfd != nil || e.tapfd != nil }

// writeDirect writes one frame inline; a frame that does not fit or fails is dropped and counted.
func (e *endpoint) writeDirect(b []byte) {
	if !e.fits(b) || e.ep.WriteFrame(b) != nil {
		e.port.out.drops.Add(1)
	}
}

// AddEndpoint attaches ep to the switch on port n (0: the lowest free port) with the given module
// name and description, for the connection's lifetime: the switch reads it until ReadFrame fails,
// then closes it. The switch owns ep from then on (also on error, when it is closed at once).
// It returns the port and the endpoint ID.
func (s *Switch) AddEndpoint(ep frame.Endpoint, n int, module, descr string) (port, id int, err error) {
	e, err := s.attach(epSpec{ep: ep, id: -1, module: module, descr: descr, uid: -1, port: n})
	if err != nil {
		ep.Close()
		return 0, 0, fmt.Errorf("add endpoint %q: %w", descr, err)
	}
	return e.port.num, e.id, nil
}
