// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package netctl

import (
	"strings"
	"testing"

	"github.com/govde/govde/internal/testutil"
)

// TestMakeBridgeUndo: in a namespace, a bridge made from a veth uplink gets the uplink's MAC, STP, the
// forward delay, its address and routes; Undo gives them back and leaves no bridge.
func TestMakeBridgeUndo(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ns, peer := testutil.Netns(t), testutil.Netns(t)
	testutil.Run(t, "ip", "link", "add", "up0", "netns", ns, "type", "veth", "peer", "name", "p0", "netns", peer)
	testutil.Run(t, "ip", "-n", ns, "link", "set", "up0", "address", "02:00:c6:12:00:07")
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "198.18.7.1/24", "dev", "up0")
	testutil.Run(t, "ip", "-n", ns, "link", "set", "up0", "up")
	testutil.Run(t, "ip", "-n", peer, "link", "set", "p0", "up")
	testutil.Run(t, "ip", "-n", ns, "route", "add", "198.19.7.0/24", "via", "198.18.7.2", "dev", "up0")

	var m *Moved
	var err error
	var first string
	var bridges []string
	testutil.InNetns(t, ns, func() {
		first, err = FirstUplink()
		if err == nil {
			m, err = MakeBridge("br7", "up0", BridgeSettings{STP: true, ForwardDelay: 0})
		}
		bridges, _ = Bridges()
	})
	if err != nil {
		t.Fatal(err)
	}
	if first != "up0" {
		t.Errorf("FirstUplink = %q, want up0", first)
	}
	if len(bridges) != 1 || bridges[0] != "br7" {
		t.Errorf("Bridges = %v, want [br7]", bridges)
	}
	d := testutil.Run(t, "ip", "-n", ns, "-d", "link", "show", "br7")
	for _, want := range []string{"02:00:c6:12:00:07", "stp_state 1", "forward_delay 200"} {
		if !strings.Contains(d, want) {
			t.Errorf("bridge lacks %q:\n%s", want, d)
		}
	}
	if a := testutil.Run(t, "ip", "-n", ns, "-4", "-o", "addr", "show"); !strings.Contains(a, "br7    inet 198.18.7.1/24") || strings.Contains(a, "up0") {
		t.Errorf("address not moved:\n%s", a)
	}
	if r := testutil.Run(t, "ip", "-n", ns, "-4", "route"); !strings.Contains(r, "198.19.7.0/24 via 198.18.7.2 dev br7") {
		t.Errorf("route not moved:\n%s", r)
	}
	testutil.InNetns(t, ns, func() { err = m.Undo() })
	if err != nil {
		t.Fatal(err)
	}
	if l := testutil.Run(t, "ip", "-n", ns, "-o", "link"); strings.Contains(l, "br7") {
		t.Errorf("bridge left:\n%s", l)
	}
	if a := testutil.Run(t, "ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "up0"); !strings.Contains(a, "198.18.7.1/24") {
		t.Errorf("address not back:\n%s", a)
	}
	if r := testutil.Run(t, "ip", "-n", ns, "-4", "route"); !strings.Contains(r, "198.19.7.0/24 via 198.18.7.2 dev up0") {
		t.Errorf("route not back:\n%s", r)
	}
}
