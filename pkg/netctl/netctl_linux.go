// SPDX-License-Identifier: GPL-2.0-or-later

package netctl

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Bridges returns the names of the bridges, sorted (brctl show's order).
func Bridges() ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var names []string
	for _, l := range links {
		if l.Type() == "bridge" {
			names = append(names, l.Attrs().Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// IsBridge reports whether name is an existing bridge.
func IsBridge(name string) bool {
	l, err := netlink.LinkByName(name)
	return err == nil && l.Type() == "bridge"
}

// Exists reports whether a link called name exists.
func Exists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// FirstUplink returns the first interface (by index) that is up, not loopback, not a bridge, TUN/TAP or a
// bridge port, and has an IPv4 address: the interface a bridge for guests is made from.
func FirstUplink() (string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return "", fmt.Errorf("list links: %w", err)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Attrs().Index < links[j].Attrs().Index })
	for _, l := range links {
		a := l.Attrs()
		if a.Flags&net.FlagUp == 0 || a.Flags&net.FlagLoopback != 0 || a.MasterIndex != 0 {
			continue
		}
		switch l.Type() {
		case "bridge", "tuntap":
			continue
		}
		if addrs, err := netlink.AddrList(l, netlink.FAMILY_V4); err == nil && len(addrs) > 0 {
			return a.Name, nil
		}
	}
	return "", errors.New("no interface is up with an IPv4 address")
}

// Ports returns the names of the links enslaved to bridge, sorted.
func Ports(bridge string) ([]string, error) {
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return nil, fmt.Errorf("bridge %q: %w", bridge, err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var names []string
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			names = append(names, l.Attrs().Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// MakeBridge creates bridge with uplink's MAC and settings, enslaves uplink, and moves uplink's IPv4
// addresses and its non-kernel IPv4 routes to the bridge. On failure it undoes what it did.
func MakeBridge(bridge, uplink string, set BridgeSettings) (m *Moved, err error) {
	up, err := netlink.LinkByName(uplink)
	if err != nil {
		return nil, fmt.Errorf("uplink %q: %w", uplink, err)
	}
	addrs, err := netlink.AddrList(up, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("addresses of %q: %w", uplink, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("uplink %q has no IPv4 address", uplink)
	}
	routes, err := movableRoutes(up)
	if err != nil {
		return nil, err
	}
	m = &Moved{Bridge: bridge, Uplink: uplink, Addrs: addrs, Routes: routes}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridge, HardwareAddr: up.Attrs().HardwareAddr}}
	if err := netlink.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("add bridge %q: %w", bridge, err)
	}
	defer func() {
		if err != nil {
			m.Undo()
		}
	}()
	brl, err := netlink.LinkByName(bridge)
	if err != nil {
		return m, fmt.Errorf("bridge %q: %w", bridge, err)
	}
	// The kernel takes the lowest port MAC unless one was set; set it again so it stays the uplink's.
	if err := netlink.LinkSetHardwareAddr(brl, up.Attrs().HardwareAddr); err != nil {
		return m, fmt.Errorf("set MAC of %q: %w", bridge, err)
	}
	fd := set.ForwardDelay
	if set.STP && fd < MinSTPForwardDelay {
		fd = MinSTPForwardDelay
	}
	if err := setBridge(brl.Attrs().Index, fd, set.STP); err != nil {
		return m, fmt.Errorf("bridge %q: %w", bridge, err)
	}
	if err := netlink.LinkSetMaster(up, brl); err != nil {
		return m, fmt.Errorf("enslave %q to %q: %w", uplink, bridge, err)
	}
	if err := netlink.LinkSetUp(brl); err != nil {
		return m, fmt.Errorf("set %q up: %w", bridge, err)
	}
	if err := moveAddrs(addrs, up, brl); err != nil {
		return m, err
	}
	if err := addRoutes(routes, brl); err != nil {
		return m, err
	}
	return m, nil
}

// Undo moves the addresses and routes back to the uplink, releases it and deletes the bridge. It goes on
// after errors and returns the first.
func (m *Moved) Undo() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	up, err := netlink.LinkByName(m.Uplink)
	if err != nil {
		return fmt.Errorf("uplink %q: %w", m.Uplink, err)
	}
	if br, err := netlink.LinkByName(m.Bridge); err == nil {
		for _, a := range m.Addrs {
			b := a
			b.Label = ""
			netlink.AddrDel(br, &b)
		}
		keep(netlink.LinkSetNoMaster(up))
		keep(netlink.LinkSetDown(br))
		keep(netlink.LinkDel(br))
	}
	keep(netlink.LinkSetUp(up))
	for _, a := range m.Addrs {
		b := a
		if err := netlink.AddrAdd(up, &b); err != nil && !errors.Is(err, unix.EEXIST) {
			keep(fmt.Errorf("address %s back to %q: %w", a.IPNet, m.Uplink, err))
		}
	}
	keep(addRoutes(m.Routes, up))
	return first
}

// Reclaim is Undo for a bridge made by an earlier call: it takes the bridge's IPv4 addresses and
// non-kernel IPv4 routes back to uplink, and deletes the bridge.
func Reclaim(bridge, uplink string) error {
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("bridge %q: %w", bridge, err)
	}
	addrs, err := netlink.AddrList(br, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("addresses of %q: %w", bridge, err)
	}
	routes, err := movableRoutes(br)
	if err != nil {
		return err
	}
	for i := range addrs {
		addrs[i].Label = ""
	}
	m := &Moved{Bridge: bridge, Uplink: uplink, Addrs: addrs, Routes: routes}
	return m.Undo()
}

// movableRoutes returns l's IPv4 routes in every table that the kernel did not make for an address.
func movableRoutes(l netlink.Link) ([]netlink.Route, error) {
	rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{LinkIndex: l.Attrs().Index, Table: unix.RT_TABLE_UNSPEC},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("routes of %q: %w", l.Attrs().Name, err)
	}
	var out []netlink.Route
	for _, r := range rs {
		if r.Protocol == unix.RTPROT_KERNEL || r.Table == unix.RT_TABLE_LOCAL {
			continue
		}
		out = append(out, r)
	}
	// Link routes first, so that the gateways of the others are reachable when they are added.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Gw == nil && out[j].Gw != nil })
	return out, nil
}

