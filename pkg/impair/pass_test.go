// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"testing"
	"time"
)

// TestPass: a new engine lets every frame through Pass, counted as in and out; any parameter set in a
// direction (with or without a value, jitter alone) stops it there from the next call and not in the
// other direction; setting it back to 0 restores it; a second Markov node stops it in both.
func TestPass(t *testing.T) {
	e := New(Config{Rand: NewSource(1)})
	for d := range []Dir{LR, RL} {
		if !e.Pass(Dir(d)) {
			t.Fatalf("new engine: Pass(%v) = false, want true", Dir(d))
		}
	}
	if s := e.Stats(LR); s.In != 1 || s.Out != 1 {
		t.Errorf("after one Pass: In %d Out %d, want 1 1", s.In, s.Out)
	}
	for p := range NumParams {
		for _, arg := range []string{"LR1", "LR0+1"} {
			if err := e.Set(p, arg); err != nil {
				t.Fatalf("Set(%v, %q): %v", p, arg, err)
			}
			if e.Pass(LR) {
				t.Errorf("%v %s: Pass(LR) = true, want false", p, arg)
			}
			if !e.Pass(RL) {
				t.Errorf("%v %s: Pass(RL) = false, want true", p, arg)
			}
			if err := e.Set(p, "0"); err != nil {
				t.Fatal(err)
			}
			if !e.Pass(LR) {
				t.Errorf("%v set back to 0: Pass(LR) = false, want true", p)
			}
		}
	}
	if err := e.SetValue(Loss, RL, 0, Value{Value: 5}); err != nil {
		t.Fatal(err)
	}
	if e.Pass(RL) {
		t.Error("SetValue loss RL 5: Pass(RL) = true")
	}
	e.SetValue(Loss, RL, 0, Value{})
	if err := e.SetNumNodes(2); err != nil {
		t.Fatal(err)
	}
	if e.Pass(LR) || e.Pass(RL) {
		t.Error("two Markov nodes: Pass = true, want false (the node may change with the clock)")
	}
	e.SetNumNodes(1)
	if !e.Pass(LR) {
		t.Error("back to one node: Pass(LR) = false")
	}
}

// TestPassWaitsForQueue: frames still queued from a delay that has been turned off keep Pass off in
// their direction until the last one is popped, so a frame let through cannot overtake them.
func TestPassWaitsForQueue(t *testing.T) {
	e := New(Config{Rand: NewSource(1)})
	e.Set(Delay, "LR10")
	t0 := time.Unix(1000, 0)
	fr := make([]byte, 60)
	for i := range 3 {
		e.Process(LR, fr, t0.Add(time.Duration(i)*time.Millisecond))
	}
	e.Set(Delay, "0")
	if e.Pass(LR) {
		t.Fatal("3 frames queued: Pass(LR) = true")
	}
	if !e.Pass(RL) {
		t.Fatal("RL has nothing queued and no parameter: Pass(RL) = false")
	}
	for i := range 3 {
		p, ok := e.Pop(LR, t0.Add(time.Hour))
		if !ok {
			t.Fatalf("Pop %d: nothing", i)
		}
		e.Release(p)
		if got, want := e.Pass(LR), i == 2; got != want {
			t.Errorf("after %d pops: Pass(LR) = %v, want %v", i+1, got, want)
		}
	}
	if s := e.Stats(LR); s.In != 4 || s.Out != 4 {
		t.Errorf("In %d Out %d, want 4 4 (3 processed + 1 passed)", s.In, s.Out)
	}
}
