// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testHot is the hot window of the tests' Waiters (testWaiter): short, so that they see a Waiter go
// idle in a few milliseconds. TestWaiterStaysHot uses HotFor.
const testHot = 10 * time.Millisecond

// testWaiter returns a new Waiter with the hot window testHot.
func testWaiter() *Waiter {
	w := NewWaiter()
	w.hotFor = testHot
	return w
}

// procs sets GOMAXPROCS to n for the test.
func procs(t *testing.T, n int) {
	old := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// eventfd returns a non-blocking eventfd, closed when the test ends, and its poll set.
func eventfd(t *testing.T) (int, []unix.PollFd) {
	t.Helper()
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
}

// failsafe returns the poll entry of a timerfd that expires in 10 s, closed when the test ends: in
// a Waiter's poll set, it ends a wait that would otherwise hang the test.
func failsafe(t *testing.T) unix.PollFd {
	t.Helper()
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(tfd) })
	if err := unix.TimerfdSettime(tfd, 0, &unix.ItimerSpec{Value: unix.NsecToTimespec(int64(10 * time.Second))}, nil); err != nil {
		t.Fatal(err)
	}
	return unix.PollFd{Fd: int32(tfd), Events: unix.POLLIN}
}

func post(fd int) { unix.Write(fd, []byte{1, 0, 0, 0, 0, 0, 0, 0}) }

func drain(fd int) {
	var b [8]byte
	unix.Read(fd, b[:])
}

// TestWaiterHotCold: on one P, a Waiter goes hot on events in a row, stays hot through short waits and
// events posted by other goroutines (which run while it waits), and goes cold after testHot without
// one; on two Ps it never goes hot. Timeouts are kept in both states.
func TestWaiterHotCold(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := testWaiter()
	if w.Hot() {
		t.Fatal("a new Waiter is hot")
	}
	start := time.Now()
	if n, e := w.Wait(fds, 20*time.Millisecond); n != 0 || e != 0 {
		t.Fatalf("cold Wait without events = %d, %v; want a timeout", n, e)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("cold Wait(20ms) returned after %v", d)
	}

	heat(t, w, fd, fds)
	start = time.Now()
	n, e := w.Wait(fds, time.Millisecond)
	d := time.Since(start)
	// Still hot, unless the machine held the test up for testHot (idle that long, it goes cold).
	if n != 0 || e != 0 || !w.Hot() && d < testHot {
		t.Fatalf("hot Wait(1ms) without events = %d, %v, hot %v after %v; want a timeout, still hot", n, e, w.Hot(), d)
	}
	if d < time.Millisecond {
		t.Errorf("hot Wait(1ms) returned after %v", d)
	}

	// Another goroutine gets the P while the Waiter waits hot (at its yields), and wakes it.
	for i := range 20 {
		done := make(chan struct{})
		go func() {
			time.Sleep(time.Duration(i%3) * time.Millisecond)
			post(fd)
			close(done)
		}()
		for {
			n, e := w.Wait(fds, -1)
			if e != 0 && e != unix.EINTR {
				t.Fatalf("Wait: %v", e)
			}
			if n > 0 {
				break
			}
		}
		drain(fd)
		<-done
	}

	// Idle for longer than testHot: cold, and the timeout still holds.
	start = time.Now()
	if n, e := w.Wait(fds, 3*testHot); n != 0 || e != 0 || w.Hot() {
		t.Fatalf("Wait(3*testHot) without events = %d, %v, hot %v; want a timeout, cold", n, e, w.Hot())
	}
	if d := time.Since(start); d < 3*testHot {
		t.Errorf("Wait(3*testHot) returned after %v", d)
	}
	// An idle wait hands the P back: the goroutine that posts runs while it blocks.
	go post(fd)
	if n, e := w.Wait(fds, -1); n != 1 || e != 0 {
		t.Fatalf("cold Wait woken by another goroutine = %d, %v", n, e)
	}
	drain(fd)

	procs(t, 2)
	w = testWaiter()
	post(fd)
	if n, _ := w.Wait(fds, -1); n != 1 || w.Hot() {
		t.Fatalf("on two Ps, Wait with an event = %d, hot %v; want 1, never hot", n, w.Hot())
	}
}

