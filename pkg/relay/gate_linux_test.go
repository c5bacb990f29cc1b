// SPDX-License-Identifier: GPL-2.0-or-later

package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFastGate: on the fast path, a closed gate leaves that direction's input unread while the
// other direction flows; opening it (any event wakes the loop, which asks the gate again) lets the
// held frame through.
func TestFastGate(t *testing.T) {
	a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
	b, bPeer := newRawEP(t, unix.SOCK_DGRAM)
	var closed atomic.Bool
	gate := func(dir Dir) time.Time {
		if dir == AtoB && closed.Load() {
			return time.Now().Add(time.Hour)
		}
		return time.Time{}
	}
	var st Stats
	errc := startJoin(context.Background(), a, b, &Config{Stats: &st, Gate: gate})
	buf := make([]byte, 2048)
	frame := func(seq byte) []byte { f := append([]byte(nil), payload...); f[14] = seq; return f }
	sendRaw(t, aPeer, frame(1))
	if n := recvRaw(t, bPeer, buf); n != len(payload) || buf[14] != 1 {
		t.Fatalf("open gate: got %d bytes seq %d", n, buf[14])
	}
	closed.Store(true)
	sendRaw(t, aPeer, frame(2)) // held
	sendRaw(t, bPeer, frame(3)) // the other way flows
	if n := recvRaw(t, aPeer, buf); n != len(payload) || buf[14] != 3 {
		t.Fatalf("B→A under a closed A→B gate: got %d bytes seq %d", n, buf[14])
	}
	if got := st.Dir[AtoB].Frames.Load(); got != 1 {
		t.Fatalf("A→B sent %d frames under a closed gate, want 1", got)
	}
	closed.Store(false)
	sendRaw(t, bPeer, frame(4)) // wakes the loop
	if n := recvRaw(t, bPeer, buf); n != len(payload) || buf[14] != 2 {
		t.Fatalf("after opening: got %d bytes seq %d, want the held frame 2", n, buf[14])
	}
	a.Close()
	if err := waitJoin(t, errc); err != nil {
		t.Fatal(err)
	}
}

// TestGoGate: on the goroutine path a direction is not read before its gate's time.
func TestGoGate(t *testing.T) {
	a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
	b, bPeer := newRawEP(t, unix.SOCK_DGRAM)
	var mu sync.Mutex
	var until time.Time
	var calls []time.Time
	hook := func(dir Dir, f []byte, out Emitter) Verdict {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, time.Now())
		until = time.Now().Add(100 * time.Millisecond)
		return Pass
	}
	gate := func(Dir) time.Time { mu.Lock(); defer mu.Unlock(); return until }
	errc := startJoin(context.Background(), a, b, &Config{Hook: hook, Gate: gate, NoFastPath: true})
	sendRaw(t, aPeer, payload)
	sendRaw(t, aPeer, payload)
	buf := make([]byte, 2048)
	recvRaw(t, bPeer, buf)
	recvRaw(t, bPeer, buf)
	mu.Lock()
	if len(calls) != 2 || calls[1].Sub(calls[0]) < 100*time.Millisecond {
		t.Errorf("hook calls %v: want the second ≥ 100 ms after the first", calls)
	}
	mu.Unlock()
	a.Close()
	if err := waitJoin(t, errc); err != nil {
		t.Fatal(err)
	}
}

// TestEmitFullOnRoom: on the fast path, Emit refuses a frame with ErrFull when the destination has
// no room (without counting a drop), and OnRoom tells when there is room again: an emitter that
// waits for it loses nothing and keeps the order.
func TestEmitFullOnRoom(t *testing.T) {
	a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
	b, bPeer := newRawEP(t, unix.SOCK_STREAM)
	room := make(chan struct{}, 1)
	var out Emitter
	got := make(chan Emitter, 1)
	hook := func(dir Dir, f []byte, e Emitter) Verdict {
		if dir == AtoB {
			select {
			case got <- e:
			default:
			}
		}
		return Keep
	}
	onRoom := func(dir Dir) {
		if dir == AtoB {
			select {
			case room <- struct{}{}:
			default:
			}
		}
	}
	var st Stats
	errc := startJoin(context.Background(), a, b, &Config{Stats: &st, Hook: hook, OnRoom: onRoom})
	sendRaw(t, aPeer, payload)
	out = <-got
	const n = 2000
	full := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		f := make([]byte, 1500)
		sawFull := false
		for i := range n {
			binary.BigEndian.PutUint32(f[14:], uint32(i))
			for {
				err := out.Emit(f)
				if !errors.Is(err, ErrFull) {
					if err != nil {
						done <- err
						return
					}
					break
				}
				if !sawFull {
					sawFull = true
					close(full)
				}
				select {
				case <-room:
				case <-time.After(10 * time.Second):
					done <- errors.New("no OnRoom within 10 s")
					return
				}
			}
		}
		if !sawFull {
			close(full)
			done <- errors.New("never ErrFull: the destination never filled")
			return
		}
		done <- nil
	}()
	<-full // nobody reads bPeer until the destination is full
	for i := range n {
		r := readRecord(t, bPeer)
		if len(r) != 1500 || binary.BigEndian.Uint32(r[14:]) != uint32(i) {
			t.Fatalf("record %d: %d bytes, seq %d", i, len(r), binary.BigEndian.Uint32(r[14:]))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := st.Dir[AtoB].Drops.Load(); d != 0 {
		t.Errorf("%d drops, want 0", d)
	}
	a.Close()
	if err := waitJoin(t, errc); err != nil {
		t.Fatal(err)
	}
}
