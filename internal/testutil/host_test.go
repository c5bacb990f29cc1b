// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"path/filepath"
	"testing"
)

// TestHostPing checks the helpers against the real tools: two hosts on one real vde_switch ping each other.
func TestHostPing(t *testing.T) {
	SkipUnlessRoot(t)
	sw := RealTool(t, "vde_switch")
	p2t := RealTool(t, "vde_plug2tap")
	dir := filepath.Join(t.TempDir(), "sw")
	StartSwitch(t, sw, dir)
	a := NewHost(t, p2t, dir, "198.18.200.1/24")
	b := NewHost(t, p2t, dir, "198.18.200.2/24")
	if a.MAC == "" || a.MAC == b.MAC {
		t.Fatalf("host MACs %q and %q: want two distinct addresses", a.MAC, b.MAC)
	}
	a.Ping(t, b.IP)
	b.Ping(t, a.IP)
}
