// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import (
	"encoding/binary"
	"errors"
)

// Errors of Segmenter.Reset; the packet is to be dropped and counted.
var (
	// ErrBadPacket: the header and the packet do not agree, or the packet is not one the kernel may
	// hand over with that header (a GSO type that was not enabled, truncated headers, a checksum
	// position outside the packet).
	ErrBadPacket = errors.New("offload: malformed packet for its virtio-net header")
	// ErrTooBig: a UDP (USO) datagram does not fit the frame size limit (TCP is cut smaller instead).
	ErrTooBig = errors.New("offload: segment larger than the frame limit")
)

// A Segmenter cuts the packets a TAP with offloads reads into Ethernet frames. Reset takes one packet
// (virtio-net header first); Next then copies out its frames one at a time. It keeps a reference to the
// packet until the last frame is out. The zero value is ready; it is not safe for concurrent use.
type Segmenter struct {
	pkt  []byte // the packet after the virtio-net header
	p    Packet
	gso  bool
	mss  int // payload bytes per segment
	off  int // next payload byte (absolute, in pkt)
	i    int // segments made
	seq  uint32
	id   uint16
	left bool // a frame is pending
	gt   uint8
}

// Reset loads b, a virtio-net header and the packet after it, and prepares its frames, none larger than
// maxFrame bytes (a TCP segment is cut smaller for it; a frame that cannot be, a USO datagram or a plain
// packet, is an ErrTooBig error). A checksum the kernel left partial is computed in place in b. On error
// nothing is pending.
func (s *Segmenter) Reset(b []byte, maxFrame int) error {
	*s = Segmenter{}
	h, err := DecodeHdr(b)
	if err != nil {
		return ErrBadPacket
	}
	pkt := b[HdrLen:]
	gt := h.GSOType &^ GSOECN
	if gt == GSONone {
		if h.Flags&FlagNeedsCsum != 0 {
			cs, co := int(h.CsumStart), int(h.CsumOffset)
			if cs+co+2 > len(pkt) {
				return ErrBadPacket
			}
			c := ^Fold(Sum(pkt[cs:], 0))
			if c == 0 {
				c = 0xffff
			}
			binary.BigEndian.PutUint16(pkt[cs+co:], c)
		}
		if len(pkt) > maxFrame {
			return ErrTooBig
		}
		s.pkt, s.left = pkt, len(pkt) > 0
		return nil
	}
	p, ok := Parse(pkt)
	if !ok || h.GSOSize == 0 || int(h.CsumStart) != p.L4 {
		return ErrBadPacket
	}
	switch gt {
	case GSOTCPv4:
		ok = !p.V6 && p.Proto == ProtoTCP
	case GSOTCPv6:
		ok = p.V6 && p.Proto == ProtoTCP
	case GSOUDPL4:
		ok = p.Proto == ProtoUDP
	default:
		ok = false
	}
	if !ok {
		return ErrBadPacket
	}
	// The IP length fields of a GSO packet are not relied on: the packet is what was read.
	p.End = len(pkt)
	s.pkt, s.p, s.gso, s.gt = pkt, p, true, gt
	s.mss = int(h.GSOSize)
	if p.Data+s.mss > maxFrame {
		if p.Proto == ProtoUDP || maxFrame <= p.Data {
			return ErrTooBig
		}
		s.mss = maxFrame - p.Data
	}
	s.off = p.Data
	if p.Proto == ProtoTCP {
		s.seq = binary.BigEndian.Uint32(pkt[p.L4+4:])
	}
	if !p.V6 {
		s.id = binary.BigEndian.Uint16(pkt[p.L3+4:])
	}
	s.left = true
	return nil
}

// GSOType returns the GSO type (without GSOECN) of the packet Reset took last: GSONone for a plain one.
func (s *Segmenter) GSOType() uint8 { return s.gt }

// Pending reports whether Next has a frame to give.
func (s *Segmenter) Pending() bool { return s.left }

// Next copies the next frame into dst and returns its length, or 0 when there is none or dst is too
// short for it (the frame is then skipped).
func (s *Segmenter) Next(dst []byte) int {
	if !s.left {
		return 0
	}
	if !s.gso {
		s.left = false
		if len(dst) < len(s.pkt) {
			return 0
		}
		return copy(dst, s.pkt)
	}
	p := s.p
	n := min(s.mss, len(s.pkt)-s.off)
	last := s.off+n >= len(s.pkt)
	flen := p.Data + n
	if len(dst) < flen {
		s.advance(n, last)
		return 0
	}
	copy(dst, s.pkt[:p.Data])
	copy(dst[p.Data:], s.pkt[s.off:s.off+n])
	f := dst[:flen]
	q := p
	q.End = flen
	if p.V6 {
		binary.BigEndian.PutUint16(f[p.L3+4:], uint16(flen-p.L3-ipv6Len))
	} else {
		binary.BigEndian.PutUint16(f[p.L3+2:], uint16(flen-p.L3))
		binary.BigEndian.PutUint16(f[p.L3+4:], s.id+uint16(s.i))
	}
	if p.Proto == ProtoTCP {
		binary.BigEndian.PutUint32(f[p.L4+4:], s.seq+uint32(s.off-p.Data))
		fl := f[p.L4+13]
		if !last {
			fl &^= tcpFIN | tcpPSH
		}
		if s.i > 0 {
			fl &^= tcpCWR
		}
		f[p.L4+13] = fl
	} else {
		binary.BigEndian.PutUint16(f[p.L4+4:], uint16(flen-p.L4))
	}
	q.FillChecksums(f)
	s.advance(n, last)
	return flen
}

func (s *Segmenter) advance(n int, last bool) {
	s.off += n
	s.i++
	if last {
		s.left = false
		s.pkt = nil
	}
}
