// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/internal/sched"
	"golang.org/x/sys/unix"
)

// The plane reads every VDE data socket and TAP of the switch from one goroutine, as vde_switch does from
// one thread: one ppoll(2) over all of them, recvmmsg on the ready sockets and read(2) on the TAPs, each
// batch forwarded inline (sendmmsg to the other data sockets, writes to TAPs), and a TAP written to read
// again at once (answer). The descriptors are opened raw (vde.Request.Raw, tap.Config.Raw): the Go
// runtime's poller never sees them, so a frame costs no poller wake-up, no goroutine hand-off and no
// futex; on a TCP flow through the switch, a frame and its ACK used to cost one of each per frame
// (see doc.go for the figures).
//
// A batch bound for a single destination whose socket is full parks its source: the source is not
// read again, and the destination is polled for POLLOUT, until the destination has taken the rest
// of the batch or congestionWait has passed (then the rest is dropped and the destination marked
// stalled). The other ports go on meanwhile.
type plane struct {
	s   *Switch
	efd int // eventfd: endpoints added or removed, or the switch closing

	mu      sync.Mutex
	pending []*endpoint // added since the loop last looked
	changed atomic.Bool
	started bool
	closed  bool // efd released

	// Owned by the loop.
	eps   []*planeEP
	taps  []*planeEP // the TAPs among eps
	pfd   []unix.PollFd
	outs  []*endpoint // destinations polled for POLLOUT, after the eps in pfd
	dirty bool        // pfd must be rebuilt
	w     *sched.Waiter

	nparked atomic.Int64 // sources parked now (for tests)
	answers atomic.Int64 // answer reads that gave frames (for tests)
}

// A planeEP is one data socket or TAP read by the plane, with its forwarding state.
type planeEP struct {
	e        *endpoint
	fd       *rawfd.FD // e.rfd or e.tapfd
	r        *rx
	rb       *rxBatch
	parked   *endpoint // the destination the source waits for, or nil
	deadline int64     // when the wait ends (Switch.now)
	recvFn   func(fd int)
	oneFn    func(fd int)
	// lastFrame is when a read last gave frames (sched.Mono). A socket that gave none for
	// rawfd.SparseGap is read with one recvfrom, once per wake-up (cheaper for a lone frame, a ping;
	// see rawfd.Sparse); a frame left unread keeps it readable, and the next read, soon after, is a
	// recvmmsg. A TAP is read one packet per wake-up then, and until it has nothing or the batch is
	// full otherwise.
	lastFrame time.Duration

	// A TAP's state. more: frames of the packet read last wait in framer (a TCP segment of more
	// than maxBatch frames), so the TAP is read again without waiting for poll(2). ans: whether to
	// read it right after a round that wrote to it (see answer).
	more bool
	ans  rawfd.Answers
}

func newPlane(s *Switch) (*plane, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	return &plane{s: s, efd: efd}, nil
}

// wake makes the loop look at its endpoints again.
func (pl *plane) wake() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.wakeLocked()
}

func (pl *plane) wakeLocked() {
	if pl.closed {
		return
	}
	pl.changed.Store(true)
	one := [8]byte{1}
	unix.Write(pl.efd, one[:])
}

// add hands e (opened raw) to the plane, starting the loop on first use. It reports false when the
// switch is closing; the caller then removes e.
func (pl *plane) add(e *endpoint) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	select {
	case <-pl.s.done:
		return false
	default:
	}
	pl.pending = append(pl.pending, e)
	if !pl.started {
		pl.started = true
		pl.s.wg.Go(pl.run)
	}
	pl.wakeLocked()
	return true
}

// remove tells the loop that e is going; removeEndpoint calls it before closing e, whose descriptor
// the loop then no longer uses (rawfd.FD.Control fails once it is closed).
func (pl *plane) remove(*endpoint) { pl.wake() }

// stop wakes the loop so that it sees the switch closing.
func (pl *plane) stop() {
	pl.wake()
}

// close releases the eventfd once the loop has ended (or never started).
func (pl *plane) close() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if !pl.closed {
		pl.closed = true
		unix.Close(pl.efd)
	}
}

