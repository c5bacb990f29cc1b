// SPDX-License-Identifier: GPL-2.0-or-later

package relay

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/govde/govde/pkg/frame"
	"golang.org/x/sys/unix"
)

// outq is the output of one side of the fast path: the frames going to it that the descriptor has not
// taken yet. For a stream it holds records (several per write); for a datagram descriptor, at most the
// one frame that met EAGAIN. It is also the Emitter a Hook gets for that direction.
type outq struct {
	mu       sync.Mutex // guards everything below; taken by the loop and by Emit
	fd       int
	stream   bool
	nb       bool // fd is non-blocking
	buf      []byte
	off, end int // buf[off:end] waits for the descriptor
	// chunk, when not 0, caps a stream write at whole records of at most chunk bytes (pipeChunk, on a
	// pipe) until bunched (Config.Bunched) holds true; buf[off:cend] is the chunk being written.
	chunk, cend int
	bunched     *atomic.Bool
	err         error // a write error that ended the relay
	closed      bool
	wantRoom    bool // an Emit met ErrFull: tell Config.OnRoom when there is room
	inHook      bool // the loop is in a hook delivering to this queue, or in Config.Timer, and flushes it afterwards
	c           *Counters
	wake        int             // the loop's eventfd
	fr          frame.RawFramer // not nil: frames are written through it (a TAP with offloads)

	// A datagram socket: frames wait in a ring for sendmmsg (mmsg_linux.go).
	mm        *mmsgBufs
	mlen      [mmsgBatch]int
	mhead, mn int
}

// pending reports whether frames wait for the descriptor.
func (o *outq) pending() bool {
	if o.mm != nil {
		return o.mn > 0
	}
	return o.end > o.off
}

// room reports whether one more frame can be queued.
func (o *outq) room() bool {
	if o.err != nil {
		return false
	}
	if o.mm != nil {
		return o.mn < mmsgBatch
	}
	if !o.stream {
		return o.end == 0
	}
	if o.off == o.end {
		o.off, o.end, o.cend = 0, 0, 0
	}
	return o.end+hdrLen+frame.MaxLen <= len(o.buf)
}

// put queues f (the caller checked room): a datagram is written at once and kept only on EAGAIN; a
// stream record is appended, for flush to write.
func (o *outq) put(f []byte) {
	if o.fr != nil {
		if e := o.fr.WriteFrameTo(o.fd, f); e != 0 {
			o.fail(e)
			return
		}
		o.c.Frames.Add(1)
		o.c.Bytes.Add(uint64(len(f)))
		return
	}
	if o.mm != nil {
		o.putMmsg(f)
		return
	}
	if o.stream {
		binary.BigEndian.PutUint16(o.buf[o.end:], uint16(len(f)))
		o.end += hdrLen + copy(o.buf[o.end+hdrLen:], f)
		o.c.Frames.Add(1)
		o.c.Bytes.Add(uint64(len(f)))
		return
	}
	switch e := write(o.fd, f, o.nb); e {
	case 0:
		o.c.Frames.Add(1)
		o.c.Bytes.Add(uint64(len(f)))
	case syscall.EAGAIN:
		o.end = copy(o.buf, f)
	default:
		o.fail(e)
	}
}

// flush writes what waits, as far as the descriptor takes it.
func (o *outq) flush() error {
	if o.fr != nil {
		if o.err == nil {
			if e := o.fr.FlushTo(o.fd); e != 0 {
				o.fail(e)
			}
		}
		return o.err
	}
	if o.mm != nil {
		return o.flushMmsg()
	}
	for o.end > o.off && o.err == nil {
		if !o.stream {
			switch e := write(o.fd, o.buf[:o.end], o.nb); e {
			case 0:
				o.c.Frames.Add(1)
				o.c.Bytes.Add(uint64(o.end))
			case syscall.EAGAIN:
				return nil
			default:
				o.fail(e)
			}
			o.off, o.end = 0, 0
			continue
		}
		p := o.buf[o.off:o.end]
		if o.chunk > 0 && (o.bunched == nil || !o.bunched.Load()) {
			if o.cend <= o.off {
				o.cend = o.off + wholeRecords(p, o.chunk)
			}
			p = o.buf[o.off:o.cend]
		}
		n, e := sysIO(syscall.SYS_WRITE, o.fd, p, o.nb)
		switch e {
		case 0:
			o.off += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return nil
		default:
			// A stream cannot lose part of a record and stay in step: any write error ends the relay.
			o.err = errnoErr(e)
		}
	}
	if o.off == o.end {
		o.off, o.end, o.cend = 0, 0, 0
	}
	return o.err
}

