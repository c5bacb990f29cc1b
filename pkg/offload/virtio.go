// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import (
	"encoding/binary"
	"errors"
)

// HdrLen is the size of the virtio-net header (struct virtio_net_hdr, without num_buffers) that a TAP
// opened with IFF_VNET_HDR puts before every packet, in both directions.
const HdrLen = 10

// Header flags (virtio_net_hdr.flags).
const (
	// FlagNeedsCsum: the transport checksum is partial. The checksum field, at CsumStart+CsumOffset,
	// holds the folded pseudo-header sum; the sum over the bytes from CsumStart completes it.
	FlagNeedsCsum = 1
	// FlagDataValid: the checksums were verified (kernel to user) or need not be (user to kernel).
	FlagDataValid = 2
)

// GSO types (virtio_net_hdr.gso_type).
const (
	GSONone  = 0
	GSOTCPv4 = 1
	GSOUDP   = 3 // UFO, IP fragmentation: never enabled here
	GSOTCPv6 = 4
	GSOUDPL4 = 5 // USO: UDP segmentation
	GSOECN   = 0x80
)

// TUNSETOFFLOAD flags (linux/if_tun.h).
const (
	TunCsum   = 0x01
	TunTSO4   = 0x02
	TunTSO6   = 0x04
	TunTSOECN = 0x08
	TunUFO    = 0x10
	TunUSO4   = 0x20
	TunUSO6   = 0x40
)

// A Hdr is a decoded virtio-net header. The fields are in the host's byte order on the wire, as the
// kernel uses them for a TAP unless TUNSETVNETLE/BE says otherwise (it is not sent here).
type Hdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16 // length of the headers before the payload (a hint)
	GSOSize    uint16 // payload bytes per segment
	CsumStart  uint16 // offset of the transport header from the start of the frame
	CsumOffset uint16 // offset of the checksum field from CsumStart
}

// ErrShortHdr is returned by DecodeHdr for fewer than HdrLen bytes.
var ErrShortHdr = errors.New("offload: short virtio-net header")

// DecodeHdr decodes the header at the start of b.
func DecodeHdr(b []byte) (Hdr, error) {
	if len(b) < HdrLen {
		return Hdr{}, ErrShortHdr
	}
	return Hdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.NativeEndian.Uint16(b[2:]),
		GSOSize:    binary.NativeEndian.Uint16(b[4:]),
		CsumStart:  binary.NativeEndian.Uint16(b[6:]),
		CsumOffset: binary.NativeEndian.Uint16(b[8:]),
	}, nil
}

// Encode writes h into b[:HdrLen]; b must be at least HdrLen long.
func (h Hdr) Encode(b []byte) {
	_ = b[HdrLen-1]
	b[0], b[1] = h.Flags, h.GSOType
	binary.NativeEndian.PutUint16(b[2:], h.HdrLen)
	binary.NativeEndian.PutUint16(b[4:], h.GSOSize)
	binary.NativeEndian.PutUint16(b[6:], h.CsumStart)
	binary.NativeEndian.PutUint16(b[8:], h.CsumOffset)
}
