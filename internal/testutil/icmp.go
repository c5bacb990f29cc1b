// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"encoding/binary"

	"github.com/govde/govde/pkg/offload"
)

// EchoRequest returns an Ethernet frame from src to dst carrying an IPv4 ICMP echo request from srcIP to
// dstIP with identifier id, sequence number seq and 56 bytes of data, as ping sends; checksums filled in.
func EchoRequest(dst, src [6]byte, srcIP, dstIP [4]byte, id, seq uint16) []byte {
	f := make([]byte, 14+20+8+56)
	copy(f[0:6], dst[:])
	copy(f[6:12], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 1 // IPv4, TTL 64, ICMP
	binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
	copy(ip[12:16], srcIP[:])
	copy(ip[16:20], dstIP[:])
	binary.BigEndian.PutUint16(ip[10:], offload.Checksum(ip))
	icmp := f[34:]
	icmp[0] = 8 // echo request
	binary.BigEndian.PutUint16(icmp[4:], id)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	binary.BigEndian.PutUint16(icmp[2:], offload.Checksum(icmp))
	return f
}

// IsEchoReply reports whether f is the echo reply to EchoRequest's frame req: as long, sent to req's
// source, ICMP type 0 with req's identifier and sequence number.
func IsEchoReply(f, req []byte) bool {
	return len(f) == len(req) && len(f) >= 42 && string(f[0:6]) == string(req[6:12]) && f[23] == 1 && f[34] == 0 &&
		string(f[38:42]) == string(req[38:42])
}
