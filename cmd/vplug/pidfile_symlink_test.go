// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/govde/govde/internal/testutil"
)

// TestPidfileSymlink: vplug -p never writes through a symbolic link (issue 14, item 5: it did): a link to
// an existing file or a dangling one is refused with status 1, and its target is neither written nor made.
func TestPidfileSymlink(t *testing.T) {
	for _, existing := range []bool{true, false} {
		dir := t.TempDir()
		target, link := filepath.Join(dir, "target"), filepath.Join(dir, "vplug.pid")
		if existing {
			os.WriteFile(target, []byte("keep\n"), 0o600)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(testutil.Bin(t, "vplug"), "-p", link, "null://").CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("vplug -p SYMLINK (target exists: %v): %v, output %q; want status 1", existing, err, out)
		}
		b, rerr := os.ReadFile(target)
		switch {
		case existing && string(b) != "keep\n":
			t.Errorf("symlink target now holds %q, want it kept", b)
		case !existing && !errors.Is(rerr, os.ErrNotExist):
			t.Errorf("dangling symlink's target created: %q, %v", b, rerr)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the symlink itself was replaced or removed: %v", err)
		}
	}
}
