// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// SymlinkTrap makes a symbolic link named name in a new temporary directory, pointing to a target
// there that holds "keep\n" when existing is true and does not exist otherwise, for tests that a tool
// given the link as a file to write (a pidfile) neither writes through it nor creates its target.
// Check returns "" while the target is as it was, else what changed.
func SymlinkTrap(t testing.TB, name string, existing bool) (link string, check func() string) {
	t.Helper()
	base := t.TempDir()
	target := filepath.Join(base, "target")
	link = filepath.Join(base, name)
	if existing {
		if err := os.WriteFile(target, []byte("keep\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link, func() string {
		b, err := os.ReadFile(target)
		switch {
		case existing && string(b) != "keep\n":
			return fmt.Sprintf("the symlink's target now holds %q (%v), want it kept", b, err)
		case !existing && !errors.Is(err, os.ErrNotExist):
			return fmt.Sprintf("the dangling symlink's target was created: %q, %v", b, err)
		}
		return ""
	}
}
