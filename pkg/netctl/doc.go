// SPDX-License-Identifier: GPL-2.0-or-later

// Package netctl changes links, bridges, addresses and routes through netlink (vishvananda/netlink) for
// vnetctl: it makes a bridge out of an uplink (moving the uplink's IPv4 addresses, MAC and routes to the
// bridge) and undoes that, and attaches TAPs to bridges. Every function works on the network namespace
// of the calling process; nothing here runs ip, brctl, ifconfig or route.
package netctl
