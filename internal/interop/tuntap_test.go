// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// TestTapPort: a switch started with "-t TAP" inside a namespace creates the TAP there and serves it as a port
// (port/print shows an endpoint with module "tuntap" described by the interface name); a host given an
// address on that TAP and a vde_plug2tap host attached to the switch ping each other.
func TestTapPort(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		testutil.SkipUnlessRoot(t)
		tap := &testutil.Host{NS: testutil.Netns(t), Tap: testutil.RandName("gvs"), Addr: "198.18.8.1/24", IP: "198.18.8.1"}
		sw := startSwitchIn(t, tap.NS, impl, "-t", tap.Tap)
		testutil.Eventually(t, 10*time.Second, "TAP "+tap.Tap+" in netns "+tap.NS, func() bool {
			return exec.Command("ip", "-n", tap.NS, "link", "show", "dev", tap.Tap).Run() == nil
		})
		testutil.Run(t, "ip", "-n", tap.NS, "addr", "add", tap.Addr, "dev", tap.Tap)
		testutil.Run(t, "ip", "-n", tap.NS, "link", "set", tap.Tap, "up")
		want := "  -- endpoint ID "
		if !slices.ContainsFunc(sw.do(t, "port/print"), func(l string) bool {
			return strings.HasPrefix(l, want) && strings.HasSuffix(l, " module tuntap      : "+tap.Tap)
		}) {
			t.Fatalf("%s: port/print has no line %q...%q", impl.name, want, " module tuntap      : "+tap.Tap)
		}
		b := newHost(t, sw.Dir, 0, "198.18.8.2/24")
		sw.waitEndpoint(t, hostDescr(t, b))
		b.Ping(t, tap.IP)
		tap.Ping(t, b.IP)
	})
}