func (pl *plane) run() {
	pl.dirty = true
	pl.w = sched.NewWaiter()
	defer pl.w.Close()
	var buf [8]byte
	for {
		if pl.changed.Swap(false) {
			sched.RawRead(pl.efd, buf[:]) // the eventfd does not block
			if pl.closing() {
				pl.drop()
				return
			}
			pl.sync()
		}
		if pl.dirty {
			pl.rebuild()
		}
		timeout := time.Duration(-1)
		if d, ok := pl.nextDeadline(); ok {
			timeout = time.Duration(max(d, 0))
		}
		if pl.held() {
			timeout = 0
		}
		// Not locked to its thread, so that the Waiter's yields are cheap.
		_, errno := pl.w.Wait(pl.pfd, timeout)
		if errno != 0 && errno != unix.EINTR {
			// Only EFAULT/EINVAL/ENOMEM are possible: nothing to wait for but a change.
			pl.s.logf("data plane: ppoll: %v", errno)
		}
		if pl.pfd[0].Revents != 0 {
			pl.changed.Store(true)
		}
		now := pl.s.now()
		// Parked sources first: their destinations may have drained, or their wait ended.
		for i, d := range pl.outs {
			pf := &pl.pfd[1+len(pl.eps)+i]
			for _, pe := range pl.eps {
				if pe.parked == d && (pf.Revents != 0 || now >= pe.deadline) {
					// Past the deadline the rest is dropped even if POLLOUT came: a socket that reports
					// room it then refuses must not keep the loop spinning.
					pl.resume(pe, now >= pe.deadline)
				}
			}
		}
		for i, pe := range pl.eps {
			pf := &pl.pfd[1+i]
			if (pf.Revents == 0 && !pe.more) || pe.parked != nil || pe.e == nil {
				continue
			}
			pl.read(pe)
		}
		pl.answer()
	}
}

// held reports whether a TAP holds frames already read, which poll(2) does not report.
func (pl *plane) held() bool {
	for _, pe := range pl.taps {
		if pe.more && pe.parked == nil && pe.e != nil {
			return true
		}
	}
	return false
}

// answer reads at once the TAPs that the round wrote frames to: their hosts answer within the write
// (a ping's echo reply, a TCP ACK, a segment the ACK let go), so the answer is forwarded in the same
// round instead of after another poll(2), which is where vde_switch finds it. What an answer read
// forwards may be written to another TAP, whose answer is read next, up to maxAnswerPasses. A TAP
// whose host does not answer (it only receives) is read so once in rawfd.AnswerProbe such rounds.
func (pl *plane) answer() {
	for range maxAnswerPasses {
		again := false
		for _, pe := range pl.taps {
			if pe.e == nil || !pe.e.wrote {
				continue
			}
			pe.e.wrote = false
			if pe.parked != nil || pe.more {
				continue // its frames go first; more is read in the next round
			}
			if !pe.ans.Try() {
				continue
			}
			found := pl.read(pe)
			pe.ans.Got(found)
			if found {
				pl.answers.Add(1)
				again = true
			}
		}
		if !again {
			return
		}
	}
	for _, pe := range pl.taps {
		if pe.e != nil {
			pe.e.wrote = false
		}
	}
}

// maxAnswerPasses bounds the answer reads of each TAP per round.
const maxAnswerPasses = 4

func (pl *plane) closing() bool {
	select {
	case <-pl.s.done:
		return true
	default:
		return false
	}
}

// sync takes the endpoints added meanwhile and forgets the removed ones.
func (pl *plane) sync() {
	pl.mu.Lock()
	add := pl.pending
	pl.pending = nil
	pl.mu.Unlock()
	for _, e := range add {
		r := newRx(pl.s, e)
		r.plane = true
		pe := &planeEP{e: e, fd: e.rfd, r: r, rb: newRxBatch()}
		pe.recvFn = pe.rb.recvRaw
		pe.oneFn = pe.rb.recvOne
		if e.tapfd != nil {
			pe.fd = e.tapfd
			pe.recvFn = func(fd int) { pe.readTap(fd, maxBatch) }
			pe.oneFn = func(fd int) { pe.readTap(fd, 1) }
		}
		pl.eps = append(pl.eps, pe)
	}
	for _, pe := range pl.eps {
		if pe.parked != nil && pl.gone(pe.parked) {
			pl.resume(pe, true) // its destination went away: the rest of the batch is lost
		}
	}
	kept := pl.eps[:0]
	for _, pe := range pl.eps {
		if pe.e != nil && !pl.gone(pe.e) {
			kept = append(kept, pe)
			continue
		}
		if pe.parked != nil {
			pl.resume(pe, true)
		}
		pe.r.flushHeld() // the frames it held for the rest of a segment go out
	}
	clear(pl.eps[len(kept):])
	pl.eps = kept
	pl.taps = pl.taps[:0]
	for _, pe := range pl.eps {
		if pe.e.tapfd != nil {
			pl.taps = append(pl.taps, pe)
		}
	}
	pl.dirty = true
}

// gone reports whether e was removed from the switch.
func (pl *plane) gone(e *endpoint) bool {
	select {
	case <-e.quit:
		return true
	default:
		return false
	}
}

// drop ends the batches of parked sources when the switch closes.
func (pl *plane) drop() {
	for _, pe := range pl.eps {
		if pe.parked != nil {
			pl.resume(pe, true)
		}
		pe.r.flushHeld()
	}
	pl.eps, pl.taps = nil, nil
}

