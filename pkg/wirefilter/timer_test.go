// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/relay"
)

// TestTimerDeadline: once the relay's loop drives the filter (Timer), a delayed copy is sent by
// Timer at its deadline and not a nanosecond before, Timer reports that deadline until then, and the
// filter's own timer no longer sends anything (it would race the loop).
func TestTimerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := impair.New(impair.Config{Rand: impair.NewSource(1)})
		if err := e.Set(impair.Delay, "LR40"); err != nil {
			t.Fatal(err)
		}
		f := New(Config{Engine: e, Bidirectional: true})
		defer f.Close()
		out := &fakeEmitter{}
		t0 := time.Now()
		if next := f.Timer(t0); !next.IsZero() {
			t.Fatalf("Timer with nothing queued = %v, want zero", next)
		}
		if v := f.Hook(relay.AtoB, testFrame(1, 60), out); v != relay.Keep {
			t.Fatalf("Hook = %v, want Keep", v)
		}
		due := t0.Add(40 * time.Millisecond)
		if next := f.Timer(t0); !next.Equal(due) {
			t.Fatalf("Timer after the hook = %v, want the frame's deadline %v", next.Sub(t0), due.Sub(t0))
		}
		time.Sleep(time.Second) // the filter's own timer must not send it
		synctest.Wait()
		if out.n != 0 {
			t.Fatalf("%d copies sent by the filter's timer while the loop drives it, want 0", out.n)
		}
		if next := f.Timer(due.Add(-time.Nanosecond)); !next.Equal(due) || out.n != 0 {
			t.Fatalf("Timer 1 ns early: sent %d, next %v; want 0 sent, next %v", out.n, next.Sub(t0), due.Sub(t0))
		}
		if next := f.Timer(due); !next.IsZero() || out.n != 1 {
			t.Fatalf("Timer at the deadline: sent %d, next %v; want 1 sent, nothing left", out.n, next)
		}
	})
}

// TestTimerSkipsBlocked: a direction whose destination is full waits for OnRoom: Timer neither
// retries it nor reports its deadline, while the other direction's deadline still counts.
func TestTimerSkipsBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := impair.New(impair.Config{Rand: impair.NewSource(1)})
		e.Set(impair.Delay, "LR10")
		e.Set(impair.Delay, "RL20")
		f := New(Config{Engine: e, Bidirectional: true})
		defer f.Close()
		full := &fullEmitter{}
		ok := &fakeEmitter{}
		t0 := time.Now()
		f.Timer(t0)
		f.Hook(relay.AtoB, testFrame(1, 60), full)
		f.Hook(relay.BtoA, testFrame(2, 60), ok)
		if next := f.Timer(t0.Add(10 * time.Millisecond)); !next.Equal(t0.Add(20 * time.Millisecond)) {
			t.Fatalf("LR full at its deadline: next %v, want RL's 20ms", next.Sub(t0))
		}
		if full.tries != 1 {
			t.Fatalf("LR emit tries %d, want 1", full.tries)
		}
		if next := f.Timer(t0.Add(20 * time.Millisecond)); !next.IsZero() || ok.n != 1 || full.tries != 1 {
			t.Fatalf("at 20ms: next %v, RL sent %d, LR tries %d; want zero, 1, 1", next, ok.n, full.tries)
		}
		full.room = true
		f.OnRoom(relay.AtoB)
		if full.sent != 1 {
			t.Fatalf("after OnRoom: LR sent %d, want 1", full.sent)
		}
	})
}

// fullEmitter refuses frames with relay.ErrFull until room is set.
type fullEmitter struct {
	room        bool
	tries, sent int
}

func (e *fullEmitter) Emit([]byte) error {
	e.tries++
	if !e.room {
		return relay.ErrFull
	}
	e.sent++
	return nil
}
