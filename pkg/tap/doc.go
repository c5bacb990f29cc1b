// SPDX-License-Identifier: GPL-2.0-or-later

// Package tap opens Linux TAP (and TUN) devices through the /dev/net/tun clone device and moves
// Ethernet frames through them as a frame.Endpoint.
//
// Opening a device never changes its persistence: a missing device is created non-persistent (it
// vanishes when the last file descriptor closes), and an existing persistent device made by tunctl
// stays persistent after the program exits. This is why the package issues the TUN ioctls itself
// instead of going through songgao/water, which always sends TUNSETPERSIST (clearing persistence
// unless told otherwise), leaks the descriptor when an ioctl fails and opens it without O_CLOEXEC.
//
// The configuration ioctls that tunctl needs (owner, group, persistence) are methods of Device. A
// Device opened with Config.Raw keeps its descriptor out of the Go runtime's poller and is a frame.Raw,
// for pkg/relay's poll(2) loop (plug2tap's copy between the TAP and the switch).
//
// With Config.Offload a TAP is opened with IFF_VNET_HDR and the offloads the kernel grants
// (TUNSETOFFLOAD: checksum, TSO4/6 with ECN, USO), falling back to plain frames when it grants none. The
// kernel then reads and writes up to 64 KB per packet, behind a virtio-net header; the Device cuts what it
// reads into frames (pkg/offload's Segmenter) and joins the TCP segments given to QueueFrame, or to the
// frame.RawFramer methods pkg/relay uses, until Flush (pkg/offload's Coalescer), so its users still move
// plain frames. A persistent TAP keeps what tunctl made: on Close its offloads are reset and it is attached
// once more without IFF_VNET_HDR, since tun_flags belong to the interface, not to the descriptor.
package tap
