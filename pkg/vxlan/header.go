// SPDX-License-Identifier: GPL-2.0-or-later

package vxlan

import (
	"errors"

	"github.com/govde/govde/pkg/frame"
)

const (
	// HeaderLen is the length of the VXLAN header (RFC 7348 section 5).
	HeaderLen = 8
	// FlagVNI is the I flag: the VNI field is valid. It is the only flag vdeplug4 and Linux send.
	FlagVNI = 0x08
	// MaxVNI is the largest VXLAN network identifier (24 bits).
	MaxVNI = 1<<24 - 1
	// MaxDatagram is the largest datagram a plug sends or reads: the header and the largest frame.
	MaxDatagram = HeaderLen + frame.MaxLen
)

// A Header is the 8-byte VXLAN header: flags, 3 reserved bytes, the 24-bit VNI big-endian, 1 reserved byte.
type Header [HeaderLen]byte

// NewHeader returns the header vdeplug4 and Linux send for vni: the I flag, the VNI, zero reserved fields.
// vni must be at most MaxVNI (higher bits are dropped).
func NewHeader(vni uint32) Header {
	return Header{FlagVNI, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
}

// VNI returns the network identifier of h.
func (h Header) VNI() uint32 { return uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6]) }

// Errors of Decode, one per reason a datagram is dropped.
var (
	// ErrShort is a datagram shorter than a VXLAN header followed by an Ethernet header.
	ErrShort = errors.New("vxlan: datagram too short")
	// ErrFlags is a header whose flags (or, when strict, reserved bytes) differ from what is expected.
	ErrFlags = errors.New("vxlan: bad flags")
	// ErrVNI is a header for another VXLAN network.
	ErrVNI = errors.New("vxlan: other VNI")
	// ErrBye is a vxvde plug's goodbye: a datagram that is exactly the expected header.
	ErrBye = errors.New("vxvde: goodbye")
)

// Decode checks the VXLAN header at the start of d against want and returns the Ethernet frame behind it
// (a sub-slice of d; nothing is copied or allocated).
//
// The flags byte must be exactly FlagVNI and the VNI that of want, as vdeplug4's vxlan:// checks; RFC 7348
// says to ignore the reserved bytes, and so does Decode unless strict, which asks for all 8 bytes to equal
// want (vdeplug4's vxvde:// compares the header as one 64-bit word). The frame must hold at least an
// Ethernet header. A datagram that is just the header, when strict, is a vxvde goodbye (ErrBye).
func Decode(d []byte, want Header, strict bool) ([]byte, error) {
	if len(d) < HeaderLen {
		return nil, ErrShort
	}
	h := Header(d[:HeaderLen])
	if strict && h != want {
		if h[0] != want[0] || h[1] != 0 || h[2] != 0 || h[3] != 0 || h[7] != 0 {
			return nil, ErrFlags
		}
		return nil, ErrVNI
	}
	if h[0] != FlagVNI {
		return nil, ErrFlags
	}
	if h.VNI() != want.VNI() {
		return nil, ErrVNI
	}
	f := d[HeaderLen:]
	if len(f) < frame.HeaderLen {
		if strict && len(f) == 0 {
			return nil, ErrBye
		}
		return nil, ErrShort
	}
	return f, nil
}