// TestOneProc: one P unless the GOMAXPROCS environment variable chooses.
func TestOneProc(t *testing.T) {
	procs(t, 2)
	t.Setenv("GOMAXPROCS", "2")
	if OneProc() || runtime.GOMAXPROCS(0) != 2 {
		t.Errorf("with GOMAXPROCS=2 in the environment: OneProc changed GOMAXPROCS to %d", runtime.GOMAXPROCS(0))
	}
	t.Setenv("GOMAXPROCS", "")
	if !OneProc() || runtime.GOMAXPROCS(0) != 1 {
		t.Errorf("without GOMAXPROCS in the environment: GOMAXPROCS %d after OneProc, want 1", runtime.GOMAXPROCS(0))
	}
}

// TestHotWaitEnds: a hot Wait without a timeout and without events, hot long enough that it trusts
// sysmon again (keepHot), lets the other goroutines run
// (here a sleeper that posts after 3*testHot): by sysmon's preemption signal, and, with those signals
// off (GODEBUG=asyncpreemptoff=1, in a child process), by its own bound. A timerfd in the poll set
// fails the test after 10 s instead of hanging it.
func TestHotWaitEnds(t *testing.T) {
	if os.Getenv("GOVDE_SCHED_TEST_CHILD") != "" && preemptSignals {
		t.Fatalf("preemptSignals %v with GODEBUG=%q", preemptSignals, os.Getenv("GODEBUG"))
	}
	procs(t, 1)
	fd, fds := eventfd(t)
	fds = append(fds, failsafe(t))
	w := testWaiter()
	heat(t, w, fd, fds)
	keepHot(t, w, fd, fds)
	go func() {
		time.Sleep(3 * testHot)
		post(fd)
	}()
	for {
		n, e := w.Wait(fds, -1)
		if e != 0 && e != unix.EINTR {
			t.Fatalf("Wait: %v", e)
		}
		if fds[1].Revents != 0 {
			t.Fatal("the sleeping goroutine did not run in 10 s of hot waits")
		}
		if n > 0 {
			break
		}
	}
	// Idle since the hot wait ended, the Waiter parked; one event does not make it hot again.
	if fds[0].Revents == 0 || w.Hot() {
		t.Fatalf("woken by %+v, hot %v; want the eventfd, from an idle wait", fds, w.Hot())
	}

	if preemptSignals {
		// Once more without them (the outer GODEBUG may have turned them off already: then this was it).
		cmd := exec.Command(os.Args[0], "-test.run=^TestHotWaitEnds$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1", "GOVDE_SCHED_TEST_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("with GODEBUG=asyncpreemptoff=1: %v\n%s", err, out)
		}
	}
}

func TestAsyncPreemptOff(t *testing.T) {
	for _, c := range []struct {
		godebug string
		off     bool
	}{
		{"", false},
		{"asyncpreemptoff=1", true},
		{"gctrace=1, asyncpreemptoff=1", true},
		{"asyncpreemptoff=1,asyncpreemptoff=0", false},
		{"asyncpreemptoff=0,asyncpreemptoff=1", true},
		{"xasyncpreemptoff=1", false},
		{"asyncpreemptoff=", false},
	} {
		if got := asyncPreemptOff(c.godebug); got != c.off {
			t.Errorf("asyncPreemptOff(%q) = %v, want %v", c.godebug, got, c.off)
		}
	}
}

// TestWaiterRare: a Waiter kept hot by events watches its Rare descriptors after a yield, so that an
// event on one of them is seen; a wait that leaves them out clears their Revents.
func TestWaiterRare(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	rare, rfds := eventfd(t)
	fds = append(fds, failsafe(t), rfds[0])
	w := testWaiter()
	w.Rare = 1
	heat(t, w, fd, fds)
	post(rare)
	for {
		post(fd)            // keeps the Waiter hot
		fds[2].Revents = -1 // what a wait that leaves the descriptor out must clear
		n, e := w.Wait(fds, -1)
		drain(fd)
		if e != 0 && e != unix.EINTR {
			t.Fatalf("Wait: %v", e)
		}
		set := 0
		for _, f := range fds {
			if f.Revents != 0 {
				set++
			}
		}
		if set != n || fds[2].Revents != 0 && fds[2].Revents != unix.POLLIN {
			t.Fatalf("Wait = %d with Revents %+v", n, fds)
		}
		if fds[1].Revents != 0 {
			t.Fatal("the rare descriptor's event was not seen in 10 s")
		}
		if fds[2].Revents != 0 {
			break
		}
	}
}

