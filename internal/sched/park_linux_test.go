// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitOK calls w.Wait until it returns events or a timeout (EINTR goes round) and returns n.
func waitOK(t *testing.T, w *Waiter, fds []unix.PollFd, timeout time.Duration) int {
	t.Helper()
	for {
		n, e := w.Wait(fds, timeout)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			t.Fatalf("Wait: %v", e)
		}
		return n
	}
}

// heat posts events on fd until w is hot (it goes hot on the third event in a row that comes
// within testHot of the one before).
func heat(t *testing.T, w *Waiter, fd int, fds []unix.PollFd) {
	t.Helper()
	for range 10 {
		post(fd)
		if n := waitOK(t, w, fds, -1); n != 1 {
			t.Fatalf("Wait with an event = %d", n)
		}
		drain(fd)
		if w.Hot() {
			return
		}
	}
	t.Fatal("not hot after 10 events in a row")
}

// keepHot keeps w hot with events 1 ms apart until its hot waits are no longer bounded (trustAfter).
func keepHot(t *testing.T, w *Waiter, fd int, fds []unix.PollFd) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.bounded && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		post(fd)
		waitOK(t, w, fds, -1)
		drain(fd)
	}
	if w.bounded || !w.Hot() {
		t.Fatalf("after 5 s of events 1 ms apart: bounded %v, hot %v; want unbounded, hot", w.bounded, w.Hot())
	}
}

// TestWaiterParks: on one P, an idle Waiter parks in the runtime's poller: woken by an event that
// another goroutine posts (which runs meanwhile), by a descriptor ready before it parked, by the
// events its poll set asks for now and not those of an earlier wait, and by a descriptor whose
// number now names another file once told so (Forget); its timeouts hold, and the timer of an earlier
// timed wait does not end an untimed one. A descriptor that epoll
// cannot watch (a regular file) makes it wait in ppoll instead.
func TestWaiterParks(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := testWaiter()
	defer w.Close()

	start := time.Now()
	if n := waitOK(t, w, fds, 20*time.Millisecond); n != 0 {
		t.Fatalf("idle Wait without events = %d; want a timeout", n)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("idle Wait(20ms) returned after %v", d)
	}
	if w.park == nil {
		t.Fatal("the idle Waiter did not park (no epoll instance)")
	}
	for i := range 5 {
		go func() {
			time.Sleep(time.Duration(i) * time.Millisecond)
			post(fd)
		}()
		if n := waitOK(t, w, fds, 5*time.Second); n != 1 || fds[0].Revents != unix.POLLIN {
			t.Fatalf("parked Wait woken by another goroutine = %d, %+v", n, fds)
		}
		drain(fd)
		time.Sleep(2 * testHot) // idle again
	}
	post(fd)
	if n := waitOK(t, w, fds, 5*time.Second); n != 1 {
		t.Fatalf("Wait with an event already there = %d", n)
	}
	drain(fd)

	// An eventfd is always writable: asked for, POLLOUT wakes the Waiter; no longer asked for, not.
	out := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLOUT}}
	if n := waitOK(t, w, out, 5*time.Second); n != 1 || out[0].Revents != unix.POLLOUT {
		t.Fatalf("Wait for POLLOUT = %d, %+v", n, out)
	}
	time.Sleep(2 * testHot)
	if n := waitOK(t, w, fds, 20*time.Millisecond); n != 0 {
		t.Fatalf("Wait for POLLIN alone on an empty eventfd = %d, %+v", n, fds)
	}

	// The descriptor's number given to another eventfd: after Forget, an event on the new one wakes.
	other, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(other)
	if err := unix.Dup3(other, fd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	w.Forget()
	go func() {
		time.Sleep(5 * time.Millisecond)
		post(other)
	}()
	if n := waitOK(t, w, fds, 2*time.Second); n != 1 {
		t.Fatalf("Wait on a descriptor whose number names another eventfd = %d; want its event", n)
	}
	drain(other)

	// The timer of a timed wait that an event ended expires later: it does not end an untimed wait.
	time.Sleep(2 * testHot)
	go func() {
		time.Sleep(time.Millisecond)
		post(fd)
	}()
	if n := waitOK(t, w, fds, 5*time.Millisecond); n != 1 {
		t.Fatalf("Wait(5ms) with an event after 1 ms = %d", n)
	}
	drain(fd)
	go func() {
		time.Sleep(3 * testHot) // the 5-ms timer has long expired by then
		post(fd)
	}()
	if n := waitOK(t, w, fds, -1); n != 1 {
		t.Fatalf("untimed Wait after a timed one = %d; want the event, not the old timer's expiry", n)
	}
	drain(fd)

	// A regular file: epoll refuses it, ppoll reports it readable.
	f, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	time.Sleep(2 * testHot)
	reg := append(fds[:1:1], unix.PollFd{Fd: int32(f.Fd()), Events: unix.POLLIN})
	if n := waitOK(t, w, reg, 5*time.Second); n != 1 || reg[1].Revents&unix.POLLIN == 0 {
		t.Fatalf("Wait with a regular file = %d, %+v", n, reg)
	}
}

