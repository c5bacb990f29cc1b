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
// When the process runs on one P (GOMAXPROCS 1, see OneProc), a Waiter that frames keep busy (see
// below for when it goes hot) is hot until its window (SetHot: HotFor or GOVDE_HOT)
// passes without an event: it waits without telling the runtime (a raw system call), keeping its P.
// A waiting loop then costs the runtime little: its P is not taken away by sysmon, so the loop does
// not have to take it back when a frame arrives, and a yield has no idle P to start a thread for, so
// the goroutine neither wakes another thread nor moves to it. Measured through one vswitch between
// two plug2taps on a 2-core VM, six alternating rounds of 600 pings every 2 ms: the median round trip
// went from 0.183-0.195 to 0.162-0.169 ms (vde_switch and vde_plug2tap: 0.151-0.160),
// the futex calls of each process from about 330 to 8 per 500 pings, and the CPU time per ping of
// the three processes from 195 to 180 µs (the C tools: 115). With several Ps a raw wait gains
// nothing (a yield still starts a spinning thread, which takes the goroutine over).
//
// A hot wait has no timeout of its own (a ppoll timeout arms and cancels a kernel timer at every
// wait; perf showed that hrtimer work under every ppoll): when no frame comes, sysmon's preemption
// signal ends it 10 to 20 ms after the loop's last yield, and the Waiter yields then (or parks).
// With preemption signals off (GODEBUG=asyncpreemptoff=1), a hot wait ends at most 8 ms after the
// last yield. A hot wait also leaves out the Rare descriptors but after a yield, and the Waiter
// reads the clock once per wait. Measured as above, eight alternating rounds of 500 pings, ratios to
// the C tools' figures of the same round (medians): round trip median 1.11 → 1.06, 99th percentile
// 1.25 → 1.11, CPU time per ping 1.40 → 1.28.
//
// Other goroutines run at the loop's yields: at most YieldEvery apart while frames flow, within
// about 20 ms while the loop waits hot for none (a signal, a timer, a goroutine the loop readied),
// within trustAfter (50 ms) once it goes hot after a park. Two kinds are let in sooner. Those that
// wait in the runtime's poller (a console, a control socket) would wait for sysmon's poll, every 10
// ms while nobody else polls, and the yield after it: the hot waits of a Waiter made after
// WatchPoller (vswitch, wirefilter) also poll the runtime's epoll instance, found in /proc/self, out
// of which the Waiter takes its own descriptors while hot (parker.detach), and when it is ready the
// Waiter parks for a moment, so that the scheduler polls, and yields (serve). A goroutine that gives
// up the P with Yield (a MAC table scan between its shards) gets it back at the loop's next wait,
// which does not block while one is in Yield.
//
// Idle, the Waiter parks: its goroutine waits in the Go runtime's network poller, on an epoll
// instance that watches the poll set (parker), and hands its P back. With every P idle, sysmon sleeps
// until the next Go timer. Before, an idle loop waited in a ppoll(2) the runtime saw: sysmon took
// the P from that thread and started over at its shortest tick (20 µs), some 60 wake-ups until it
// was back at 10 ms, after every frame that came to an idle loop. Measured through one vswitch
// between two plug2taps (pings every 20 ms, three alternating rounds of 200), the CPU time per ping
// of the three processes went from 735-1037 to 524-541 µs (vde_switch and vde_plug2tap: 270-970);
// every 50 ms, from 3,070-3,745 to 588-794 (433-489); every 2 ms, no change. The price: a frame that
// finds the loop parked waits a little longer for it (median round trip 0.38-0.52 → 0.56 ms at 20
// ms, the same at 2 and 50 ms).
//
// A parked Waiter goes hot again on the third event in a row that comes within the window of the
// one before (an isolated frame, a ping's request and its answer, does not make it hot). sysmon may
// sleep since the park and would not end a hot wait: until the Waiter has been hot for trustAfter,
// its hot waits end by a timeout (a kernel timer each) at trustAfter, or the window after the last
// event; then a system call the runtime sees wakes sysmon, if it sleeps, and hot waits go without a
// timeout again. Every system call of the loop that cannot block is raw for the same reason: one the
// runtime sees wakes a sleeping sysmon, which then starts over at its shortest tick.
//
// The window was 10 ms until 2026-12-06, night, and in vswitch and wirefilter until WatchPoller
// (with 1.5 s and without it, each step of a joining client's handshake waited up to some 20 ms for
// the loop's yield, and a MAC table flush, which yielded between its 256 shards, took seconds). A
// frame that finds the loop parked costs the Go runtime's wake-up of a goroutine (10-13 µs per hop
// on this project's VM, against 5 for a C program's poll) and the park after it, several system
// calls and some scheduler work: pings every 0.1 s through one switch between two plug2taps took
// 1.3-1.4 times the C tools' round trip, pings every second 2-2.4 times (1.12-1.37 ms against
// 0.46-0.57). With the window 1.5 s (HotFor) a ping every second finds every loop of the path hot
// (two sets of 8 and 6 alternating rounds of 100 pings every 0.1 s: medians of the rounds' ratios
// to the C tools 0.99 and 1.13, against 1.34 and 1.41 parked; every second 0.48-0.51 ms against the
// C tools' 0.46-0.57). With the switch's window 10 ms and the plug2taps' 1.5 s, 1.01 every 0.1 s (4
// rounds; 1.33 with both 10 ms), and every second 0.63-0.71 ms against 0.65-0.97 (0.84-1.11); with
// every window 1.5 s and the switch watching its poller, 1.01 against 1.11 for the switch at 10 ms,
// in the same 11 alternating rounds. The price is what a hot wait costs the runtime while no frame
// comes: sysmon does not sleep and ticks every 10 ms, and preempts the loop with a signal every 10
// to 20 ms, about 115 and 58 wake-ups a second, 5-9 ms of CPU time a second per process on this VM
// (each wake-up there costs some 30-60 µs; a few on bare metal). Past the window the loop parks and
// the process sleeps until the next frame or Go timer; GOVDE_HOT=0 never keeps the P.
//
// On several Ps (GOMAXPROCS > 1), a Waiter neither goes hot nor parks: it waits in a ppoll(2) the
// runtime sees, as before (a raw wait there cost a spinning thread at every yield: through a cable
// of vplugs, 114 against 83 µs of CPU per ping and per vplug).
type Waiter struct {
	// Rare is how many descriptors at the end of the poll set a hot wait may leave out: those of
	// rare events that can wait about 20 ms (an endpoint closed from outside). They are watched in
	// idle waits and in the first wait after each yield (at least every YieldEvery while frames
	// flow); a wait that leaves them out clears their Revents. Each descriptor in a wait costs the
	// kernel a poll call and a wait-queue entry, twice if it sleeps: in perf, a relay's two cancel
	// pipes and its eventfd (which stays: it carries the Emitters' wake-ups) were about a sixth of
	// what plug2tap's ppoll cost beyond vde_plug2tap's poll.
	Rare int

	single bool // GOMAXPROCS was 1 when the Waiter was made or OneProc last ran: it may go hot
	// hotFor is how long the Waiter stays hot after its last event (the window SetHot set).
	hotFor time.Duration
	gen    uint64 // procsChanged when single was set
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

	// park is how an idle wait waits (nil until the first; noPark: it could not be made).
	park   *parker
	noPark bool
	// bounded says that the Waiter parked since it last made sure that sysmon is awake: its hot
	// waits then end by a timeout, since no preemption signal may come (see Wait).
	bounded bool
	// hotSince is when the Waiter last went hot.
	hotSince time.Duration
	// short counts the idle waits in a row that gave events within the window (hotFor) of the last.
	short int

	// watch says that the Waiter's hot waits watch the runtime's poller too (WatchPoller); rt is the
	// runtime's epoll instance once the parker found it (else -1); set is a hot wait's poll set with
	// rt at the end; muted says that hot waits leave rt out until the next yield (see serve).
	watch bool
	rt    int32
	set   []unix.PollFd
	muted bool
	// serveDue says that the runtime's poller was ready at a hot wait that returned frames: the next
	// hot wait lets its goroutines run first (serve). served counts the serves.
	serveDue bool
	served   int
	// quiet counts the hot waits that blocked and ended without an event (a signal, their bound).
	quiet int
}

