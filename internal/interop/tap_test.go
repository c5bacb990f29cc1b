// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"testing"
)

// TestPlug2tapHosts: two namespaced hosts, each a TAP served by the real vde_plug2tap, ping each other across
// the switch, and port/print shows both plug2tap descriptions "vde_plug2tap: user=USER pid=PID".
func TestPlug2tapHosts(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		sw := startSwitch(t, impl)
		a := newHost(t, sw.Dir, 0, "198.18.2.1/24")
		b := newHost(t, sw.Dir, 0, "198.18.2.2/24")
		pa := sw.waitEndpoint(t, hostDescr(t, a))
		pb := sw.waitEndpoint(t, hostDescr(t, b))
		if pa == pb {
			t.Fatalf("%s: both vde_plug2tap hosts on port %d", impl.name, pa)
		}
		a.Ping(t, b.IP)
		b.Ping(t, a.IP)
	})
}
