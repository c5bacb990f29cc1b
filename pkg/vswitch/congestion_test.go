// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package vswitch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
	"golang.org/x/sys/unix"
)

// deadlineGram is a gramEndpoint that takes write deadlines, as a VDE connection does: the switch
// then waits for it in the runtime poller when it is full.
type deadlineGram struct{ gramEndpoint }

func (g deadlineGram) SetWriteDeadline(t time.Time) error { return g.c.SetWriteDeadline(t) }

// TestCongestionWaitDelivers: a batch for one destination whose socket is full is held until the
// destination drains it, not dropped (count-based: every frame arrives, none is counted dropped).
// The receiver only starts reading once the socket is full; a receiver descheduled for longer than
// congestionWait counts as stuck by design, so the property must hold in one of three trials.
func TestCongestionWaitDelivers(t *testing.T) {
	var failures []string
	for range 3 {
		msg := congestionTrial(t)
		if msg == "" {
			return
		}
		failures = append(failures, msg)
	}
	t.Errorf("frames for a full destination were dropped in every trial:\n%s", strings.Join(failures, "\n"))
}

func congestionTrial(t *testing.T) string {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src, _ := attachRaw(t, s)
	sw, peer := socketpair(t)
	rc, err := sw.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	dst, err := s.attach(epSpec{ep: deadlineGram{gramEndpoint{sw}}, id: -1, module: ModuleUnix, uid: -1, raw: rc})
	if err != nil {
		t.Fatal(err)
	}
	if dst.wdl == nil {
		t.Fatal("an endpoint with SetWriteDeadline got no deadline setter")
	}
	s.fdb.learn(makeKey(mac(100), 0), dst.port.num, s.now())
	f := eth(mac(100), mac(1), 1500)
	// Fill the destination's socket from the switch side until it refuses.
	fill := 0
	rc.Write(func(fd uintptr) bool {
		for {
			if _, err := unix.Write(int(fd), f); err != nil {
				return true
			}
			fill++
		}
	})
	want := fill + maxBatch
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, frame.MaxLen)
		n := 0
		for n < want {
			if _, err := peer.Read(buf); err != nil {
				break
			}
			n++
		}
		got <- n
	}()
	r := newRx(s, src)
	r.begin()
	for i := range maxBatch {
		r.handle(i, f)
	}
	r.flush()
	ps, _ := s.Port(dst.port.num)
	if ps.Out.Drops != 0 {
		return fmt.Sprintf("a full destination had %d of %d frames dropped", ps.Out.Drops, maxBatch)
	}
	if dst.stalled.Load() {
		return "the destination is marked stalled after it drained"
	}
	select {
	case n := <-got:
		if n != want {
			return fmt.Sprintf("the destination got %d frames, want %d", n, want)
		}
	case <-time.After(10 * time.Second):
		return fmt.Sprintf("the destination did not get all %d frames", want)
	}
	return ""
}
