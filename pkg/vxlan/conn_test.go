// SPDX-License-Identifier: GPL-2.0-or-later

package vxlan

import (
	"net/netip"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// TestAcceptDropsAndCounts: what a plug receives goes through accept; malformed datagrams are dropped,
// counted per reason, and teach the table nothing.
func TestAcceptDropsAndCounts(t *testing.T) {
	for _, kind := range []Kind{VXLAN, VXVDE} {
		t.Run(kind.String(), func(t *testing.T) {
			c := &Conn{kind: kind, hdr: NewHeader(5), port: VXLANPort, uniport: 40000, table: NewTable(64, time.Minute)}
			from := netip.MustParseAddrPort("198.18.0.9:51000")
			src := frame.MAC{2, 0, 0, 0, 0, 9}
			eth := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, src[:]...)
			eth = append(eth, 0x08, 0x06, 1, 2, 3)
			h := NewHeader(5)
			for _, d := range [][]byte{
				{8, 0, 0},                 // short
				append(h[:], eth[:10]...), // runt frame
				append([]byte{0, 0, 0, 0, 0, 0, 5, 0}, eth...), // no I flag
				append([]byte{8, 0, 0, 0, 0, 0, 6, 0}, eth...), // VNI 6
			} {
				if _, ok := c.accept(d, from, false); ok {
					t.Fatalf("accept(%x) took a malformed datagram", d)
				}
			}
			s := c.Stats()
			if s.Short.Load() != 2 || s.BadFlags.Load() != 1 || s.OtherVNI.Load() != 1 || s.Malformed() != 4 {
				t.Fatalf("short %d flags %d vni %d, want 2 1 1", s.Short.Load(), s.BadFlags.Load(), s.OtherVNI.Load())
			}
			if c.table.Len(time.Now()) != 0 {
				t.Fatal("a malformed datagram taught the table")
			}
			f, ok := c.accept(append(h[:], eth...), from, false)
			if !ok || string(f) != string(eth) {
				t.Fatalf("accept(valid) = %x, %v; want the frame", f, ok)
			}
			want := from // vxvde: the sender's unicast socket
			if kind == VXLAN {
				want = netip.AddrPortFrom(from.Addr(), VXLANPort) // VTEPs listen on the VXLAN port
			}
			if a, ok := c.table.Lookup(src, time.Now()); !ok || a != want {
				t.Fatalf("learned %v %v, want %v", a, ok, want)
			}
			if kind == VXVDE {
				if _, ok := c.accept(h[:], from, false); ok || s.Byes.Load() != 1 {
					t.Fatal("a goodbye was not taken as one")
				}
				if _, ok := c.table.Lookup(src, time.Now()); ok {
					t.Fatal("a goodbye left the sender's MACs")
				}
			}
		})
	}
}
