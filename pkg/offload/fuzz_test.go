// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never reads outside the frame and its offsets are ordered.
func FuzzParse(f *testing.F) {
	for _, s := range []seg{{payload: payload(0, 20)}, {v6: true, udp: true}, {tagged: true, opts: []byte{1, 1, 1, 1}}} {
		f.Add(s.build())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := Parse(b)
		if !ok {
			return
		}
		if !(ethLen <= p.L3 && p.L3 < p.L4 && p.L4 <= p.Data && p.Data <= p.End && p.End <= len(b)) {
			t.Fatalf("Parse(%x) = %+v", b, p)
		}
		p.ValidChecksums(b)
		p.FillChecksums(b)
		if !naiveValid(b) {
			t.Fatalf("FillChecksums(%x) left bad checksums", b)
		}
	})
}

// FuzzSegmenter: whatever a TAP hands over (a virtio-net header and a packet), segmenting never panics,
// never makes a frame over the limit, and every segment of a GSO packet carries right checksums.
func FuzzSegmenter(f *testing.F) {
	f.Add(gsoPacket(seg{seq: 1}, payload(0, 300), GSOTCPv4, 100), uint16(1514))
	f.Add(gsoPacket(seg{v6: true, seq: 1}, payload(0, 300), GSOTCPv6, 128), uint16(1514))
	f.Add(gsoPacket(seg{udp: true}, payload(0, 300), GSOUDPL4, 100), uint16(1514))
	f.Add(withHdr(Hdr{Flags: FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}, seg{payload: payload(0, 9)}.build()), uint16(1514))
	buf := make([]byte, 1<<17)
	f.Fuzz(func(t *testing.T, b []byte, limit uint16) {
		maxFrame := int(limit)
		var s Segmenter
		h, _ := DecodeHdr(b)
		if s.Reset(b, maxFrame) != nil {
			if s.Pending() {
				t.Fatal("pending after an error")
			}
			return
		}
		for i := 0; s.Pending(); i++ {
			if i > 1<<17 {
				t.Fatal("endless segmentation")
			}
			n := s.Next(buf)
			if n > maxFrame {
				t.Fatalf("frame of %d bytes, limit %d", n, maxFrame)
			}
			if n > 0 && h.GSOType&^GSOECN != GSONone && !naiveValid(buf[:n]) {
				t.Fatalf("segment %d has bad checksums: %x", i, buf[:n])
			}
		}
	})
}

// FuzzCoalescer: frames (2-byte length records) through a Coalescer come out complete: the TCP payload
// bytes written equal those taken, and every GSO packet written segments back into valid frames.
func FuzzCoalescer(f *testing.F) {
	var seed []byte
	add := func(ss ...seg) {
		for _, s := range ss {
			fr := s.build()
			seed = binary.BigEndian.AppendUint16(seed, uint16(len(fr)))
			seed = append(seed, fr...)
		}
	}
	add(train(seg{seq: 1}, 3, 50)...)
	add(train(seg{v6: true, seq: 1, sport: 9}, 2, 30)...)
	add(seg{udp: true, payload: payload(1, 5)}, seg{flags: tcpACK | tcpPSH, seq: 1501, payload: payload(0, 7)})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, in []byte) {
		var ws []written
		c := NewCoalescer(recorder(&ws))
		var took int
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if n > len(in) {
				n = len(in)
			}
			fr := append([]byte{}, in[:n]...)
			in = in[n:]
			took += tcpBytes(fr)
			c.Add(fr)
		}
		c.Flush()
		var gave int
		for _, w := range ws {
			if w.hdr.GSOType == GSONone {
				gave += tcpBytes(w.pkt)
				continue
			}
			var s Segmenter
			if err := s.Reset(withHdr(w.hdr, w.pkt), 1<<17); err != nil {
				t.Fatalf("a coalesced packet does not segment: %v", err)
			}
			buf := make([]byte, 1<<17)
			for s.Pending() {
				n := s.Next(buf)
				if !naiveValid(buf[:n]) {
					t.Fatalf("a coalesced packet's segment has bad checksums: %x", buf[:n])
				}
				gave += tcpBytes(buf[:n])
			}
		}
		if took != gave {
			t.Fatalf("took %d payload bytes, wrote %d", took, gave)
		}
	})
}

// tcpBytes is the TCP payload length of a frame, or its length for anything else.
func tcpBytes(f []byte) int {
	if p, ok := Parse(f); ok && p.Proto == ProtoTCP {
		return p.End - p.Data
	}
	return len(f)
}

// TestWriteCorpus writes the fuzz seeds into testdata/fuzz when GOVDE_WRITE_CORPUS is set.
func TestWriteCorpus(t *testing.T) {
	if os.Getenv("GOVDE_WRITE_CORPUS") == "" {
		t.Skip("set GOVDE_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(name, file string, vals ...string) {
		dir := filepath.Join("testdata", "fuzz", name)
		os.MkdirAll(dir, 0o755)
		s := "go test fuzz v1\n"
		for _, v := range vals {
			s += v + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	q := func(b []byte) string { return "[]byte(" + quote(b) + ")" }
	write("FuzzParse", "tcp4", q(seg{payload: payload(0, 20)}.build()))
	write("FuzzParse", "udp6", q(seg{v6: true, udp: true, payload: payload(0, 3)}.build()))
	write("FuzzParse", "vlan-opts", q(seg{tagged: true, opts: []byte{1, 1, 1, 1}}.build()))
	write("FuzzSegmenter", "tso4", q(gsoPacket(seg{seq: 1}, payload(0, 300), GSOTCPv4, 100)), "uint16(1514)")
	write("FuzzSegmenter", "tso6", q(gsoPacket(seg{v6: true, seq: 1}, payload(0, 300), GSOTCPv6, 128)), "uint16(1514)")
	write("FuzzSegmenter", "uso4", q(gsoPacket(seg{udp: true}, payload(0, 300), GSOUDPL4, 100)), "uint16(1514)")
	write("FuzzSegmenter", "csum", q(withHdr(Hdr{Flags: FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}, seg{payload: payload(0, 9)}.build())), "uint16(1514)")
	var rec []byte
	for _, s := range append(train(seg{seq: 1}, 3, 40), seg{flags: tcpACK | tcpFIN, seq: 121, payload: payload(0, 7)}, seg{udp: true, payload: payload(1, 5)}) {
		fr := s.build()
		rec = binary.BigEndian.AppendUint16(rec, uint16(len(fr)))
		rec = append(rec, fr...)
	}
	write("FuzzCoalescer", "train-fin", q(rec))
}

func quote(b []byte) string {
	s := `"`
	for _, c := range b {
		s += `\x` + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
	}
	return s + `"`
}
