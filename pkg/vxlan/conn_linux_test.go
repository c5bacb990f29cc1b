// SPDX-License-Identifier: GPL-2.0-or-later

package vxlan

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
)

// TestConnDropsMalformed: a plug in a fresh namespace (group joined on its lo) is sent malformed
// datagrams and then a good one; ReadFrame returns only the good frame, the rest is counted, and a frame
// to the good one's source goes back unicast to where it came from.
func TestConnDropsMalformed(t *testing.T) {
	for _, kind := range []Kind{VXLAN, VXVDE} {
		t.Run(kind.String(), func(t *testing.T) {
			ns := testutil.Netns(t)
			var c *Conn
			var peer *net.UDPConn
			var err error
			testutil.InNetns(t, ns, func() {
				c, err = Open(Config{Kind: kind, Group: netip.MustParseAddr("239.9.9.9"), Port: 4789, VNI: 99, TTL: 1,
					IfIndex: 1, HashSize: 64})
				if err == nil {
					peer, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				}
			})
			if err != nil {
				t.Fatalf("open in %s: %v", ns, err)
			}
			defer c.Close()
			defer peer.Close()
			to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: c.LocalAddr().(*net.UDPAddr).Port}
			src := frame.MAC{2, 0, 0, 0, 0, 0x42}
			eth := append(append(bytes.Repeat([]byte{0xff}, 6), src[:]...), 0x88, 0xb5, 'o', 'k')
			h := NewHeader(99)
			for _, d := range [][]byte{
				{8, 0, 0, 0},
				append(h[:], eth[:8]...),
				append([]byte{0x0c, 0, 0, 0, 0, 0, 99, 0}, eth...),
				append([]byte{8, 0, 0, 0, 0, 0, 98, 0}, eth...),
				append(h[:], eth...),
			} {
				if _, err := peer.WriteToUDP(d, to); err != nil {
					t.Fatal(err)
				}
			}
			got := make(chan []byte, 1)
			go func() {
				b := make([]byte, frame.MaxLen)
				n, err := c.ReadFrame(b)
				if err != nil {
					t.Error(err)
				}
				got <- b[:n]
			}()
			select {
			case f := <-got:
				if !bytes.Equal(f, eth) {
					t.Fatalf("ReadFrame = %x, want %x", f, eth)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no frame within 10s")
			}
			s := c.Stats()
			if s.Short.Load() != 2 || s.BadFlags.Load() != 1 || s.OtherVNI.Load() != 1 {
				t.Fatalf("short %d flags %d vni %d, want 2 1 1", s.Short.Load(), s.BadFlags.Load(), s.OtherVNI.Load())
			}
			// The hot path allocates nothing: a datagram in, a frame out.
			good, toAP := append(h[:], eth...), to.AddrPort()
			b := make([]byte, frame.MaxLen)
			if a := testing.AllocsPerRun(100, func() {
				peer.WriteToUDPAddrPort(good, toAP)
				if _, err := c.ReadFrame(b); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("send + ReadFrame allocs = %v, want 0", a)
			}
			if kind == VXLAN {
				return // it learned 127.0.0.1:4789, itself
			}
			reply := append(append(append([]byte{}, src[:]...), 2, 0, 0, 0, 0, 1), 0x88, 0xb5, 'r')
			if err := c.WriteFrame(reply); err != nil {
				t.Fatal(err)
			}
			peer.SetReadDeadline(time.Now().Add(10 * time.Second))
			b = make([]byte, MaxDatagram)
			n, _, err := peer.ReadFromUDP(b)
			if err != nil {
				t.Fatalf("no unicast reply: %v", err)
			}
			if want := append(h[:], reply...); !bytes.Equal(b[:n], want) {
				t.Fatalf("reply = %x, want %x", b[:n], want)
			}
			if s.TxUnicast.Load() != 1 {
				t.Fatalf("TxUnicast = %d, want 1", s.TxUnicast.Load())
			}
			if a := testing.AllocsPerRun(100, func() { c.WriteFrame(reply); peer.ReadFromUDPAddrPort(b) }); a != 0 {
				t.Errorf("WriteFrame + receive allocs = %v, want 0", a)
			}
		})
	}
}