// moveAddrs deletes addrs from src (which drops the routes through them) and adds them to dst.
func moveAddrs(addrs []netlink.Addr, src, dst netlink.Link) error {
	for _, a := range addrs {
		b := a
		if err := netlink.AddrDel(src, &b); err != nil {
			return fmt.Errorf("remove %s from %q: %w", a.IPNet, src.Attrs().Name, err)
		}
	}
	for _, a := range addrs {
		b := a
		b.Label = ""
		if err := netlink.AddrAdd(dst, &b); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add %s to %q: %w", a.IPNet, dst.Attrs().Name, err)
		}
	}
	return nil
}

// addRoutes adds routes through l (replacing an equal one).
func addRoutes(routes []netlink.Route, l netlink.Link) error {
	for _, r := range routes {
		n := r
		n.LinkIndex = l.Attrs().Index
		n.ILinkIndex = 0
		n.MultiPath = nil
		n.Flags = 0
		if err := netlink.RouteReplace(&n); err != nil {
			return fmt.Errorf("route %s via %q: %w", routeString(r), l.Attrs().Name, err)
		}
	}
	return nil
}

func routeString(r netlink.Route) string {
	dst := "default"
	if r.Dst != nil {
		dst = r.Dst.String()
	}
	if r.Gw != nil {
		return dst + " gw " + r.Gw.String()
	}
	return dst
}

// setBridge sets a bridge's forward delay (seconds) and STP state with one RTM_NEWLINK
// (IFLA_BR_FORWARD_DELAY before IFLA_BR_STP_STATE, so the delay is set while STP is still off).
func setBridge(index, fwdDelay int, stp bool) error {
	st := uint32(0)
	if stp {
		st = 1
	}
	for _, step := range []func(*nl.RtAttr){
		func(d *nl.RtAttr) { d.AddRtAttr(unix.IFLA_BR_FORWARD_DELAY, nl.Uint32Attr(uint32(fwdDelay*100))) },
		func(d *nl.RtAttr) { d.AddRtAttr(unix.IFLA_BR_STP_STATE, nl.Uint32Attr(st)) },
	} {
		req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
		msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
		msg.Index = int32(index)
		req.AddData(msg)
		info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
		step(info.AddRtAttr(nl.IFLA_INFO_DATA, nil))
		req.AddData(info)
		if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
			return fmt.Errorf("set forward delay %d s, stp %v: %w", fwdDelay, stp, err)
		}
	}
	return nil
}

// AttachTap brings tap up without addresses and enslaves it to bridge.
func AttachTap(tap, bridge string) error {
	t, err := netlink.LinkByName(tap)
	if err != nil {
		return fmt.Errorf("tap %q: %w", tap, err)
	}
	addrs, _ := netlink.AddrList(t, netlink.FAMILY_V4)
	for _, a := range addrs {
		b := a
		netlink.AddrDel(t, &b)
	}
	if err := netlink.LinkSetUp(t); err != nil {
		return fmt.Errorf("set %q up: %w", tap, err)
	}
	if bridge == "" {
		return nil
	}
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("bridge %q: %w", bridge, err)
	}
	if err := netlink.LinkSetMaster(t, br); err != nil {
		return fmt.Errorf("attach %q to %q: %w", tap, bridge, err)
	}
	return nil
}

// DetachTap releases tap from its bridge and sets it down.
func DetachTap(tap string) error {
	t, err := netlink.LinkByName(tap)
	if err != nil {
		return fmt.Errorf("tap %q: %w", tap, err)
	}
	if t.Attrs().MasterIndex != 0 {
		if err := netlink.LinkSetNoMaster(t); err != nil {
			return fmt.Errorf("detach %q: %w", tap, err)
		}
	}
	if err := netlink.LinkSetDown(t); err != nil {
		return fmt.Errorf("set %q down: %w", tap, err)
	}
	return nil
}

// ForwardDelay returns a bridge's forward delay in whole seconds.
func ForwardDelay(bridge string) (int, error) {
	l, err := netlink.LinkByName(bridge)
	if err != nil {
		return 0, fmt.Errorf("bridge %q: %w", bridge, err)
	}
	if l.Type() != "bridge" {
		return 0, fmt.Errorf("%q is not a bridge", bridge)
	}
	// netlink.Bridge does not carry the forward delay; sysfs of this namespace does (ip netns exec).
	b, err := os.ReadFile("/sys/class/net/" + bridge + "/bridge/forward_delay")
	if err != nil {
		return 0, err
	}
	var cs int
	if _, err := fmt.Sscan(string(b), &cs); err != nil {
		return 0, err
	}
	return cs / 100, nil
}

// Names returns the names of all links.
func Names() ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	names := make([]string, 0, len(links))
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	return names, nil
}
