// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	t.Run("not a pipe of ours", func(t *testing.T) {
		startOnPipe(t, renamed(t, "sleep", "wirefilter"), "30")
		if name, settled := FragilePeer([]int{0, 1, 2}); name != "" || !settled {
			t.Errorf("a wirefilter on another pipe: %q, %v; want none, settled", name, settled)
		}
	})
	t.Run("none", func(t *testing.T) {
		fds := startOnPipe(t, renamed(t, "sleep", "vde_plug"), "30")
		if name, settled := FragilePeer(fds); name != "" || !settled {
			t.Errorf("a C program called vde_plug: %q, %v; want none, settled", name, settled)
		}
	})
	t.Run("real wirefilter", func(t *testing.T) {
		fds := startOnPipe(t, testutil.RealTool(t, "wirefilter"))
		if name, settled := FragilePeer(fds); name != "wirefilter" || !settled {
			t.Errorf("vde2's wirefilter: %q, %v; want wirefilter, settled", name, settled)
		}
	})
	t.Run("C program named wirefilter", func(t *testing.T) {
		fds := startOnPipe(t, renamed(t, "sleep", "wirefilter"), "30")
		if name, settled := FragilePeer(fds); name != "wirefilter" || !settled {
			t.Errorf("a C program called wirefilter: %q, %v; want wirefilter, settled", name, settled)
		}
	})
	t.Run("dpipe before exec", func(t *testing.T) {
		fds := startOnPipe(t, renamed(t, "sleep", "dpipe"), "30")
		if name, settled := FragilePeer(fds); name != "" || settled {
			t.Errorf("a process called dpipe: %q, %v; want none, not settled", name, settled)
		}
	})
	t.Run("our wirefilter", func(t *testing.T) {
		if testing.Short() {
			t.Skip("skipped with -short: builds and starts our wirefilter")
		}
		fds := startOnPipe(t, testutil.Bin(t, "wirefilter"))
		if name, settled := FragilePeer(fds); name != "" || !settled {
			t.Errorf("our wirefilter: %q, %v; want none, settled", name, settled)
		}
	})
}
