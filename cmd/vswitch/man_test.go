// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"os"
	"path/filepath"
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
