// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govde/govde/internal/testutil"
)

// TestPidfileSymlink: plug2tap -P never writes through a symbolic link (issue 14, item 5): a link to an
// existing file or a dangling one is refused with status 1 naming it, and its target is neither written
// nor made.
func TestPidfileSymlink(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ours := testutil.Bin(t, "plug2tap")
	dir := filepath.Join(t.TempDir(), "sw")
	testutil.StartSwitch(t, testutil.RealTool(t, "vde_switch"), dir)
	ns := testutil.Netns(t)
	for i, existing := range []bool{true, false} {
		link, check := testutil.SymlinkTrap(t, "p2t.pid", existing)
		dev := []string{"gvtsym0", "gvtsym1"}[i]
		out, err := exec.Command("ip", "netns", "exec", ns, ours, "-d", "-P", link, "-s", dir, dev).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), link) {
			t.Errorf("plug2tap -P SYMLINK (target exists: %v): %v, output %q; want status 1 naming %s", existing, err, out, link)
		}
		if msg := check(); msg != "" {
			t.Error("plug2tap -P SYMLINK: ", msg)
		}
		if linkExists(ns, dev) {
			t.Errorf("TAP %s left behind", dev)
		}
	}
}
