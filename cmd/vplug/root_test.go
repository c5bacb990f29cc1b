// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
)

// TestPingAcrossVplugs: two real vde_switches joined by "dpipe vplug S1 = vplug S2", with a host on each
// (real vde_plug2tap in its own namespace); the hosts ping each other.
func TestPingAcrossVplugs(t *testing.T) {
	skipShort(t)
	testutil.SkipUnlessRoot(t)
	sw := testutil.RealTool(t, "vde_switch")
	dpipe := testutil.RealTool(t, "dpipe")
	p2t := testutil.RealTool(t, "vde_plug2tap")
	vplug := testutil.Bin(t, "vplug")
	dir := t.TempDir()
	s1, s2 := filepath.Join(dir, "s1"), filepath.Join(dir, "s2")
	testutil.StartSwitch(t, sw, s1)
	testutil.StartSwitch(t, sw, s2)
	testutil.Start(t, nil, dpipe, vplug, s1, "=", vplug, s2)
	h1 := testutil.NewHost(t, p2t, s1, "198.18.0.1/24")
	h2 := testutil.NewHost(t, p2t, s2, "198.18.0.2/24")
	h1.Ping(t, h2.IP)
	h2.Ping(t, h1.IP)
}

// TestTapInNetns runs "vplug tap://IF" inside a namespace: the kernel's ARP request for a neighbour comes
// out on stdout, an ARP reply written on stdin is believed, and the ICMP echo request that follows comes out.
func TestTapInNetns(t *testing.T) {
	skipShort(t)
	ns := testutil.Netns(t)
	tapName := testutil.RandName("gvp")
	p, sio := startPiped(t, "ip", "netns", "exec", ns, testutil.Bin(t, "vplug"), "tap://"+tapName)
	testutil.Eventually(t, 10*time.Second, "tap "+tapName, func() bool {
		return exec.Command("ip", "-n", ns, "link", "show", tapName).Run() == nil
	})
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "198.18.1.1/24", "dev", tapName)
	testutil.Run(t, "ip", "-n", ns, "link", "set", tapName, "up")

	stop := make(chan struct{})
	defer close(stop)
	go func() { // ping until the test ends (each ping waits at most 1 s)
		for {
			select {
			case <-stop:
				return
			default:
			}
			exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "1", "198.18.1.2").Run()
		}
	}()

	peerMAC := [6]byte{0x02, 0, 0, 0, 0, 0x02}
	peerIP, myIP := [4]byte{198, 18, 1, 2}, [4]byte{198, 18, 1, 1}
	var tapMAC [6]byte
	deadline := time.Now().Add(15 * time.Second)
	sawARP := false
	for time.Now().Before(deadline) {
		b := sio.read(t, 10*time.Second)
		f, err := frame.Parse(b)
		if err != nil {
			continue
		}
		switch {
		case !sawARP && f.EtherType() == 0x0806 && len(f) >= 42 && binary.BigEndian.Uint16(f[20:22]) == 1 &&
			bytes.Equal(f[38:42], peerIP[:]) && bytes.Equal(f[28:32], myIP[:]):
			sawARP = true
			tapMAC = f.Src()
			// ARP reply: peerIP is at peerMAC.
			r := make([]byte, 42)
			copy(r[0:6], tapMAC[:])
			copy(r[6:12], peerMAC[:])
			binary.BigEndian.PutUint16(r[12:14], 0x0806)
			copy(r[14:22], []byte{0, 1, 8, 0, 6, 4, 0, 2})
			copy(r[22:28], peerMAC[:])
			copy(r[28:32], peerIP[:])
			copy(r[32:38], tapMAC[:])
			copy(r[38:42], myIP[:])
			sio.write(t, r)
		case sawARP && f.EtherType() == 0x0800 && len(f) >= 34 && f.Dst() == frame.MAC(peerMAC) &&
			f[23] == 1 && bytes.Equal(f[30:34], peerIP[:]):
			// The ICMP echo request went to the MAC we announced: both directions work.
			sio.in.Close()
			waitExit(t, p, 5*time.Second, 0)
			if err := exec.Command("ip", "-n", ns, "link", "show", tapName).Run(); err == nil {
				t.Errorf("non-persistent %s still exists after vplug exited", tapName)
			}
			return
		}
	}
	t.Fatalf("no ARP request and ICMP echo request through tap://%s (saw ARP: %v, tap MAC %v)", tapName, sawARP, net.HardwareAddr(tapMAC[:]))
}
