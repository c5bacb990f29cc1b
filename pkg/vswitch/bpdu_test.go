// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/govde/govde/pkg/frame"
)

// BPDUs captured from vde_switch r586 (vde_switch -F --macaddr 02:00:00:00:00:a1, read by a
// vde_plug on its port 2): the first after the port became active (flags 0x3c) and a periodic
// hello (0x7c, agreement). The tagged one (VLAN 7, root port: flags 0x34) is the documented capture
// of ../shared/reference/vde-protocol.md section 8 with its root and bridge.
var (
	refFirst = mustHex("0180c2000000 0200000000a1 0027 424203 0000 02 02 3c 8000020000 0000a1 00000000" +
		" 80000200000000a1 8002 0000 2800 0400 0000 00")
	refHello = mustHex("0180c2000000 0200000000a1 0027 424203 0000 02 02 7c 80000200000000a1 00000000" +
		" 80000200000000a1 8002 0000 2800 0400 0000 00")
	refTagged = mustHex("0180c2000000 02aabbccddee 81000007 0027 424203 0000 02 02 34 123402aabbccddee 01312d00" +
		" 123402aabbccddee 8001 0300 2800 0400 0000 00")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestBPDUReference(t *testing.T) {
	src := frame.MAC{2, 0, 0, 0, 0, 0xa1}
	id := MakeBridgeID(0x8000, src)
	hello := BPDU{Flags: 0x7c, Root: id, Bridge: id, Port: MakePortID(2), MaxAge: 40, Hello: 4}
	other := MakeBridgeID(0x1234, frame.MAC{2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee})
	tagged := BPDU{Flags: 0x34, Root: other, Cost: 20000000, Bridge: other, Port: MakePortID(1), Age: 3, MaxAge: 40, Hello: 4}
	first := hello
	first.Flags = 0x3c
	for _, tt := range []struct {
		name   string
		b      BPDU
		src    frame.MAC
		vlan   int
		tagged bool
		want   []byte
	}{
		{"first", first, src, 0, false, refFirst},
		{"hello", hello, src, 0, false, refHello},
		{"tagged", tagged, frame.MAC{2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}, 7, true, refTagged},
	} {
		got := AppendBPDU(nil, tt.src, tt.vlan, tt.tagged, &tt.b)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: AppendBPDU = %x, want %x", tt.name, got, tt.want)
		}
		p, err := ParseBPDU(tt.want)
		if err != nil || p != tt.b {
			t.Errorf("%s: ParseBPDU(%x) = %+v, %v, want %+v", tt.name, tt.want, p, err, tt.b)
		}
	}
	if len(refFirst) != BPDULen || len(refTagged) != TaggedBPDULen {
		t.Fatalf("lengths %d %d", len(refFirst), len(refTagged))
	}
	if got := MakePortID(0x123); got != [2]byte{0x80 | 0x12, 0x23} {
		t.Errorf("MakePortID(0x123) = %x (the reference shifts by 4)", got)
	}
	if s := id.String(); s != "80:00:02:00:00:00:00:a1" {
		t.Errorf("String = %q", s)
	}
}

func TestParseBPDUErrors(t *testing.T) {
	bad := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(refHello)) }
	for _, tt := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrNotBPDU},
		{"unicast", bad(func(b []byte) []byte { b[0] = 2; return b }), ErrNotBPDU},
		{"50 bytes", refHello[:50], ErrBPDUShort},
		{"tagged 54 bytes", refTagged[:54], ErrBPDUShort},
		{"tagged header only", refTagged[:17], ErrBPDUShort},
		{"version 0", bad(func(b []byte) []byte { b[19] = 0; return b }), ErrBPDUVersion},
		{"config BPDU", bad(func(b []byte) []byte { b[20] = 0; return b }), ErrBPDUVersion},
		{"51 bytes", refHello[:51], nil},
		{"padded to 60", append(bytes.Clone(refHello), make([]byte, 7)...), nil},
	} {
		if _, err := ParseBPDU(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseBPDU = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestParseBPDUNoAlloc(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() { ParseBPDU(refTagged) }); a != 0 {
		t.Fatalf("ParseBPDU allocs = %v", a)
	}
}

// FuzzParseBPDU: a BPDU that parses encodes back to the same body bytes (fields beyond the parsed
// ones excepted), and nothing panics.
func FuzzParseBPDU(f *testing.F) {
	f.Add(refFirst)
	f.Add(refHello)
	f.Add(refTagged)
	f.Add(refHello[:51])
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := ParseBPDU(in)
		if err != nil {
			return
		}
		tagged := frame.Frame(in).HasTPID()
		vlan := 0
		if tagged {
			vlan = int(frame.Frame(in).Tag().VID())
		}
		out := AppendBPDU(nil, frame.MAC(in[6:12]), vlan, tagged, &b)
		again, err := ParseBPDU(out)
		if err != nil || again != b {
			t.Fatalf("re-parse of %x = %+v, %v, want %+v", out, again, err, b)
		}
	})
}
