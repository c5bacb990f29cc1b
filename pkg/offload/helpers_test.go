// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import (
	"encoding/binary"
)

// seg describes a TCP (or UDP) packet for the tests to build.
type seg struct {
	v6      bool
	udp     bool
	tagged  bool   // one 802.1Q tag
	sport   uint16 // 0: 40000
	seq     uint32
	ack     uint32
	flags   uint8 // 0: ACK
	id      uint16
	df      bool
	ttl     uint8 // 0: 64
	tos     uint8
	opts    []byte // TCP options, a multiple of 4 bytes
	payload []byte
	src     byte // last byte of the source address; 0: 1
	win     uint16
}

var (
	macA = []byte{0x02, 0, 0, 0, 0, 0xaa}
	macB = []byte{0x02, 0, 0, 0, 0, 0xbb}
)

// build returns the frame of s with every checksum right.
func (s seg) build() []byte {
	b := append([]byte{}, macB...)
	b = append(b, macA...)
	if s.tagged {
		b = append(b, 0x81, 0x00, 0x00, 0x07)
	}
	l3 := len(b) + 2
	proto := byte(ProtoTCP)
	l4len := tcpLen + len(s.opts)
	if s.udp {
		proto, l4len = ProtoUDP, udpLen
	}
	l4len += len(s.payload)
	src := s.src
	if src == 0 {
		src = 1
	}
	ttl := s.ttl
	if ttl == 0 {
		ttl = 64
	}
	if s.v6 {
		b = append(b, 0x86, 0xdd)
		ip := make([]byte, ipv6Len)
		ip[0], ip[1], ip[2], ip[3] = 0x60|s.tos>>4, s.tos<<4, 0x12, 0x34
		binary.BigEndian.PutUint16(ip[4:], uint16(l4len))
		ip[6], ip[7] = proto, ttl
		ip[8], ip[9], ip[23] = 0x20, 0x01, src
		ip[24], ip[25], ip[39] = 0x20, 0x01, 2
		b = append(b, ip...)
	} else {
		b = append(b, 0x08, 0x00)
		ip := make([]byte, ipv4Len)
		ip[0], ip[1] = 0x45, s.tos
		binary.BigEndian.PutUint16(ip[2:], uint16(ipv4Len+l4len))
		binary.BigEndian.PutUint16(ip[4:], s.id)
		if s.df {
			ip[6] = 0x40
		}
		ip[8], ip[9] = ttl, proto
		copy(ip[12:], []byte{198, 18, 0, src})
		copy(ip[16:], []byte{198, 18, 0, 2})
		b = append(b, ip...)
	}
	l4 := len(b)
	sport := s.sport
	if sport == 0 {
		sport = 40000
	}
	if s.udp {
		h := make([]byte, udpLen)
		binary.BigEndian.PutUint16(h, sport)
		binary.BigEndian.PutUint16(h[2:], 5201)
		binary.BigEndian.PutUint16(h[4:], uint16(l4len))
		b = append(b, h...)
	} else {
		h := make([]byte, tcpLen)
		binary.BigEndian.PutUint16(h, sport)
		binary.BigEndian.PutUint16(h[2:], 5201)
		binary.BigEndian.PutUint32(h[4:], s.seq)
		binary.BigEndian.PutUint32(h[8:], s.ack)
		h[12] = byte((tcpLen+len(s.opts))/4) << 4
		h[13] = s.flags
		if h[13] == 0 {
			h[13] = tcpACK
		}
		win := s.win
		if win == 0 {
			win = 512
		}
		binary.BigEndian.PutUint16(h[14:], win)
		b = append(b, h...)
		b = append(b, s.opts...)
	}
	b = append(b, s.payload...)
	p, ok := Parse(b)
	if !ok || p.L3 != l3 || p.L4 != l4 {
		panic("test packet does not parse")
	}
	naiveFill(b, &p)
	return b
}

// naiveSum is the textbook 16-bit ones'-complement sum, to check Sum against.
func naiveSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// naiveTransport returns the checksum f's transport header should hold, by the textbook method.
func naiveTransport(f []byte, p *Packet) uint16 {
	src, dst := p.addrs(f)
	ph := append(append([]byte{}, src...), dst...)
	n := p.End - p.L4
	if p.V6 {
		ph = append(ph, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0, 0, 0, p.Proto)
	} else {
		ph = append(ph, 0, p.Proto, byte(n>>8), byte(n))
	}
	seg := append([]byte{}, f[p.L4:p.End]...)
	at := p.csumOffset()
	seg[at], seg[at+1] = 0, 0
	c := ^naiveSum(append(ph, seg...))
	if c == 0 && p.Proto == ProtoUDP {
		c = 0xffff
	}
	return c
}

// naiveFill sets f's checksums by the textbook method.
func naiveFill(f []byte, p *Packet) {
	if !p.V6 {
		f[p.L3+10], f[p.L3+11] = 0, 0
		binary.BigEndian.PutUint16(f[p.L3+10:], ^naiveSum(f[p.L3:p.L4]))
	}
	binary.BigEndian.PutUint16(f[p.L4+p.csumOffset():], naiveTransport(f, p))
}

// naiveValid checks f's checksums by recomputing them the textbook way.
func naiveValid(f []byte) bool {
	p, ok := Parse(f)
	if !ok {
		return false
	}
	if !p.V6 {
		ipc := append([]byte{}, f[p.L3:p.L4]...)
		want := binary.BigEndian.Uint16(ipc[10:])
		ipc[10], ipc[11] = 0, 0
		if ^naiveSum(ipc) != want {
			return false
		}
	}
	return binary.BigEndian.Uint16(f[p.L4+p.csumOffset():]) == naiveTransport(f, &p)
}

// payload returns n bytes counting from start.
func payload(start, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(start + i*7 + i/251)
	}
	return b
}

// withHdr returns the virtio-net header h followed by pkt.
func withHdr(h Hdr, pkt []byte) []byte {
	b := make([]byte, HdrLen+len(pkt))
	h.Encode(b)
	copy(b[HdrLen:], pkt)
	return b
}

// written is what a Coalescer wrote: header and packet of each write.
type written struct {
	hdr Hdr
	pkt []byte
}

func recorder(out *[]written) WriteFunc {
	return func(hdr, pkt []byte) error {
		h, _ := DecodeHdr(hdr)
		*out = append(*out, written{h, append([]byte{}, pkt...)})
		return nil
	}
}
