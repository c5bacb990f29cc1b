// SPDX-License-Identifier: GPL-2.0-or-later

package tap

import (
	"context"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/govde/govde/pkg/frame"
	"golang.org/x/sys/unix"
)

// rawDatagram is what the poll loop needs from the switch side (a *vde.Conn): its connected datagram
// socket, and the end of its control stream.
type rawDatagram interface {
	frame.Endpoint
	RawData() (syscall.RawConn, error)
	Done() <-chan struct{}
	HungUp() bool
}

// pollBatch is how many frames one direction moves before the other gets its turn.
const pollBatch = 64

// joinFast is Join for a TAP Device and a VDE datagram connection: one goroutine, locked to its thread,
// waits in poll(2) on both descriptors (as vde_plug2tap does) and moves frames with non-blocking
// read/write, so that no frame costs a hand-off between threads through the runtime poller. It reports
// false, having done nothing, when the pair does not qualify.
func joinFast(ctx context.Context, a, b frame.Endpoint, st *JoinStats) (bool, error) {
	d, ok := a.(*Device)
	c, ok2 := b.(rawDatagram)
	toSock, toSockDrops, toTAP, toTAPDrops := &st.AtoB, &st.DropsAtoB, &st.BtoA, &st.DropsBtoA
	if !ok || !ok2 {
		d, ok = b.(*Device)
		c, ok2 = a.(rawDatagram)
		toSock, toSockDrops, toTAP, toTAPDrops = &st.BtoA, &st.DropsBtoA, &st.AtoB, &st.DropsAtoB
		if !ok || !ok2 {
			return false, nil
		}
	}
	src, err := c.RawData()
	if err != nil {
		return false, nil
	}
	// Our own descriptors for the same open files: closing the endpoints cannot pull them from under the loop.
	tfd, err := dupRaw(d.rc)
	if err != nil {
		return false, nil
	}
	sfd, err := dupRaw(src)
	if err != nil {
		unix.Close(tfd)
		return false, nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(tfd)
		unix.Close(sfd)
		return false, nil
	}
	// The runtime poller watches the endpoints' descriptors (edge-triggered), so every frame would
	// also wake a thread parked in epoll_wait for nothing: nobody waits on them while the loop runs, and
	// Join closes both at the end. Take them out of its epoll set.
	unwatchRuntime(d.rc, src)
	l := &pollLoop{tfd: int32(tfd), sfd: int32(sfd), efd: int32(efd),
		toSock: toSock, toSockDrops: toSockDrops, toTAP: toTAP, toTAPDrops: toTAPDrops}
	var (
		once     sync.Once
		firstErr error
	)
	stop := func(err error) {
		once.Do(func() {
			firstErr = err
			l.stopped.Store(true)
			one := uint64(1)
			unix.Write(efd, (*[8]byte)(unsafe.Pointer(&one))[:])
		})
	}
	d.setCloseHook(func() { stop(nil) })
	unwatch := context.AfterFunc(ctx, func() { stop(nil) })
	loopDone := make(chan struct{})
	go func() {
		select {
		case <-c.Done():
			if c.HungUp() {
				stop(io.EOF)
			} else {
				stop(nil)
			}
		case <-loopDone:
		}
	}()
	err = l.run()
	close(loopDone)
	stop(err)
	unwatch()
	d.setCloseHook(nil)
	unix.Close(tfd)
	unix.Close(sfd)
	unix.Close(efd)
	a.Close()
	b.Close()
	if orderly(firstErr) {
		return true, nil
	}
	return true, firstErr
}

// unwatchRuntime removes the descriptors behind rcs from the runtime poller's epoll set, found in
// /proc/self/fd. It is best effort: on failure the loop still works, only slower. When the runtime
// later closes the descriptors, its own EPOLL_CTL_DEL fails with ENOENT, which it ignores.
func unwatchRuntime(rcs ...syscall.RawConn) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		ep, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || link != "anon_inode:[eventpoll]" {
			continue
		}
		for _, rc := range rcs {
			rc.Control(func(fd uintptr) {
				var ev unix.EpollEvent
				unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, int(fd), &ev)
			})
		}
	}
}

// dupRaw duplicates the descriptor behind rc (close-on-exec).
func dupRaw(rc syscall.RawConn) (int, error) {
	var (
		nfd  int
		derr error
	)
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return nfd, derr
}

// pollLoop is the state of joinFast's loop; it lives on the heap, once per Join.
type pollLoop struct {
	tfd, sfd, efd int32
	stopped       atomic.Bool

	toSock, toSockDrops, toTAP, toTAPDrops *atomic.Uint64

	fds        [3]unix.PollFd
	tbuf, sbuf [frame.MaxLen]byte
	tlen, slen int // a frame read but not yet written (the destination answered EAGAIN), 0 if none
}

