// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/relay"
)

// Config configures a Filter.
type Config struct {
	// Engine is the impairment engine; nil means impair.New with a random seed.
	Engine *impair.Engine
	// Clock is the time source of delivery; nil means impair.SystemClock.
	Clock impair.Clock
	// Bidirectional says both directions carry frames (showinfo's "bidirectional", blink's LR/RL);
	// a monodirectional filter only uses LR.
	Bidirectional bool
	// Blink, when not nil, receives a datagram for each frame sent.
	Blink *Blink
}

// A Filter applies an impair.Engine to the frames of a relay.Join. Its methods are safe for
// concurrent use. Close stops its timer.
type Filter struct {
	e     *impair.Engine
	clock impair.Clock
	waker *impair.Waker
	bidir bool
	blink *Blink

	out      [2]atomic.Pointer[emitter] // set by the first Hook call of each direction
	sendMu   [2]sync.Mutex              // one sender per direction at a time: Pop then Emit stays FIFO
	held     [2]impair.Packet           // a due copy the destination had no room for (sendMu)
	holding  [2]bool                    // held[d] is valid (sendMu)
	blocked  [2]atomic.Bool             // holding, readable without sendMu: the timer waits for OnRoom
	sending  [2]atomic.Bool             // flush holds sendMu: a copy may be between Pop and Emit
	driven   atomic.Bool                // the relay's loop calls Timer: the waker only draws Markov
	nextSend [2]atomic.Int64            // unix ns before which the direction's input is not read; 0: none

	markovMu sync.Mutex // guards trans and onTrans
	trans    []impair.Transition
	onTrans  func(line string)

	closed atomic.Bool
}

var _ relay.Hook = (*Filter)(nil).Hook

// emitter boxes an Emitter for atomic storage.
type emitter struct{ relay.Emitter }

// New returns a Filter. It starts the Markov clock of the engine.
func New(cfg Config) *Filter {
	f := &Filter{e: cfg.Engine, clock: cfg.Clock, bidir: cfg.Bidirectional, blink: cfg.Blink}
	if f.e == nil {
		f.e = impair.New(impair.Config{})
	}
	if f.clock == nil {
		f.clock = impair.SystemClock
	}
	f.waker = impair.NewWaker(f.clock, f.fire)
	f.Kick()
	return f
}

// Engine returns the Filter's impairment engine.
func (f *Filter) Engine() *impair.Engine { return f.e }

// Bidirectional reports whether the filter carries both directions.
func (f *Filter) Bidirectional() bool { return f.bidir }

// OnTransition sets the function that receives the markov-debug line of each Markov transition
// (impair.Engine.TransitionLine). It is called from the timer goroutine.
func (f *Filter) OnTransition(fn func(line string)) {
	f.markovMu.Lock()
	f.onTrans = fn
	f.markovMu.Unlock()
}

// Hook is the relay.Hook of the filter: the engine copies the frame, the copies due at once are
// sent through out, the others by the timer. It never blocks on the timer and never allocates in
// steady state. A direction with no impairment set and nothing waiting passes its frames on
// untouched (relay.Pass: no copy, no lock); a parameter set later applies from the next frame.
func (f *Filter) Hook(dir relay.Dir, fr []byte, out relay.Emitter) relay.Verdict {
	d := impair.Dir(dir & 1)
	if p := f.out[d].Load(); p == nil || p.Emitter != out {
		f.out[d].Store(&emitter{out})
	}
	// Pass sees an empty queue; a copy popped from it but not yet emitted (a flush under way, or a
	// copy held for want of room) must not be overtaken either. flush sets sending before it pops,
	// so a Pass that sees the queue emptied by that pop sees sending too (or the flush is over).
	if f.e.Pass(d) && !f.sending[d].Load() && !f.blocked[d].Load() {
		if f.blink != nil {
			f.blink.send(f.bidir, d, len(fr)+impair.HeaderLen)
		}
		return relay.Pass
	}
	now := f.clock.Now()
	v := f.e.Process(d, fr, now)
	if v.NextSend.IsZero() {
		f.nextSend[d].Store(0)
	} else {
		f.nextSend[d].Store(v.NextSend.UnixNano())
	}
	if v.Queued == 0 {
		return relay.Drop
	}
	f.flush(d, now)
	f.arm()
	return relay.Keep
}

