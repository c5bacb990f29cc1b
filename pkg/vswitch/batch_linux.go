// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"syscall"
	"time"
	"unsafe"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/pkg/frame"
	"golang.org/x/sys/unix"
)

// A txGroup collects the frames of one batch bound for one batched endpoint, as sendmmsg
// messages whose iovecs point into the reader's buffers (a tag is added or removed by
// scatter/gather, without copying the payload).
type txGroup struct {
	e     *endpoint
	n     int // messages
	niov  int
	sent  int
	drops uint64
	wait  bool // send met a full socket and left the rest to waitDrain
	msgs  [maxBatch]unix.Mmsghdr
	iovs  [3 * maxBatch]unix.Iovec
}

func (g *txGroup) reset() {
	g.e = nil
	g.n, g.niov, g.sent, g.drops = 0, 0, 0, 0
	g.wait = false
}

func (g *txGroup) iov(b []byte) {
	v := &g.iovs[g.niov]
	v.Base = &b[0]
	v.SetLen(len(b))
	g.niov++
}

// add appends one frame (b transformed by mode).
func (g *txGroup) add(b []byte, mode uint8, tag *frame.Tag) {
	if g.n == maxBatch {
		// A frame reaches a destination at most once per batch; this cannot happen.
		g.drops++
		return
	}
	first := g.niov
	switch mode {
	case asIs:
		g.iov(b)
	case addTag:
		g.iov(b[:frame.TPIDOffset])
		g.iov(tag[:])
		g.iov(b[frame.TPIDOffset:])
	case delTag:
		g.iov(b[:frame.TPIDOffset])
		if len(b) > frame.TagEnd {
			g.iov(b[frame.TagEnd:])
		}
	}
	h := &g.msgs[g.n].Hdr
	h.Iov = &g.iovs[first]
	h.SetIovlen(g.niov - first)
	g.n++
}

// send is the RawConn.Write callback: non-blocking sendmmsg of the current group. Frames the
// socket cannot take now are dropped and counted, except when the batch has a single
// destination (see congestionWait).
func (r *rx) send(fd uintptr) bool {
	g := r.cur
	var deadline int64
	for g.sent < g.n {
		n, errno := g.sendmmsg(fd)
		switch errno {
		case 0:
			g.sent += int(n)
			if n > 0 && g.e.stalled.Load() {
				g.e.stalled.Store(false)
			}
		case unix.EINTR:
		case unix.EAGAIN:
			// A single destination: wait for it to drain (POLLOUT: down to a quarter of the send
			// buffer), for at most congestionWait, after which it counts as stuck, not slow.
			if r.mayWait && !g.e.stalled.Load() {
				if r.plane && g.e.rfd != nil {
					g.wait = true // the plane parks the source and polls g.e for POLLOUT
					return true
				}
				if g.e.wdl != nil && g.e.rfd == nil {
					g.wait = true // waitDrain parks in the runtime poller
					return true
				}
				now := r.s.now()
				if deadline == 0 {
					deadline = now + int64(r.s.congWait)
				}
				if now < deadline {
					r.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT}
					r.pwait = unix.NsecToTimespec(int64(congestionPoll)) // ppoll writes the time left back
					unix.Ppoll(r.pfd[:], &r.pwait, nil)                  // POLLOUT, time out or EINTR: try again
					continue
				}
				g.e.stalled.Store(true)
			}
			g.drops += uint64(g.n - g.sent)
			g.sent = g.n
		case unix.ECONNREFUSED, unix.ENOTCONN, unix.EPIPE, unix.EBADF:
			g.drops += uint64(g.n - g.sent)
			g.sent = g.n
		default: // EMSGSIZE, ENOBUFS...: drop this one, go on
			g.drops++
			g.sent++
		}
	}
	return true
}

