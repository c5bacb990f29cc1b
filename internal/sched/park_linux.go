// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"os"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A parker is how an idle Waiter waits: its goroutine parks in the Go runtime's network poller on an
// epoll instance that watches the Waiter's descriptors, as any Go program waits for a socket. With
// every P idle, the runtime's sysmon thread then sleeps until the next Go timer instead of
// waking every 20 µs to 10 ms to take back a P held in a blocking poll(2) (see Waiter).
type parker struct {
	ep int      // the epoll instance (f's descriptor)
	f  *os.File // ep, registered with the runtime's poller
	// tfd is a timerfd in ep that ends a wait with a timeout, to the nanosecond: a deadline of the
	// runtime's poller would come up to a millisecond late (it sleeps in epoll_wait, whose timeout is
	// in milliseconds), which a wirefilter pacing frames cannot afford.
	tfd   int
	timed bool // the wait in progress has a timeout (tfd is armed)
	rc    syscall.RawConn
	regs  map[int32]uint32 // the descriptors registered in ep, with their events
	next  map[int32]uint32
	// last is the poll set of the last watch that succeeded (descriptors and events): the same set
	// again, as a loop's idle waits most often are, needs no map work.
	last []unix.PollFd
	// stale says that a descriptor in regs may have been closed since, its number reused (Waiter.Forget).
	stale bool
	fds   []unix.PollFd // the poll set of the wait in progress
	n     int           // its last ppoll's result
	e     syscall.Errno
	// ready is RawConn.Read's callback: it reports whether the poll set has events (or an error),
	// without the runtime seeing a system call.
	ready func(uintptr) bool
}

// newParker returns a parker, or nil when the runtime's poller cannot watch an epoll instance.
func newParker(w *Waiter) *parker {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil
	}
	f := os.NewFile(uintptr(ep), "sched-waiter-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	// A deadline is refused unless the runtime's poller took the descriptor.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
	if err != nil {
		f.Close()
		return nil
	}
	if epollCtl(ep, unix.EPOLL_CTL_ADD, int32(tfd), unix.EPOLLIN) != 0 {
		unix.Close(tfd)
		f.Close()
		return nil
	}
	p := &parker{ep: ep, f: f, rc: rc, tfd: tfd, regs: map[int32]uint32{}, next: map[int32]uint32{}}
	var drain [8]byte
	p.ready = func(uintptr) bool {
		p.n, p.e = w.ppoll(p.fds, 0, true)
		if p.n != 0 || p.e != 0 {
			return true
		}
		// Expired: the timeout. An untimed wait does not look (a system call before every park, on the
		// CPU the frame just sent must wait for): a timer of an earlier wait that expired unread
		// wakes nobody again, and the next timed wait rearms it and resets its count.
		if !p.timed {
			return false
		}
		n, e := RawRead(p.tfd, drain[:])
		return e == 0 && n == len(drain)
	}
	return p
}

func (p *parker) close() {
	if p.f != nil {
		p.f.Close()
		unix.Close(p.tfd)
		p.f = nil
	}
}

// RawRead reads b from fd, which must not block (non-blocking, or known ready), without telling the
// runtime: a data-plane loop's read that the runtime saw would wake a sysmon that sleeps while the
// loop is parked (see Waiter).
func RawRead(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

// RawTimerfdSet sets the timerfd fd to expire once, d (> 0) from now, without telling the runtime: a
// data-plane loop's system call that the runtime saw would wake a sysmon that sleeps while the loop is
// parked (see Waiter).
func RawTimerfdSet(fd int, d time.Duration) syscall.Errno {
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	_, _, e := syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(fd), 0,
		uintptr(unsafe.Pointer(&its)), 0, 0, 0)
	return e
}

// watch makes ep watch the descriptors of fds for their events, and reports whether it could. A
// descriptor whose events are those registered last time is left alone, unless Waiter.Forget was called
// since (a number may then name another file).
func (p *parker) watch(fds []unix.PollFd) bool {
	if !p.stale && samePollSet(fds, p.last) {
		return true
	}
	clear(p.next)
	for i := range fds {
		if fd := fds[i].Fd; fd >= 0 {
			p.next[fd] |= uint32(fds[i].Events) // poll(2) and epoll(7) events have the same values
		}
	}
	for fd, ev := range p.next {
		old, ok := p.regs[fd]
		if ok && old == ev && !p.stale {
			continue
		}
		op := unix.EPOLL_CTL_ADD
		if ok {
			op = unix.EPOLL_CTL_MOD
		}
		e := epollCtl(p.ep, op, fd, ev)
		switch {
		case e == unix.EEXIST:
			e = epollCtl(p.ep, unix.EPOLL_CTL_MOD, fd, ev)
		case e == unix.ENOENT:
			e = epollCtl(p.ep, unix.EPOLL_CTL_ADD, fd, ev)
		}
		if e != 0 {
			p.stale = true
			return false
		}
	}
	for fd := range p.regs {
		if _, ok := p.next[fd]; !ok {
			epollCtl(p.ep, unix.EPOLL_CTL_DEL, fd, 0) // ENOENT, EBADF: closed since, and gone with it
		}
	}
	p.regs, p.next = p.next, p.regs
	p.stale = false
	p.last = append(p.last[:0], fds...)
	return true
}

// samePollSet reports whether a and b watch the same descriptors for the same events, in order.
func samePollSet(a, b []unix.PollFd) bool {
	return slices.EqualFunc(a, b, func(x, y unix.PollFd) bool { return x.Fd == y.Fd && x.Events == y.Events })
}

// epollCtl runs epoll_ctl(2) without telling the runtime (it does not block): a system call that
// the runtime sees would wake a sleeping sysmon.
func epollCtl(ep, op int, fd int32, events uint32) syscall.Errno {
	ev := unix.EpollEvent{Events: events, Fd: fd}
	_, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(ep), uintptr(op), uintptr(fd),
		uintptr(unsafe.Pointer(&ev)), 0, 0)
	return e
}

// wait parks until fds have events or timeout (negative: none) passes; it returns what ppoll would.
// ok is false when the poller cannot be used for fds: the caller waits otherwise.
func (p *parker) wait(fds []unix.PollFd, timeout time.Duration) (n int, e syscall.Errno, ok bool) {
	if !p.watch(fds) {
		return 0, 0, false
	}
	p.timed = timeout > 0
	if p.timed && RawTimerfdSet(p.tfd, timeout) != 0 {
		return 0, 0, false
	}
	p.fds, p.n, p.e = fds, 0, 0
	err := p.rc.Read(p.ready)
	p.fds = nil
	if err != nil {
		return 0, 0, false
	}
	return p.n, p.e, true
}
