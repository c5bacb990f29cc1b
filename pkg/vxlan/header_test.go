// SPDX-License-Identifier: GPL-2.0-or-later

package vxlan

import (
	"bytes"
	"errors"
	"testing"

	"github.com/govde/govde/pkg/frame"
)

func TestNewHeader(t *testing.T) {
	// As the real vde_plug and Linux send VNI 42 (captured with tcpdump): 08 00 00 00 00 00 2a 00.
	want := Header{0x08, 0, 0, 0, 0, 0, 0x2a, 0}
	if h := NewHeader(42); h != want {
		t.Fatalf("NewHeader(42) = % x, want % x", h, want)
	}
	if h := NewHeader(0xabcdef); h.VNI() != 0xabcdef {
		t.Fatalf("VNI() = %#x, want 0xabcdef", h.VNI())
	}
}

func TestDecode(t *testing.T) {
	eth := bytes.Repeat([]byte{0xaa}, frame.HeaderLen)
	hdr := NewHeader(7)
	pkt := func(h Header, f []byte) []byte { return append(append([]byte{}, h[:]...), f...) }
	reserved := hdr
	reserved[1] = 1
	gbp := hdr
	gbp[0] = 0x88 // VXLAN-GBP's G flag
	tests := []struct {
		name   string
		in     []byte
		strict bool
		want   error
	}{
		{"ok", pkt(hdr, eth), false, nil},
		{"ok strict", pkt(hdr, eth), true, nil},
		{"empty", nil, false, ErrShort},
		{"header only", hdr[:], false, ErrShort},
		{"bye", hdr[:], true, ErrBye},
		{"half header", hdr[:5], true, ErrShort},
		{"runt frame", pkt(hdr, eth[:13]), false, ErrShort},
		{"runt frame strict", pkt(hdr, eth[:1]), true, ErrShort},
		{"no I flag", pkt(Header{0, 0, 0, 0, 0, 0, 7, 0}, eth), false, ErrFlags},
		{"other flags", pkt(gbp, eth), false, ErrFlags},
		{"other flags strict", pkt(gbp, eth), true, ErrFlags},
		{"reserved set", pkt(reserved, eth), false, nil},
		{"reserved set strict", pkt(reserved, eth), true, ErrFlags},
		{"other vni", pkt(NewHeader(8), eth), false, ErrVNI},
		{"other vni strict", pkt(NewHeader(8), eth), true, ErrVNI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(tt.in, hdr, tt.strict)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%x, strict=%v) error = %v, want %v", tt.in, tt.strict, err, tt.want)
			}
			if err == nil && !bytes.Equal(f, tt.in[HeaderLen:]) {
				t.Fatalf("Decode(%x) = %x, want the bytes after the header", tt.in, f)
			}
		})
	}
}

func TestDecodeAllocs(t *testing.T) {
	h := NewHeader(1)
	d := append(h[:], make([]byte, 60)...)
	if a := testing.AllocsPerRun(1000, func() { Decode(d, NewHeader(1), true) }); a != 0 {
		t.Fatalf("Decode allocs = %v, want 0", a)
	}
}

// FuzzDecode checks Decode's invariants: a frame only for a matching header, a sub-slice of the input
// holding at least an Ethernet header, and the same verdict as a byte-wise reading of RFC 7348.
func FuzzDecode(f *testing.F) {
	h := NewHeader(1)
	f.Add(append(h[:], make([]byte, 14)...), uint32(1), false)
	f.Add(h[:], uint32(1), true)
	f.Add([]byte{0x08, 0, 0, 0, 0, 0, 2, 0, 1, 2}, uint32(2), false)
	f.Add([]byte{0x0c, 1, 2, 3, 0, 0, 1, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 8, 0}, uint32(1), true)
	f.Fuzz(func(t *testing.T, d []byte, vni uint32, strict bool) {
		want := NewHeader(vni & MaxVNI)
		fr, err := Decode(d, want, strict)
		if err != nil {
			if fr != nil {
				t.Fatalf("Decode error %v with a frame", err)
			}
			return
		}
		if len(fr) < frame.HeaderLen || len(d) != HeaderLen+len(fr) || &fr[0] != &d[HeaderLen] {
			t.Fatalf("Decode(%x) = %x: not the tail after the header", d, fr)
		}
		if d[0] != FlagVNI || Header(d[:HeaderLen]).VNI() != want.VNI() {
			t.Fatalf("Decode(%x) accepted a header for another VNI or with other flags", d)
		}
		if strict && Header(d[:HeaderLen]) != want {
			t.Fatalf("Decode(%x, strict) accepted a header that is not % x", d, want)
		}
	})
}
