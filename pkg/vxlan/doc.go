// SPDX-License-Identifier: GPL-2.0-or-later

// Package vxlan carries Ethernet frames over UDP the way vdeplug4's vxlan:// and vxvde:// plugs do: every
// frame behind the 8-byte RFC 7348 header, sent to an IP multicast group when its destination is a group
// address or unknown, and unicast to the VTEP a destination MAC was last seen from otherwise.
//
// Two kinds of segment share the code:
//
//   - VXLAN (Open with Config.Kind VXLAN, port 4789): one socket bound to the wildcard address and the
//     VXLAN port, interoperable with the Linux kernel's vxlan devices and any RFC 7348 VTEP. Learned
//     entries point at the sender's address and the VXLAN port, since VTEPs send from ephemeral ports.
//     Only one VXLAN plug per host and port, as with vdeplug4.
//   - vxvde (Kind VXVDE, port 14789): vdeplug4's distributed switch. A socket bound to the group (shared by
//     every plug of the host through SO_REUSEADDR) hears the multicast, a second one on an ephemeral port
//     sends and receives unicast; entries point at the sender's unicast socket. On Close a plug sends a
//     bare header to the group so that the others forget it at once.
//
// The header codec (Header, Decode) never allocates; Decode sorts out what a plug must drop, which Stats
// counts: datagrams too short for a header and an Ethernet header, wrong flags, another VNI. The MAC table
// (Table) is bounded (hashsize entries), learns and looks up without allocating, and lets entries expire
// after expiretime.
package vxlan
