// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/frame/frametest"
	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/relay"
)

// cable is a Filter joined by relay.Join between two in-memory pipes: frames written to l come out
// of r (LR) and back (RL). Inside a synctest bubble its timers run on the fake clock.
type cable struct {
	f      *Filter
	l, r   *frametest.Endpoint
	cancel context.CancelFunc
	done   chan error
	// calls records when the hook saw each frame, per direction.
	mu    sync.Mutex
	calls [2][]time.Time
}

func newCable(t *testing.T, seed uint64, bidir bool, sets ...[2]string) *cable {
	t.Helper()
	e := impair.New(impair.Config{Rand: impair.NewSource(seed)})
	for _, s := range sets {
		p := paramByName(t, s[0])
		if err := e.Set(p, s[1]); err != nil {
			t.Fatal(err)
		}
	}
	c := &cable{f: New(Config{Engine: e, Bidirectional: bidir}), done: make(chan error, 1)}
	l, a := frametest.Pipe(4096)
	b, r := frametest.Pipe(4096)
	c.l, c.r = l, r
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	hook := func(dir relay.Dir, fr []byte, out relay.Emitter) relay.Verdict {
		c.mu.Lock()
		c.calls[dir] = append(c.calls[dir], time.Now())
		c.mu.Unlock()
		return c.f.Hook(dir, fr, out)
	}
	go func() { c.done <- relay.Join(ctx, a, b, &relay.Config{Hook: hook, Gate: c.f.Gate, NoFastPath: true}) }()
	return c
}

func (c *cable) close(t *testing.T) {
	t.Helper()
	c.cancel()
	if err := <-c.done; err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("Join: %v", err)
	}
	c.f.Close()
}

func paramByName(t *testing.T, name string) impair.Param {
	for p := range impair.NumParams {
		if p.String() == name {
			return p
		}
	}
	t.Fatalf("no parameter %q", name)
	return 0
}

// testFrame is an n-byte frame carrying seq after the Ethernet header.
func testFrame(seq uint32, n int) []byte {
	b := make([]byte, n)
	b[0], b[6] = 2, 2
	binary.BigEndian.PutUint32(b[14:], seq)
	return b
}

// arrival is a frame read from one end of the cable, and when.
type arrival struct {
	seq uint32
	n   int
	at  time.Time
}

// collect reads frames from ep into a slice until ep is closed; read it after synctest.Wait.
func collect(ep *frametest.Endpoint) *[]arrival {
	var got []arrival
	go func() {
		b := make([]byte, 9300)
		for {
			n, err := ep.ReadFrame(b)
			if err != nil {
				return
			}
			got = append(got, arrival{binary.BigEndian.Uint32(b[14:]), n, time.Now()})
		}
	}()
	return &got
}

// TestDelayThroughRelay: with "delay LR40", every frame crosses L→R exactly 40 ms after it was
// written, and R→L at once; the timer is the only thing that sends the delayed copies.
func TestDelayThroughRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCable(t, 1, true, [2]string{"delay", "LR40"})
		lr, rl := collect(c.r), collect(c.l)
		start := time.Now()
		for i := range 20 {
			c.l.WriteFrame(testFrame(uint32(i), 60))
			c.r.WriteFrame(testFrame(uint32(100+i), 60))
			time.Sleep(3 * time.Millisecond)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if len(*lr) != 20 || len(*rl) != 20 {
			t.Fatalf("got %d LR and %d RL frames, want 20 each", len(*lr), len(*rl))
		}
		for i, a := range *lr {
			want := start.Add(time.Duration(i)*3*time.Millisecond + 40*time.Millisecond)
			if a.seq != uint32(i) || !a.at.Equal(want) {
				t.Errorf("LR frame %d: seq %d at %v, want seq %d at %v", i, a.seq, a.at.Sub(start), i, want.Sub(start))
			}
		}
		for i, a := range *rl {
			if want := start.Add(time.Duration(i) * 3 * time.Millisecond); a.seq != uint32(100+i) || !a.at.Equal(want) {
				t.Errorf("RL frame %d: seq %d at %v, want at once (%v)", i, a.seq, a.at.Sub(start), want.Sub(start))
			}
		}
		c.close(t)
	})
}

