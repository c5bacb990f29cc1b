// SPDX-License-Identifier: GPL-2.0-or-later

package netctl

import "github.com/vishvananda/netlink"

// MinSTPForwardDelay is the shortest forward delay (seconds) the kernel accepts while STP is on.
const MinSTPForwardDelay = 2

// BridgeSettings are what MakeBridge gives a new bridge.
type BridgeSettings struct {
	STP          bool
	ForwardDelay int // seconds; raised to MinSTPForwardDelay when STP is on
}

// A Moved records what MakeBridge moved, for Undo.
type Moved struct {
	Bridge, Uplink string
	Addrs          []netlink.Addr
	Routes         []netlink.Route
}
