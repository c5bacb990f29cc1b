// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// train returns n consecutive full segments of mss bytes of one flow, starting from s.
func train(s seg, n, mss int) []seg {
	var out []seg
	for i := 0; i < n; i++ {
		x := s
		x.seq = s.seq + uint32(i*mss)
		x.id = s.id + uint16(i)
		x.payload = payload(int(x.seq), mss)
		out = append(out, x)
	}
	return out
}

// coalesce runs frames through a Coalescer and returns what it wrote.
func coalesce(t *testing.T, frames ...[]byte) []written {
	t.Helper()
	var out []written
	c := NewCoalescer(recorder(&out))
	for _, f := range frames {
		if err := c.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if c.Held() != 0 {
		t.Fatal("packets held after Flush")
	}
	return out
}

// expand turns what a Coalescer wrote back into frames, as the kernel would see them: GSO packets are
// segmented (and must be well-formed), the others taken as they are.
func expand(t *testing.T, ws []written) (frames [][]byte, segs []int) {
	t.Helper()
	for i, w := range ws {
		if w.hdr.GSOType == GSONone {
			frames = append(frames, w.pkt)
			segs = append(segs, 1)
			continue
		}
		p, ok := Parse(w.pkt)
		if !ok || int(w.hdr.CsumStart) != p.L4 || w.hdr.CsumOffset != 16 || w.hdr.Flags != FlagNeedsCsum || int(w.hdr.HdrLen) != p.Data {
			t.Fatalf("write %d: bad GSO header %+v for %x", i, w.hdr, w.pkt)
		}
		// The partial checksum must be the folded pseudo-header sum: the sum then completes it.
		full := append([]byte{}, w.pkt...)
		c := ^Fold(Sum(full[p.L4:], 0))
		binary.BigEndian.PutUint16(full[p.L4+16:], c)
		if !naiveValid(full) {
			t.Fatalf("write %d: completing the partial checksum does not give a valid packet", i)
		}
		out := segmentAll(t, withHdr(w.hdr, w.pkt), 70000)
		frames = append(frames, out...)
		segs = append(segs, len(out))
	}
	return frames, segs
}

func builds(ss ...seg) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, s.build())
	}
	return out
}

func TestCoalesce(t *testing.T) {
	opts := []byte{1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0}
	base := seg{seq: 1000, ack: 5, id: 40, opts: opts}
	tr := train(base, 4, 1000)
	with := func(i int, f func(*seg)) []seg {
		x := append([]seg{}, tr...)
		f(&x[i])
		return x
	}
	other := train(seg{seq: 1, sport: 40001, id: 7}, 3, 1000)
	v6 := train(seg{v6: true, seq: 9, opts: opts}, 3, 1200)
	for _, tc := range []struct {
		name string
		in   []seg
		segs []int // segments per write, in order
	}{
		{"consecutive", tr, []int{4}},
		{"ipv6", v6, []int{3}},
		{"vlan", train(seg{tagged: true, seq: 1}, 3, 500), []int{3}},
		{"fixed ID with DF", []seg{{seq: 1, df: true, payload: payload(0, 100)}, {seq: 101, df: true, payload: payload(1, 100)}}, []int{2}},
		{"same ID without DF", []seg{{seq: 1, payload: payload(0, 100)}, {seq: 101, payload: payload(1, 100)}}, []int{1, 1}},
		{"PSH ends it", with(1, func(s *seg) { s.flags = tcpACK | tcpPSH }), []int{2, 2}},
		{"FIN ends it", with(2, func(s *seg) { s.flags = tcpACK | tcpFIN }), []int{3, 1}},
		{"PSH first is not held", with(0, func(s *seg) { s.flags = tcpACK | tcpPSH }), []int{1, 3}},
		{"SYN not merged", with(2, func(s *seg) { s.flags = tcpSYN | tcpACK }), []int{2, 1, 1}},
		{"RST not merged", with(1, func(s *seg) { s.flags = tcpRST | tcpACK }), []int{1, 1, 2}},
		{"URG not merged", with(3, func(s *seg) { s.flags = tcpURG | tcpACK }), []int{3, 1}},
		{"CWR not merged", with(2, func(s *seg) { s.flags = tcpCWR | tcpACK }), []int{2, 1, 1}},
		{"ECE only with ECE", with(2, func(s *seg) { s.flags = tcpECE | tcpACK }), []int{2, 1, 1}},
		{"options differ", with(2, func(s *seg) { s.opts = []byte{1, 1, 8, 10, 0, 0, 1, 1, 0, 0, 2, 0} }), []int{2, 1, 1}},
		{"seq gap", with(2, func(s *seg) { s.seq++ }), []int{2, 1, 1}},
		{"seq repeated", with(1, func(s *seg) { s.seq -= 1000 }), []int{1, 1, 2}},
		{"ack differs", with(1, func(s *seg) { s.ack++ }), []int{1, 1, 2}},
		{"ttl differs", with(1, func(s *seg) { s.ttl = 3 }), []int{1, 1, 2}},
		{"tos differs", with(1, func(s *seg) { s.tos = 4 }), []int{1, 1, 2}},
		{"ID gap", with(2, func(s *seg) { s.id += 2 }), []int{2, 1, 1}},
		{"short segment ends it", with(1, func(s *seg) { s.payload = s.payload[:10] }), []int{2, 2}},
		{"longer segment starts anew", with(1, func(s *seg) { s.payload = payload(0, 1001) }), []int{1, 1, 2}},
		{"pure ACK is not held", with(0, func(s *seg) { s.payload = nil }), []int{1, 3}},
		{"UDP passes", []seg{{udp: true, payload: payload(0, 10)}, tr[0], tr[1]}, []int{1, 2}},
		{"two flows interleaved", []seg{tr[0], other[0], tr[1], other[1], tr[2], other[2]}, []int{3, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := builds(tc.in...)
			ws := coalesce(t, in...)
			got, segs := expand(t, ws)
			if fmt.Sprint(segs) != fmt.Sprint(tc.segs) {
				t.Errorf("segments per write = %v, want %v", segs, tc.segs)
			}
			// Per flow, the frames come back as they went in (GSO segmentation of a coalesced packet
			// gives back the original segments).
			if tc.name == "fixed ID with DF" { // segmentation numbers the IDs on
				in[1] = append([]byte{}, in[1]...)
				binary.BigEndian.PutUint16(in[1][18:], 1)
				p, _ := Parse(in[1])
				naiveFill(in[1], &p)
			}
			if !sameFlows(got, in) {
				t.Errorf("frames differ after coalescing and segmenting:\n got %x\nwant %x", got, in)
			}
		})
	}
}