// run moves frames until a descriptor fails or stop wakes it; it returns why it stopped (nil when stopped).
func (l *pollLoop) run() error {
	// Locked, the goroutine comes back from poll(2) on the thread that slept in it; unlocked, the runtime
	// often resumes it on another thread, at the cost of a futex wake-up and a context switch.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l.fds[0].Fd, l.fds[1].Fd, l.fds[2].Fd = l.tfd, l.sfd, l.efd
	l.fds[2].Events = unix.POLLIN
	busy := false
	for {
		if l.stopped.Load() {
			return nil
		}
		var ev0, ev1 int16
		if l.tlen == 0 {
			ev0 |= unix.POLLIN
		} else {
			ev1 |= unix.POLLOUT
		}
		if l.slen == 0 {
			ev1 |= unix.POLLIN
		} else {
			ev0 |= unix.POLLOUT
		}
		if busy {
			// A direction stopped at pollBatch with frames left: go round again without waiting.
			l.fds[0].Revents, l.fds[1].Revents = ev0, ev1
		} else {
			l.fds[0].Events, l.fds[1].Events = ev0, ev1
			_, _, e := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&l.fds[0])), 3, ^uintptr(0))
			if e == syscall.EINTR {
				continue
			}
			if e != 0 {
				return os.NewSyscallError("poll", e)
			}
			if l.fds[2].Revents != 0 {
				return nil
			}
		}
		busy = false
		// POLLERR, POLLHUP and POLLNVAL come unasked; the next read or write reports them.
		const canRead = unix.POLLIN | unix.POLLERR | unix.POLLHUP | unix.POLLNVAL
		const canWrite = unix.POLLOUT | unix.POLLERR | unix.POLLHUP | unix.POLLNVAL
		// Flush what waited for room first, then read.
		if l.tlen > 0 && l.fds[1].Revents&canWrite != 0 {
			if err := l.sendSock(l.tlen); err != nil {
				return err
			}
		}
		if l.slen > 0 && l.fds[0].Revents&canWrite != 0 {
			if err := l.sendTAP(l.slen); err != nil {
				return err
			}
		}
		if l.tlen == 0 && l.fds[0].Revents&canRead != 0 {
			more, err := l.fromTAP()
			if err != nil {
				return err
			}
			busy = busy || more
		}
		if l.slen == 0 && l.fds[1].Revents&canRead != 0 {
			more, err := l.fromSock()
			if err != nil {
				return err
			}
			busy = busy || more
		}
	}
}

// fromTAP reads up to pollBatch frames from the TAP and sends them to the switch. It reports whether
// it stopped at the batch limit.
func (l *pollLoop) fromTAP() (bool, error) {
	for range pollBatch {
		n, e := rawIO(syscall.SYS_READ, l.tfd, l.tbuf[:])
		if e == syscall.EAGAIN {
			return false, nil
		}
		if e != 0 {
			return false, ioErr("read", e)
		}
		if n == 0 {
			continue
		}
		if err := l.sendSock(n); err != nil || l.tlen > 0 {
			return false, err
		}
	}
	return true, nil
}

// fromSock reads up to pollBatch datagrams from the switch and writes them to the TAP. Datagrams
// shorter than an Ethernet header are dropped, as vde.Conn.ReadFrame does.
func (l *pollLoop) fromSock() (bool, error) {
	for range pollBatch {
		n, e := rawIO(syscall.SYS_READ, l.sfd, l.sbuf[:])
		if e == syscall.EAGAIN {
			return false, nil
		}
		if e == syscall.ECONNRESET {
			return false, io.EOF // the switch closed our port
		}
		if e != 0 {
			return false, ioErr("read", e)
		}
		if n < frame.HeaderLen {
			continue
		}
		if err := l.sendTAP(n); err != nil || l.slen > 0 {
			return false, err
		}
	}
	return true, nil
}

// sendSock sends tbuf[:n] to the switch, keeping it in tlen when the switch's queue is full.
func (l *pollLoop) sendSock(n int) error {
	_, e := rawIO(syscall.SYS_WRITE, l.sfd, l.tbuf[:n])
	l.tlen = 0
	switch {
	case e == 0:
		l.toSock.Add(1)
	case e == syscall.EAGAIN:
		l.tlen = n
	default:
		if err := ioErr("write", e); gone(err) {
			return err
		}
		l.toSockDrops.Add(1)
	}
	return nil
}

// sendTAP writes sbuf[:n] to the TAP, keeping it in slen when the TAP answers EAGAIN.
func (l *pollLoop) sendTAP(n int) error {
	_, e := rawIO(syscall.SYS_WRITE, l.tfd, l.sbuf[:n])
	l.slen = 0
	switch {
	case e == 0:
		l.toTAP.Add(1)
	case e == syscall.EAGAIN:
		l.slen = n
	default:
		if err := ioErr("write", e); gone(err) {
			return err
		}
		l.toTAPDrops.Add(1)
	}
	return nil
}

// rawIO runs read(2) or write(2) on a non-blocking descriptor, retrying on EINTR.
func rawIO(trap uintptr, fd int32, b []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

// ioErr maps a failed read or write to the error Join reports: net.ErrClosed for a descriptor that
// went away (EBADF, EBADFD: the interface was deleted), the bare Errno for a write (a per-frame failure
// must not allocate; gone tells the fatal ones) and a *os.SyscallError for a read, which ends Join.
func ioErr(op string, e syscall.Errno) error {
	switch {
	case e == syscall.EBADF || e == syscall.EBADFD:
		return errClosed
	case op == "write":
		return e
	}
	return os.NewSyscallError(op, e)
}