// TestFIFOThroughRelay: with a jitter as large as the gap between frames, FIFO (the default) keeps
// the order and never delivers before value−plus; with fifo 0 the same seeded draws reorder.
func TestFIFOThroughRelay(t *testing.T) {
	for _, fifo := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			c := newCable(t, 7, true, [2]string{"delay", "100+50"})
			c.f.Engine().SetFIFO(fifo)
			got := collect(c.r)
			sent := make([]time.Time, 200)
			for i := range sent {
				sent[i] = time.Now()
				c.l.WriteFrame(testFrame(uint32(i), 60))
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if len(*got) != len(sent) {
				t.Fatalf("fifo %v: %d frames delivered, want %d", fifo, len(*got), len(sent))
			}
			inversions := 0
			for i, a := range *got {
				if i > 0 && a.seq < (*got)[i-1].seq {
					inversions++
				}
				if d := a.at.Sub(sent[a.seq]); d < 50*time.Millisecond {
					t.Errorf("fifo %v: frame %d delivered after %v, want ≥ 50 ms (100−50)", fifo, a.seq, d)
				}
			}
			if fifo && inversions != 0 {
				t.Errorf("FIFO: %d inversions, want none", inversions)
			}
			if !fifo && inversions == 0 {
				t.Errorf("fifo 0 with ±50 ms jitter on 1 ms gaps: no reordering at all")
			}
			c.close(t)
		})
	}
}

// TestSpeedGatesTheSender: with speed LR10000 (B/s) and 998-byte frames (1000 with the header), the
// relay reads the next frame of L only when the previous one has been "transmitted", every 100 ms,
// while R→L is not held; each frame is delivered one transmit time after it was read.
func TestSpeedGatesTheSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCable(t, 1, true, [2]string{"speed", "LR10000"})
		got := collect(c.r)
		back := collect(c.l)
		start := time.Now()
		for i := range 5 {
			c.l.WriteFrame(testFrame(uint32(i), 998))
			c.r.WriteFrame(testFrame(uint32(10+i), 998))
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		c.mu.Lock()
		calls := c.calls
		c.mu.Unlock()
		tx := 100 * time.Millisecond
		for i, at := range calls[relay.AtoB] {
			if want := start.Add(time.Duration(i) * tx); !at.Equal(want) {
				t.Errorf("LR frame %d read at %v, want %v", i, at.Sub(start), want.Sub(start))
			}
		}
		for i, a := range *got {
			if want := start.Add(time.Duration(i+1) * tx); !a.at.Equal(want) {
				t.Errorf("LR frame %d delivered at %v, want %v", i, a.at.Sub(start), want.Sub(start))
			}
		}
		if len(*got) != 5 || len(*back) != 5 {
			t.Fatalf("delivered %d LR, %d RL, want 5 each", len(*got), len(*back))
		}
		for _, a := range *back {
			if !a.at.Equal(start) {
				t.Errorf("RL frame %d at %v, want at once", a.seq, a.at.Sub(start))
			}
		}
		c.close(t)
	})
}

// TestJumboFrames: frames up to frame.MaxLen (9234 bytes) cross the cable intact.
func TestJumboFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCable(t, 1, true, [2]string{"delay", "1"})
		got := collect(c.r)
		for i, n := range []int{60, 1518, 1522, 9000, 9234} {
			c.l.WriteFrame(testFrame(uint32(i), n))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		want := []int{60, 1518, 1522, 9000, 9234}
		if len(*got) != len(want) {
			t.Fatalf("delivered %d frames, want %d", len(*got), len(want))
		}
		for i, a := range *got {
			if a.n != want[i] {
				t.Errorf("frame %d: %d bytes, want %d", i, a.n, want[i])
			}
		}
		c.close(t)
	})
}

// fakeEmitter counts what the hook sends.
type fakeEmitter struct{ n int }

func (e *fakeEmitter) Emit([]byte) error { e.n++; return nil }

// TestHookZeroAllocs: in steady state the hook allocates nothing per frame (the engine's buffers are
// reused, the timer is armed without allocating).
func TestHookZeroAllocs(t *testing.T) {
	e := impair.New(impair.Config{Rand: impair.NewSource(1)})
	e.Set(impair.Loss, "10")
	e.Set(impair.Dup, "10")
	f := New(Config{Engine: e, Bidirectional: true})
	defer f.Close()
	out := &fakeEmitter{}
	fr := testFrame(1, 1500)
	for range 100 {
		f.Hook(relay.AtoB, fr, out)
	}
	if a := testing.AllocsPerRun(1000, func() { f.Hook(relay.AtoB, fr, out) }); a != 0 {
		t.Fatalf("Hook allocs = %v per frame, want 0", a)
	}
	if out.n == 0 {
		t.Fatal("nothing emitted")
	}
}
