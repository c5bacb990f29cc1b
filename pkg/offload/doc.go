// SPDX-License-Identifier: GPL-2.0-or-later

// Package offload turns what a Linux TAP opened with IFF_VNET_HDR and TUNSETOFFLOAD reads and writes
// (a virtio-net header, then a packet of up to 64 KB) into ordinary Ethernet frames and back, so that the
// kernel can hand over and accept whole TCP segments while every VDE socket still carries plain frames.
//
// Toward VDE, a Segmenter cuts one packet the kernel read out of the TAP into frames: a GSO packet
// (TCP over IPv4 or IPv6, or UDP with USO) into segments of at most the header's gso_size payload bytes
// (less when the frame would exceed the limit the caller gives), each with its IPv4 length, ID and
// header checksum, IPv6 payload length, TCP sequence number and flags, UDP length and the transport
// checksum filled in; a packet whose checksum the kernel left to us (VIRTIO_NET_HDR_F_NEEDS_CSUM) gets
// it computed.
//
// Toward the TAP, a Coalescer does what the kernel's GRO does for TCP: consecutive segments of one flow
// (same Ethernet header, addresses, ports, IP fields, ACK number, TCP options and flags, the sequence
// numbers following on, each at most as long as the first, checksums verified) are joined into one
// packet written with a GSO virtio-net header. SYN, RST, URG and CWR segments are never joined; a segment
// with PSH or FIN, or shorter than the first, ends the packet it joins. Everything else is written as it
// came, in order within its flow.
//
// Nothing here does I/O or allocates per frame; the TAP device (pkg/tap) owns the buffers.
package offload
