// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestFollowIdleWindow: while no frame passes, Follow looks every idleWindow after quietAfter windows
// (an idle tool is not woken four times a second), and every window again once frames pass.
func TestFollowIdleWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var frames, looks atomic.Uint64
		fl := Flow{Frames: func() uint64 { looks.Add(1); return frames.Load() }, NoFragile: func() {}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			Follow(ctx, Normal, fl)
			close(done)
		}()

		const quietFor = 20 * time.Second
		time.Sleep(quietFor + window/2)
		// One look at the start, quietAfter at every window, then one every idleWindow.
		want := 1 + quietAfter + uint64((quietFor-quietAfter*window)/idleWindow)
		if got := looks.Load(); got != want {
			t.Errorf("no frames for %v: Follow looked %d times; want %d", quietFor, got, want)
		}

		// Frames pass from now on: within an idleWindow Follow sees them, then looks every window.
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
					frames.Add(1)
				}
			}
		}()
		time.Sleep(idleWindow)
		before := looks.Load()
		time.Sleep(8 * window)
		if got := looks.Load() - before; got != 8 {
			t.Errorf("frames passing: Follow looked %d times in %v; want 8", got, 8*window)
		}
		close(stop)
		cancel()
		<-done
	})
}