// epoch is the origin of mono.
var epoch = time.Now()

// mono returns the time on the monotonic clock: one clock read, where time.Now reads two clocks.
func mono() time.Duration { return time.Since(epoch) }

// Mono returns the time on a monotonic clock (from an origin of the process's), with one clock read.
func Mono() time.Duration { return mono() }

// NewWaiter returns a cold Waiter; it may go hot if GOMAXPROCS is 1 now or after a later OneProc.
func NewWaiter() *Waiter {
	return &Waiter{single: runtime.GOMAXPROCS(0) == 1, hotFor: time.Duration(hotWindow.Load()),
		gen: procsChanged.Load(), lastYield: mono(), watch: watchPoller.Load(), rt: -1}
}

// Hot reports whether the last Wait was hot.
func (w *Waiter) Hot() bool { return w.hot }

// Close releases what the Waiter's idle waits use.
func (w *Waiter) Close() {
	if w.park != nil {
		w.park.close()
		w.park = nil
	}
	w.noPark = true
}

// Forget tells the Waiter that a descriptor of its poll sets may have been closed, and its number
// given to another file, since the last Wait.
func (w *Waiter) Forget() {
	if w.park != nil {
		w.park.stale = true
	}
}

// trustAfter is how long a Waiter stays hot after a park before it wakes sysmon (if it sleeps) with
// a system call the runtime sees, and lets its hot waits go without a timeout again.
const trustAfter = 50 * time.Millisecond

