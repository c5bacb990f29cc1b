// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// startOnPipe starts exe with args, its standard input the read end of a pipe whose write end the
// test holds, waits until it runs exe, and stops it when the test ends.
func startOnPipe(t *testing.T, exe string, args ...string) []int {
	t.Helper()
	r, w := pipe(t)
	start(t, exe, args, r, nil, w)
	return []int{int(w.Fd())}
}

// startWritingPipe is startOnPipe with exe's standard output the write end of a pipe whose read end
// the test holds (its standard input is another pipe, which the test keeps open).
func startWritingPipe(t *testing.T, exe string, args ...string) []int {
	t.Helper()
	r, w := pipe(t)
	ir, iw := pipe(t)
	start(t, exe, args, ir, w, r, iw)
	return []int{int(r.Fd())}
}

func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

// start runs exe with standard input in and standard output out (io.Discard when nil), closes our
// copies of them, waits until it runs exe, and when the test ends stops it and closes keep.
func start(t *testing.T, exe string, args []string, in, out *os.File, keep ...*os.File) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout = in, io.Discard
	if out != nil {
		cmd.Stdout = out
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if out != nil {
		out.Close()
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		for _, f := range keep {
			f.Close()
		}
	})
	testutil.Eventually(t, 5*time.Second, filepath.Base(exe)+" to run", func() bool {
		return readComm(cmd.Process.Pid) == filepath.Base(exe)
	})
}

func TestFragilePeer(t *testing.T) {
	sleepAs := func(name string) func(t *testing.T) []int {
		return func(t *testing.T) []int { return startOnPipe(t, testutil.Renamed(t, "sleep", name), "30") }
	}
	realWF := func(start func(*testing.T, string, ...string) []int) func(t *testing.T) []int {
		return func(t *testing.T) []int { return start(t, testutil.RealTool(t, "wirefilter")) }
	}
	for _, c := range []struct {
		name    string
		start   func(t *testing.T) []int // the peer; the fds to look at
		want    Peer
		settled bool
	}{
		{"not a pipe of ours", func(t *testing.T) []int { sleepAs("wirefilter")(t); return []int{0, 1, 2} }, Peer{}, true},
		{"C program named vde_plug", sleepAs("vde_plug"), Peer{}, true},
		{"real wirefilter reading", realWF(startOnPipe), Peer{Name: "wirefilter"}, true},
		{"real wirefilter writing", realWF(startWritingPipe), Peer{Name: "wirefilter", MaxRecord: 1521}, true},
		{"C program named wirefilter", sleepAs("wirefilter"), Peer{Name: "wirefilter"}, true},
		{"dpipe before exec", sleepAs("dpipe"), Peer{}, false},
		{"our wirefilter", func(t *testing.T) []int {
			if testing.Short() {
				t.Skip("skipped with -short: builds and starts our wirefilter")
			}
			return startWritingPipe(t, testutil.Bin(t, "wirefilter"))
		}, Peer{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if p, settled := FragilePeer(c.start(t)); p != c.want || settled != c.settled {
				t.Errorf("%s: %+v, settled %v; want %+v, settled %v", c.name, p, settled, c.want, c.settled)
			}
		})
	}
}

// TestFollowBunch: under Normal, Follow changes no policy but calls Flow.Bunch once a bulk flow
// passes, unless a fragile peer holds one of the pipes; it returns in both cases. A light flow
// calls nothing.
func TestFollowBunch(t *testing.T) {
	// follow runs Follow on fds while frames grow at rate per second, and returns how often Bunch
	// and NoFragile were called by the time Follow returned, or by the deadline.
	follow := func(fds []int, rate uint64, deadline time.Duration) (bunch, noFragile int32, returned bool) {
		var frames, n, nf atomic.Uint64
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		go func() {
			for ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
				frames.Add(rate / 100)
			}
		}()
		done := make(chan struct{})
		go func() {
			Follow(ctx, Normal, Flow{Frames: frames.Load, FDs: fds, Bunch: func() { n.Add(1) },
				NoFragile: func() { nf.Add(1) }})
			close(done)
		}()
		select {
		case <-done:
			return int32(n.Load()), int32(nf.Load()), true
		case <-ctx.Done():
			<-done
			return int32(n.Load()), int32(nf.Load()), false
		}
	}
	t.Run("bulk", func(t *testing.T) {
		fds := startOnPipe(t, testutil.Renamed(t, "sleep", "vde_plug"), "30")
		if calls, nf, returned := follow(fds, 3*batchAbove, 10*time.Second); calls != 1 || nf != 1 || !returned {
			t.Errorf("bulk flow beside vde_plug: Bunch called %d times, NoFragile %d, Follow returned %v; want once, once, true", calls, nf, returned)
		}
	})
	t.Run("fragile peer", func(t *testing.T) {
		fds := startOnPipe(t, testutil.Renamed(t, "sleep", "wirefilter"), "30")
		if calls, nf, returned := follow(fds, 3*batchAbove, 10*time.Second); calls != 0 || nf != 0 || !returned {
			t.Errorf("bulk flow beside a wirefilter: Bunch called %d times, NoFragile %d, Follow returned %v; want never, never, true", calls, nf, returned)
		}
	})
	t.Run("light", func(t *testing.T) {
		fds := startOnPipe(t, testutil.Renamed(t, "sleep", "vde_plug"), "30")
		if calls, nf, returned := follow(fds, normalBelow/2, 4*window); calls != 0 || nf != 1 || returned {
			t.Errorf("light flow: Bunch called %d times, NoFragile %d, Follow returned %v; want never, once (peers known at the first window), false", calls, nf, returned)
		}
	})
	t.Run("light beside a fragile peer", func(t *testing.T) {
		fds := startOnPipe(t, testutil.Renamed(t, "sleep", "wirefilter"), "30")
		if calls, nf, returned := follow(fds, normalBelow/2, 4*window); calls != 0 || nf != 0 || !returned {
			t.Errorf("light flow beside a wirefilter: Bunch called %d times, NoFragile %d, Follow returned %v; want never, never, true", calls, nf, returned)
		}
	})
	t.Run("nothing to do", func(t *testing.T) {
		done := make(chan struct{})
		go func() { Follow(context.Background(), Normal, Flow{Frames: func() uint64 { return 0 }}); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Follow(Normal) without Bunch did not return")
		}
	})
}

// TestFollowMaxRecord: Follow passes on the longest record of a fragile peer that writes into a pipe
// the relay reads, and says nothing of one that only reads.
func TestFollowMaxRecord(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(t *testing.T, exe string, args ...string) []int
		want  []int
	}{
		{"writing", startWritingPipe, []int{1521}},
		{"reading", startOnPipe, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			fds := c.start(t, testutil.Renamed(t, "sleep", "wirefilter"), "30")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var got []int // written by Follow's goroutine, which is this one
			Follow(ctx, Normal, Flow{Frames: func() uint64 { return 0 }, FDs: fds,
				NoFragile: func() {}, MaxRecord: func(n int) { got = append(got, n) }})
			if ctx.Err() != nil {
				t.Fatal("Follow did not return beside a fragile peer")
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("MaxRecord called with %v; want %v", got, c.want)
			}
		})
	}
}
