// SPDX-License-Identifier: GPL-2.0-or-later

// Package vswitch is the forwarding core of vswitch, a drop-in replacement for vde_switch.
//
// A Switch holds numbered ports (port 0 is reserved for management requests), each with zero or
// more endpoints: connected VDE data sockets accepted by Serve, TAP devices added by AddTap, or any
// frame.Endpoint. Frames are switched as vde_switch r586 does — learning keyed by (MAC, VLAN) with
// min-persistence and expiry, flooding of group and unknown destinations inside the VLAN, 802.1Q
// tag insertion and removal, hub mode — except that frames up to frame.MaxLen are forwarded intact
// instead of being truncated at 1518 bytes.
//
// Every endpoint has its own reader goroutine that forwards inline; VDE data sockets are read with
// recvmmsg and written with non-blocking sendmmsg (scatter/gather, so adding or removing a tag
// copies nothing). A destination that cannot take a frame now (full socket queue, full out-queue,
// frame larger than a TAP's MTU) drops it and counts the drop: one slow client never slows the
// others. The forwarding path does not allocate in steady state.
//
// Management methods (ports, VLANs, MAC table) are safe for concurrent use with forwarding and
// with each other; errors they return are syscall.Errno values, as the management console reports
// them ("1%03d %s").
package vswitch
