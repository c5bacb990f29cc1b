// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// qemuMAC is the guest NIC's address, so the test can tell the guest's DHCP discover from any other frame.
const qemuMAC = "52:54:00:c6:12:09"

// TestQEMUNetdevVDE: a diskless QEMU VM (TCG, no disk, boot from network) joined to the switch with
// -netdev vde. Its iPXE ROM broadcasts DHCP discovers, which must reach a namespaced host on the same
// switch (tcpdump on the host's TAP sees a BOOTP request from the guest's MAC address), and port/print
// shows QEMU's description "QEMU user=USER pid=PID". Skipped when qemu-system-x86_64 or its PXE ROM is not
// installed (make test's deps treat QEMU as optional).
func TestQEMUNetdevVDE(t *testing.T) {
	skipIfShort(t)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("skipped: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	const rom = "/usr/lib/ipxe/qemu/pxe-e1000.rom"
	if _, err := os.Stat(rom); err != nil {
		t.Skipf("skipped: QEMU's iPXE ROM %s not installed (apt-get install ipxe-qemu): %v", rom, err)
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		if testutil.InCI() {
			t.Fatalf("tcpdump not installed: %v", err)
		}
		t.Skip("skipped: tcpdump not installed (apt-get install tcpdump)")
	}
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		testutil.SkipUnlessRoot(t)
		sw := startSwitch(t, impl)
		h := newHost(t, sw.Dir, 0, "198.18.5.1/24")
		sw.waitEndpoint(t, hostDescr(t, h))

		// One DHCP request from the guest's MAC, link-level headers printed (-e), no name lookups (-n).
		dump := testutil.Start(t, nil, "ip", "netns", "exec", h.NS, tcpdump, "-l", "-n", "-e", "-c", "1",
			"-i", h.Tap, "udp dst port 67 and ether src "+qemuMAC)
		testutil.Eventually(t, 10*time.Second, "tcpdump listening on "+h.Tap, func() bool {
			if dump.Exited() {
				t.Fatalf("tcpdump exited early: %v\n%s", dump.Wait(0), dump.Stderr.String())
			}
			return strings.Contains(dump.Stderr.String(), "listening on")
		})

		vm := testutil.Start(t, nil, qemu, "-nodefaults", "-display", "none", "-serial", "none", "-monitor", "none",
			"-m", "64", "-accel", "tcg", "-boot", "n",
			"-device", "e1000,netdev=n0,mac="+qemuMAC+",romfile="+rom,
			"-netdev", "vde,id=n0,sock="+sw.Dir)
		sw.waitEndpoint(t, descr(t, "QEMU", vm.Cmd.Process.Pid))

		if err := dump.Wait(60 * time.Second); err != nil {
			t.Fatalf("%s: no DHCP discover from the guest (%s) on %s within 60s: %v\ntcpdump: %s\nqemu: %s",
				impl.name, qemuMAC, h.Tap, err, dump.Stderr.String(), vm.Stderr.String())
		}
		out := dump.Stdout.String()
		if !strings.Contains(out, qemuMAC+" > ff:ff:ff:ff:ff:ff") || !strings.Contains(out, "BOOTP/DHCP, Request from "+qemuMAC) {
			t.Fatalf("%s: tcpdump on %s saw %q, want a broadcast BOOTP/DHCP request from %s", impl.name, h.Tap, out, qemuMAC)
		}
	})
}
