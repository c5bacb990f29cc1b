// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import (
	"bytes"
	"encoding/binary"
)

// MaxFlows is how many TCP flows a Coalescer holds a packet for at once; a new flow beyond that writes
// the oldest held packet first.
const MaxFlows = 8

// maxIPLen is the largest IP packet (IPv4 total length, IPv6 payload length) a coalesced packet reaches.
const maxIPLen = 65535

// flowBuf is the size of a held packet's buffer: the virtio-net header, an Ethernet header with up to
// two VLAN tags and the largest IP packet.
const flowBuf = HdrLen + ethLen + 4*maxTags + ipv6Len + maxIPLen

// A WriteFunc writes one packet to the TAP: the virtio-net header hdr (HdrLen bytes), then pkt. It must
// not keep hdr or pkt after it returns. The Coalescer always passes pkt right behind hdr in one buffer.
type WriteFunc func(hdr, pkt []byte) error

// flow is one held packet: the first segment's headers and the payload of the segments joined to it.
type flow struct {
	buf    []byte // HdrLen bytes of header room, then the packet
	p      Packet // of the packet in buf[HdrLen:]; p.End grows as segments join
	mss    int    // the first segment's payload length: no later one may be longer
	nseg   int
	next   uint32 // the sequence number the next segment must have
	lastID uint16 // the IPv4 ID of the last segment
	open   bool   // more segments may join
}

func (h *flow) pkt() []byte { return h.buf[HdrLen : HdrLen+h.p.End] }

// CoalescerStats count what a Coalescer did.
type CoalescerStats struct {
	// Segments counts the TCP segments that joined a held packet (not counting the first of each).
	Segments uint64
	// Packets counts the packets written with more than one segment.
	Packets uint64
}

// A Coalescer joins consecutive TCP segments of one flow into large packets for a TAP with offloads
// (see the package documentation) and writes everything through its WriteFunc: Add takes frames, Flush
// writes what is held. Call Flush at the end of every batch of frames, so that nothing waits for more.
// It is not safe for concurrent use; after warming up it does not allocate.
type Coalescer struct {
	write WriteFunc
	held  []*flow // in arrival order
	spare []*flow
	// one holds a frame written as it is, behind its empty virtio-net header (plain), so that both go
	// in one piece.
	one []byte
	// Stats may be read between calls.
	Stats CoalescerStats
}

// NewCoalescer returns a Coalescer that writes through w.
func NewCoalescer(w WriteFunc) *Coalescer {
	return &Coalescer{write: w, held: make([]*flow, 0, MaxFlows), spare: make([]*flow, 0, MaxFlows)}
}

// Add takes the Ethernet frame f, which it copies if it keeps it. It returns the error of a write it did
// (of f, or of a held packet that had to go first); a failed write is not retried.
func (c *Coalescer) Add(f []byte) error {
	p, ok := Parse(f)
	if !ok || p.Proto != ProtoTCP {
		return c.plain(f)
	}
	var err error
	if i := c.find(f, &p); i >= 0 {
		h := c.held[i]
		if h.canJoin(f, &p) && p.ValidChecksums(f) {
			h.join(f, &p)
			c.Stats.Segments++
			if !h.open {
				return c.flushAt(i)
			}
			return nil
		}
		err = c.flushAt(i) // the flow's held packet goes before f
	}
	if !canStart(f, &p) || !p.ValidChecksums(f) {
		if werr := c.plain(f); err == nil {
			err = werr
		}
		return err
	}
	if len(c.held) == MaxFlows {
		if werr := c.flushAt(0); err == nil {
			err = werr
		}
	}
	c.start(f, &p)
	return err
}

// Flush writes every held packet, oldest first, and returns the first write error.
func (c *Coalescer) Flush() error {
	var err error
	for _, h := range c.held {
		if werr := c.emit(h); err == nil {
			err = werr
		}
		c.spare = append(c.spare, h)
	}
	clear(c.held)
	c.held = c.held[:0]
	return err
}

// Held reports how many packets wait for Flush.
func (c *Coalescer) Held() int { return len(c.held) }

// plain writes f as it is, with an empty virtio-net header, the two contiguous in c.one: a WriteFunc
// may then write them with one write(2) rather than a writev(2), which cost 0.2-0.35 µs more per frame
// on a TAP on the development VM, far more than copying a small frame.
func (c *Coalescer) plain(f []byte) error {
	if cap(c.one) < HdrLen+len(f) {
		c.one = make([]byte, HdrLen+max(len(f), 2048))
	}
	b := c.one[:HdrLen+len(f)]
	clear(b[:HdrLen])
	copy(b[HdrLen:], f)
	return c.write(b[:HdrLen], b[HdrLen:])
}

// find returns the index of the held packet of f's flow, or -1.
func (c *Coalescer) find(f []byte, p *Packet) int {
	src, dst := p.addrs(f)
	for i, h := range c.held {
		hp := h.pkt()
		if h.p.L3 != p.L3 || h.p.V6 != p.V6 || !bytes.Equal(hp[:p.L3], f[:p.L3]) ||
			!bytes.Equal(hp[h.p.L4:h.p.L4+4], f[p.L4:p.L4+4]) {
			continue
		}
		hs, hd := h.p.addrs(hp)
		if bytes.Equal(hs, src) && bytes.Equal(hd, dst) {
			return i
		}
	}
	return -1
}

