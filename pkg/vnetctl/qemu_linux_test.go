// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package vnetctl

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// TestQEMUGuest: after create, a diskless QEMU guest (e1000, TCG, run as nobody) on the user's switch
// socket reaches the LAN: its iPXE ROM's DHCP discover is seen on the LAN host's interface, having passed
// the switch, the TAP, the bridge and the uplink. Skipped without qemu-system-x86_64, its PXE ROM or
// tcpdump.
func TestQEMUGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("skipped: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	const rom = "/usr/lib/ipxe/qemu/pxe-e1000.rom"
	if _, err := os.Stat(rom); err != nil {
		t.Skipf("skipped: QEMU's iPXE ROM %s not installed (apt-get install ipxe-qemu)", rom)
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("skipped: tcpdump not installed")
	}
	l := newLab(t)
	l.mustRun(0, "-u", "nobody", "create")
	const mac = "52:54:00:c6:12:0b"
	dump := testutil.Start(t, nil, "ip", "netns", "exec", l.lan, tcpdump, "-l", "-n", "-e", "-c", "1",
		"-i", "lan0", "udp dst port 67 and ether src "+mac)
	testutil.Eventually(t, 10*time.Second, "tcpdump listening", func() bool {
		if dump.Exited() {
			t.Fatalf("tcpdump exited: %v\n%s", dump.Wait(0), dump.Stderr.String())
		}
		return strings.Contains(dump.Stderr.String(), "listening on")
	})
	// QEMU as nobody, with the same view of /var/tmp as the switch (it names its data sockets by it).
	vm := testutil.Start(t, nil, "ip", "netns", "exec", l.host, "unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /var/tmp && shift && exec "$@"`, "_", l.tmp,
		"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		qemu, "-nodefaults", "-display", "none", "-serial", "none", "-monitor", "none",
		"-m", "64", "-accel", "tcg", "-boot", "n",
		"-device", "e1000,netdev=n0,mac="+mac+",romfile="+rom,
		"-netdev", "vde,id=n0,sock=/var/tmp/vde_switch0.nobody")
	if err := dump.Wait(90 * time.Second); err != nil {
		t.Fatalf("no DHCP discover from the guest on the LAN within 90s: %v\ntcpdump: %s\nqemu: %s",
			err, dump.Stderr.String(), vm.Stderr.String())
	}
	if out := dump.Stdout.String(); !strings.Contains(out, "BOOTP/DHCP, Request from "+mac) {
		t.Errorf("tcpdump on the LAN saw %q, want a BOOTP/DHCP request from %s", out, mac)
	}
	vm.Stop(10 * time.Second)
	l.mustRun(0, "-u", "nobody", "cancel")
	l.checkClean()
}
