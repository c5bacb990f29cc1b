// SPDX-License-Identifier: GPL-2.0-or-later

package offload

import (
	"encoding/binary"
	"math/bits"
)

// Sum adds the bytes of b, as big-endian 16-bit words (an odd last byte padded with zero), to the
// ones'-complement accumulator acc and returns it unfolded. Start with 0; Fold gives the 16-bit sum.
func Sum(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	acc, c = bits.Add64(acc, c, 0)
	var t [8]byte
	copy(t[:], b)
	tail := binary.BigEndian.Uint64(t[:])
	acc, c = bits.Add64(acc, tail, 0)
	return acc + c
}

// Fold folds an accumulator from Sum into a 16-bit ones'-complement sum (not complemented).
func Fold(acc uint64) uint16 {
	s := (acc >> 32) + (acc & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// Checksum returns the Internet checksum of b (the complement of its folded sum).
func Checksum(b []byte) uint16 { return ^Fold(Sum(b, 0)) }

// PseudoSum returns the accumulator of the IPv4 or IPv6 pseudo-header for the addresses src and dst
// (4 or 16 bytes each), protocol proto and transport length n.
func PseudoSum(src, dst []byte, proto uint8, n int) uint64 {
	acc := Sum(src, 0)
	acc = Sum(dst, acc)
	acc, c := bits.Add64(acc, uint64(proto)+uint64(n), 0)
	return acc + c
}
