// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"os"
	"testing"
)

// TestBinCache: one private directory per module root, the same on every call, and a directory of that
// name that others could write to is refused.
func TestBinCache(t *testing.T) {
	root := "/nonexistent/" + RandName("govde-root-")
	d, err := BinCache(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if again, err := BinCache(root); err != nil || again != d {
		t.Fatalf("BinCache again: %q, %v; want %q", again, err, d)
	}
	if other, err := BinCache(root + "x"); err != nil || other == d {
		t.Fatalf("BinCache of another root: %q, %v; want a directory other than %q", other, err, d)
	} else {
		os.RemoveAll(other)
	}
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := BinCache(root); err == nil {
		t.Fatalf("BinCache accepted %s with mode 0777", d)
	}
}
