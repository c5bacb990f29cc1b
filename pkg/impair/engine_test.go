// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"bytes"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newEngine(t testing.TB, seed uint64, settings ...any) *Engine {
	t.Helper()
	e := New(Config{Rand: NewSource(seed)})
	for i := 0; i+1 < len(settings); i += 2 {
		if err := e.Set(settings[i].(Param), settings[i+1].(string)); err != nil {
			t.Fatalf("Set(%v, %q): %v", settings[i], settings[i+1], err)
		}
	}
	return e
}

// within fails unless got is within 3σ of mean.
func within(t *testing.T, what string, got, mean, sigma float64) {
	t.Helper()
	if math.Abs(got-mean) > 3*sigma {
		t.Errorf("%s = %.6g, want %.6g ± %.6g (3σ)", what, got, mean, 3*sigma)
	} else {
		t.Logf("%s = %.6g, want %.6g ± %.6g (3σ)", what, got, mean, 3*sigma)
	}
}

// drain pops and releases every copy of d due at now and returns how many there were.
func drain(e *Engine, d Dir, now time.Time) int {
	n := 0
	for {
		p, ok := e.Pop(d, now)
		if !ok {
			return n
		}
		e.Release(p)
		n++
	}
}

func TestPerfectCable(t *testing.T) {
	e := newEngine(t, 1)
	f := bytes.Repeat([]byte{0xa5}, 60)
	v := e.Process(LR, f, t0)
	if v.Queued != 1 || v.Dropped != 0 || !v.Due.Equal(t0) || !v.NextSend.IsZero() {
		t.Fatalf("Process = %+v, want 1 copy due now, no throttle", v)
	}
	p, ok := e.Pop(LR, t0)
	if !ok || !bytes.Equal(p.Bytes(), f) || p.Dir != LR {
		t.Fatalf("Pop = %v %x, want the frame", ok, p.Bytes())
	}
	e.Release(p)
	if _, ok := e.Pop(RL, t0); ok {
		t.Fatal("frame leaked into RL")
	}
}

// TestMTU checks that the size includes the 2-byte header: mtu 100 passes 98-byte frames and drops 99.
func TestMTU(t *testing.T) {
	e := newEngine(t, 1, MTU, "100")
	for n, want := range map[int]int{60: 1, 98: 1, 99: 0, 1500: 0} {
		if v := e.Process(LR, make([]byte, n), t0); v.Queued != want {
			t.Errorf("mtu 100, %d-byte frame: queued %d, want %d", n, v.Queued, want)
		}
		drain(e, LR, t0)
	}
	if s := e.Stats(LR); s.MTU != 2 {
		t.Errorf("Stats.MTU = %d, want 2", s.MTU)
	}
}

// TestLossBinomial checks plain loss against the binomial law: N·p lost within 3σ = 3·√(N·p·(1−p)).
func TestLossBinomial(t *testing.T) {
	for _, tt := range []struct {
		arg    string
		pLR    float64
		pRL    float64
		sample int
	}{
		{"10", 0.10, 0.10, 20000},
		{"LR37.5", 0.375, 0, 20000},
		{"50+50U", 0.50, 0.50, 20000}, // uniform jitter on the percentage keeps the mean
		{"100", 1, 1, 1000},
		{"110+10", 1, 1, 1000}, // min ≥ 100: everything
	} {
		e := newEngine(t, 7, Loss, tt.arg)
		f := make([]byte, 64)
		for d, p := range map[Dir]float64{LR: tt.pLR, RL: tt.pRL} {
			lost := 0
			for range tt.sample {
				if e.Process(d, f, t0).Queued == 0 {
					lost++
				}
				drain(e, d, t0)
			}
			n := float64(tt.sample)
			within(t, "loss "+tt.arg+" "+d.String()+" lost", float64(lost), n*p, math.Sqrt(n*p*(1-p)))
		}
	}
}

