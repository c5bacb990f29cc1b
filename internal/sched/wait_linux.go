// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// YieldEvery is how often a Waiter's loop passes through the Go scheduler. A goroutine that
	// stays on one scheduling tick for 10 ms (its poll(2) calls do not count) is preempted by the
	// runtime's sysmon, which then also takes its P away during its next poll(2) and goes back to
	// waking itself every 20 µs: on a TCP flow through a cable of two vplugs, perf put 9 % of
	// vplug's CPU in sysmon's nanosleep (8,500-9,800 calls in 7 s, and 585 preemption signals);
	// yielding first brought that to 1,300-1,900 calls and 30-60 signals, and the CPU per Mbit/s
	// down by a quarter.
	YieldEvery = 5 * time.Millisecond
	// HotFor is how long a Waiter stays hot (see Waiter) after its last event.
	HotFor = 10 * time.Millisecond
	// maxUnyielded bounds a hot wait: it ends at most this long after the last yield, so that the
	// loop passes through the scheduler before sysmon's 10 ms. Not YieldEvery: a wait cut at the
	// yield's due time would wake the loop for nothing every 5 ms, while frames coming every few
	// milliseconds (pings) find it due anyway.
	maxUnyielded = 8 * time.Millisecond
)

// A Waiter is the poll(2) wait of a data-plane loop: one goroutine that waits on all its
// descriptors with ppoll and moves frames with plain system calls (relay's fast path, vswitch's
// plane). It yields to the Go scheduler every YieldEvery, before a wait.
//
// When the process runs on one P (GOMAXPROCS 1, see OneProc), a Waiter that has seen an event in the
// last HotFor is hot: it waits without telling the runtime (a raw system call), keeping its P, for
// at most 8 ms after its last yield. A waiting loop then costs the runtime nothing: its P is
// not taken away by sysmon, so the loop does not have to take it back when a frame arrives, and a
// yield has no idle P to start a thread for, so the goroutine neither wakes another thread nor
// moves to it. Measured through one vswitch between two plug2taps on a 2-core VM, six alternating
// rounds of 600 pings every 2 ms: the median round trip went from 0.183-0.195 to 0.162-0.169 ms
// (vde_switch and vde_plug2tap: 0.151-0.160), the futex calls of each process from about 330 to 8
// per 500 pings, and the CPU time per ping of the three processes from 195 to 180 µs (the C tools:
// 115). With several Ps a raw wait gains nothing (a yield still starts a spinning thread, which
// takes the goroutine over).
//
// Other goroutines run at the loop's yields, at most YieldEvery apart; those woken by the runtime's
// poller (a console connection), once sysmon has polled, within 10 ms.
//
// Idle for HotFor, the Waiter is cold: it waits with an ordinary system call, which hands the P
// back, so that an idle process sleeps until something comes. sysmon then takes the P from the
// waiting thread and starts over at its shortest tick, as it did for the loop before there were
// hot waits (after its 10 ms on one tick): measured on a plug2tap pinged once a second, sysmon
// woke 66 times a second, against 45 before (vde_plug2tap has no such thread).
type Waiter struct {
	single    bool // GOMAXPROCS was 1 when the Waiter was made: it may go hot
	hot       bool
	lastEvent time.Time
	lastYield time.Time
	ts        unix.Timespec
}

// NewWaiter returns a cold Waiter; it may go hot if GOMAXPROCS is 1 now.
func NewWaiter() *Waiter {
	now := time.Now()
	return &Waiter{single: runtime.GOMAXPROCS(0) == 1, lastYield: now}
}

// Hot reports whether the last Wait was hot.
func (w *Waiter) Hot() bool { return w.hot }

// Wait yields to the scheduler when due, then waits in ppoll(2) for fds, at most timeout (negative:
// no limit). It returns ppoll's result: the number of descriptors with events (0 on timeout) and
// the error (EINTR when a signal came first).
func (w *Waiter) Wait(fds []unix.PollFd, timeout time.Duration) (int, syscall.Errno) {
	for w.hot {
		now := time.Now()
		if now.Sub(w.lastYield) >= YieldEvery {
			runtime.Gosched()
			w.lastYield = now
		}
		t := w.lastYield.Add(maxUnyielded).Sub(now)
		if timeout >= 0 && timeout < t {
			t = timeout
		}
		n, e := w.ppoll(fds, t, true)
		if n != 0 || e != 0 {
			if n > 0 {
				w.lastEvent = time.Now()
			}
			return n, e
		}
		if timeout >= 0 {
			if timeout -= t; timeout <= 0 {
				return 0, 0
			}
		}
		if time.Since(w.lastEvent) >= HotFor {
			w.hot = false
		}
	}
	if now := time.Now(); now.Sub(w.lastYield) >= YieldEvery {
		// After the frames that woke the loop have gone on and before it waits again, so that the
		// yield (which may move the goroutine to another thread) is not in the way of a frame.
		runtime.Gosched()
		w.lastYield = now
	}
	n, e := w.ppoll(fds, timeout, false)
	if n > 0 && w.single {
		w.hot, w.lastEvent = true, time.Now()
	}
	return n, e
}

// ppoll runs ppoll(2) on fds with timeout (negative: none); raw keeps the runtime out of it.
func (w *Waiter) ppoll(fds []unix.PollFd, timeout time.Duration, raw bool) (int, syscall.Errno) {
	var ts uintptr
	if timeout >= 0 {
		w.ts = unix.NsecToTimespec(int64(timeout))
		ts = uintptr(unsafe.Pointer(&w.ts))
	}
	var p uintptr
	if len(fds) > 0 {
		p = uintptr(unsafe.Pointer(&fds[0]))
	}
	call := syscall.Syscall6
	if raw {
		call = syscall.RawSyscall6
	}
	n, _, e := call(unix.SYS_PPOLL, p, uintptr(len(fds)), ts, 0, 0, 0)
	return int(n), e
}
