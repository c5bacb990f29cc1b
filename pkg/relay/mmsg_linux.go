// SPDX-License-Identifier: GPL-2.0-or-later

package relay

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/pkg/frame"
)

// mmsgBatch is how many datagrams one recvmmsg reads and one sendmmsg writes on a datagram socket (a
// VDE data socket): a TCP segment of 64 KB from a TAP with offloads is 44 frames, which then cost two
// system calls instead of 44.
const mmsgBatch = 32

// isDgramSocket reports whether fd is a datagram socket, on which recvmmsg and sendmmsg work (a TAP or a
// pipe is not one).
func isDgramSocket(fd int) bool {
	t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	return err == nil && t == unix.SOCK_DGRAM
}

// mmsgBufs is a set of frame buffers with the recvmmsg/sendmmsg headers that point at them.
type mmsgBufs struct {
	bufs [mmsgBatch][]byte
	iovs [mmsgBatch]unix.Iovec
	msgs [mmsgBatch]unix.Mmsghdr
}

func newMmsgBufs() *mmsgBufs {
	m := &mmsgBufs{}
	rawfd.WireMmsg(m.bufs[:], m.iovs[:], m.msgs[:], frame.MaxLen)
	return m
}

// mmsg runs recvmmsg or sendmmsg on msgs; a non-blocking descriptor skips the scheduler's bookkeeping
// as sysIO does. It returns how many messages went, or the error of the first one.
func mmsg(trap uintptr, fd int, msgs []unix.Mmsghdr, nb bool) (int, syscall.Errno) {
	var flags uintptr
	if trap == unix.SYS_SENDMMSG {
		flags = unix.MSG_NOSIGNAL
	}
	for {
		var n uintptr
		var e syscall.Errno
		if nb {
			n, _, e = syscall.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), flags, 0, 0)
		} else {
			n, _, e = syscall.Syscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), flags, 0, 0)
		}
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

// readMmsg is readOnce for a datagram socket: one recvmmsg of as many frames as the destination has room
// for (one while a Gate may hold the direction, so that the gate sees every frame before the next is
// read), each delivered in order. A datagram longer than frame.MaxLen arrives truncated: it is dropped
// and counted as oversize.
func (l *loop) readMmsg(src *side, o *outq, dir Dir) (more bool, err error) {
	k := o.free()
	if l.gate != nil {
		k = min(k, 1)
	}
	if k == 0 {
		return false, nil
	}
	m := src.mm
	now := l.now()
	if one := rawfd.Sparse(now, src.lastFrame); k == 1 || one {
		// One frame: recvfrom, cheaper than a recvmmsg of one (rawfd.Sparse). A sparse source is
		// read once per wake-up: what else came keeps it readable, and is read with recvmmsg at
		// once. One held by a Gate is read again when the gate opens.
		n, trunc, e := rawfd.RecvOne(src.rfd, m.bufs[0], src.rnb)
		if e != 0 {
			return l.readErr(e)
		}
		src.lastFrame = now
		if trunc {
			o.c.Drops.Add(1)
			o.c.Oversize.Add(1)
		} else {
			l.deliver(o, dir, m.bufs[0][:n])
		}
		return !one, nil
	}
	n, e := mmsg(unix.SYS_RECVMMSG, src.rfd, m.msgs[:k], src.rnb)
	if e != 0 {
		return l.readErr(e)
	}
	if n > 0 {
		src.lastFrame = now
	}
	for i := range n {
		h := &m.msgs[i]
		if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
			o.c.Drops.Add(1)
			o.c.Oversize.Add(1)
			continue
		}
		l.deliver(o, dir, m.bufs[i][:h.Len])
	}
	return n == k, nil
}

// The datagram output queue of a socket: frames wait in a ring of mmsgBatch buffers and go out with
// sendmmsg, in order, when the loop flushes (after each batch it read, so a lone frame waits for
// nothing but its own read).

// free returns how many frames can be queued now.
func (o *outq) free() int {
	if o.err != nil {
		return 0
	}
	switch {
	case o.mm != nil:
		return mmsgBatch - o.mn
	case o.fr != nil:
		return mmsgBatch // the Framer keeps frames until FlushTo (it coalesces them)
	case o.stream:
		if o.off == o.end {
			o.off, o.end = 0, 0
		}
		return (len(o.buf) - o.end) / (hdrLen + frame.MaxLen) // whole records that fit
	case o.room():
		return 1 // a datagram descriptor that is not a socket (a TAP): one write per frame
	}
	return 0
}

// putMmsg appends f to the ring (the caller checked room).
func (o *outq) putMmsg(f []byte) {
	i := (o.mhead + o.mn) % mmsgBatch
	o.mlen[i] = copy(o.mm.bufs[i], f)
	o.mn++
}

// flushMmsg sends the queued frames with sendmmsg until they are gone or the socket is full.
func (o *outq) flushMmsg() error {
	for o.mn > 0 && o.err == nil {
		// The ring's frames from mhead on, up to its end: one sendmmsg (the rest in the next round).
		k := min(o.mn, mmsgBatch-o.mhead)
		var n int
		var e syscall.Errno
		if k == 1 {
			// A lone frame: sendto, cheaper than a sendmmsg of one (rawfd.Sparse).
			if e = rawfd.SendOne(o.fd, o.mm.bufs[o.mhead][:o.mlen[o.mhead]], o.nb); e == 0 {
				n = 1
			}
		} else {
			for j := range k {
				o.mm.iovs[o.mhead+j].SetLen(o.mlen[o.mhead+j])
			}
			n, e = mmsg(unix.SYS_SENDMMSG, o.fd, o.mm.msgs[o.mhead:o.mhead+k], o.nb)
		}
		switch e {
		case 0:
			for j := range n {
				o.c.Frames.Add(1)
				o.c.Bytes.Add(uint64(o.mlen[o.mhead+j]))
			}
		case syscall.EAGAIN:
			return nil
		default:
			// The first frame failed: the write-error policy decides (drop it, or end the relay).
			o.fail(e)
			n = 1
		}
		o.mhead = (o.mhead + n) % mmsgBatch
		o.mn -= n
	}
	if o.mn == 0 {
		o.mhead = 0
	}
	return o.err
}