// TestGilbertBursts checks the Gilbert model: the loss rate is p and the mean burst length is L.
// Bands: the indicator chain has correlation λ = 1−α−β, so the lost count's variance is
// N·p(1−p)·(1+λ)/(1−λ); burst lengths are geometric with mean 1/β = L and variance (1−β)/β².
func TestGilbertBursts(t *testing.T) {
	const n = 200000
	for _, tt := range []struct{ p, l float64 }{{0.2, 4}, {0.05, 2}, {0.3, 10}} {
		e := newEngine(t, 11, Loss, FormatG(tt.p*100), LostBurst, FormatG(tt.l))
		f := make([]byte, 64)
		lost, bursts, run := 0, 0, 0
		var lens []int
		for range n {
			if e.Process(RL, f, t0).Queued == 0 {
				lost++
				run++
				continue
			}
			drain(e, RL, t0)
			if run > 0 {
				bursts++
				lens = append(lens, run)
				run = 0
			}
		}
		alpha, beta := tt.p/(tt.l*(1-tt.p)), 1/tt.l
		lam := 1 - alpha - beta
		name := "p=" + FormatG(tt.p) + " L=" + FormatG(tt.l)
		within(t, name+" lost", float64(lost), n*tt.p, math.Sqrt(n*tt.p*(1-tt.p)*(1+lam)/(1-lam)))
		sum := 0
		for _, l := range lens {
			sum += l
		}
		within(t, name+" mean burst", float64(sum)/float64(bursts), tt.l, math.Sqrt((1-beta)/(beta*beta)/float64(bursts)))
	}
}

// TestDupGeometric checks that the extra copies of a frame are geometric: mean d/(1−d), variance
// d/(1−d)², and that every copy carries the frame.
func TestDupGeometric(t *testing.T) {
	const n = 20000
	for _, d := range []float64{0.02, 0.3, 0.75} {
		e := newEngine(t, 3, Dup, FormatG(d*100))
		f := []byte("a frame that is duplicated............................")
		extra := 0
		for range n {
			v := e.Process(LR, f, t0)
			extra += v.Queued - 1
			for {
				p, ok := e.Pop(LR, t0)
				if !ok {
					break
				}
				if !bytes.Equal(p.Bytes(), f) {
					t.Fatalf("copy %q", p.Bytes())
				}
				e.Release(p)
			}
		}
		mean, vr := d/(1-d), d/((1-d)*(1-d))
		within(t, "dup "+FormatG(d*100)+" extra copies per frame", float64(extra)/n, mean, math.Sqrt(vr/n))
		if s := e.Stats(LR); s.Dups != uint64(extra) || s.In != n || s.Out != uint64(n+extra) {
			t.Errorf("Stats = %+v, want %d in, %d dups", s, n, extra)
		}
	}
}

// TestDupAll checks that dup 100% ends (the reference loops forever): copies stop at MaxCopies, and
// copies over the queue limit are counted as QueueFull.
func TestDupAll(t *testing.T) {
	e := New(Config{Rand: NewSource(1), QueueLimit: 10})
	if err := e.Set(Dup, "100"); err != nil {
		t.Fatal(err)
	}
	v := e.Process(LR, make([]byte, 60), t0)
	if v.Queued != 10 || v.Dropped != MaxCopies-10 {
		t.Fatalf("dup 100: %+v, want 10 queued, %d dropped", v, MaxCopies-10)
	}
	if s := e.Stats(LR); s.QueueFull != MaxCopies-10 {
		t.Fatalf("QueueFull = %d", s.QueueFull)
	}
	if got := drain(e, LR, t0); got != 10 {
		t.Fatalf("drained %d", got)
	}
}

