// SPDX-License-Identifier: GPL-2.0-or-later

// Package frame holds Ethernet frames as VDE moves them: no preamble, no FCS, one frame per datagram
// or stream record. Accessors are bounds-checked by Parse and never allocate.
//
// An Endpoint moves whole frames; its optional capabilities are declared here too, once: Hanger (the
// peer hung up), MTUer (the link's MTU) and Raw (descriptors lent to pkg/relay's poll(2) loop).
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
)

const (
	// HeaderLen is the length of an untagged Ethernet header: dst, src, ethertype.
	HeaderLen = 14
	// TagLen is the length of an 802.1Q tag (TPID + TCI).
	TagLen = 4
	// TPIDOffset is where an 802.1Q tag starts, right after the two addresses: the TPID of a tagged
	// frame, the ethertype of an untagged one. A tag is inserted here.
	TPIDOffset = 12
	// TCIOffset is where a tagged frame's tag control information starts.
	TCIOffset = TPIDOffset + 2
	// TagEnd is where the tag of a tagged frame ends and its inner ethertype starts.
	TagEnd = TPIDOffset + TagLen
	// TaggedHeaderLen is the length of a tagged Ethernet header: dst, src, TPID, TCI, ethertype.
	TaggedHeaderLen = HeaderLen + TagLen
	// MTU is vdeplug4's largest payload (VDE_ETHBUFSIZE - header - tag).
	MTU = 9216
	// MaxLen is the largest frame any govde tool carries: vdeplug4's VDE_ETHBUFSIZE, 9216 + 14 + 4 = 9234.
	MaxLen = MTU + HeaderLen + TagLen
	// MinLen is the shortest frame that is forwarded: a bare header.
	MinLen = HeaderLen
	// RefMaxLen is the largest frame vde_switch r586 forwards intact (14 + 1504); longer ones it truncates.
	RefMaxLen = 1518
	// TPID8021Q is the ethertype of an 802.1Q tag.
	TPID8021Q = 0x8100
	// VIDMask selects the VLAN id of a TCI.
	VIDMask = 0x0fff
	// NoVLAN is VDE's "no untagged VLAN" id (4095).
	NoVLAN = 0x0fff
)

// A Tag is an 802.1Q tag as it sits in a frame at TPIDOffset: the TPID 0x8100, then the TCI.
type Tag [TagLen]byte

// NewTag returns the tag carrying tci (priority, DEI and VLAN id).
func NewTag(tci uint16) Tag {
	return Tag{TPID8021Q >> 8, TPID8021Q & 0xff, byte(tci >> 8), byte(tci)}
}

// TCI returns the tag control information of t.
func (t Tag) TCI() uint16 { return uint16(t[2])<<8 | uint16(t[3]) }

// VID returns the VLAN id of t.
func (t Tag) VID() uint16 { return t.TCI() & VIDMask }

// ErrBadLen is returned for a frame shorter than MinLen or longer than MaxLen.
var ErrBadLen = errors.New("bad frame length")

// ErrShortBuffer is returned when a destination buffer cannot hold the result.
var ErrShortBuffer = errors.New("buffer too short for frame")

// A MAC is an Ethernet address. It is comparable and usable as a map key.
type MAC [6]byte

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// BPDUAddr is the 802.1D bridge group address 01:80:c2:00:00:00, used by FSTP.
var BPDUAddr = MAC{0x01, 0x80, 0xc2, 0, 0, 0}

// IsGroup reports whether m is a group (multicast or broadcast) address.
func (m MAC) IsGroup() bool { return m[0]&1 != 0 }

// String formats m as xx:xx:xx:xx:xx:xx.
func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// ParseMAC parses a MAC in VDE's notations: six hex bytes separated by ':' or '.', one or two digits each
// ("2:0:0:0:0:1", "02.00.00.00.00.01").
func ParseMAC(s string) (MAC, error) {
	var m MAC
	sep := byte(':')
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			sep = '.'
			break
		}
		if s[i] == ':' {
			break
		}
	}
	i := 0
	for n := 0; n < 6; n++ {
		if n > 0 {
			if i >= len(s) || s[i] != sep {
				return m, fmt.Errorf("parse MAC %q: %w", s, errBadMAC)
			}
			i++
		}
		var v, digits int
		for i < len(s) && digits < 2 && isHex(s[i]) {
			v = v<<4 | hexVal(s[i])
			i++
			digits++
		}
		if digits == 0 {
			return m, fmt.Errorf("parse MAC %q: %w", s, errBadMAC)
		}
		m[n] = byte(v)
	}
	if i != len(s) {
		return m, fmt.Errorf("parse MAC %q: %w", s, errBadMAC)
	}
	return m, nil
}

