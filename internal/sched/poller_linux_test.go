// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// watchingWaiter returns a new Waiter that watches the runtime's poller (WatchPoller) and stays hot
// for an hour after its last event.
func watchingWaiter(t *testing.T) *Waiter {
	w := NewWaiter()
	w.watch, w.hotFor = true, time.Hour
	t.Cleanup(w.Close)
	return w
}

// pollerConn returns a connection whose reads wait in the runtime's poller and the raw descriptor of
// its peer, both closed when the test ends.
func pollerConn(t *testing.T) (net.Conn, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "conn")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); unix.Close(fds[1]) })
	return c, fds[1]
}

// TestHotWaitServesPoller: on one P, a goroutine that waits in the runtime's poller runs as soon as its
// descriptor is ready while a watching Waiter waits hot: the Waiter lets it run (serve), at once (its
// wait after the serve does not block), and stays hot.
func TestHotWaitServesPoller(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := watchingWaiter(t)
	heat(t, w, fd, fds)
	if w.rt < 0 {
		t.Fatal("the runtime's epoll instance was not found in /proc/self")
	}
	c, peer := pollerConn(t)
	started := make(chan struct{})
	go func() {
		close(started)
		var b [1]byte
		for {
			if _, err := c.Read(b[:]); err != nil {
				return
			}
			post(fd)
		}
	}()
	<-started // on one P, the goroutine runs on until it waits in the poller
	const rounds = 1000
	served, quiet := w.served, w.quiet
	for range rounds {
		if _, err := unix.Write(peer, []byte{1}); err != nil {
			t.Fatal(err)
		}
		if n := waitOK(t, w, fds, 5*time.Second); n != 1 || !w.Hot() {
			t.Fatalf("Wait = %d, hot %v; want the goroutine's event, hot", n, w.Hot())
		}
		drain(fd)
	}
	// A round the serve left the goroutine waiting (or that sysmon's own poll took first, on a machine
	// that stalls) blocks until a signal: 10 to 20 ms.
	if s, q := w.served-served, w.quiet-quiet; s < rounds-5 || q > 5 {
		t.Errorf("%d rounds: %d serves, %d waits that blocked and ended without an event; want %d and none (5 tolerated)",
			rounds, s, q, rounds)
	}
}

// TestHotFramesDoNotServe: a watching Waiter's own events (frames) do not make it serve the runtime's
// poller: its descriptors are out of the poller while it is hot, and back in when it parks.
func TestHotFramesDoNotServe(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := watchingWaiter(t)
	heat(t, w, fd, fds)
	if !w.park.detached {
		t.Fatal("hot, the Waiter's descriptors are still in the runtime's poller")
	}
	served := w.served
	for range 200 {
		post(fd)
		if n := waitOK(t, w, fds, -1); n != 1 || !w.Hot() {
			t.Fatalf("hot Wait with an event = %d, hot %v", n, w.Hot())
		}
		drain(fd)
	}
	if w.served != served {
		t.Errorf("200 events made the Waiter serve the runtime's poller %d times, want 0", w.served-served)
	}
	// Cold again, it parks with its descriptors back in the runtime's poller, and an event ends the park.
	w.hotFor = 5 * time.Millisecond
	if n := waitOK(t, w, fds, 20*time.Millisecond); n != 0 || w.Hot() {
		t.Fatalf("Wait(20ms) past the window = %d, hot %v; want a timeout, cold", n, w.Hot())
	}
	go func() { time.Sleep(5 * time.Millisecond); post(fd) }()
	if n := waitOK(t, w, fds, 5*time.Second); n != 1 || w.park.detached {
		t.Fatalf("parked Wait with an event = %d, detached %v; want 1, attached", n, w.park.detached)
	}
	drain(fd)
}

// TestYieldGetsPBack: on one P, a goroutine that gives the P up with Yield gets it back at the hot
// Waiter's next wait, not when the Waiter's own yield is due (at a preemption signal, 10 to 20 ms
// later, when no frame comes): the Waiter's waits do not block meanwhile.
func TestYieldGetsPBack(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := watchingWaiter(t)
	heat(t, w, fd, fds)
	const steps = 200
	go func() {
		for range steps {
			Yield()
		}
		post(fd)
	}()
	quiet := w.quiet
	if n := waitOK(t, w, fds, 20*time.Second); n != 1 {
		t.Fatalf("Wait = %d; want the goroutine's event after its %d Yields", n, steps)
	}
	drain(fd)
	// The goroutine first runs at the Waiter's first yield; each Yield after it that the Waiter
	// kept waiting through would end one wait without an event.
	if q := w.quiet - quiet; q > steps/4 {
		t.Errorf("%d Yields took %d waits that blocked and ended without an event; want a few at most", steps, q)
	}
	if yielders.Load() != 0 {
		t.Errorf("yielders = %d after the Yields returned", yielders.Load())
	}
}

// TestServeMutesStuckPoller: when what a watching Waiter takes for the runtime's poller stays ready
// through a serve (here an eventfd nobody reads; in the runtime, its wake-up eventfd, which only a
// blocking poll reads), hot waits leave it out until the next yield instead of serving at each.
func TestServeMutesStuckPoller(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := watchingWaiter(t)
	heat(t, w, fd, fds)
	stuck, _ := eventfd(t)
	post(stuck)
	w.rt = int32(stuck)
	served := w.served
	w.lastYield = mono() // no yield due for YieldEvery
	for range 50 {
		post(fd)
		if n := waitOK(t, w, fds, -1); n != 1 {
			t.Fatalf("hot Wait with an event = %d", n)
		}
		drain(fd)
	}
	// One serve, and one more for each yield that came between (at most one every YieldEvery).
	if d := w.served - served; d < 1 || d > 3 {
		t.Errorf("50 waits with the poller stuck ready served it %d times, want 1 (and 1 per yield)", d)
	}
}

// TestWatchWithoutPoller: a watching Waiter that cannot find the runtime's epoll instance (no /proc)
// keeps the short window, as the tools that watch did before WatchPoller.
func TestWatchWithoutPoller(t *testing.T) {
	procs(t, 1)
	rtPoller.Lock()
	saved := rtPoller.fd
	was := rtPoller.done
	rtPoller.fd, rtPoller.done = -1, true
	rtPoller.Unlock()
	t.Cleanup(func() {
		rtPoller.Lock()
		rtPoller.fd, rtPoller.done = saved, was
		rtPoller.Unlock()
	})
	fd, fds := eventfd(t)
	w := watchingWaiter(t)
	post(fd)
	if n := waitOK(t, w, fds, -1); n != 1 {
		t.Fatalf("Wait with an event = %d", n)
	}
	drain(fd)
	if w.rt >= 0 || w.hotFor != shortHot {
		t.Errorf("no runtime poller found: rt %d, window %v; want -1, %v", w.rt, w.hotFor, shortHot)
	}
}
