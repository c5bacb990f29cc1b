// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"net"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
)

// TestRootTapAnswersInTheRound: a TAP port is read by the data plane, which reads it again right after
// writing to it: a ping sent from a VDE client to the host on the TAP is answered by the host within
// the write, and the plane finds the echo reply with that read (plane.answers), not after another
// poll(2). The host's stack answers within the write unless its receive work was handed to ksoftirqd
// (then the reply comes a moment later and the next poll(2) finds it; seen once in a few runs), so
// at least half of eight pings must be answered so; with the answer reads left out, none would be.
func TestRootTapAnswersInTheRound(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	s, dir := startServed(t, Config{})
	ns := testutil.Netns(t)
	name := testutil.RandName("vsa")
	var err error
	testutil.InNetns(t, ns, func() { _, err = s.AddTap(name) })
	if err != nil {
		t.Fatalf("AddTap in %s: %v", ns, err)
	}
	hostMAC := frame.MAC{0x02, 0x47, 0x56, 0, 0xa1, 1}
	peerMAC := frame.MAC{0x02, 0x47, 0x56, 0, 0xa1, 2}
	hostIP, peerIP := [4]byte{198, 18, 8, 1}, [4]byte{198, 18, 8, 2}
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+name+".disable_ipv6=1")
	testutil.Run(t, "ip", "-n", ns, "link", "set", name, "address", net.HardwareAddr(hostMAC[:]).String())
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "198.18.8.1/24", "dev", name)
	testutil.Run(t, "ip", "-n", ns, "link", "set", name, "up")
	// The host answers the peer without asking for its address first.
	testutil.Run(t, "ip", "-n", ns, "neigh", "replace", "198.18.8.2", "lladdr", net.HardwareAddr(peerMAC[:]).String(), "dev", name)

	c := dial(t, s, dir, 0)
	if n := s.plane.answers.Load(); n != 0 {
		t.Fatalf("%d answers before any frame", n)
	}
	const pings = 8
	for seq := range uint16(pings) {
		req := testutil.EchoRequest(hostMAC, peerMAC, peerIP, hostIP, 0x4757, seq)
		must(t, c.WriteFrame(req))
		r, err := recvTimeout(t, c, 5*time.Second)
		if err != nil {
			t.Fatalf("ping %d: no echo reply from the host on the TAP: %v", seq, err)
		}
		if !testutil.IsEchoReply(r, req) {
			t.Fatalf("ping %d: got a %d-byte frame % x, want the %d-byte echo reply", seq, len(r), r[:min(len(r), 42)], len(req))
		}
	}
	if n := s.plane.answers.Load(); n < pings/2 || n > pings {
		t.Errorf("%d of %d echo replies read right after the write that caused them, want at least %d", n, pings, pings/2)
	}
}