// rebuild lays out pfd: the eventfd, every source (POLLIN unless parked), every destination a
// source is parked on (POLLOUT).
func (pl *plane) rebuild() {
	pl.dirty = false
	pl.w.Forget() // an endpoint may have gone, and its descriptor's number come back for another
	pl.pfd = append(pl.pfd[:0], unix.PollFd{Fd: int32(pl.efd), Events: unix.POLLIN})
	pl.outs = pl.outs[:0]
	for _, pe := range pl.eps {
		var ev int16 = unix.POLLIN
		if pe.parked != nil {
			ev = 0
			if !slices.Contains(pl.outs, pe.parked) {
				pl.outs = append(pl.outs, pe.parked)
			}
		}
		pl.pfd = append(pl.pfd, unix.PollFd{Fd: int32(pe.fd.Fd()), Events: ev})
	}
	for _, d := range pl.outs {
		pl.pfd = append(pl.pfd, unix.PollFd{Fd: int32(d.rfd.Fd()), Events: unix.POLLOUT})
	}
}

// nextDeadline returns the time until the earliest end of a congestion wait, if a source is parked.
func (pl *plane) nextDeadline() (int64, bool) {
	first, ok := int64(0), false
	for _, pe := range pl.eps {
		if pe.parked != nil && (!ok || pe.deadline < first) {
			first, ok = pe.deadline, true
		}
	}
	if !ok {
		return 0, false
	}
	return first - pl.s.now(), true
}

// read receives a batch from pe and forwards it; it reports whether it read frames.
func (pl *plane) read(pe *planeEP) bool {
	rb := pe.rb
	rb.n, rb.err = 0, nil
	now := sched.Mono()
	fn := pe.recvFn
	if rawfd.Sparse(now, pe.lastFrame) {
		fn = pe.oneFn
	}
	if err := pe.fd.Control(fn); err != nil {
		pl.lose(pe)
		return false
	}
	if rb.err != nil {
		if rb.err == unix.ECONNREFUSED || rb.err == unix.EAGAIN {
			return false // the peer went away for a moment (its ctl socket decides), or nothing after all
		}
		pl.lose(pe)
		return false
	}
	if rb.n == 0 {
		return false
	}
	pe.lastFrame = now
	r := pe.r
	r.hold = pe.more
	if !r.forward(rb) {
		pe.parked = r.cur.e
		pe.deadline = pl.s.now() + int64(pl.s.congWait)
		pl.dirty = true
		pl.nparked.Add(1)
	}
	return true
}

// readTap is a TAP's recvFn: frames into pe.rb until the batch is full, the TAP has nothing, or
// (packets 1) the first packet's frames are all read. A TAP with offloads cuts a packet into
// frames (framer), those that do not fit the batch wait for the next read (more). An error on the
// first frame is the batch's (EAGAIN: nothing); one after it ends the batch, and the next read
// finds it again.
func (pe *planeEP) readTap(fd, packets int) {
	rb, fr := pe.rb, pe.e.framer
	for rb.n < maxBatch {
		var n int
		var e unix.Errno
		if fr != nil {
			if !fr.Buffered() && rb.n > 0 && packets == 1 {
				break
			}
			n, e = fr.ReadFrameFrom(fd, rb.bufs[rb.n])
		} else {
			if rb.n >= packets {
				break
			}
			n, e = readPkt(fd, rb.bufs[rb.n])
		}
		if e != 0 {
			if rb.n == 0 {
				rb.err = e
			}
			break
		}
		m := &rb.msgs[rb.n]
		m.Len, m.Hdr.Flags = uint32(n), 0
		rb.n++
	}
	pe.more = fr != nil && fr.Buffered()
}

// readPkt is one read(2) of a TAP without offloads.
func readPkt(fd int, b []byte) (int, unix.Errno) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e != unix.EINTR {
			return int(n), e
		}
	}
}

// resume goes on with a parked source's batch; expired ends it, dropping what is left.
func (pl *plane) resume(pe *planeEP, expired bool) {
	if pe.r.resume(expired) {
		pe.parked = nil
		pl.dirty = true
		pl.nparked.Add(-1)
	}
}

// lose removes an endpoint whose socket failed; the loop stops reading it at once.
func (pl *plane) lose(pe *planeEP) {
	e := pe.e
	if pe.parked != nil {
		pl.resume(pe, true)
	}
	pe.e = nil
	pl.changed.Store(true) // sync drops it
	go pl.s.removeEndpoint(e)
}

// recvRaw is rxBatch.recv for a descriptor the caller polls itself: EAGAIN is returned, not waited for.
func (rb *rxBatch) recvRaw(fd int) {
	if !rb.recv(uintptr(fd)) {
		rb.n, rb.err = 0, unix.EAGAIN
	}
}

// recvOne is recvRaw for a sparse socket: one frame, with recvfrom (rawfd.RecvOne).
func (rb *rxBatch) recvOne(fd int) {
	n, trunc, e := rawfd.RecvOne(fd, rb.bufs[0], true)
	if e != 0 {
		rb.n, rb.err = 0, e
		return
	}
	m := &rb.msgs[0]
	m.Len = uint32(n)
	m.Hdr.Flags = 0
	if trunc {
		m.Hdr.Flags = unix.MSG_TRUNC
	}
	rb.n = 1
}

// rawFDer is a connection opened raw (vde.ServerConn with Request.Raw).
type rawFDer interface{ RawFD() *rawfd.FD }
