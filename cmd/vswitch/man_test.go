// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readMan(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "man", "vswitch.1"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestManCompatibility: the man page says how the requester is identified and that no path is followed.
func TestManCompatibility(t *testing.T) {
	man := readMan(t)
	for _, want := range []string{".SH COMPATIBILITY", "SO_PEERCRED", "SO_PEERGROUPS", "symbolic link", "private directory"} {
		if !strings.Contains(man, want) {
			t.Errorf("man/vswitch.1 does not mention %q", want)
		}
	}
}
