// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// Fixed port numbers of the trunk topology, so the management commands know them.
const (
	trunkPort = 5 // the cable between the switches: untagged VLAN 0, tagged VLAN 10
	vlan10    = 2 // a host, untagged member of VLAN 10
	vlan0     = 3 // a host on VLAN 0 (the default)
	tapPort   = 6 // on switch 1 only: a vde_plug that is a tagged member of VLAN 10
)

// TestVLANTrunk: two switches joined by a trunk (the real "vde_plug vde://SW1[5] vde://SW2[5]" copying frames
// between them) that carries VLAN 10 tagged and VLAN 0 untagged. Each switch has a VLAN-10 host (port/setvlan
// 2 10) and a VLAN-0 host. Hosts of the same VLAN ping each other across the trunk, hosts of different VLANs
// do not reach each other, and a tagged VLAN-10 member port of switch 1 receives the VLAN-10 host's ARP
// request with an 802.1Q tag of VID 10. Rows: both reference switches (proves the test), ours against the
// reference on either side, and both ours.
func TestVLANTrunk(t *testing.T) {
	eachPair(t, func(t *testing.T, impl1, impl2 switchImpl) {
		sw1 := startSwitch(t, impl1)
		sw2 := startSwitch(t, impl2)
		cable := startPlug(t, fmt.Sprintf("vde://%s[%d]", sw1.Dir, trunkPort), fmt.Sprintf("vde://%s[%d]", sw2.Dir, trunkPort))
		a := newHost(t, sw1.Dir, vlan10, "198.18.6.1/24")
		b := newHost(t, sw2.Dir, vlan10, "198.18.6.2/24")
		c := newHost(t, sw1.Dir, vlan0, "198.18.6.3/24")
		d := newHost(t, sw2.Dir, vlan0, "198.18.6.4/24")
		mon := startPlug(t, fmt.Sprintf("vde://%s[%d]", sw1.Dir, tapPort))

		for _, w := range []struct {
			sw    *runningSwitch
			descr string
			port  int
		}{
			{sw1, descr(t, "vdeplug:", cable.Pid()), trunkPort},
			{sw2, descr(t, "vdeplug:", cable.Pid()), trunkPort},
			{sw1, hostDescr(t, a), vlan10},
			{sw2, hostDescr(t, b), vlan10},
			{sw1, hostDescr(t, c), vlan0},
			{sw2, hostDescr(t, d), vlan0},
			{sw1, descr(t, "vdeplug:", mon.Pid()), tapPort},
		} {
			if got := w.sw.waitEndpoint(t, w.descr); got != w.port {
				t.Fatalf("%s: %q is on port %d, want %d", w.sw.impl.name, w.descr, got, w.port)
			}
		}
		for _, sw := range []*runningSwitch{sw1, sw2} {
			sw.do(t, "vlan/create 10")
			sw.do(t, fmt.Sprintf("vlan/addport 10 %d", trunkPort))
			sw.do(t, fmt.Sprintf("port/setvlan %d 10", vlan10))
			want := []string{
				"VLAN 0010",
				fmt.Sprintf(" -- Port %04d tagged=0 active=1 status=Forwarding", vlan10),
				fmt.Sprintf(" -- Port %04d tagged=1 active=1 status=Forwarding", trunkPort),
			}
			if sw == sw1 {
				sw.do(t, fmt.Sprintf("vlan/addport 10 %d", tapPort))
				want = append(want, fmt.Sprintf(" -- Port %04d tagged=1 active=1 status=Forwarding", tapPort))
			}
			if got := sw.do(t, "vlan/print 10"); !slices.Equal(got, want) {
				t.Fatalf("%s: vlan/print 10:\n%q\nwant\n%q", sw.impl.name, got, want)
			}
		}

		a.Ping(t, b.IP)
		b.Ping(t, a.IP)
		c.Ping(t, d.IP)
		d.Ping(t, c.IP)
		expectNoPing(t, c, b.IP)
		expectNoPing(t, d, a.IP)

		// A's ARP requests for B went out of switch 1 on VLAN 10: the tagged member port got them tagged.
		aMAC, err := frame.ParseMAC(a.MAC)
		if err != nil {
			t.Fatalf("host MAC %q: %v", a.MAC, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			f, err := mon.tryRecv(time.Until(deadline))
			if err != nil {
				t.Fatalf("%s: no 802.1Q-tagged ARP request from %s on tagged port %d: %v", sw1.impl.name, a.MAC, tapPort, err)
			}
			if len(f) >= 18 && frame.Frame(f).Src() == aMAC && binary.BigEndian.Uint16(f[16:18]) == 0x0806 {
				if tpid, tci := binary.BigEndian.Uint16(f[12:14]), binary.BigEndian.Uint16(f[14:16]); tpid != 0x8100 || tci != 10 {
					t.Fatalf("%s: ARP from %s on tagged port %d has TPID %#04x TCI %#04x, want 0x8100 and VID 10 with priority 0", sw1.impl.name, a.MAC, tapPort, tpid, tci)
				}
				break
			}
		}
	})
}
