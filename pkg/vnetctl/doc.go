// SPDX-License-Identifier: GPL-2.0-or-later

// Package vnetctl builds and tears down, in one call, the devices that connect QEMU/KVM guests to the
// host's network: a bridge made from an uplink (its addresses, MAC and routes moved over), a persistent TAP
// owned by an unprivileged user, and a VDE switch daemon on that TAP whose sockets that user owns. It is
// the engine of the vnetctl command, a drop-in for ctys-vnetctl (formerly ctys-setupVDE) of the
// UnifiedSessionsManager: the same options, actions, output lines and exit codes.
//
// Links, bridges, addresses and routes are changed through netlink (pkg/netctl); the TAP is made by a
// tunctl and the switch is a vswitch (or vde_tunctl and vde_switch) run as subprocesses; the switch is
// asked through its management socket with pkg/mgmt. Run parses a command line and performs it; it
// never exits the process.
package vnetctl