// canStart reports whether a segment may start a held packet: some payload, ACK, no flag but ECE
// besides, no IP options.
func canStart(f []byte, p *Packet) bool {
	fl := f[p.L4+13]
	return p.End > p.Data && fl&tcpACK != 0 && fl&^(tcpACK|tcpECE) == 0 && (p.V6 || p.L4-p.L3 == ipv4Len)
}

// start holds f as the first segment of a new packet.
func (c *Coalescer) start(f []byte, p *Packet) {
	var h *flow
	if n := len(c.spare); n > 0 {
		h = c.spare[n-1]
		c.spare[n-1] = nil
		c.spare = c.spare[:n-1]
	} else {
		h = &flow{buf: make([]byte, flowBuf)}
	}
	copy(h.buf[HdrLen:], f[:p.End])
	h.p = *p
	h.mss = p.End - p.Data
	h.nseg = 1
	h.next = binary.BigEndian.Uint32(f[p.L4+4:]) + uint32(h.mss)
	if !p.V6 {
		h.lastID = binary.BigEndian.Uint16(f[p.L3+4:])
	}
	h.open = true
	c.held = append(c.held, h)
}

// canJoin reports whether segment f (of h's flow) may be appended to h.
func (h *flow) canJoin(f []byte, p *Packet) bool {
	if !h.open || p.L4 != h.p.L4 || p.Data != h.p.Data {
		return false
	}
	hp := h.pkt()
	n := p.End - p.Data
	if n <= 0 || n > h.mss || h.p.End-h.p.L3+n > maxIPLen+ipv6Len*b2i(h.p.V6) || HdrLen+h.p.End+n > len(h.buf) {
		return false
	}
	l3, l4 := p.L3, p.L4
	if p.V6 {
		if !bytes.Equal(hp[l3:l3+4], f[l3:l3+4]) || hp[l3+7] != f[l3+7] {
			return false // traffic class, flow label, hop limit
		}
	} else {
		if l4-l3 != ipv4Len || hp[l3+1] != f[l3+1] || hp[l3+8] != f[l3+8] || hp[l3+6] != f[l3+6] || f[l3+7] != 0 {
			return false // options, TOS, TTL, DF
		}
		id := binary.BigEndian.Uint16(f[l3+4:])
		df := f[l3+6]&0x40 != 0
		if id != h.lastID+1 && !(df && id == h.lastID) {
			return false
		}
	}
	fl := f[l4+13]
	return fl&^(tcpPSH|tcpFIN) == hp[l4+13] && // no SYN, RST, URG, CWR; same ACK and ECE
		binary.BigEndian.Uint32(f[l4+4:]) == h.next &&
		bytes.Equal(hp[l4+8:l4+12], f[l4+8:l4+12]) && // acknowledgment number
		bytes.Equal(hp[l4+tcpLen:p.Data], f[l4+tcpLen:p.Data]) // options
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// join appends segment f's payload to h; a short segment, PSH or FIN closes h.
func (h *flow) join(f []byte, p *Packet) {
	n := copy(h.buf[HdrLen+h.p.End:], f[p.Data:p.End])
	h.p.End += n
	h.nseg++
	h.next += uint32(n)
	if !p.V6 {
		h.lastID = binary.BigEndian.Uint16(f[p.L3+4:])
	}
	if fl := f[p.L4+13] & (tcpPSH | tcpFIN); fl != 0 || n < h.mss {
		h.buf[HdrLen+h.p.L4+13] |= fl
		h.open = false
	}
}

// flushAt writes held packet i and removes it, keeping the others in order.
func (c *Coalescer) flushAt(i int) error {
	h := c.held[i]
	copy(c.held[i:], c.held[i+1:])
	c.held[len(c.held)-1] = nil
	c.held = c.held[:len(c.held)-1]
	c.spare = append(c.spare, h)
	return c.emit(h)
}

// emit writes h: a single segment as it came (its checksums verified), several as one GSO packet whose
// lengths and IPv4 header checksum are redone and whose TCP checksum is left partial for the kernel.
func (c *Coalescer) emit(h *flow) error {
	pkt := h.pkt()
	hdr := Hdr{Flags: FlagDataValid}
	if h.nseg > 1 {
		p := &h.p
		if p.V6 {
			binary.BigEndian.PutUint16(pkt[p.L3+4:], uint16(p.End-p.L3-ipv6Len))
			hdr.GSOType = GSOTCPv6
		} else {
			binary.BigEndian.PutUint16(pkt[p.L3+2:], uint16(p.End-p.L3))
			pkt[p.L3+10], pkt[p.L3+11] = 0, 0
			binary.BigEndian.PutUint16(pkt[p.L3+10:], Checksum(pkt[p.L3:p.L4]))
			hdr.GSOType = GSOTCPv4
		}
		src, dst := p.addrs(pkt)
		binary.BigEndian.PutUint16(pkt[p.L4+16:], Fold(PseudoSum(src, dst, ProtoTCP, p.End-p.L4)))
		hdr = Hdr{Flags: FlagNeedsCsum, GSOType: hdr.GSOType, HdrLen: uint16(p.Data), GSOSize: uint16(h.mss),
			CsumStart: uint16(p.L4), CsumOffset: 16}
		c.Stats.Packets++
	}
	hdr.Encode(h.buf)
	return c.write(h.buf[:HdrLen], pkt)
}
