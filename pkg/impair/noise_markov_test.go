// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"math"
	"math/bits"
	"testing"
	"time"
)

// TestNoise checks that noise flips n·noise/2^20 bits per n-byte frame on average (binomial band),
// that every flip is inside the frame (first and last bytes included), and that the flips are
// distinct bits, so the damage seen equals the count reported.
func TestNoise(t *testing.T) {
	const frames, size, noise = 4000, 1500, 3000.0
	e := newEngine(t, 23, Noise, FormatG(noise))
	orig := make([]byte, size)
	for i := range orig {
		orig[i] = byte(i * 7)
	}
	hits := make([]int, size)
	flipped := 0
	for range frames {
		e.Process(RL, orig, t0)
		p, ok := e.Pop(RL, t0)
		if !ok || len(p.Bytes()) != size {
			t.Fatal("no copy, or its length changed")
		}
		for i, b := range p.Bytes() {
			if x := b ^ orig[i]; x != 0 {
				hits[i]++
				flipped += bits.OnesCount8(x)
			}
		}
		e.Release(p)
	}
	if s := e.Stats(RL); s.NoiseBits != uint64(flipped) {
		t.Fatalf("Stats.NoiseBits = %d, bits seen flipped %d", s.NoiseBits, flipped)
	}
	nbits := float64(frames * size * 8)
	p := noise / (8 << 20)
	within(t, "bits flipped", float64(flipped), nbits*p, math.Sqrt(nbits*p*(1-p)))
	perMiB := float64(flipped) / (frames * size) * (1 << 20)
	t.Logf("measured %.1f bits/MiB for %g asked", perMiB, noise)
	if hits[0]+hits[1] == 0 || hits[size-1]+hits[size-2] == 0 {
		t.Errorf("no flips in the first or last two bytes: %v %v", hits[:2], hits[size-2:])
	}
	if e.Stats(LR).NoiseBits != 0 {
		t.Error("noise applied to LR too")
	}
}

// TestNoiseSaturated checks that a noise of at least 8 Mibit per MiB flips every bit and ends (the
// reference loops forever from 2^20/n bits per MiB on).
func TestNoiseSaturated(t *testing.T) {
	e := newEngine(t, 1, Noise, "8M")
	e.Process(LR, []byte{0, 0xff, 0x0f}, t0)
	p, _ := e.Pop(LR, t0)
	if got := p.Bytes(); got[0] != 0xff || got[1] != 0 || got[2] != 0xf0 {
		t.Fatalf("noise 8M: % x", got)
	}
}

// TestMarkovTransitions draws 60000 periods of a 3-node chain and checks that the transitions out
// of each node follow its edge weights (binomial 3σ bands), the self-loop taking the rest.
func TestMarkovTransitions(t *testing.T) {
	e := newEngine(t, 31)
	if err := e.SetNumNodes(3); err != nil {
		t.Fatal(err)
	}
	w := [3][3]float64{{0, 30, 20}, {50, 0, 0}, {10, 40, 0}}
	for i := range 3 {
		for j := range 3 {
			if i != j {
				if err := e.SetEdge(i, j, w[i][j]); err != nil {
					t.Fatal(err)
				}
			}
		}
		w[i][i] = e.Edge(i, i)
	}
	if w[0][0] != 50 || w[1][1] != 50 || w[2][2] != 50 {
		t.Fatalf("self-loops %v", w)
	}
	e.Tick(t0, nil) // starts the clock: the first draw is at t0 + 100 ms
	if next := e.MarkovNext(); !next.Equal(t0.Add(DefaultMarkovTime)) {
		t.Fatalf("MarkovNext = %v", next)
	}
	const periods = 60000
	var count, stay [3]int
	var moves [3][3]int
	var buf []Transition
	for k := 1; k <= periods; k++ {
		from := e.Current()
		at := t0.Add(time.Duration(k) * DefaultMarkovTime)
		buf = e.Tick(at, buf[:0])
		count[from]++
		switch len(buf) {
		case 0:
			stay[from]++
		case 1:
			if buf[0].From != from || !buf[0].At.Equal(at) || buf[0].To == from {
				t.Fatalf("transition %+v from %d at %v", buf[0], from, at)
			}
			moves[from][buf[0].To]++
		default:
			t.Fatalf("%d transitions in one period", len(buf))
		}
	}
	for i := range 3 {
		moves[i][i] = stay[i]
		for j := range 3 {
			n, p := float64(count[i]), w[i][j]/100
			within(t, "transitions "+string(rune('0'+i))+"->"+string(rune('0'+j)), float64(moves[i][j]), n*p, math.Sqrt(n*p*(1-p)))
		}
	}
}

// TestMarkovNodes checks per-node values ("[n]" suffix), lazy transitions drawn by Process and
// collected by Tick, and the debug line format.
func TestMarkovNodes(t *testing.T) {
	e := newEngine(t, 2)
	if err := e.Set(Loss, "100[1]"); err == nil {
		t.Fatal("node 1 accepted with one node")
	}
	if err := e.SetNumNodes(2); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		p   Param
		arg string
	}{{Loss, "100[1]"}, {Delay, "LR5[0]"}} {
		if err := e.Set(s.p, s.arg); err != nil {
			t.Fatal(err)
		}
	}
	if v := e.Value(Loss, LR, 1); v.String() != "100+0U" || e.Value(Loss, LR, 0).String() != "0+0U" {
		t.Fatalf("values %v %v", v, e.Value(Loss, LR, 0))
	}
	e.SetName(0, "good")
	e.SetName(1, "bad")
	if err := e.SetMarkovTime(250); err != nil {
		t.Fatal(err)
	}
	e.SetEdge(0, 1, 100)
	e.SetEdge(1, 0, 100)
	// Frames at 0 and 100 ms see node 0; the draw at 250 ms moves to node 1; at 500 ms back to 0.
	for _, tt := range []struct {
		ms     int
		queued int
	}{{0, 1}, {100, 1}, {260, 0}, {499, 0}, {500, 1}} {
		now := t0.Add(time.Duration(tt.ms) * time.Millisecond)
		if v := e.Process(LR, make([]byte, 60), now); v.Queued != tt.queued {
			t.Errorf("frame at %d ms: queued %d, want %d (node %d)", tt.ms, v.Queued, tt.queued, e.Current())
		}
	}
	if next := e.MarkovNext(); !next.Equal(t0.Add(250 * time.Millisecond)) {
		t.Errorf("MarkovNext with transitions pending = %v, want the first one's time", next)
	}
	tr := e.Tick(t0.Add(500*time.Millisecond), nil)
	if len(tr) != 2 {
		t.Fatalf("transitions %+v", tr)
	}
	if got, want := e.TransitionLine(tr[0]), "3801 Node 0 \"good\" -> 1 \"bad\"\n"; got != want {
		t.Errorf("TransitionLine = %q, want %q", got, want)
	}
	if got, want := e.TransitionLine(tr[1]), "3800 Node 1 \"bad\" -> 0 \"good\"\n"; got != want {
		t.Errorf("TransitionLine = %q, want %q", got, want)
	}
	for _, err := range []error{e.SetNode(2), e.SetNumNodes(0), e.SetMarkovTime(0), e.SetEdge(0, 2, 1), e.SetName(-1, "x")} {
		if err == nil {
			t.Error("invalid Markov setting accepted")
		}
	}
	if err := e.SetNumNodes(1); err != nil || e.Current() != 0 || !e.MarkovNext().IsZero() {
		t.Errorf("back to one node: %v, node %d", err, e.Current())
	}
}
