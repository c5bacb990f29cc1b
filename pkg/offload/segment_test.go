// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func TestSum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := Fold(Sum(b, 0)), naiveSum(b); got != want {
			t.Fatalf("Fold(Sum(%d bytes)) = %#x, want %#x", n, got, want)
		}
	}
	all := bytes.Repeat([]byte{0xff}, 70000)
	if got, want := Fold(Sum(all, 0)), naiveSum(all); got != want {
		t.Fatalf("Fold(Sum(0xff...)) = %#x, want %#x", got, want)
	}
}

func TestHdrRoundTrip(t *testing.T) {
	h := Hdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv6, HdrLen: 74, GSOSize: 1428, CsumStart: 54, CsumOffset: 16}
	var b [HdrLen]byte
	h.Encode(b[:])
	got, err := DecodeHdr(b[:])
	if err != nil || got != h {
		t.Fatalf("DecodeHdr(Encode(%+v)) = %+v, %v", h, got, err)
	}
	if _, err := DecodeHdr(b[:HdrLen-1]); err != ErrShortHdr {
		t.Fatalf("DecodeHdr(short) error = %v, want ErrShortHdr", err)
	}
}

// gsoPacket returns the large packet a TAP would read for segments of mss bytes carrying pay: the
// headers of s with pay as payload, IP lengths for the whole, the transport checksum partial.
func gsoPacket(s seg, pay []byte, gt uint8, mss int) []byte {
	s.payload = pay
	f := s.build()
	p, _ := Parse(f)
	src, dst := p.addrs(f)
	binary.BigEndian.PutUint16(f[p.L4+p.csumOffset():], Fold(PseudoSum(src, dst, p.Proto, p.End-p.L4)))
	return withHdr(Hdr{Flags: FlagNeedsCsum, GSOType: gt, HdrLen: uint16(p.Data), GSOSize: uint16(mss),
		CsumStart: uint16(p.L4), CsumOffset: uint16(p.csumOffset())}, f)
}

func segmentAll(t *testing.T, b []byte, maxFrame int) [][]byte {
	t.Helper()
	var s Segmenter
	if err := s.Reset(b, maxFrame); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	var out [][]byte
	buf := make([]byte, 70000)
	for s.Pending() {
		n := s.Next(buf)
		if n == 0 {
			t.Fatal("Next = 0 with a frame pending")
		}
		out = append(out, append([]byte{}, buf[:n]...))
	}
	return out
}

func TestSegmentTCP(t *testing.T) {
	opts := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2} // NOP NOP timestamps
	for _, tc := range []struct {
		name     string
		s        seg
		gt       uint8
		n, mss   int
		maxFrame int
		wantMSS  int
	}{
		{"ipv4", seg{seq: 1000, ack: 77, id: 300, df: true, opts: opts, flags: tcpACK | tcpPSH | tcpFIN | tcpCWR}, GSOTCPv4, 3500, 1000, 1514, 1000},
		{"ipv4 ecn", seg{seq: 0xfffffff0, flags: tcpACK | tcpCWR | tcpECE}, GSOTCPv4 | GSOECN, 4000, 1448, 1514, 1448},
		{"ipv6", seg{v6: true, seq: 5, opts: opts, flags: tcpACK | tcpPSH}, GSOTCPv6, 2 * 1428, 1428, 1514, 1428},
		{"vlan", seg{tagged: true, seq: 9, id: 0xffff}, GSOTCPv4, 3000, 1400, 1518, 1400},
		{"capped by the frame limit", seg{seq: 1, id: 1}, GSOTCPv4, 20000, 8948, 1514, 1460},
		{"one short segment", seg{seq: 1, flags: tcpACK | tcpPSH}, GSOTCPv4, 100, 1448, 1514, 1448},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pay := payload(3, tc.n)
			frames := segmentAll(t, gsoPacket(tc.s, pay, tc.gt, tc.mss), tc.maxFrame)
			want := (tc.n + tc.wantMSS - 1) / tc.wantMSS
			if len(frames) != want {
				t.Fatalf("%d frames, want %d", len(frames), want)
			}
			var got []byte
			for i, f := range frames {
				p, ok := Parse(f)
				if !ok {
					t.Fatalf("frame %d does not parse: %x", i, f)
				}
				if len(f) > tc.maxFrame || p.End != len(f) {
					t.Errorf("frame %d: %d bytes (IP end %d), limit %d", i, len(f), p.End, tc.maxFrame)
				}
				if !naiveValid(f) {
					t.Errorf("frame %d: bad checksums", i)
				}
				last := i == len(frames)-1
				if n := p.End - p.Data; n != tc.wantMSS && !last {
					t.Errorf("frame %d: payload %d, want %d", i, n, tc.wantMSS)
				}
				if seq := binary.BigEndian.Uint32(f[p.L4+4:]); seq != tc.s.seq+uint32(len(got)) {
					t.Errorf("frame %d: seq %d, want %d", i, seq, tc.s.seq+uint32(len(got)))
				}
				if ack := binary.BigEndian.Uint32(f[p.L4+8:]); ack != tc.s.ack {
					t.Errorf("frame %d: ack %d", i, ack)
				}
				if !tc.s.v6 {
					if id := binary.BigEndian.Uint16(f[p.L3+4:]); id != tc.s.id+uint16(i) {
						t.Errorf("frame %d: IPv4 ID %d, want %d", i, id, tc.s.id+uint16(i))
					}
				}
				wantFl := tc.s.flags
				if wantFl == 0 {
					wantFl = tcpACK
				}
				if !last {
					wantFl &^= tcpPSH | tcpFIN
				}
				if i > 0 {
					wantFl &^= tcpCWR
				}
				if fl := f[p.L4+13]; fl != wantFl {
					t.Errorf("frame %d: flags %#x, want %#x", i, fl, wantFl)
				}
				if !bytes.Equal(f[p.L4+tcpLen:p.Data], tc.s.opts) {
					t.Errorf("frame %d: options %x", i, f[p.L4+tcpLen:p.Data])
				}
				got = append(got, f[p.Data:]...)
			}
			if !bytes.Equal(got, pay) {
				t.Fatal("payload of the frames differs from the packet's")
			}
		})
	}
}

