// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"encoding/binary"
	"errors"

	"github.com/govde/govde/pkg/frame"
)

// BPDU wire format of vde_switch's fast spanning tree. It looks like an 802.1w RST BPDU sent to
// 01:80:c2:00:00:00 with an 802.3 length and LLC 42 42 03, but the port id is built with >>4 and the
// timers are little-endian whole seconds, so it does not interoperate with IEEE bridges — only with
// vde_switch and vswitch.
const (
	// BPDULen is the length of an untagged BPDU frame (not padded).
	BPDULen = 53
	// TaggedBPDULen is the length of a BPDU sent on a port where the VLAN is tagged.
	TaggedBPDULen = BPDULen + frame.TagLen
	// bpduMinLen is the shortest BPDU (tag removed) the reference accepts: the v1 length and the
	// forward delay may be missing (the reference pads short frames with zeros).
	bpduMinLen = 51
	bpduLLCLen = 0x27 // the 802.3 length field
)

// Flags of a BPDU (the reference's STP_FLAGS).
const (
	FlagTC         = 0x01 // topology change
	FlagBackup     = 0x02 // the sender's port is in its backup set (802.1w: proposal)
	FlagNotBackup  = 0x04 // the sender's port is not in its backup set
	FlagNotRoot    = 0x08 // the sender's port is not its root port
	FlagStateShift = 4    // bits 4–5: the port state (StateDiscarding, StateLearning, StateForwarding)
	FlagAgreement  = 0x40
	FlagTCAck      = 0x80

	// flagsRoleMask and flagsRoot: the receiver's test for "the sender's port is its root port".
	flagsRoleMask = 0x0c
	flagsRoot     = FlagNotBackup
)

// Port states, as the BPDU flags encode them.
const (
	StateDiscarding uint8 = 0
	StateLearning   uint8 = 1
	StateForwarding uint8 = 3
)

// A BridgeID is an FSTP bridge identifier: the priority (big-endian) followed by the MAC. IDs
// compare bytewise (lower is better).
type BridgeID [8]byte

// MakeBridgeID returns the ID of a switch with priority prio and address mac.
func MakeBridgeID(prio uint16, mac frame.MAC) BridgeID {
	var id BridgeID
	binary.BigEndian.PutUint16(id[:2], prio)
	copy(id[2:], mac[:])
	return id
}

// String formats the ID as fstp/print does (eight colon-separated hex bytes).
func (id BridgeID) String() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 23)
	for i, c := range id {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[c>>4], hex[c&15])
	}
	return string(b)
}

// MakePortID returns the 2-byte port identifier the reference sends for port n: 0x80|(n>>4), n&0xff.
func MakePortID(n int) [2]byte { return [2]byte{0x80 | byte(n>>4), byte(n)} }

// A BPDU is the content of an FSTP BPDU. Timers are in seconds.
type BPDU struct {
	Flags    uint8
	Root     BridgeID
	Cost     uint32 // root path cost
	Bridge   BridgeID
	Port     [2]byte // see MakePortID
	Age      uint16
	MaxAge   uint16
	Hello    uint16
	FwdDelay uint16
}

// Errors of ParseBPDU.
var (
	ErrNotBPDU     = errors.New("not addressed to the BPDU address")
	ErrBPDUShort   = errors.New("BPDU too short")
	ErrBPDUVersion = errors.New("not a version 2 RST BPDU")
)

// AppendBPDU appends the BPDU frame from src to dst: tagged with vlan (priority 0) if tagged, and
// returns the extended slice. It allocates only if dst lacks room (TaggedBPDULen bytes).
func AppendBPDU(dst []byte, src frame.MAC, vlan int, tagged bool, b *BPDU) []byte {
	dst = append(dst, frame.BPDUAddr[:]...)
	dst = append(dst, src[:]...)
	if tagged {
		dst = append(dst, 0x81, 0x00, byte(vlan>>8)&0x0f, byte(vlan))
	}
	dst = append(dst, 0, bpduLLCLen, 0x42, 0x42, 0x03, 0, 0, 2, 2, b.Flags)
	dst = append(dst, b.Root[:]...)
	dst = binary.BigEndian.AppendUint32(dst, b.Cost)
	dst = append(dst, b.Bridge[:]...)
	dst = append(dst, b.Port[:]...)
	for _, t := range [...]uint16{b.Age, b.MaxAge, b.Hello, b.FwdDelay} {
		dst = binary.LittleEndian.AppendUint16(dst, t)
	}
	return append(dst, 0)
}

// ParseBPDU decodes a BPDU frame f (untagged, or tagged when f carries an 802.1Q header) as the
// reference accepts it: addressed to frame.BPDUAddr, at least 51 bytes once the tag is removed
// (missing trailing bytes read as zero), version 2 and type 2. The LLC header and protocol id are
// not checked, as by the reference. It does not allocate.
func ParseBPDU(f []byte) (BPDU, error) {
	var b BPDU
	if len(f) < frame.HeaderLen || frame.MAC(f[0:6]) != frame.BPDUAddr {
		return b, ErrNotBPDU
	}
	if frame.Frame(f).HasTPID() {
		if len(f) < frame.TaggedHeaderLen {
			return b, ErrBPDUShort
		}
		f = f[frame.TagLen:] // the body's offsets are those of an untagged frame
	}
	if len(f) < bpduMinLen {
		return b, ErrBPDUShort
	}
	var body [BPDULen]byte
	copy(body[:], f)
	if body[19] != 2 || body[20] != 2 {
		return b, ErrBPDUVersion
	}
	b.Flags = body[21]
	b.Root = BridgeID(body[22:30])
	b.Cost = binary.BigEndian.Uint32(body[30:34])
	b.Bridge = BridgeID(body[34:42])
	b.Port = [2]byte(body[42:44])
	b.Age = binary.LittleEndian.Uint16(body[44:46])
	b.MaxAge = binary.LittleEndian.Uint16(body[46:48])
	b.Hello = binary.LittleEndian.Uint16(body[48:50])
	b.FwdDelay = binary.LittleEndian.Uint16(body[50:52])
	return b, nil
}
