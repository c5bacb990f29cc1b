// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// TestOffloadTransfer (issue 9): two namespaced hosts, each on a TAP that our plug2tap opens with
// offloads, move a known 10 MB payload both ways over TCP, intact: through our switch, through the real
// vde_switch (which takes nothing but ordinary frames of at most 1518 bytes), over a "dpipe vplug =
// vplug" cable between two switches, and with MTU 9000 end to end through ours.
func TestOffloadTransfer(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ours := testutil.Bin(t, "plug2tap")
	real := testutil.RealTool(t, "vde_switch")
	vsw := testutil.Bin(t, "vswitch")
	for _, tc := range []struct {
		name    string
		sw1     string
		sw2     string // "": both hosts on sw1; else a cable joins sw1 and sw2
		mtu     int
		subnet3 string
	}{
		{"vswitch", vsw, "", 1500, "198.18.3"},
		{"vde_switch", real, "", 1500, "198.18.4"},
		{"cable between vswitches", vsw, vsw, 1500, "198.18.5"},
		{"cable between vde_switches", real, real, 1500, "198.18.6"},
		{"vswitch mtu 9000", vsw, "", 9000, "198.18.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir1 := filepath.Join(t.TempDir(), "sw1")
			testutil.StartSwitch(t, tc.sw1, dir1)
			dir2 := dir1
			if tc.sw2 != "" {
				dir2 = filepath.Join(t.TempDir(), "sw2")
				testutil.StartSwitch(t, tc.sw2, dir2)
				vplug := testutil.Bin(t, "vplug")
				testutil.Start(t, nil, testutil.RealTool(t, "dpipe"), vplug, dir1, "=", vplug, dir2)
			}
			h1 := testutil.NewHost(t, ours, dir1, tc.subnet3+".1/24")
			h2 := testutil.NewHost(t, ours, dir2, tc.subnet3+".2/24")
			if tc.mtu != 1500 {
				for _, h := range []*testutil.Host{h1, h2} {
					testutil.Run(t, "ip", "-n", h.NS, "link", "set", "dev", h.Tap, "mtu", strconv.Itoa(tc.mtu))
				}
			}
			testutil.Eventually(t, 10*time.Second, "ping across", func() bool { return h1.PingOnce(h2.IP) == nil })
			testutil.TransferBoth(t, h1.NS, h2.NS, h2.IP, 10<<20, 90*time.Second)
		})
	}
}