// pipeChunk is the most one stream write to a pipe carries, until Config.Bunched says that no real
// wirefilter reads the pipe. The real wirefilter (r586) reads its pipes
// 2048 bytes at a time and loses its place in the stream when a read ends one byte into a record header
// (it takes the second byte from stale memory, then cuts records wrongly until a read starts on a
// record boundary again). vde_plug writes one record per write, so a wirefilter that keeps up reads
// whole records and never cuts a header; writes of whole records of at most 2048 bytes keep that true
// for ours (a full-size frame alone, small ones several to a write). Without the cap, TCP through
// "dpipe vplug = wirefilter = vplug" stalled under load (TestRealWirefilterCable). The cap costs a
// busy cable a system call per full-size frame, and its reader a wake-up per frame.
const pipeChunk = 2048

// isPipe reports whether fd is a pipe or FIFO.
func isPipe(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// wholeRecords returns the length of the longest run of whole stream records at the start of b that is
// at most max bytes long, and at least the first record. b starts with a record header.
func wholeRecords(b []byte, max int) int {
	n := 0
	for n+hdrLen <= len(b) {
		r := hdrLen + int(binary.BigEndian.Uint16(b[n:]))
		if n > 0 && n+r > max {
			break
		}
		n += r
	}
	return min(n, len(b))
}

// fail applies the write-error policy to a datagram write error: gone ends the relay, anything else
// drops the frame.
func (o *outq) fail(e syscall.Errno) {
	if err := errnoErr(e); gone(err) {
		o.err = err
		return
	}
	o.c.Drops.Add(1)
}

// write does one write(2) of b, retrying on EINTR.
func write(fd int, b []byte, nb bool) syscall.Errno {
	for {
		if _, e := sysIO(syscall.SYS_WRITE, fd, b, nb); e != syscall.EINTR {
			return e
		}
	}
}

// sysIO runs read(2) or write(2) on fd. A non-blocking descriptor cannot block, so it skips the
// scheduler's system-call bookkeeping (RawSyscall); a blocking one may, so it goes through Syscall.
func sysIO(trap uintptr, fd int, b []byte, nb bool) (int, syscall.Errno) {
	if nb {
		n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		return int(n), e
	}
	n, _, e := syscall.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

// errnoErr maps EBADF and EBADFD to net.ErrClosed and returns other errnos bare (no allocation).
func errnoErr(e syscall.Errno) error {
	if e == syscall.EBADF || e == syscall.EBADFD {
		return net.ErrClosed
	}
	return e
}

// Emit implements Emitter: f is queued (ErrFull when there is no room) and the loop is woken to write it.
func (o *outq) Emit(f []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return net.ErrClosed
	case len(f) < frame.HeaderLen:
		o.c.Runts.Add(1)
	case !o.room():
		o.wantRoom = true
		return ErrFull
	default:
		o.put(f)
		if o.fr != nil {
			o.flush() // nothing else would write what the Framer keeps
		}
		// While the loop runs a hook for this queue it flushes the queue afterwards: no wake-up
		// (an eventfd write per frame) is needed then.
		if (o.pending() || o.err != nil) && !o.inHook {
			signal(o.wake)
		}
	}
	return nil
}

// roomAgain reports, once, that an Emit met ErrFull and there is room now.
func (o *outq) roomAgain() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.wantRoom && o.room() {
		o.wantRoom = false
		return true
	}
	return false
}

// close makes later Emits fail.
func (o *outq) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}
