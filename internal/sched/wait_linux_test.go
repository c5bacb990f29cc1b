// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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

func post(fd int) { unix.Write(fd, []byte{1, 0, 0, 0, 0, 0, 0, 0}) }

func drain(fd int) {
	var b [8]byte
	unix.Read(fd, b[:])
}

// TestWaiterHotCold: on one P, a Waiter goes hot on an event, stays hot through short waits and
// events posted by other goroutines (which run while it waits), and goes cold after HotFor without
// one; on two Ps it never goes hot. Timeouts are kept in both states.
func TestWaiterHotCold(t *testing.T) {
	procs(t, 1)
	fd, fds := eventfd(t)
	w := NewWaiter()
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

	post(fd)
	if n, e := w.Wait(fds, -1); n != 1 || e != 0 || !w.Hot() {
		t.Fatalf("Wait with an event = %d, %v, hot %v; want 1, hot", n, e, w.Hot())
	}
	drain(fd)
	start = time.Now()
	if n, e := w.Wait(fds, time.Millisecond); n != 0 || e != 0 || !w.Hot() {
		t.Fatalf("hot Wait(1ms) without events = %d, %v, hot %v; want a timeout, still hot", n, e, w.Hot())
	}
	if d := time.Since(start); d < time.Millisecond {
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

	// Idle for longer than HotFor: cold, and the timeout still holds.
	start = time.Now()
	if n, e := w.Wait(fds, 3*HotFor); n != 0 || e != 0 || w.Hot() {
		t.Fatalf("Wait(3*HotFor) without events = %d, %v, hot %v; want a timeout, cold", n, e, w.Hot())
	}
	if d := time.Since(start); d < 3*HotFor {
		t.Errorf("Wait(3*HotFor) returned after %v", d)
	}
	// A cold wait hands the P back: the goroutine that posts runs while it blocks.
	go post(fd)
	if n, e := w.Wait(fds, -1); n != 1 || e != 0 {
		t.Fatalf("cold Wait woken by another goroutine = %d, %v", n, e)
	}
	drain(fd)

	procs(t, 2)
	w = NewWaiter()
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