// Gate is the relay.Config.Gate of the filter: with a speed set, a direction's input is not read
// before its sender's last frame has been "transmitted" at that speed.
func (f *Filter) Gate(dir relay.Dir) time.Time {
	if ns := f.nextSend[dir&1].Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// flush sends the copies of direction d due at now. A copy the destination has no room for
// (relay.ErrFull) is held, and the sending stops until OnRoom: nothing is lost or reordered while a
// slow destination drains.
func (f *Filter) flush(d impair.Dir, now time.Time) {
	f.sendMu[d].Lock()
	defer f.sendMu[d].Unlock()
	f.sending[d].Store(true)
	defer f.sending[d].Store(false)
	out := f.out[d].Load()
	for {
		var p impair.Packet
		if f.holding[d] {
			p = f.held[d]
		} else {
			var ok bool
			if p, ok = f.e.Pop(d, now); !ok {
				return
			}
		}
		if out != nil {
			b := p.Bytes()
			err := out.Emit(b)
			if err == relay.ErrFull {
				f.held[d], f.holding[d] = p, true
				f.blocked[d].Store(true)
				return
			}
			if err == nil && f.blink != nil {
				f.blink.send(f.bidir, d, len(b)+impair.HeaderLen)
			}
		}
		f.holding[d] = false
		f.blocked[d].Store(false)
		f.held[d] = impair.Packet{}
		f.e.Release(p)
	}
}

// OnRoom is the relay.Config.OnRoom of the filter: the destination of dir has room again for the
// copies that are due.
func (f *Filter) OnRoom(dir relay.Dir) {
	f.flush(impair.Dir(dir&1), f.clock.Now())
	f.arm()
}

// fire runs when the timer falls due: it sends what is due, draws the Markov transitions and re-arms.
func (f *Filter) fire() {
	if f.closed.Load() {
		return
	}
	now := f.clock.Now()
	f.flush(impair.LR, now)
	f.flush(impair.RL, now)
	f.tick(now)
	f.arm()
}

// tick collects the Markov transitions due at now and reports them.
func (f *Filter) tick(now time.Time) {
	f.markovMu.Lock()
	defer f.markovMu.Unlock()
	f.trans = f.e.Tick(now, f.trans[:0])
	if f.onTrans == nil {
		return
	}
	for _, t := range f.trans {
		f.onTrans(f.e.TransitionLine(t))
	}
}

// arm sets the timer to the earliest deadline of the engine: the Markov clock's, and the next
// delivery's unless the relay's loop sends the deliveries (Timer).
func (f *Filter) arm() {
	if f.closed.Load() {
		return
	}
	if !f.driven.Load() {
		for _, d := range []impair.Dir{impair.LR, impair.RL} {
			if !f.blocked[d].Load() { // a blocked direction resumes on OnRoom, not on the timer
				f.waker.Arm(f.e.Next(d))
			}
		}
	}
	f.waker.Arm(f.e.MarkovNext())
}

// Timer is the relay.Config.Timer of the filter. On the fast path the relay's loop calls it and sends
// the delayed copies itself when they fall due, with no hand-off from a timer goroutine, which made
// them late; from the first call on, the filter's own timer only draws the Markov transitions. It
// sends the copies due at now and returns when the next one is due (zero: none queued, or its
// direction is waiting for OnRoom). It never sends a copy before its time.
func (f *Filter) Timer(now time.Time) time.Time {
	if !f.driven.Load() {
		f.driven.Store(true)
	}
	if f.closed.Load() {
		return time.Time{}
	}
	var next time.Time
	for _, d := range []impair.Dir{impair.LR, impair.RL} {
		if f.blocked[d].Load() {
			continue
		}
		t := f.e.Next(d)
		if !t.IsZero() && !t.After(now) {
			f.flush(d, now)
			if f.blocked[d].Load() {
				continue
			}
			t = f.e.Next(d)
		}
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// Kick restarts the timer from the engine's state; call it after changing the Markov parameters
// (the chain's clock starts at the first time the engine sees).
func (f *Filter) Kick() {
	f.tick(f.clock.Now())
	f.arm()
}

// Close stops the timer. Frames still queued are not sent. It is idempotent.
func (f *Filter) Close() error {
	f.closed.Store(true)
	f.waker.Stop()
	for d := range f.held {
		f.sendMu[d].Lock()
		if f.holding[d] {
			f.e.Release(f.held[d])
			f.holding[d], f.held[d] = false, impair.Packet{}
		}
		f.sendMu[d].Unlock()
	}
	return nil
}
