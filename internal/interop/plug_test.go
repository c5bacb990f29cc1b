// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"bytes"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// TestVdePlugStdio: two real vde_plug clients in stream mode on the switch. Frames written to one plug's
// stdin come out of the other's stdout byte for byte (broadcast, then unicast to a learned address, from
// the smallest frame the switch forwards to a full 1514-byte one), a plug never gets its own frames back,
// and port/print shows each plug's description "vdeplug: user=USER pid=PID" on its own port.
func TestVdePlugStdio(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		sw := startSwitch(t, impl)
		a := startPlug(t, "vde://"+sw.Dir)
		b := startPlug(t, "vde://"+sw.Dir)
		pa := sw.waitEndpoint(t, descr(t, "vdeplug:", a.Pid()))
		pb := sw.waitEndpoint(t, descr(t, "vdeplug:", b.Pid()))
		if pa == pb || pa < 1 || pb < 1 {
			t.Fatalf("%s: vde_plugs on ports %d and %d, want two distinct ports >= 1", impl.name, pa, pb)
		}

		macA := frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x00, 0x0a}
		macB := frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x00, 0x0b}
		bcast := frame.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		steps := []struct {
			name     string
			from, to *stdioPlug
			f        []byte
		}{
			{"broadcast from B", b, a, testFrame(bcast, macB, 46, 1)},
			{"broadcast from A", a, b, testFrame(bcast, macA, 46, 2)},
			{"unicast A to B", a, b, testFrame(macB, macA, 100, 3)},
			{"unicast B to A", b, a, testFrame(macA, macB, 200, 4)},
			{"header only", a, b, testFrame(macB, macA, 0, 5)},
			{"odd length", b, a, testFrame(macA, macB, 47, 6)},
			{"1514 bytes", a, b, testFrame(macB, macA, 1500, 7)},
			{"1514 bytes back", b, a, testFrame(macA, macB, 1500, 8)},
		}
		for _, s := range steps {
			s.from.send(t, s.f)
			got := s.to.recv(t, 5*time.Second)
			if !bytes.Equal(got, s.f) {
				t.Fatalf("%s: %s: received %d bytes\n% x\nwant %d bytes\n% x", impl.name, s.name, len(got), got, len(s.f), s.f)
			}
		}
		// Neither plug has anything left to read: no echo of its own frames, no duplicates.
		a.expectSilence(t, 200*time.Millisecond)
		b.expectSilence(t, 200*time.Millisecond)
	})
}

// TestVdePlugJumbo: a frame of frame.MaxLen bytes (vdeplug4's maximum: 9216-byte MTU, header and tag) and a
// 9014-byte one sent through a real vde_plug. Our switch delivers them intact; the reference truncates every
// frame to 1518 bytes (section 2 of the reference), which this test checks too, to prove itself.
func TestVdePlugJumbo(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		sw := startSwitch(t, impl)
		a := startPlug(t, "vde://"+sw.Dir)
		b := startPlug(t, "vde://"+sw.Dir)
		sw.waitEndpoint(t, descr(t, "vdeplug:", a.Pid()))
		sw.waitEndpoint(t, descr(t, "vdeplug:", b.Pid()))
		macA := frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x01, 0x0a}
		macB := frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x01, 0x0b}
		for _, n := range []int{9014, frame.MaxLen} {
			f := testFrame(macB, macA, n-frame.HeaderLen, byte(n))
			want := f
			if impl.name == realSwitch.name {
				want = f[:frame.RefMaxLen]
			}
			a.send(t, f)
			got := b.recv(t, 5*time.Second)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: a %d-byte frame came out as %d bytes (first difference at %d), want %d bytes", impl.name, n, len(got), firstDiff(got, want), len(want))
			}
		}
	})
}

// firstDiff returns the index of the first byte where a and b differ, or the shorter length.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
