// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// TestQEMUReachesOffloadingHost (issue 9): QEMU's e1000 guest (diskless, iPXE) and a host behind our
// plug2tap, whose TAP has offloads, talk both ways through the switch. The host answers the guest's DHCP
// discover and request with an offer and an ack (UDP whose checksum the host's kernel leaves to
// plug2tap to fill in) naming itself as the TFTP server; the guest, configured by them, ARPs for the host
// and sends it a TFTP read request, unicast, which the test receives on the host.
func TestQEMUReachesOffloadingHost(t *testing.T) {
	skipIfShort(t)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("skipped: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	const rom = "/usr/lib/ipxe/qemu/pxe-e1000.rom"
	if _, err := os.Stat(rom); err != nil {
		t.Skipf("skipped: QEMU's iPXE ROM %s not installed (apt-get install ipxe-qemu): %v", rom, err)
	}
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		testutil.SkipUnlessRoot(t)
		sw := startSwitch(t, impl)
		h := testutil.NewHost(t, testutil.Bin(t, "plug2tap"), sw.Dir, "198.18.5.2/24")
		sw.waitEndpoint(t, descr(t, "plug2tap:", h.Plug.Cmd.Process.Pid))

		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		dhcp := listenUDP(t, h.NS, h.Tap, ":67")
		tftp := listenUDP(t, h.NS, "", "198.18.5.2:69")
		go serveDHCP(ctx, dhcp, net.IPv4(198, 18, 5, 2), net.IPv4(198, 18, 5, 50))

		vm := testutil.Start(t, nil, qemu, "-nodefaults", "-display", "none", "-serial", "none", "-monitor", "none",
			"-m", "64", "-accel", "tcg", "-boot", "n",
			"-device", "e1000,netdev=n0,mac="+qemuMAC+",romfile="+rom,
			"-netdev", "vde,id=n0,sock="+sw.Dir)
		tftp.SetReadDeadline(time.Now().Add(90 * time.Second))
		buf := make([]byte, 1500)
		n, from, err := tftp.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("%s: no TFTP request from the guest within 90s: %v\nqemu: %s", impl.name, err, vm.Stderr.String())
		}
		if !from.IP.Equal(net.IPv4(198, 18, 5, 50)) || n < 4 || binary.BigEndian.Uint16(buf) != 1 {
			t.Fatalf("%s: TFTP port got %x from %v, want a read request from 198.18.5.50", impl.name, buf[:n], from)
		}
	})
}

// listenUDP opens a UDP socket in namespace ns on addr, bound to device dev when not empty, with
// SO_BROADCAST, closed when the test ends.
func listenUDP(t *testing.T, ns, dev, addr string) *net.UDPConn {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
			if serr == nil && dev != "" {
				serr = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, dev)
			}
		})
		return serr
	}}
	var pc net.PacketConn
	var err error
	testutil.InNetns(t, ns, func() { pc, err = lc.ListenPacket(context.Background(), "udp4", addr) })
	if err != nil {
		t.Fatalf("listen udp %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.(*net.UDPConn)
}

// serveDHCP answers DHCP discovers with offers and requests with acks of addr, server (and TFTP next
// server) srv, boot file "boot", until ctx ends.
func serveDHCP(ctx context.Context, c *net.UDPConn, srv, addr net.IP) {
	context.AfterFunc(ctx, func() { c.Close() })
	buf := make([]byte, 1500)
	bcast := &net.UDPAddr{IP: net.IPv4bcast, Port: 68}
	for {
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		req := buf[:n]
		if n < 240 || req[0] != 1 || binary.BigEndian.Uint32(req[236:]) != 0x63825363 {
			continue
		}
		var typ byte
		for o := req[240:]; len(o) >= 2 && o[0] != 255; o = o[2+int(o[1]):] {
			if o[0] == 0 {
				o = o[1:]
				continue
			}
			if len(o) < 2+int(o[1]) {
				break
			}
			if o[0] == 53 && o[1] == 1 {
				typ = o[2]
			}
		}
		reply := byte(2) // offer
		switch typ {
		case 1:
		case 3:
			reply = 5 // ack
		default:
			continue
		}
		r := make([]byte, 240, 300)
		r[0], r[1], r[2] = 2, 1, 6
		copy(r[4:8], req[4:8])     // xid
		copy(r[10:12], req[10:12]) // flags
		copy(r[16:20], addr.To4()) // yiaddr
		copy(r[20:24], srv.To4())  // siaddr: next server
		copy(r[28:44], req[28:44]) // chaddr
		copy(r[108:], "boot")      // file
		binary.BigEndian.PutUint32(r[236:], 0x63825363)
		r = append(r, 53, 1, reply, 54, 4)
		r = append(r, srv.To4()...)
		r = append(r, 51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 255, 0, 255)
		c.WriteToUDP(r, bcast)
	}
}
