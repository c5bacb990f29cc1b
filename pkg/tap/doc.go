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
package tap
