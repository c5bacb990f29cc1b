// SPDX-License-Identifier: GPL-2.0-or-later

// Package stream frames Ethernet frames on byte streams.
//
// The VDE format, used by vde_plug's stdin/stdout, cmd:// co-processes, dpipe chains, wirefilter pipes and
// vde_plug2tap -s -, puts a 2-byte big-endian length before each frame. QEMU's -netdev stream (and the legacy
// -netdev socket in TCP mode) puts a 4-byte big-endian length instead; the two are not compatible.
//
// Readers reassemble records split anywhere across reads, including inside the length header (vdeplug4 loses a
// header split after its first byte; we do not), skip zero-length records, and drop oversize records. Writers
// send each record with exactly one Write, so records from concurrent writers never interleave.
package stream
