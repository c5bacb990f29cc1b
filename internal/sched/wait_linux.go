// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"os"
	"runtime"
	"strings"
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
	// maxUnyielded bounds a hot wait when the runtime sends no preemption signals
	// (GODEBUG=asyncpreemptoff=1): it ends at most this long after the last yield, so that the
	// loop passes through the scheduler before sysmon's 10 ms. Not YieldEvery: a wait cut at the
	// yield's due time would wake the loop for nothing every 5 ms, while frames coming every few
	// milliseconds (pings) find it due anyway.
	maxUnyielded = 8 * time.Millisecond
)

// preemptSignals says whether the runtime preempts a goroutine that has run for 10 ms with a signal
// (SIGURG), which ends a hot wait's ppoll with EINTR: true unless GODEBUG turns that off.
var preemptSignals = !asyncPreemptOff(os.Getenv("GODEBUG"))

// asyncPreemptOff reports whether the GODEBUG value godebug sets asyncpreemptoff=1 (its last
// setting counts, as for the runtime).
func asyncPreemptOff(godebug string) bool {
	off := false
	for kv := range strings.SplitSeq(godebug, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "asyncpreemptoff="); ok {
			off = v == "1"
		}
	}
	return off
}

// A Waiter is the poll(2) wait of a data-plane loop: one goroutine that waits on all its
// descriptors with ppoll and moves frames with plain system calls (relay's fast path, vswitch's
// plane). It yields to the Go scheduler every YieldEvery, before a wait.
//
// When the process runs on one P (GOMAXPROCS 1, see OneProc), a Waiter that has seen an event in the
// last HotFor is hot: it waits without telling the runtime (a raw system call), keeping its P. A
// waiting loop then costs the runtime nothing: its P is not taken away by sysmon, so the loop does
// not have to take it back when a frame arrives, and a yield has no idle P to start a thread for,
// so the goroutine neither wakes another thread nor moves to it. Measured through one vswitch
// between two plug2taps on a 2-core VM, six alternating rounds of 600 pings every 2 ms: the median
// round trip went from 0.183-0.195 to 0.162-0.169 ms (vde_switch and vde_plug2tap: 0.151-0.160),
// the futex calls of each process from about 330 to 8 per 500 pings, and the CPU time per ping of
// the three processes from 195 to 180 µs (the C tools: 115). With several Ps a raw wait gains
// nothing (a yield still starts a spinning thread, which takes the goroutine over).
//
// A hot wait has no timeout of its own (a ppoll timeout arms and cancels a kernel timer at every
// wait; perf showed that hrtimer work under every ppoll): when no frame comes, sysmon's preemption
// signal ends it 10 to 20 ms after the loop's last yield, and the Waiter yields then (or goes cold).
// With preemption signals off (GODEBUG=asyncpreemptoff=1), a hot wait ends at most 8 ms after the
// last yield. A hot wait also leaves out the Rare descriptors but after a yield, and the Waiter
// reads the clock once per wait. Measured as above, eight alternating rounds of 500 pings, ratios to
// the C tools' figures of the same round (medians): round trip median 1.11 → 1.06, 99th percentile
// 1.25 → 1.11, CPU time per ping 1.40 → 1.28.
//
// Other goroutines run at the loop's yields: at most YieldEvery apart while frames flow, within
// about 20 ms while the loop waits hot for none (a console connection, a signal, a timer).
//
// Idle for HotFor, the Waiter is cold: it waits with an ordinary system call, which hands the P
// back, so that an idle process sleeps until something comes. sysmon then takes the P from the
// waiting thread and starts over at its shortest tick, as it did for the loop before there were
// hot waits (after its 10 ms on one tick): measured on a plug2tap pinged once a second, sysmon
// woke 66 times a second, against 45 before (vde_plug2tap has no such thread).
type Waiter struct {
	// Rare is how many descriptors at the end of the poll set a hot wait may leave out: those of
	// rare events that can wait about 20 ms (an endpoint closed from outside). They are watched in
	// cold waits and in the first wait after each yield (at least every YieldEvery while frames
	// flow); a wait that leaves them out clears their Revents. Each descriptor in a wait costs the
	// kernel a poll call and a wait-queue entry, twice if it sleeps: in perf, a relay's two cancel
	// pipes and its eventfd (which stays: it carries the Emitters' wake-ups) were about a sixth of
	// what plug2tap's ppoll cost beyond vde_plug2tap's poll.
	Rare int

	single bool // GOMAXPROCS was 1 when the Waiter was made: it may go hot
	hot    bool
	// evented says that the last wait gave events: the next Wait takes its start as lastEvent, which
	// saves reading the clock after every wake-up.
	evented bool
	// full says that the next hot wait watches the Rare descriptors (the first after a yield).
	full bool
	// lastEvent and lastYield are times on the monotonic clock (mono).
	lastEvent time.Duration
	lastYield time.Duration
	ts        unix.Timespec
}

// epoch is the origin of mono.
var epoch = time.Now()

// mono returns the time on the monotonic clock: one clock read, where time.Now reads two clocks.
func mono() time.Duration { return time.Since(epoch) }

// NewWaiter returns a cold Waiter; it may go hot if GOMAXPROCS is 1 now.
func NewWaiter() *Waiter {
	return &Waiter{single: runtime.GOMAXPROCS(0) == 1, lastYield: mono()}
}

// Hot reports whether the last Wait was hot.
func (w *Waiter) Hot() bool { return w.hot }

// Wait yields to the scheduler when due, then waits in ppoll(2) for fds, at most timeout (negative:
// no limit). It returns ppoll's result: the number of descriptors with events (0 on timeout) and
// the error (EINTR when a signal came first; a hot wait goes on after a signal instead).
func (w *Waiter) Wait(fds []unix.PollFd, timeout time.Duration) (int, syscall.Errno) {
	for w.hot {
		now := mono()
		if w.evented {
			w.lastEvent, w.evented = now, false
		}
		if now-w.lastYield >= YieldEvery {
			runtime.Gosched()
			w.lastYield, w.full = now, true
		}
		t := timeout
		if !preemptSignals {
			if b := w.lastYield + maxUnyielded - now; t < 0 || b < t {
				t = b
			}
		}
		set := fds
		if !w.full && w.Rare > 0 {
			set = fds[:len(fds)-w.Rare]
			for i := len(set); i < len(fds); i++ {
				fds[i].Revents = 0
			}
		}
		w.full = false
		n, e := w.ppoll(set, t, true)
		if n > 0 {
			w.evented = true
			return n, e
		}
		if e != 0 && e != syscall.EINTR {
			return n, e
		}
		// The timeout, or a signal: sysmon's preemption of a wait without one, or another.
		end := mono()
		if end-w.lastEvent >= HotFor {
			w.hot = false
		}
		if timeout >= 0 {
			if timeout -= end - now; timeout <= 0 {
				return 0, 0
			}
		}
	}
	if now := mono(); now-w.lastYield >= YieldEvery {
		// After the frames that woke the loop have gone on and before it waits again, so that the
		// yield (which may move the goroutine to another thread) is not in the way of a frame.
		runtime.Gosched()
		w.lastYield = now
	}
	n, e := w.ppoll(fds, timeout, false)
	if n > 0 && w.single {
		w.hot, w.evented = true, true
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