// TestWaiterGoesHot: events in a row, each within testHot of the last, make a parked Waiter hot; its
// hot waits are then bounded (sysmon may sleep since the park), and it goes idle after testHot without
// an event; kept hot for trustAfter, it lets them go unbounded.
func TestWaiterGoesHot(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := testWaiter()
	defer w.Close()
	post(fd)
	if n := waitOK(t, w, fds, -1); n != 1 || w.Hot() {
		t.Fatalf("first Wait with an event = %d, hot %v; want 1, not hot", n, w.Hot())
	}
	drain(fd)
	heat(t, w, fd, fds)
	if !w.bounded {
		t.Fatal("hot after a park, the Waiter's waits are not bounded")
	}
	start := time.Now()
	if n := waitOK(t, w, fds, 3*testHot); n != 0 || w.Hot() {
		t.Fatalf("Wait(3*testHot) without events = %d, hot %v; want a timeout, idle", n, w.Hot())
	}
	if d := time.Since(start); d < 3*testHot {
		t.Errorf("Wait(3*testHot) returned after %v", d)
	}
	heat(t, w, fd, fds)
	keepHot(t, w, fd, fds)
}

// TestHotUnwatches: a Waiter that goes hot takes its descriptors out of its parker's epoll instance
// (whether or not it watches the runtime's poller), so that an event on one runs no epoll wake-up
// while its hot waits poll it; parked again, the Waiter watches them again and an event ends the park.
func TestHotUnwatches(t *testing.T) {
	procs(t, 1)
	for _, watching := range []bool{false, true} {
		fd, fds := eventfd(t)
		w := testWaiter()
		if watching {
			w = watchingWaiter(t)
			w.hotFor = testHot
		}
		defer w.Close()
		heat(t, w, fd, fds)
		if w.park == nil {
			t.Fatal("no parker: the Waiter never parked")
		}
		registered := func() bool {
			// MOD with the same events changes nothing, and fails with ENOENT for a descriptor that
			// is not in the instance.
			return epollCtl(w.park.data, unix.EPOLL_CTL_MOD, int32(fd), unix.EPOLLIN) == 0
		}
		if registered() {
			t.Fatalf("watching %v: hot, the Waiter's descriptor is still in its parker's epoll instance", watching)
		}
		post(fd)
		if n, _ := w.ppoll([]unix.PollFd{{Fd: int32(w.park.data), Events: unix.POLLIN}}, 0, true); n != 0 {
			t.Fatalf("watching %v: hot, an event made the parker's epoll instance ready", watching)
		}
		if n := waitOK(t, w, fds, -1); n != 1 || !w.Hot() {
			t.Fatalf("watching %v: hot Wait with an event = %d, hot %v", watching, n, w.Hot())
		}
		drain(fd)
		// Past the window the Waiter parks, its descriptor watched again: an event posted while it is
		// parked ends the park.
		if n := waitOK(t, w, fds, 3*testHot); n != 0 || w.Hot() {
			t.Fatalf("watching %v: Wait(3*testHot) without events = %d, hot %v; want a timeout, idle", watching, n, w.Hot())
		}
		go func() { time.Sleep(5 * time.Millisecond); post(fd) }()
		if n := waitOK(t, w, fds, 5*time.Second); n != 1 {
			t.Fatalf("watching %v: parked Wait with an event posted meanwhile = %d, want 1", watching, n)
		}
		drain(fd)
		if !registered() {
			t.Fatalf("watching %v: parked, the Waiter's descriptor is not in its parker's epoll instance", watching)
		}
	}
}
