// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/govde/govde/internal/testutil"
)

// TestPidfileSymlink: vplug -p never writes through a symbolic link (issue 14, item 5: it did): a link to
// an existing file or a dangling one is refused with status 1, and its target is neither written nor made.
func TestPidfileSymlink(t *testing.T) {
	for _, existing := range []bool{true, false} {
		link, check := testutil.SymlinkTrap(t, "vplug.pid", existing)
		out, err := exec.Command(testutil.Bin(t, "vplug"), "-p", link, "null://").CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("vplug -p SYMLINK (target exists: %v): %v, output %q; want status 1", existing, err, out)
		}
		if msg := check(); msg != "" {
			t.Error("vplug -p SYMLINK: ", msg)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the symlink itself was replaced or removed: %v", err)
		}
	}
}