// TestWaiterAfterOneProc: a Waiter made on two Ps behaves as one made on one once OneProc has put the
// process on one: idle, it parks; on events in a row, it goes hot.
func TestWaiterAfterOneProc(t *testing.T) {
	procs(t, 2)
	t.Setenv("GOMAXPROCS", "")
	fd, fds := eventfd(t)
	w := testWaiter()
	defer w.Close()
	if n := waitOK(t, w, fds, time.Millisecond); n != 0 || w.park != nil {
		t.Fatalf("on two Ps, an idle Wait = %d, parked %v; want 0, not parked", n, w.park != nil)
	}
	if !OneProc() {
		t.Fatal("OneProc did not put the process on one P")
	}
	if n := waitOK(t, w, fds, time.Millisecond); n != 0 || w.park == nil {
		t.Fatalf("after OneProc, an idle Wait = %d, parked %v; want 0, parked", n, w.park != nil)
	}
	for i := range 3 {
		post(fd)
		if n := waitOK(t, w, fds, 5*time.Second); n != 1 {
			t.Fatalf("after OneProc, Wait %d with an event = %d; want 1", i, n)
		}
		drain(fd)
	}
	if !w.Hot() {
		t.Error("after OneProc, three events in a row did not make the Waiter hot")
	}
}

// TestWaiterStaysHot: with the tools' window (HotFor), a hot Waiter stays hot through waits without
// events, and once hot for trustAfter its waits no longer need a bound of their own: they end by a
// timeout they were given, or a preemption signal.
func TestWaiterStaysHot(t *testing.T) {
	procs(t, 1)
	if !preemptSignals {
		t.Skip("GODEBUG=asyncpreemptoff=1: hot waits stay bounded")
	}
	fd, fds := eventfd(t)
	w := NewWaiter()
	defer w.Close()
	if w.hotFor != shortHot {
		t.Fatalf("before SetHot, a new Waiter's hot window = %v, want shortHot (%v)", w.hotFor, shortHot)
	}
	w.hotFor = HotFor
	heat(t, w, fd, fds)
	for range 3 { // 3 × 40 ms: past trustAfter, well within HotFor
		start := time.Now()
		if n := waitOK(t, w, fds, 40*time.Millisecond); n != 0 {
			t.Fatalf("Wait(40ms) without events = %d", n)
		}
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Errorf("Wait(40ms) returned after %v", d)
		}
		if !w.Hot() && time.Since(start) < HotFor {
			t.Fatal("went idle within HotFor of the last event")
		}
	}
	if w.bounded {
		t.Error("hot for 120 ms, its waits are still bounded (sysmon not woken)")
	}
	post(fd)
	if n := waitOK(t, w, fds, -1); n != 1 || !w.Hot() {
		t.Fatalf("hot Wait with an event = %d, hot %v", n, w.Hot())
	}
	drain(fd)
}

// TestSetHot: GOVDE_HOT's values, and the window of the Waiters made after.
func TestSetHot(t *testing.T) {
	t.Cleanup(func() { hotWindow.Store(int64(shortHot)) })
	for _, c := range []struct {
		v    string
		want time.Duration
	}{{"", HotFor}, {"10ms", 10 * time.Millisecond}, {"0", 0}, {"2s", 2 * time.Second}} {
		if err := SetHot(c.v); err != nil {
			t.Fatalf("SetHot(%q): %v", c.v, err)
		}
		if w := NewWaiter(); w.hotFor != c.want {
			t.Errorf("after SetHot(%q), a new Waiter's window = %v, want %v", c.v, w.hotFor, c.want)
		}
	}
	for _, v := range []string{"fast", "-1s", "10"} {
		err := SetHot(v)
		if want := `GOVDE_HOT="` + v + `": want a duration such as 1.5s or 10ms, or 0`; err == nil || err.Error() != want {
			t.Errorf("SetHot(%q) = %v, want %q", v, err, want)
		}
	}
}

// TestWaiterNeverHot: with a window of 0 (GOVDE_HOT=0), events in a row never make a Waiter hot.
func TestWaiterNeverHot(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := NewWaiter()
	defer w.Close()
	w.hotFor = 0
	for range 10 {
		post(fd)
		if n := waitOK(t, w, fds, -1); n != 1 || w.Hot() {
			t.Fatalf("Wait with an event = %d, hot %v; want 1, never hot", n, w.Hot())
		}
		drain(fd)
	}
}
