// SPDX-License-Identifier: GPL-2.0-or-later

// Package netnode makes a plug process a small network node, as vdeplug4's hub://, switch://, multi://
// and bonding:// plugs do: the process serves the VDE connection protocol (pkg/vde) on DIR/ctl, every
// client that connects gets a data socket DIR/fd<N> (N the descriptor number of its control
// connection, as in vdeplug4), and the process's own side (the "host": vplug's stdin/stdout, a command,
// a second URL) is the Node itself, a frame.Endpoint.
//
// The kinds differ in where a frame goes:
//   - Hub: a frame from anyone goes to everyone else (the clients and the host).
//   - Switch: a learning switch between the clients and the host. A (source MAC, VLAN) pair is learned
//     for the port it came from, unless the source is a group address; frames to group or unknown
//     destinations, or to entries not refreshed for Config.Expire, are flooded; a frame for the port
//     it came from is dropped. The table is direct-mapped with Config.HashSize slots, as vdeplug4's:
//     two addresses in one slot replace each other (their frames are then flooded).
//   - Multi: frames from the host go to every client; frames from a client go to the host only.
//   - Bonding: frames from the host go to one client, round robin; frames from a client go to the
//     host only.
//
// Every client port has a bounded out-queue and its own writer goroutine; the host has one bounded
// queue read by ReadFrame. A destination whose queue is full drops the frame (and counts it), so a
// slow client never slows the others, as vdeplug4's non-blocking data sockets drop on EAGAIN.
//
// Requests that vdeplug4's netnodes do not serve (a management port 0 request, the version 1 format)
// are refused by closing their control connection, where vdeplug4 leaves the client waiting.
package netnode