// Wait yields to the scheduler when due, then waits in ppoll(2) for fds, at most timeout (negative:
// no limit). It returns ppoll's result: the number of descriptors with events (0 on timeout) and
// the error (EINTR when a signal came first; a hot wait goes on after a signal instead).
func (w *Waiter) Wait(fds []unix.PollFd, timeout time.Duration) (int, syscall.Errno) {
	now := mono()
	if w.evented {
		w.lastEvent, w.evented = now, false
	}
	for w.hot {
		if w.bounded && now-w.hotSince >= trustAfter {
			// Hot for a while since it parked: a system call the runtime sees wakes sysmon if it
			// sleeps, and its preemption signal ends hot waits from now on.
			syscall.Syscall(syscall.SYS_GETPID, 0, 0, 0)
			w.bounded = false
		}
		if w.serveDue {
			w.serve()
			now = mono()
		}
		if due := now-w.lastYield >= YieldEvery; due || yielders.Load() != 0 {
			runtime.Gosched()
			w.lastYield, w.full = now, true
			w.muted = w.muted && !due // a muted poller is looked at again every YieldEvery at most
		}
		t := timeout
		if yielders.Load() != 0 {
			// A goroutine in Yield is back in the run queue: a wait that blocked would keep the P
			// from it until a frame or a signal, so look and come round to yield again.
			t = 0
		}
		if t != 0 && (w.bounded || !preemptSignals) {
			// A bound of its own: trustAfter after the Waiter went hot, or hotFor after the last
			// event if that comes first (when sysmon may sleep), or maxUnyielded after the last
			// yield (when no preemption signal comes).
			b := min(w.hotSince+trustAfter, w.lastEvent+w.hotFor) - now
			if !w.bounded {
				b = w.lastYield + maxUnyielded - now
			}
			if b = max(b, 0); t < 0 || b < t {
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
		n, e := w.hotPoll(set, t)
		if n > 0 {
			w.evented = true
			return n, e
		}
		if e != 0 && e != syscall.EINTR {
			return n, e
		}
		// The timeout, or a signal: sysmon's preemption of a wait without one, or another.
		if t != 0 && !w.serveDue {
			w.quiet++
		}
		end := mono()
		if end-w.lastEvent >= w.hotFor {
			w.hot, w.serveDue = false, false // the park serves the runtime's poller
		}
		if timeout >= 0 {
			if timeout -= end - now; timeout <= 0 {
				return 0, 0
			}
		}
		now = end
	}
	if g := procsChanged.Load(); g != w.gen {
		w.gen, w.single = g, runtime.GOMAXPROCS(0) == 1
	}
	if now-w.lastYield >= YieldEvery {
		// After the frames that woke the loop have gone on and before it waits again, so that the
		// yield (which may move the goroutine to another thread) is not in the way of a frame. A
		// wait about to park hands the P back anyway (or finds events at once, and then the loop
		// soon goes hot, whose waits yield).
		if !w.single || timeout == 0 || w.noPark {
			runtime.Gosched()
		}
		w.lastYield = now
	}
	if !w.single {
		// Several Ps: a raw wait would cost a spinning thread at every yield (see Waiter).
		return w.ppoll(fds, timeout, false)
	}
	n, e := w.idle(fds, timeout)
	if n > 0 {
		end := mono()
		if end-w.lastEvent < w.hotFor {
			w.short++
		} else {
			w.short = 0
		}
		w.lastEvent = end
		if w.short >= 2 {
			w.hot, w.hotSince, w.short = true, end, 0
			if w.park != nil {
				w.park.unwatch()
				if w.rt >= 0 {
					w.park.detach()
				}
			}
		}
	}
	return n, e
}

// idle waits for fds with the Waiter idle: parked in the runtime's poller when it can, else in a
// ppoll(2) the runtime sees.
func (w *Waiter) idle(fds []unix.PollFd, timeout time.Duration) (int, syscall.Errno) {
	if timeout == 0 {
		return w.ppoll(fds, 0, true)
	}
	if w.park == nil && !w.noPark {
		if w.park = newParker(w, w.watch); w.park == nil {
			w.noPark = true
		} else if w.watch {
			if w.rt = runtimePoller(w.park.ep); w.rt < 0 {
				// Nothing to watch (no /proc): a long window would starve the goroutines in the
				// runtime's poller (see WatchPoller).
				w.hotFor = min(w.hotFor, shortHot)
			}
		}
	}
	if w.park != nil {
		if n, e, ok := w.park.wait(fds, timeout); ok {
			w.bounded = true
			return n, e
		}
	}
	return w.ppoll(fds, timeout, false)
}

// hotPoll is a hot wait's ppoll(2) on set, with timeout t: also on the runtime's epoll instance when
// the Waiter watches it and its descriptors are out of it (parker.detach). That the runtime's poller
// is ready is not counted in n, but makes the next hot wait serve it (serveDue).
func (w *Waiter) hotPoll(set []unix.PollFd, t time.Duration) (int, syscall.Errno) {
	if w.rt < 0 || !w.park.detached || w.muted {
		return w.ppoll(set, t, true)
	}
	w.set = append(append(w.set[:0], set...), unix.PollFd{Fd: w.rt, Events: unix.POLLIN})
	n, e := w.ppoll(w.set, t, true)
	for i := range set {
		set[i].Revents = w.set[i].Revents
	}
	if n > 0 && w.set[len(set)].Revents != 0 {
		n--
		w.serveDue = true
	}
	return n, e
}

// serve lets the goroutines that wait in the runtime's poller for descriptors now ready run (a
// console, a control connection): the Waiter's goroutine parks for a moment (see parker.serve). The
// Waiter stays hot, with its hot waits bounded as after a park (sysmon may have gone to sleep).
//
// Should the runtime's poller be ready still after the serve, hot waits leave it out until the next
// yield (muted): a readiness that its polls do not take away must not make every wait a serve.
func (w *Waiter) serve() {
	w.serveDue = false
	w.muted = w.park.serve(w.rt)
	w.served++
	now := mono()
	w.lastYield, w.full = now, true
	if !w.bounded {
		w.bounded, w.hotSince = true, now
	}
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
