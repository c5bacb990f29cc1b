// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"encoding/binary"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// receiver drives an engine as a relay hook would: a Waker pops due copies at the bubble's time.
type receiver struct {
	e  *Engine
	w  *Waker
	mu sync.Mutex
	at [2][]time.Time // delivery times per direction
	id [2][]uint32    // first four bytes of each delivered frame
}

func newReceiver(e *Engine) *receiver {
	r := &receiver{e: e}
	r.w = NewWaker(SystemClock, r.fire)
	return r
}

func (r *receiver) fire() {
	now := time.Now()
	r.mu.Lock()
	for d := LR; d <= RL; d++ {
		for {
			p, ok := r.e.Pop(d, now)
			if !ok {
				break
			}
			r.at[d] = append(r.at[d], now)
			r.id[d] = append(r.id[d], binary.BigEndian.Uint32(p.Bytes()))
			r.e.Release(p)
		}
	}
	r.mu.Unlock()
	r.arm()
}

func (r *receiver) arm() {
	r.w.Arm(r.e.Next(LR))
	r.w.Arm(r.e.Next(RL))
}

func (r *receiver) send(d Dir, id uint32, size int) Verdict {
	f := make([]byte, size)
	binary.BigEndian.PutUint32(f, id)
	v := r.e.Process(d, f, time.Now())
	r.arm()
	return v
}

func (r *receiver) times(d Dir, start time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, at := range r.at[d] {
		out = append(out, at.Sub(start))
	}
	return out
}

// TestBandwidthPacing replays the reference's confirmed example: 10000 B/s, five 1000-byte frames
// sent at once, delivered at 100, 201, 301, 401, 501 ms (measured with 1 ms resolution). The header
// counts: each frame takes 1002 B / 10000 B/s = 100.2 ms, so the exact times are k·100.2 ms, all
// within 1 ms of the measurements; without the header they would be k·100 ms, and 200 vs 201 is not.
func TestBandwidthPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReceiver(newEngine(t, 1, Bandwidth, "10000"))
		start := time.Now()
		for i := range 5 {
			if v := r.send(LR, uint32(i), 1000); v.Queued != 1 || !v.NextSend.IsZero() {
				t.Fatalf("frame %d: %+v", i, v)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		got := r.times(LR, start)
		ref := []float64{100, 201, 301, 401, 501}
		if len(got) != len(ref) {
			t.Fatalf("delivered %d frames, want 5", len(got))
		}
		for k, g := range got {
			if want := time.Duration(k+1) * 100200 * time.Microsecond; g != want {
				t.Errorf("frame %d delivered at %v, want %v", k, g, want)
			}
			if ms := float64(g) / 1e6; math.Abs(ms-ref[k]) >= 1 {
				t.Errorf("frame %d at %.1f ms, reference measured %.0f ms", k, ms, ref[k])
			}
		}
	})
}

// TestSpeedThrottle checks speed: each frame makes the sender wait its transmit time (size·10⁶/speed
// µs, header included) and is itself delayed by it.
func TestSpeedThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReceiver(newEngine(t, 1, Speed, "LR10000"))
		start := time.Now()
		tx := 100200 * time.Microsecond
		for i := range 5 {
			v := r.send(LR, uint32(i), 1000)
			if want := start.Add(time.Duration(i+1) * tx); !v.NextSend.Equal(want) {
				t.Fatalf("frame %d: NextSend %v, want %v", i, v.NextSend.Sub(start), want.Sub(start))
			}
			time.Sleep(time.Until(v.NextSend)) // the relay does not read this input before NextSend
		}
		if v := r.send(RL, 99, 1000); !v.NextSend.IsZero() {
			t.Fatalf("RL throttled: %+v", v)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for k, g := range r.times(LR, start) {
			if want := time.Duration(k+1) * tx; g != want {
				t.Errorf("frame %d delivered at %v, want %v", k, g, want)
			}
		}
		if got := r.times(RL, start); len(got) != 1 || got[0] != 5*tx {
			t.Errorf("RL delivered at %v, want [%v]", got, 5*tx)
		}
	})
}

// TestDelayOneDirection checks "delay LR200": 200 ms left to right, none right to left.
func TestDelayOneDirection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReceiver(newEngine(t, 1, Delay, "LR200"))
		start := time.Now()
		r.send(LR, 1, 60)
		r.send(RL, 2, 60)
		r.fire() // copies due at once: the relay pops right after Process
		time.Sleep(time.Second)
		synctest.Wait()
		if got := r.times(LR, start); len(got) != 1 || got[0] != 200*time.Millisecond {
			t.Errorf("LR delivered at %v, want [200ms]", got)
		}
		if got := r.times(RL, start); len(got) != 1 || got[0] != 0 {
			t.Errorf("RL delivered at %v, want [0s]", got)
		}
	})
}

// TestFIFO sends numbered frames every millisecond with delay 10+20U (draws from −10 to 30 ms):
// with FIFO on they arrive in order and never earlier than drawn; with it off they reorder.
func TestFIFO(t *testing.T) {
	for _, fifo := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, 9, Delay, "10+20U")
			e.SetFIFO(fifo)
			r := newReceiver(e)
			const n = 2000
			for i := range n {
				r.send(LR, uint32(i), 60)
				r.fire()
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.id[LR]) != n {
				t.Fatalf("fifo %v: %d delivered", fifo, len(r.id[LR]))
			}
			inversions := 0
			for i := 1; i < n; i++ {
				if r.id[LR][i] < r.id[LR][i-1] {
					inversions++
				}
			}
			if fifo && inversions != 0 {
				t.Errorf("fifo on: %d inversions", inversions)
			}
			if !fifo && inversions < n/10 {
				t.Errorf("fifo off: only %d inversions", inversions)
			}
			t.Logf("fifo %v: %d inversions", fifo, inversions)
		})
	}
}

