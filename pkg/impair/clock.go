// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"sync"
	"time"
)

// A Clock is the time source of whatever drives an Engine: the engine itself only takes times as
// arguments. SystemClock is the real one; under testing/synctest it is the bubble's fake clock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, like time.AfterFunc.
	AfterFunc(d time.Duration, f func()) Timer
}

// A Timer is a wake-up made by Clock.AfterFunc; its methods behave as time.Timer's.
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// SystemClock is the Clock of package time.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// A Waker calls a function at the earliest of the deadlines it is given: a relay hook arms it with
// Engine.Next and Engine.MarkovNext after each Process, and pops due frames when it fires. One timer
// is made by NewWaker and reused, so arming does not allocate. Its methods are safe for concurrent use.
type Waker struct {
	clock Clock
	mu    sync.Mutex
	t     Timer
	at    time.Time // armed deadline; zero when not armed
}

// NewWaker returns a disarmed Waker that calls fire (in a timer goroutine) when a deadline is reached.
// An Arm for a later time made while an earlier one is pending is not kept, so fire must re-arm from
// the engine's state (Next, MarkovNext) after popping.
func NewWaker(c Clock, fire func()) *Waker {
	w := &Waker{clock: c}
	w.t = c.AfterFunc(time.Hour, func() {
		w.mu.Lock()
		w.at = time.Time{}
		w.mu.Unlock()
		fire()
	})
	w.t.Stop()
	return w
}

// Arm makes the Waker fire at at, unless it is already armed for an earlier time. A zero at is ignored.
func (w *Waker) Arm(at time.Time) {
	if at.IsZero() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.at.IsZero() && !at.Before(w.at) {
		return
	}
	w.at = at
	w.t.Reset(max(at.Sub(w.clock.Now()), 0))
}

// Stop disarms the Waker.
func (w *Waker) Stop() {
	w.mu.Lock()
	w.at = time.Time{}
	w.t.Stop()
	w.mu.Unlock()
}