// sendmmsg sends the group's messages from g.sent on, without blocking: a lone frame in one piece
// with sendto, cheaper than a sendmmsg of one (rawfd.Sparse).
func (g *txGroup) sendmmsg(fd uintptr) (uintptr, syscall.Errno) {
	if h := &g.msgs[g.sent].Hdr; g.n-g.sent == 1 && h.Iovlen == 1 {
		if e := rawfd.SendOne(int(fd), unsafe.Slice(h.Iov.Base, h.Iov.Len), true); e != 0 {
			return 0, e
		}
		return 1, 0
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&g.msgs[g.sent])),
		uintptr(g.n-g.sent), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
	return n, errno
}

// sendWait is the RawConn.Write callback of waitDrain: it sends what is left of the current group
// and returns false, to wait in the runtime poller for the socket to drain, while it is full.
func (r *rx) sendWait(fd uintptr) bool {
	g := r.cur
	for g.sent < g.n {
		n, errno := g.sendmmsg(fd)
		switch errno {
		case 0:
			g.sent += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		case unix.ECONNREFUSED, unix.ENOTCONN, unix.EPIPE, unix.EBADF:
			g.drops += uint64(g.n - g.sent)
			g.sent = g.n
		default:
			g.drops++
			g.sent++
		}
	}
	return true
}

// waitDrain waits, parked in the runtime poller, at most congestionWait for g's endpoint to take
// the rest of g; if it does not, the rest is dropped and the endpoint marked stalled. The write
// deadline that bounds the wait is set and cleared under the endpoint's waitMu, so two sources
// waiting for one destination do not clear each other's deadline.
func (r *rx) waitDrain(g *txGroup) {
	g.wait = false
	e := g.e
	e.waitMu.Lock()
	e.wdl(time.Now().Add(r.s.congWait))
	err := e.raw.Write(r.waitFn)
	e.wdl(time.Time{})
	e.waitMu.Unlock()
	if err != nil || g.sent < g.n {
		e.stalled.Store(true)
		g.drops += uint64(g.n - g.sent)
		g.sent = g.n
		return
	}
	if e.stalled.Load() {
		e.stalled.Store(false)
	}
}

// rxBatch holds a reader's receive buffers and recvmmsg messages.
type rxBatch struct {
	bufs [maxBatch][]byte
	iovs [maxBatch]unix.Iovec
	msgs [maxBatch]unix.Mmsghdr
	n    int
	err  error
	fn   func(fd uintptr) bool
}

func newRxBatch() *rxBatch {
	rb := &rxBatch{}
	rawfd.WireMmsg(rb.bufs[:], rb.iovs[:], rb.msgs[:], frame.MaxLen)
	rb.fn = rb.recv
	return rb
}

// recv is the RawConn.Read callback: it returns false (wait for readability) on EAGAIN.
func (rb *rxBatch) recv(fd uintptr) bool {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&rb.msgs[0])),
			maxBatch, unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			rb.n, rb.err = int(n), nil
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			rb.n, rb.err = 0, errno
			return true
		}
	}
}

// forward forwards the frames of the batch rb received (a truncated one, longer than any frame, is
// dropped and counted); false: a destination was full and the rest waits (rx.resume).
func (r *rx) forward(rb *rxBatch) bool {
	r.begin()
	for i := 0; i < rb.n; i++ {
		m := &rb.msgs[i]
		if m.Hdr.Flags&unix.MSG_TRUNC != 0 {
			r.inDrops++
			continue
		}
		r.handle(i, rb.bufs[i][:m.Len])
	}
	return r.flush()
}

// rawReadLoop reads batches from a datagram endpoint and forwards them.
func (s *Switch) rawReadLoop(e *endpoint) {
	defer s.removeEndpoint(e)
	rb := newRxBatch()
	r := newRx(s, e)
	for {
		if err := e.raw.Read(rb.fn); err != nil {
			return
		}
		if rb.err != nil {
			if rb.err == syscall.ECONNREFUSED {
				continue // the peer went away for a moment; its ctl socket decides
			}
			return
		}
		r.forward(rb)
	}
}

// batched reports whether endpoints may use batched datagram I/O.
const batched = true