// TestFIFOGlobal checks that, as in the reference, the FIFO bound is global to both directions: a
// 1 ms RL copy sent after a 200 ms LR copy waits for it, unless FIFO is off.
func TestFIFOGlobal(t *testing.T) {
	for _, fifo := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, 1, Delay, "LR200", Delay, "RL1")
			e.SetFIFO(fifo)
			r := newReceiver(e)
			start := time.Now()
			r.send(LR, 1, 60)
			r.send(RL, 2, 60)
			time.Sleep(time.Second)
			synctest.Wait()
			want := time.Millisecond
			if fifo {
				want = 200 * time.Millisecond
			}
			if got := r.times(RL, start); len(got) != 1 || got[0] != want {
				t.Errorf("fifo %v: RL delivered at %v, want [%v]", fifo, got, want)
			}
		})
	}
}

// TestJitter checks the delay distributions: uniform over [v−p, v+p] (mean v, σ = p/√3) and normal
// with mean v and σ = p/3.
func TestJitter(t *testing.T) {
	const n = 20000
	for _, tt := range []struct {
		arg         string
		mean, sigma float64
		lo, hi      float64
		checkBounds bool
		checkStddev bool
	}{
		{"100+20U", 100, 20 / math.Sqrt(3), 80, 120, true, false},
		{"100+30N", 100, 10, 0, 0, false, true},
	} {
		e := newEngine(t, 17, Delay, tt.arg)
		e.SetFIFO(false)
		now := t0
		var sum, sq float64
		lo, hi := math.Inf(1), math.Inf(-1)
		for range n {
			v := e.Process(LR, make([]byte, 60), now)
			ms := float64(v.Due.Sub(now)) / 1e6
			sum, sq = sum+ms, sq+ms*ms
			lo, hi = min(lo, ms), max(hi, ms)
			now = now.Add(time.Second)
			drain(e, LR, now)
		}
		mean := sum / n
		sd := math.Sqrt(sq/n - mean*mean)
		within(t, "delay "+tt.arg+" mean", mean, tt.mean, tt.sigma/math.Sqrt(n))
		if tt.checkBounds && (lo < tt.lo || hi > tt.hi || lo > tt.lo+0.1 || hi < tt.hi-0.1) {
			t.Errorf("delay %s range [%g, %g], want [%g, %g] covered", tt.arg, lo, hi, tt.lo, tt.hi)
		}
		if tt.checkStddev {
			within(t, "delay "+tt.arg+" σ", sd, tt.sigma, tt.sigma/math.Sqrt(2*n))
		}
	}
}

// TestSpeedLateSender: a throttled sender that comes back a little after each NextSend (timer and
// scheduling latency) is still paced from NextSend, so the rate is the configured one; after an idle
// gap longer than speedSlack the clock restarts at the sender's arrival.
func TestSpeedLateSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReceiver(newEngine(t, 1, Speed, "LR10000"))
		start := time.Now()
		tx := 100200 * time.Microsecond
		for i := range 10 {
			v := r.send(LR, uint32(i), 1000)
			if want := start.Add(time.Duration(i+1) * tx); !v.NextSend.Equal(want) {
				t.Fatalf("frame %d: NextSend %v, want %v", i, v.NextSend.Sub(start), want.Sub(start))
			}
			time.Sleep(time.Until(v.NextSend) + 300*time.Microsecond) // late by 0.3 ms every time
		}
		idle := time.Now().Add(10 * time.Millisecond)
		time.Sleep(time.Until(idle))
		if v := r.send(LR, 10, 1000); !v.NextSend.Equal(idle.Add(tx)) {
			t.Errorf("after an idle gap: NextSend %v after the arrival, want %v", v.NextSend.Sub(idle), tx)
		}
	})
}

// TestBandwidthQueueFull: copies dropped because the queue is full do not use up the channel's time,
// so what is queued is delivered at the configured bandwidth.
func TestBandwidthQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(Config{Rand: NewSource(1), QueueLimit: 4})
		if err := e.Set(Bandwidth, "LR10000"); err != nil {
			t.Fatal(err)
		}
		r := newReceiver(e)
		start := time.Now()
		for i := range 20 { // a burst: 4 queued, 16 dropped
			r.send(LR, uint32(i), 1000)
		}
		if st := e.Stats(LR); st.QueueFull != 16 {
			t.Fatalf("QueueFull = %d, want 16", st.QueueFull)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		tx := 100200 * time.Microsecond
		got := r.times(LR, start)
		if len(got) != 4 {
			t.Fatalf("%d delivered, want 4", len(got))
		}
		for k, g := range got {
			if want := time.Duration(k+1) * tx; g != want {
				t.Errorf("frame %d delivered at %v, want %v", k, g, want)
			}
		}
		r.send(LR, 99, 1000) // the channel is free again at 4·tx, not 20·tx
		time.Sleep(time.Second)
		synctest.Wait()
		if got := r.times(LR, start); len(got) != 5 || got[4] != time.Second+tx {
			t.Errorf("after the burst: delivered at %v, want the fifth at %v", got, time.Second+tx)
		}
	})
}
