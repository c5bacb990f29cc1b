// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// startOnPipe starts exe with args, its standard input the read end of a pipe whose write end the
// test holds, waits until it runs exe, and stops it when the test ends.
func startOnPipe(t *testing.T, exe string, args ...string) []int {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout = r, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		w.Close()
	})
	testutil.Eventually(t, 5*time.Second, filepath.Base(exe)+" to run", func() bool {
		return readComm(cmd.Process.Pid) == filepath.Base(exe)
	})
	return []int{int(w.Fd())}
}

// renamed copies the program prog (from PATH) to a file called name and returns its path.
func renamed(t *testing.T, prog, name string) string {
	t.Helper()
	src, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("%s not found", prog)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestFragilePeer(t *testing.T) {
	sleepAs := func(name string) func(t *testing.T) []int {
		return func(t *testing.T) []int { return startOnPipe(t, renamed(t, "sleep", name), "30") }
	}
	for _, c := range []struct {
		name    string
		start   func(t *testing.T) []int // the peer; the fds to look at
		want    string
		settled bool
	}{
		{"not a pipe of ours", func(t *testing.T) []int { sleepAs("wirefilter")(t); return []int{0, 1, 2} }, "", true},
		{"C program named vde_plug", sleepAs("vde_plug"), "", true},
		{"real wirefilter", func(t *testing.T) []int { return startOnPipe(t, testutil.RealTool(t, "wirefilter")) }, "wirefilter", true},
		{"C program named wirefilter", sleepAs("wirefilter"), "wirefilter", true},
		{"dpipe before exec", sleepAs("dpipe"), "", false},
		{"our wirefilter", func(t *testing.T) []int {
			if testing.Short() {
				t.Skip("skipped with -short: builds and starts our wirefilter")
			}
			return startOnPipe(t, testutil.Bin(t, "wirefilter"))
		}, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if name, settled := FragilePeer(c.start(t)); name != c.want || settled != c.settled {
				t.Errorf("%s: %q, settled %v; want %q, settled %v", c.name, name, settled, c.want, c.settled)
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
		fds := startOnPipe(t, renamed(t, "sleep", "vde_plug"), "30")
		if calls, nf, returned := follow(fds, 3*batchAbove, 10*time.Second); calls != 1 || nf != 1 || !returned {
			t.Errorf("bulk flow beside vde_plug: Bunch called %d times, NoFragile %d, Follow returned %v; want once, once, true", calls, nf, returned)
		}
	})
	t.Run("fragile peer", func(t *testing.T) {
		fds := startOnPipe(t, renamed(t, "sleep", "wirefilter"), "30")
		if calls, nf, returned := follow(fds, 3*batchAbove, 10*time.Second); calls != 0 || nf != 0 || !returned {
			t.Errorf("bulk flow beside a wirefilter: Bunch called %d times, NoFragile %d, Follow returned %v; want never, never, true", calls, nf, returned)
		}
	})
	t.Run("light", func(t *testing.T) {
		fds := startOnPipe(t, renamed(t, "sleep", "vde_plug"), "30")
		if calls, nf, returned := follow(fds, normalBelow/2, 4*window); calls != 0 || nf != 1 || returned {
			t.Errorf("light flow: Bunch called %d times, NoFragile %d, Follow returned %v; want never, once (peers known at the first window), false", calls, nf, returned)
		}
	})
	t.Run("light beside a fragile peer", func(t *testing.T) {
		fds := startOnPipe(t, renamed(t, "sleep", "wirefilter"), "30")
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
