// SPDX-License-Identifier: GPL-2.0-or-later

// Package console is vswitch's management console: the vde_switch command table (ds, help, logout,
// shutdown, showinfo, load, debug, plugin, hash, fstp, port and vlan commands) with the reference's
// output formats, on top of pkg/mgmt and a *vswitch.Switch. The switch keeps the state (FSTP
// settings included) and reports typed events; this package parses command lines and formats
// state and events (events.go: the debug lines) byte for byte as vde_switch does.
//
// Deliberate differences from vde_switch 2.3.2 (r586):
//   - banner and showinfo name this program and its version (same two-line shape);
//   - hash/find prints the entry's real port (the reference prints port+1);
//   - plugin/add answers "1095 Operation not supported": plugins are not supported;
//   - FSTP blocks only the worse end of a redundant link (see package vswitch and vswitch(1));
//   - hash/setgcint and hash/setexpire reject values ≤ 0 (1022) instead of storing them, and VLAN 0
//     cannot be removed.
package console