func TestSegmentUDP(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		pay := payload(9, 3000)
		frames := segmentAll(t, gsoPacket(seg{udp: true, v6: v6, id: 10}, pay, GSOUDPL4, 1200), 1514)
		if len(frames) != 3 {
			t.Fatalf("v6=%v: %d frames, want 3", v6, len(frames))
		}
		var got []byte
		for i, f := range frames {
			p, _ := Parse(f)
			if !naiveValid(f) {
				t.Errorf("v6=%v frame %d: bad checksums", v6, i)
			}
			if l := int(binary.BigEndian.Uint16(f[p.L4+4:])); l != len(f)-p.L4 {
				t.Errorf("v6=%v frame %d: UDP length %d, want %d", v6, i, l, len(f)-p.L4)
			}
			got = append(got, f[p.Data:]...)
		}
		if !bytes.Equal(got, pay) {
			t.Fatalf("v6=%v: payload differs", v6)
		}
	}
	// A datagram larger than the limit cannot be cut smaller.
	var s Segmenter
	if err := s.Reset(gsoPacket(seg{udp: true}, payload(0, 3000), GSOUDPL4, 1500), 1514); err != ErrTooBig {
		t.Fatalf("Reset(USO 1500 into 1514-byte frames) = %v, want ErrTooBig", err)
	}
}

func TestSegmentNeedsCsum(t *testing.T) {
	for _, s := range []seg{{payload: payload(1, 333)}, {v6: true, udp: true, payload: payload(2, 100)}, {udp: true, payload: payload(5, 1)}} {
		f := s.build()
		want := append([]byte{}, f...)
		p, _ := Parse(f)
		src, dst := p.addrs(f)
		binary.BigEndian.PutUint16(f[p.L4+p.csumOffset():], Fold(PseudoSum(src, dst, p.Proto, p.End-p.L4)))
		frames := segmentAll(t, withHdr(Hdr{Flags: FlagNeedsCsum, CsumStart: uint16(p.L4), CsumOffset: uint16(p.csumOffset())}, f), 1514)
		if len(frames) != 1 || !bytes.Equal(frames[0], want) {
			t.Errorf("%+v: partial checksum completed to %x, want %x", s, frames, want)
		}
	}
	// A plain frame passes unchanged.
	f := seg{payload: payload(0, 10)}.build()
	if frames := segmentAll(t, withHdr(Hdr{}, f), 1514); len(frames) != 1 || !bytes.Equal(frames[0], f) {
		t.Error("plain frame changed")
	}
}

func TestSegmentBad(t *testing.T) {
	good := gsoPacket(seg{seq: 1}, payload(0, 3000), GSOTCPv4, 1000)
	for name, mod := range map[string]func(b []byte){
		"short header":       func(b []byte) {},
		"zero gso size":      func(b []byte) { binary.NativeEndian.PutUint16(b[4:], 0) },
		"wrong csum start":   func(b []byte) { binary.NativeEndian.PutUint16(b[6:], 20) },
		"tcp6 type for ipv4": func(b []byte) { b[1] = GSOTCPv6 },
		"ufo":                func(b []byte) { b[1] = GSOUDP },
		"udp type for tcp":   func(b []byte) { b[1] = GSOUDPL4 },
		"csum past the end":  func(b []byte) { b[1] = GSONone; binary.NativeEndian.PutUint16(b[6:], 4000) },
	} {
		b := append([]byte{}, good...)
		mod(b)
		if name == "short header" {
			b = b[:HdrLen-1]
		}
		var s Segmenter
		if err := s.Reset(b, 1514); err != ErrBadPacket {
			t.Errorf("%s: Reset = %v, want ErrBadPacket", name, err)
		}
		if s.Pending() {
			t.Errorf("%s: a frame is pending after an error", name)
		}
	}
}

func TestSegmentAllocs(t *testing.T) {
	b := gsoPacket(seg{seq: 1}, payload(0, 60000), GSOTCPv4, 1448)
	buf := make([]byte, 1514)
	var s Segmenter
	a := testing.AllocsPerRun(100, func() {
		s.Reset(b, 1514)
		for s.Pending() {
			s.Next(buf)
		}
	})
	if a != 0 {
		t.Fatalf("segmenting allocates %v times per packet, want 0", a)
	}
}

func BenchmarkSegment(b *testing.B) {
	pkt := gsoPacket(seg{seq: 1}, payload(0, 65000), GSOTCPv4, 1448)
	buf := make([]byte, 1514)
	var s Segmenter
	b.SetBytes(65000)
	b.ReportAllocs()
	for b.Loop() {
		s.Reset(pkt, 1514)
		for s.Pending() {
			s.Next(buf)
		}
	}
}
