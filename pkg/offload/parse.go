// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import "encoding/binary"

// IP protocol numbers.
const (
	ProtoTCP = 6
	ProtoUDP = 17
)

// Ethernet types and header sizes.
const (
	etherIPv4   = 0x0800
	etherIPv6   = 0x86dd
	ether8021Q  = 0x8100
	ether8021AD = 0x88a8
	ethLen      = 14
	ipv4Len     = 20
	ipv6Len     = 40
	tcpLen      = 20
	udpLen      = 8
	maxTags     = 2
)

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20
	tcpECE = 0x40
	tcpCWR = 0x80
)

// A Packet locates the headers of an Ethernet frame carrying TCP or UDP over IPv4 or IPv6.
type Packet struct {
	L3    int   // offset of the IP header (after the Ethernet header and up to two VLAN tags)
	L4    int   // offset of the TCP or UDP header
	Data  int   // offset of the transport payload
	End   int   // end of the IP packet (the frame may be longer: Ethernet padding)
	V6    bool  // IPv6 rather than IPv4
	Proto uint8 // ProtoTCP or ProtoUDP
}

// Parse locates the headers of f. It reports false for anything else than an unfragmented IPv4 or IPv6
// packet (without extension headers) carrying TCP or UDP, and for lengths that do not add up. It never
// reads outside f.
func Parse(f []byte) (Packet, bool) {
	var p Packet
	l3 := ethLen - 2
	for i := 0; ; i++ {
		if len(f) < l3+2 {
			return p, false
		}
		et := binary.BigEndian.Uint16(f[l3:])
		l3 += 2
		if (et == ether8021Q || et == ether8021AD) && i < maxTags {
			l3 += 2
			continue
		}
		switch et {
		case etherIPv4:
		case etherIPv6:
			p.V6 = true
		default:
			return p, false
		}
		break
	}
	p.L3 = l3
	ip := f[l3:]
	if !p.V6 {
		if len(ip) < ipv4Len || ip[0]>>4 != 4 {
			return p, false
		}
		ihl := int(ip[0]&0xf) * 4
		tot := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < ipv4Len || tot < ihl || tot > len(ip) {
			return p, false
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 { // MF or a fragment offset
			return p, false
		}
		p.Proto, p.L4, p.End = ip[9], l3+ihl, l3+tot
	} else {
		if len(ip) < ipv6Len || ip[0]>>4 != 6 {
			return p, false
		}
		pl := int(binary.BigEndian.Uint16(ip[4:]))
		if ipv6Len+pl > len(ip) || pl == 0 {
			return p, false
		}
		p.Proto, p.L4, p.End = ip[6], l3+ipv6Len, l3+ipv6Len+pl
	}
	switch p.Proto {
	case ProtoTCP:
		if p.End-p.L4 < tcpLen {
			return p, false
		}
		off := int(f[p.L4+12]>>4) * 4
		if off < tcpLen || p.End-p.L4 < off {
			return p, false
		}
		p.Data = p.L4 + off
	case ProtoUDP:
		if p.End-p.L4 < udpLen {
			return p, false
		}
		p.Data = p.L4 + udpLen
	default:
		return p, false
	}
	return p, true
}

// addrs returns the source and destination addresses of the IP header at f[p.L3:].
func (p *Packet) addrs(f []byte) (src, dst []byte) {
	if p.V6 {
		return f[p.L3+8 : p.L3+24], f[p.L3+24 : p.L3+40]
	}
	return f[p.L3+12 : p.L3+16], f[p.L3+16 : p.L3+20]
}

// transportSum returns the accumulator of the pseudo-header and the transport header and payload
// f[p.L4:p.End] as they are (with whatever the checksum field holds).
func (p *Packet) transportSum(f []byte) uint64 {
	src, dst := p.addrs(f)
	return Sum(f[p.L4:p.End], PseudoSum(src, dst, p.Proto, p.End-p.L4))
}

// csumOffset is where the transport checksum is, from the transport header.
func (p *Packet) csumOffset() int {
	if p.Proto == ProtoTCP {
		return 16
	}
	return 6
}

// ValidChecksums reports whether f's IPv4 header checksum (if any) and transport checksum are right
// (a UDP checksum of zero over IPv4 means none and counts as right).
func (p *Packet) ValidChecksums(f []byte) bool {
	if !p.V6 && Fold(Sum(f[p.L3:p.L4], 0)) != 0xffff {
		return false
	}
	if p.Proto == ProtoUDP && !p.V6 && binary.BigEndian.Uint16(f[p.L4+6:]) == 0 {
		return true
	}
	return Fold(p.transportSum(f)) == 0xffff
}

// FillChecksums computes f's IPv4 header checksum (if any) and its transport checksum in place.
func (p *Packet) FillChecksums(f []byte) {
	if !p.V6 {
		f[p.L3+10], f[p.L3+11] = 0, 0
		binary.BigEndian.PutUint16(f[p.L3+10:], Checksum(f[p.L3:p.L4]))
	}
	at := p.L4 + p.csumOffset()
	f[at], f[at+1] = 0, 0
	c := ^Fold(p.transportSum(f))
	if c == 0 && p.Proto == ProtoUDP {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(f[at:], c)
}
