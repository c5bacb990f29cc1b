// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"os"
	"runtime"
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
	ep int      // the epoll instance registered with the runtime's poller (f's descriptor)
	f  *os.File // ep, registered with the runtime's poller
	// data is the epoll instance that watches the Waiter's descriptors: ep itself, or, for a Waiter
	// that watches the runtime's poller (WatchPoller), one of its own in ep, which detach takes out
	// of ep while the Waiter is hot: frames then do not make the runtime's poller ready (ep is in it).
	data     int
	detached bool
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
	// rt is the poll entry of the runtime's epoll instance (see serve); calls counts serveReady's
	// calls; still says that the runtime's poller was still ready when the last serve ended.
	rt         [1]unix.PollFd
	calls      int
	still      bool
	serveReady func(uintptr) bool
}

// serveAgain is how long a serve's second and third parks last: long enough for the scheduler to find
// nothing to run and poll blocking (which reads the runtime's wake-up eventfd, a poll that does not
// block leaves it ready).
const serveAgain = 50 * time.Microsecond

// newParker returns a parker, or nil when the runtime's poller cannot watch an epoll instance. With
// split, the Waiter's descriptors are watched by an epoll instance of their own (data).
func newParker(w *Waiter, split bool) *parker {
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
	p := &parker{ep: ep, data: ep, f: f, rc: rc, tfd: tfd, regs: map[int32]uint32{}, next: map[int32]uint32{}}
	if split {
		data, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil || epollCtl(ep, unix.EPOLL_CTL_ADD, int32(data), unix.EPOLLIN) != 0 {
			if err == nil {
				unix.Close(data)
			}
			unix.Close(tfd)
			f.Close()
			return nil
		}
		p.data = data
	}
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
	p.serveReady = func(uintptr) bool {
		p.calls++
		// After a park, done unless the runtime's poller is still ready: the park did not happen (a
		// readiness of ep left from before let the goroutine through), more came meanwhile, or it is
		// the runtime's own wake-up eventfd, which only a poll that blocks reads. Three parks at most.
		if p.calls > 1 {
			// Polling an epoll instance takes none of its events.
			n, _ := w.ppoll(p.rt[:], 0, true)
			if p.still = n > 0; !p.still || p.calls > 3 {
				RawRead(p.tfd, drain[:]) // the timer's expiry, so that it wakes nobody again
				return true
			}
		}
		// Park: the timer (in ep) makes ep ready at once, which only the scheduler's poll reports;
		// again, late enough for the scheduler to find nothing at once and poll blocking.
		d := time.Nanosecond
		if p.calls > 1 {
			d = serveAgain
		}
		return RawTimerfdSet(p.tfd, d) != 0
	}
	return p
}

func (p *parker) close() {
	if p.f != nil {
		p.f.Close()
		unix.Close(p.tfd)
		if p.data != p.ep {
			unix.Close(p.data)
		}
		p.f = nil
	}
}

// detach takes the Waiter's descriptors out of the runtime's poller while the Waiter is hot (see
// serve), if they have an epoll instance of their own.
func (p *parker) detach() {
	if p.data != p.ep && !p.detached && epollCtl(p.ep, unix.EPOLL_CTL_DEL, int32(p.data), 0) == 0 {
		p.detached = true
	}
}

// unwatch takes the Waiter's descriptors out of the epoll instance that watches them, when the Waiter
// goes hot: its hot waits poll them with ppoll(2), and while they stayed in the epoll instance every
// event on one of them (a frame the switch sends, the answer a TAP's host writes back inside the
// write that brought it a ping) ran the epoll instance's wake-up callback too, and the runtime
// poller's behind it when the instance is in that poller. The next park's watch puts them back.
func (p *parker) unwatch() {
	for fd := range p.regs {
		epollCtl(p.data, unix.EPOLL_CTL_DEL, fd, 0) // EBADF, ENOENT: closed since, and gone with it
	}
	clear(p.regs)
	p.last = p.last[:0]
}

// serve lets the goroutines that wait in the runtime's poller for descriptors now ready run, while
// the Waiter is hot: its goroutine parks in the poller for a moment (a timer of a nanosecond ends the
// park), the scheduler, finding nothing else to run, polls and readies them with it, and it yields to
// them after. A hot loop keeps the process's only P: otherwise they would wait for sysmon's poll
// (every 10 ms) and the loop's next yield after it.
// It reports whether the runtime's poller was ready still at the end.
func (p *parker) serve(rt int32) bool {
	p.rt[0] = unix.PollFd{Fd: rt, Events: unix.POLLIN}
	p.calls, p.still = 0, false
	p.rc.Read(p.serveReady) // an error: f is closed, and the Waiter with it
	// Twice: one schedule in 61 takes the global run queue first, where a yield puts the Waiter's
	// goroutine, ahead of the local one, where the poll put the others.
	runtime.Gosched()
	runtime.Gosched()
	return p.still
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
		e := epollCtl(p.data, op, fd, ev)
		switch {
		case e == unix.EEXIST:
			e = epollCtl(p.data, unix.EPOLL_CTL_MOD, fd, ev)
		case e == unix.ENOENT:
			e = epollCtl(p.data, unix.EPOLL_CTL_ADD, fd, ev)
		}
		if e != 0 {
			p.stale = true
			return false
		}
	}
	for fd := range p.regs {
		if _, ok := p.next[fd]; !ok {
			epollCtl(p.data, unix.EPOLL_CTL_DEL, fd, 0) // ENOENT, EBADF: closed since, and gone with it
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
	if p.detached {
		if epollCtl(p.ep, unix.EPOLL_CTL_ADD, int32(p.data), unix.EPOLLIN) != 0 {
			return 0, 0, false
		}
		p.detached = false
	}
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