// TestCapacity checks chanbufsize: bytes waiting (headers included) + size must not exceed it;
// copies due at once are not waiting.
func TestCapacity(t *testing.T) {
	e := newEngine(t, 1, ChanBufSize, "3000", Delay, "LR10")
	f := make([]byte, 1000) // 1002 bytes with the header
	for i, want := range []int{1, 1, 0} {
		if v := e.Process(LR, f, t0); v.Queued != want {
			t.Fatalf("frame %d: queued %d, want %d", i, v.Queued, want)
		}
	}
	if got := e.QueuedBytes(LR); got != 2004 {
		t.Fatalf("QueuedBytes = %d, want 2004", got)
	}
	for range 5 { // RL has no delay: nothing waits, nothing is dropped
		if v := e.Process(RL, f, t0); v.Queued != 1 {
			t.Fatal("RL copy dropped")
		}
	}
	if e.QueuedBytes(RL) != 0 || e.QueuedFrames() != 7 {
		t.Fatalf("RL queued bytes %d, frames %d", e.QueuedBytes(RL), e.QueuedFrames())
	}
	at := t0.Add(10 * time.Millisecond)
	if got := drain(e, LR, at); got != 2 {
		t.Fatalf("drained %d at +10ms", got)
	}
	if v := e.Process(LR, f, at); v.Queued != 1 || e.QueuedBytes(LR) != 1002 {
		t.Fatalf("after delivery: %+v, %d bytes", v, e.QueuedBytes(LR))
	}
	if s := e.Stats(LR); s.Capacity != 1 {
		t.Fatalf("Stats.Capacity = %d", s.Capacity)
	}
}

// TestSeedReproducible checks that the same seed and input give the same decisions and bytes, and
// that another seed gives others.
func TestSeedReproducible(t *testing.T) {
	run := func(seed uint64) []byte {
		e := newEngine(t, seed, Loss, "20", Dup, "20", Delay, "10+10N", Noise, "20000", Bandwidth, "1M")
		e.SetFIFO(false)
		var out bytes.Buffer
		now := t0
		for i := range 2000 {
			f := bytes.Repeat([]byte{byte(i)}, 100+i%500)
			e.Process(Dir(i&1), f, now)
			now = now.Add(time.Millisecond)
			for d := LR; d <= RL; d++ {
				for {
					p, ok := e.Pop(d, now)
					if !ok {
						break
					}
					out.WriteString(now.Sub(t0).String())
					out.Write(p.Bytes())
					e.Release(p)
				}
			}
		}
		return out.Bytes()
	}
	a, b, c := run(42), run(42), run(43)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different output")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same output")
	}
}

// TestAllocs checks that a steady flow with every feature on allocates nothing per frame.
func TestAllocs(t *testing.T) {
	e := newEngine(t, 5, Loss, "5", Dup, "5", Delay, "1+1", Noise, "1000", Bandwidth, "100M",
		Speed, "1G", ChanBufSize, "1M", MTU, "1600", LostBurst, "2")
	if err := e.SetNumNodes(2); err != nil {
		t.Fatal(err)
	}
	e.SetEdge(0, 1, 10)
	e.SetEdge(1, 0, 10)
	f := make([]byte, 1500)
	now := t0
	step := func() {
		now = now.Add(100 * time.Microsecond)
		e.Process(LR, f, now)
		e.Process(RL, f, now)
		drain(e, LR, now)
		drain(e, RL, now)
	}
	for range 20000 {
		step()
	}
	e.Tick(now, nil)
	if a := testing.AllocsPerRun(5000, step); a != 0 {
		t.Fatalf("allocs per frame pair = %v, want 0", a)
	}
}

func BenchmarkProcessPop(b *testing.B) {
	e := newEngine(b, 5, Loss, "1", Delay, "1+1", Noise, "100", Bandwidth, "1G")
	f := make([]byte, 1500)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Microsecond)
		e.Process(LR, f, now)
		drain(e, LR, now)
	}
}

// TestConcurrent runs both directions from their own goroutines, as a relay does, under -race.
func TestConcurrent(t *testing.T) {
	e := newEngine(t, 8, Loss, "10", Dup, "10", Delay, "0+1", Noise, "100")
	done := make(chan int)
	for d := LR; d <= RL; d++ {
		go func() {
			n := 0
			for i := range 5000 {
				e.Process(d, make([]byte, 100+i%100), time.Now()) // shared time never goes backwards
				n += drain(e, d, time.Now())
			}
			done <- n + drain(e, d, time.Now().Add(time.Second))
		}()
	}
	got := <-done + <-done
	s0, s1 := e.Stats(LR), e.Stats(RL)
	if uint64(got) != s0.Out+s1.Out || s0.In != 5000 || s1.In != 5000 || e.QueuedFrames() != 0 {
		t.Fatalf("delivered %d, stats %+v %+v, %d still queued", got, s0, s1, e.QueuedFrames())
	}
}
