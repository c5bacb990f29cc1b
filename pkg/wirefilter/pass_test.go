// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/relay"
)

// TestTransparentHookPasses: with no impairment set the hook hands every frame back to the relay
// (relay.Pass) without emitting or allocating, and the engine counts it; a parameter set afterwards
// applies from the very next frame, in its direction only.
func TestTransparentHookPasses(t *testing.T) {
	e := impair.New(impair.Config{Rand: impair.NewSource(1)})
	f := New(Config{Engine: e, Bidirectional: true})
	defer f.Close()
	out := &fakeEmitter{}
	fr := testFrame(1, 1500)
	if v := f.Hook(relay.AtoB, fr, out); v != relay.Pass {
		t.Fatalf("transparent: Hook = %v, want Pass", v)
	}
	if a := testing.AllocsPerRun(1000, func() { f.Hook(relay.AtoB, fr, out) }); a != 0 {
		t.Errorf("transparent Hook allocs = %v per frame, want 0", a)
	}
	if out.n != 0 {
		t.Errorf("transparent: %d frames emitted, want 0 (the relay sends them)", out.n)
	}
	if s := e.Stats(impair.LR); s.In != 1002 || s.Out != 1002 {
		t.Errorf("Stats LR In %d Out %d, want 1002 each", s.In, s.Out)
	}
	if err := e.Set(impair.Loss, "LR100"); err != nil {
		t.Fatal(err)
	}
	if v := f.Hook(relay.AtoB, fr, out); v != relay.Drop {
		t.Errorf("loss LR100 set: Hook LR = %v, want Drop", v)
	}
	if v := f.Hook(relay.BtoA, fr, out); v != relay.Pass {
		t.Errorf("loss LR100 set: Hook RL = %v, want Pass", v)
	}
	e.Set(impair.Loss, "0")
	if v := f.Hook(relay.AtoB, fr, out); v != relay.Pass {
		t.Errorf("loss back to 0: Hook LR = %v, want Pass", v)
	}
}

// TestKnobsAtRuntime: through a relay, frames cross a transparent cable at once; a delay set from
// the console delays the next frame; once it is set back to 0, the frames sent meanwhile are not
// overtaken by those that follow (they wait behind the queue), and the cable is transparent again
// once the queue has drained.
func TestKnobsAtRuntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCable(t, 1, true)
		got := collect(c.r)
		start := time.Now()
		send := func(seq uint32) {
			c.l.WriteFrame(testFrame(seq, 60))
			synctest.Wait()
		}
		send(0)
		if err := c.f.Engine().Set(impair.Delay, "LR50"); err != nil {
			t.Fatal(err)
		}
		send(1)
		time.Sleep(10 * time.Millisecond)
		send(2)
		c.f.Engine().Set(impair.Delay, "0")
		time.Sleep(10 * time.Millisecond)
		send(3) // at 20 ms: frame 2 is due at 60 ms, so 3 waits behind it
		time.Sleep(100 * time.Millisecond)
		send(4) // queue drained: transparent again
		time.Sleep(time.Second)
		synctest.Wait()
		want := []struct {
			seq uint32
			at  time.Duration
		}{{0, 0}, {1, 50 * time.Millisecond}, {2, 60 * time.Millisecond}, {3, 60 * time.Millisecond}, {4, 120 * time.Millisecond}}
		if len(*got) != len(want) {
			t.Fatalf("delivered %d frames, want %d", len(*got), len(want))
		}
		for i, w := range want {
			if a := (*got)[i]; a.seq != w.seq || a.at.Sub(start) != w.at {
				t.Errorf("frame %d: seq %d at %v, want seq %d at %v", i, a.seq, a.at.Sub(start), w.seq, w.at)
			}
		}
		if s := c.f.Engine().Stats(impair.LR); s.In != 5 || s.Out != 5 {
			t.Errorf("Stats LR In %d Out %d, want 5 5", s.In, s.Out)
		}
		c.close(t)
	})
}

// BenchmarkHookTransparent: the hook's cost per 1500-byte frame when no impairment is set.
func BenchmarkHookTransparent(b *testing.B) {
	f := New(Config{Engine: impair.New(impair.Config{Rand: impair.NewSource(1)}), Bidirectional: true})
	defer f.Close()
	out := &fakeEmitter{}
	fr := testFrame(1, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(fr)))
	for b.Loop() {
		f.Hook(relay.AtoB, fr, out)
	}
}
