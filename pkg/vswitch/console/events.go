// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"fmt"

	"github.com/govde/govde/pkg/vswitch"
)

// Debug event tags, as vde_switch numbers them (debug/list, "3TAG path msg" lines).
const (
	tagHashAdd   = 0o11
	tagHashDel   = 0o12
	tagPortAdd   = 0o21
	tagPortDel   = 0o22
	tagPortDescr = 0o23
	tagEPAdd     = 0o31
	tagEPDel     = 0o32
)

// stateNames are the FSTP port states as the fstp/status debug lines name them, by wire value
// (forwarding, 3, reads "learning+forwarding", as in the reference).
var stateNames = [4]string{"discarding", "learning", "forwarding", "learning+forwarding"}

// eventLine returns the debug path and message vde_switch prints for ev, and false for events it
// has no debug category for (EventMACMoved: vde_switch has none, and debug/list must stay
// identical to the reference's).
func eventLine(ev vswitch.Event) (path, msg string, ok bool) {
	switch ev.Kind {
	case vswitch.EventHashAdd, vswitch.EventHashDel:
		path = "hash/+"
		if ev.Kind == vswitch.EventHashDel {
			path = "hash/-"
		}
		m, v := ev.MAC, ev.VLAN
		// The reference prints the VLAN as the two bytes of its hash key, low byte first.
		msg = fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x VLAN %02x:%02x Port %d",
			m[0], m[1], m[2], m[3], m[4], m[5], v&0xff, v>>8, ev.Port)
	case vswitch.EventPortAdd:
		path, msg = "port/+", fmt.Sprintf("%02d", ev.Port)
	case vswitch.EventPortDel:
		path, msg = "port/-", fmt.Sprintf("%02d", ev.Port)
	case vswitch.EventEndpointAdd:
		path, msg = "port/ep/+", fmt.Sprintf("Port %02d FD %2d", ev.Port, ev.Endpoint)
	case vswitch.EventEndpointDel:
		path, msg = "port/ep/-", fmt.Sprintf("Port %02d FD %2d", ev.Port, ev.Endpoint)
	case vswitch.EventPortDescr:
		path, msg = "port/descr", fmt.Sprintf("Port %02d FD %2d -> \"%s\"", ev.Port, ev.Endpoint, ev.Descr)
	case vswitch.EventFSTPStatus:
		path, msg = "fstp/status", fmt.Sprintf("Port %04d VLAN %02x:%02x %s", ev.Port, ev.VLAN>>8, ev.VLAN&0xff, stateNames[ev.State&3])
	case vswitch.EventFSTPRoot:
		path, msg = "fstp/root", fmt.Sprintf("Port %04d VLAN %02x:%02x -> %s", ev.Port, ev.VLAN>>8, ev.VLAN&0xff, ev.Root)
	case vswitch.EventFSTPPortUp:
		path, msg = "fstp/+", fmt.Sprintf("Port %04d VLAN %02x:%02x", ev.Port, ev.VLAN>>8, ev.VLAN&0xff)
	case vswitch.EventFSTPPortDown:
		path, msg = "fstp/-", fmt.Sprintf("Port %04d VLAN %02x:%02x", ev.Port, ev.VLAN>>8, ev.VLAN&0xff)
	default:
		return "", "", false
	}
	return path, msg, true
}

// event receives the switch's events and forwards those vde_switch has debug lines for to the
// sessions subscribed to them. Nothing is formatted while no session has debug output on.
func (c *Console) event(ev vswitch.Event) {
	if !c.Server.DebugActive() {
		return
	}
	if path, msg, ok := eventLine(ev); ok {
		c.Server.Event(path, msg)
	}
}