// sameFlows reports whether a and b hold the same frames in the same order per TCP port pair.
func sameFlows(a, b [][]byte) bool {
	split := func(fs [][]byte) map[string][][]byte {
		m := map[string][][]byte{}
		for _, f := range fs {
			k := "other"
			if p, ok := Parse(f); ok {
				k = fmt.Sprintf("%x", f[p.L4:p.L4+4])
			}
			m[k] = append(m[k], f)
		}
		return m
	}
	ma, mb := split(a), split(b)
	return fmt.Sprintf("%x", ma) == fmt.Sprintf("%x", mb)
}

func TestCoalesceBadChecksum(t *testing.T) {
	in := builds(train(seg{seq: 1}, 3, 800)...)
	bad := append([]byte{}, in[1]...)
	bad[len(bad)-1] ^= 0xff
	ws := coalesce(t, in[0], bad, in[2])
	_, segs := expand(t, ws)
	if fmt.Sprint(segs) != "[1 1 1]" {
		t.Fatalf("segments per write = %v, want [1 1 1]", segs)
	}
	if !bytes.Equal(ws[1].pkt, bad) || ws[1].hdr != (Hdr{}) {
		t.Fatalf("the corrupt segment was written as %+v %x, want unchanged with an empty header", ws[1].hdr, ws[1].pkt)
	}
	if ws[0].hdr.Flags != FlagDataValid {
		t.Fatalf("a verified single segment has flags %#x, want DATA_VALID", ws[0].hdr.Flags)
	}
}

func TestCoalesceLimits(t *testing.T) {
	// 50 segments of 1448: no more than 65535 bytes of IP packet in one write.
	in := builds(train(seg{seq: 1}, 50, 1448)...)
	ws := coalesce(t, in...)
	for i, w := range ws {
		p, _ := Parse(w.pkt)
		if p.End-p.L3 > 65535 {
			t.Errorf("write %d: IP packet of %d bytes", i, p.End-p.L3)
		}
	}
	if len(ws) != 2 {
		t.Errorf("%d writes, want 2", len(ws))
	}
	// More flows than MaxFlows: the oldest goes first, nothing is lost.
	var many [][]byte
	for i := 0; i < MaxFlows+3; i++ {
		many = append(many, builds(train(seg{seq: 1, sport: uint16(1000 + i)}, 2, 100)...)...)
	}
	got, _ := expand(t, coalesce(t, many...))
	if !sameFlows(got, many) {
		t.Error("frames lost or reordered with more flows than MaxFlows")
	}
}

func TestCoalesceAllocs(t *testing.T) {
	in := builds(train(seg{seq: 1}, 40, 1448)...)
	ack := seg{payload: nil, sport: 5}.build()
	c := NewCoalescer(func(hdr, pkt []byte) error { return nil })
	run := func() {
		for _, f := range in {
			c.Add(f)
			c.Add(ack)
		}
		c.Flush()
	}
	run()
	if a := testing.AllocsPerRun(50, run); a != 0 {
		t.Fatalf("coalescing allocates %v times per batch, want 0", a)
	}
}

func BenchmarkCoalesce(b *testing.B) {
	in := builds(train(seg{seq: 1}, 44, 1448)...)
	c := NewCoalescer(func(hdr, pkt []byte) error { return nil })
	b.SetBytes(44 * 1448)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range in {
			c.Add(f)
		}
		c.Flush()
	}
}