var errBadMAC = errors.New("want six hex bytes separated by ':' or '.'")

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func hexVal(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// A Frame is an Ethernet frame without FCS. Use Parse to get one whose accessors cannot panic.
// A Frame aliases the buffer it was parsed from.
type Frame []byte

// Parse checks that b has a valid length for a frame and returns it as a Frame, without copying.
func Parse(b []byte) (Frame, error) {
	if len(b) < MinLen || len(b) > MaxLen {
		return nil, ErrBadLen
	}
	return Frame(b), nil
}

// Dst returns the destination address.
func (f Frame) Dst() MAC { return MAC(f[0:6]) }

// Src returns the source address.
func (f Frame) Src() MAC { return MAC(f[6:12]) }

// IsGroup reports whether the destination is a group address (broadcast or multicast).
func (f Frame) IsGroup() bool { return f[0]&1 != 0 }

// EtherType returns the outer ethertype (0x8100 for a tagged frame).
func (f Frame) EtherType() uint16 { return binary.BigEndian.Uint16(f[TPIDOffset:TCIOffset]) }

// HasTPID reports whether the outer ethertype is the 802.1Q TPID. Such a frame is tagged if it is
// also at least TaggedHeaderLen long; a shorter one is malformed.
func (f Frame) HasTPID() bool { return f.EtherType() == TPID8021Q }

// Tagged reports whether f carries an 802.1Q tag (and is long enough to hold one).
func (f Frame) Tagged() bool { return len(f) >= TaggedHeaderLen && f.HasTPID() }

// Tag returns the four bytes at TPIDOffset: the 802.1Q tag of a frame that HasTPID and is at
// least TaggedHeaderLen long (check both first; it panics on a frame shorter than TagEnd).
func (f Frame) Tag() Tag { return Tag(f[TPIDOffset:TagEnd]) }

// TCI returns the tag control information of a tagged frame, and false if f is untagged.
func (f Frame) TCI() (uint16, bool) {
	if !f.Tagged() {
		return 0, false
	}
	return binary.BigEndian.Uint16(f[TCIOffset:TagEnd]), true
}

// VID returns the VLAN id of a tagged frame, and false if f is untagged.
func (f Frame) VID() (uint16, bool) {
	tci, ok := f.TCI()
	return tci & VIDMask, ok
}

// InnerType returns the ethertype after any 802.1Q tag.
func (f Frame) InnerType() uint16 {
	if f.Tagged() {
		return binary.BigEndian.Uint16(f[TagEnd:TaggedHeaderLen])
	}
	return f.EtherType()
}

// InsertTag writes f with the 802.1Q tag t inserted at TPIDOffset into dst, a buffer of the
// caller's, and returns the result, len(f)+TagLen bytes long; it does not allocate. dst may
// overlap f when it starts at &f[0] or TagLen bytes before it (headroom), so a tag can be added in
// place without copying the payload.
func InsertTag(dst []byte, f Frame, t Tag) (Frame, error) {
	if len(f) < HeaderLen {
		return nil, ErrBadLen
	}
	n := len(f) + TagLen
	if len(dst) < n {
		return nil, ErrShortBuffer
	}
	copy(dst[TagEnd:n], f[TPIDOffset:]) // payload first: correct for both supported overlaps
	copy(dst[:TPIDOffset], f[:TPIDOffset])
	copy(dst[TPIDOffset:TagEnd], t[:])
	return Frame(dst[:n]), nil
}

// StripTag writes f without its 802.1Q tag into dst, a buffer of the caller's, and returns the
// result, len(f)-TagLen bytes long; it does not allocate. dst may overlap f when it starts at &f[0]
// or TagLen bytes after it. f must be tagged.
func StripTag(dst []byte, f Frame) (Frame, error) {
	if !f.Tagged() {
		return nil, ErrBadLen
	}
	n := len(f) - TagLen
	if len(dst) < n {
		return nil, ErrShortBuffer
	}
	copy(dst[TPIDOffset:n], f[TagEnd:])
	copy(dst[:TPIDOffset], f[:TPIDOffset])
	return Frame(dst[:n]), nil
}
