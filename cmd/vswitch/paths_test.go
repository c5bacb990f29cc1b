// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// Paths named on the command line (issue 14, item 5). No root.

// runFg runs "bin args..." in the foreground with stdin /dev/null (a switch then exits at once, at EOF on
// its console) and returns its exit status and stderr. It waits at most 20 s.
func runFg(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var errb strings.Builder
	cmd.Stderr = &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not exit within 20s", bin, args)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, errb.String()
}

// switches returns our vswitch and, when installed, the reference vde_switch.
func switches(t *testing.T) map[string]string {
	m := map[string]string{"vswitch": testutil.Bin(t, "vswitch")}
	if p, err := exec.LookPath("vde_switch"); err == nil && !testing.Short() {
		m["vde_switch"] = p
	}
	return m
}

// TestSockSymlink: -s naming a symbolic link is refused, naming it; the link's target keeps its mode and
// is not removed. vde_switch follows the link: it chmods the target to the directory mode (02700), uses it,
// and removes it at exit when empty (here it holds a file); the test logs what it did.
func TestSockSymlink(t *testing.T) {
	for name, bin := range switches(t) {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			target, link := filepath.Join(base, "target"), filepath.Join(base, "link")
			if err := os.Mkdir(target, 0o755); err != nil {
				t.Fatal(err)
			}
			os.Chmod(target, 0o755)
			os.WriteFile(filepath.Join(target, "keep"), nil, 0o644) // so that an rmdir at exit fails
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			code, stderr := runFg(t, bin, "-s", link)
			fi, err := os.Stat(target)
			if name == "vde_switch" {
				state := "removed"
				if err == nil {
					state = "mode " + fi.Mode().String()
				}
				t.Logf("vde_switch -s SYMLINK: exit %d, the link's target (was drwxr-xr-x) is now %s", code, state)
				return
			}
			if code != 1 || !strings.Contains(stderr, link) || !strings.Contains(stderr, "symbolic link") {
				t.Errorf("vswitch -s SYMLINK: exit %d, stderr %q; want 1 and an error naming %s as a symbolic link", code, stderr, link)
			}
			if err != nil || fi.Mode().Perm() != 0o755 || fi.Mode()&os.ModeSetgid != 0 {
				t.Errorf("the link's target after vswitch -s SYMLINK: %v, %v; want drwxr-xr-x, kept", fi, err)
			}
		})
	}
}

// TestMgmtNotSocket: -M naming an existing file that is not a socket leaves it alone and says so, naming
// it; the switch runs without a management socket. vde_switch deletes the file (logged).
func TestMgmtNotSocket(t *testing.T) {
	for name, bin := range switches(t) {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			mgmt := filepath.Join(base, "precious")
			if err := os.WriteFile(mgmt, []byte("keep\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stderr := runFg(t, bin, "-s", filepath.Join(base, "sw"), "-M", mgmt)
			b, err := os.ReadFile(mgmt)
			if name == "vde_switch" {
				t.Logf("vde_switch -M REGULAR-FILE: exit %d, the file now: %q, %v", code, b, err)
				return
			}
			if string(b) != "keep\n" {
				t.Errorf("vswitch -M REGULAR-FILE: the file now holds %q (%v), want it kept", b, err)
			}
			if !strings.Contains(stderr, mgmt) || !strings.Contains(stderr, "not a socket") {
				t.Errorf("vswitch -M REGULAR-FILE: stderr %q, want an error naming %s", stderr, mgmt)
			}
		})
	}
}

// TestPidfileSymlink: -p naming a symbolic link (to an existing file or dangling) is refused as existing,
// and its target is neither written nor made.
func TestPidfileSymlink(t *testing.T) {
	for _, existing := range []bool{true, false} {
		link, check := testutil.SymlinkTrap(t, "sw.pid", existing)
		base := filepath.Dir(link)
		code, stderr := runDaemon(t, base, "-s", "sw", "-p", link)
		if code != 1 || stderr != "vswitch: Error in pidfile creation: File exists\n" {
			t.Errorf("-p SYMLINK (target exists: %v): exit %d, stderr %q", existing, code, stderr)
		}
		if msg := check(); msg != "" {
			t.Error("-p SYMLINK: ", msg)
		}
		if _, err := os.Stat(filepath.Join(base, "sw")); !os.IsNotExist(err) {
			t.Errorf("dir left behind: %v", err)
		}
	}
}
