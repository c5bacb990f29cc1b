// SPDX-License-Identifier: GPL-2.0-or-later

package relay

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPollTimeout: the loop's wait for a Timer deadline d away never reaches past d, even when the
// kernel lets the poll(2) timeout expire 0.5 % late (its worst case, for a niced thread), always makes
// progress, and is the whole of d once d is within exact.
func TestPollTimeout(t *testing.T) {
	for _, d := range []time.Duration{
		-time.Second, 0, 1, time.Microsecond, 999 * time.Microsecond, exact, exact + 1, 1100 * time.Microsecond,
		2 * time.Millisecond, 10 * time.Millisecond, 40 * time.Millisecond, 200 * time.Millisecond,
		time.Second, time.Hour, 1 << 62,
	} {
		w := pollTimeout(d)
		switch {
		case d <= 0 && w != 0:
			t.Errorf("pollTimeout(%v) = %v, want 0 (due already)", d, w)
		case d > 0 && d <= exact && w != d:
			t.Errorf("pollTimeout(%v) = %v, want all of it", d, w)
		case d > exact && (w <= 0 || w+w/200 >= d):
			t.Errorf("pollTimeout(%v) = %v: want 0 < w and w + 0.5%% < d", d, w)
		}
	}
}

// TestFastTimer: on the fast path the loop calls Config.Timer at start, after a hook ran, and when the
// deadline it returned has come, with no other event to wake it: a frame the hook kept is sent from
// Timer at its deadline, never before. The goroutine path never calls Timer.
func TestFastTimer(t *testing.T) {
	for _, fast := range []bool{true, false} {
		a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
		b, bPeer := newRawEP(t, unix.SOCK_DGRAM)
		var (
			mu    sync.Mutex
			out   Emitter
			kept  []byte
			due   time.Time
			calls int
			early int // Timer calls that sent before the deadline (must stay 0)
			sent  time.Time
		)
		hook := func(dir Dir, f []byte, e Emitter) Verdict {
			mu.Lock()
			defer mu.Unlock()
			out, kept, due = e, append([]byte(nil), f...), time.Now().Add(30*time.Millisecond)
			return Keep
		}
		timer := func(now time.Time) time.Time {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if kept == nil {
				return time.Time{}
			}
			if now.Before(due) {
				return due
			}
			if time.Now().Before(due) {
				early++
			}
			out.Emit(kept)
			kept, sent = nil, time.Now()
			return time.Time{}
		}
		errc := startJoin(context.Background(), a, b, &Config{Hook: hook, Timer: timer, NoFastPath: !fast})
		sendRaw(t, aPeer, payload)
		if fast {
			buf := make([]byte, 2048)
			if n := recvRaw(t, bPeer, buf); n != len(payload) {
				t.Fatalf("fast: got %d bytes, want the kept frame (%d)", n, len(payload))
			}
			mu.Lock()
			if early != 0 || sent.Before(due) {
				t.Errorf("fast: frame sent %v before its deadline (%d early calls)", due.Sub(sent), early)
			}
			if calls < 3 {
				t.Errorf("fast: Timer called %d times, want at least 3 (start, after the hook, at the deadline)", calls)
			}
			mu.Unlock()
		} else {
			// Wait until the hook has kept the frame, then past its deadline: nothing may call Timer.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				mu.Lock()
				k := kept != nil
				mu.Unlock()
				if k || time.Now().After(deadline) {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			if calls != 0 {
				t.Errorf("goroutine path: Timer called %d times, want 0", calls)
			}
			mu.Unlock()
		}
		a.Close()
		if err := waitJoin(t, errc); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFastTimerRoom: frames the Timer sends at its deadline overflow the stream destination's queue
// (ErrFull); the loop writes the queue out at once and must then report OnRoom before it sleeps, with
// no other event to wake it, so that the Timer sends the rest.
func TestFastTimerRoom(t *testing.T) {
	a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
	b, bPeer := newRawEP(t, unix.SOCK_STREAM)
	const n = 20
	var (
		mu   sync.Mutex
		out  Emitter
		left int
		due  time.Time
	)
	hook := func(dir Dir, f []byte, e Emitter) Verdict {
		mu.Lock()
		defer mu.Unlock()
		out, left, due = e, n, time.Now().Add(10*time.Millisecond)
		return Keep
	}
	send := func(now time.Time) {
		for left > 0 && !now.Before(due) {
			f := make([]byte, 9000)
			f[14] = byte(n - left)
			if out.Emit(f) == ErrFull {
				return
			}
			left--
		}
	}
	timer := func(now time.Time) time.Time {
		mu.Lock()
		defer mu.Unlock()
		send(now)
		if left == 0 || !now.Before(due) {
			return time.Time{} // all sent, or waiting for OnRoom
		}
		return due
	}
	onRoom := func(Dir) {
		mu.Lock()
		defer mu.Unlock()
		send(time.Now())
	}
	errc := startJoin(context.Background(), a, b, &Config{Hook: hook, Timer: timer, OnRoom: onRoom})
	sendRaw(t, aPeer, payload)
	for i := range n {
		if r := readRecord(t, bPeer); len(r) != 9000 || r[14] != byte(i) {
			t.Fatalf("record %d: %d bytes, seq %d", i, len(r), r[14])
		}
	}
	a.Close()
	if err := waitJoin(t, errc); err != nil {
		t.Fatal(err)
	}
}
