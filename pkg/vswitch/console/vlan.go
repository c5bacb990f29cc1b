// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vswitch"
)

// VLAN commands: vlan/create, remove, addport, delport, print, allprint.

func (c *Console) vlanCommands() []mgmt.Command {
	return []mgmt.Command{
		{Path: "vlan", Syntax: "============", Help: "VLAN MANAGEMENT MENU"},
		{Path: "vlan/create", Syntax: "N", Help: "create the VLAN with tag N", Run: intCmd(c.sw.CreateVLAN)},
		{Path: "vlan/remove", Syntax: "N", Help: "remove the VLAN with tag N", Run: intCmd(c.vlanRemove)},
		{Path: "vlan/addport", Syntax: "N PORT", Help: "add port to the vlan N (tagged)", Run: c.vlanAddport},
		// The reference's help text for delport really says "add"; it is kept so that help output
		// stays identical for scripts that compare it.
		{Path: "vlan/delport", Syntax: "N PORT", Help: "add port to the vlan N (tagged)", Run: c.vlanDelport},
		{Path: "vlan/print", Syntax: "[N]", Help: "print the list of defined vlan", Data: true,
			Run: func(_ *mgmt.Session, w io.Writer, arg string) error { return c.vlanPrint(w, arg, false) }},
		{Path: "vlan/allprint", Syntax: "[N]", Help: "print the list of defined vlan (including inactive port)", Data: true,
			Run: func(_ *mgmt.Session, w io.Writer, arg string) error { return c.vlanPrint(w, arg, true) }},
	}
}

func (c *Console) vlanRemove(v int) error {
	switch {
	case v < 0 || v >= numOfVLAN:
		return syscall.EINVAL
	case v == numOfVLAN-1:
		return syscall.ENXIO
	case v == 0:
		if vi, err := c.sw.VLAN(0, true); err == nil && len(vi.Ports) > 0 {
			return syscall.EADDRINUSE
		}
		return syscall.EINVAL
	}
	return c.sw.RemoveVLAN(v)
}

// vlanPortArgs parses "N PORT" and checks that both exist, as the reference does before changing
// membership: EINVAL for syntax and range, ENXIO for a missing VLAN or port.
func (c *Console) vlanPortArgs(arg string) (vlan, port int, err error) {
	v, n := mgmt.Ints(arg, "ii")
	if n != 2 {
		return 0, 0, syscall.EINVAL
	}
	vlan, port = v[0], v[1]
	if vlan < 0 || vlan >= numOfVLAN-1 || port < 0 || port >= c.sw.NumPorts() {
		return 0, 0, syscall.EINVAL
	}
	if _, err := c.sw.VLAN(vlan, false); err != nil {
		return 0, 0, syscall.ENXIO
	}
	if _, err := c.sw.Port(port); err != nil {
		return 0, 0, syscall.ENXIO
	}
	return vlan, port, nil
}

func (c *Console) vlanAddport(_ *mgmt.Session, _ io.Writer, arg string) error {
	vlan, port, err := c.vlanPortArgs(arg)
	if err != nil {
		return err
	}
	if err := c.sw.AddVLANPort(vlan, port); err != nil && !errors.Is(err, syscall.EEXIST) {
		return err
	}
	return nil // adding a member again is not an error in the reference
}

func (c *Console) vlanDelport(_ *mgmt.Session, _ io.Writer, arg string) error {
	vlan, port, err := c.vlanPortArgs(arg)
	if err != nil {
		return err
	}
	if err := c.sw.DelVLANPort(vlan, port); err != nil && !errors.Is(err, syscall.ENXIO) {
		return err
	}
	return nil // not a member: nothing to do, as in the reference
}

func (c *Console) vlanPrint(w io.Writer, arg string, all bool) error {
	if arg == "" {
		for _, vi := range c.sw.VLANs(all) {
			printVLAN(w, vi, all)
		}
		return nil
	}
	v := mgmt.Atoi(arg)
	lo := 0
	if all {
		lo = 1
	}
	if v < lo || v >= numOfVLAN-1 {
		return syscall.EINVAL
	}
	vi, err := c.sw.VLAN(v, all)
	if err != nil {
		return syscall.ENXIO
	}
	printVLAN(w, vi, all)
	return nil
}

func printVLAN(w io.Writer, vi vswitch.VLANInfo, all bool) {
	fmt.Fprintf(w, "VLAN %04d\n", vi.ID)
	for _, p := range vi.Ports {
		if !all && !p.Active {
			continue
		}
		fmt.Fprintf(w, " -- Port %04d tagged=%d active=%d status=%s\n", p.Port, b2i(p.Tagged), b2i(p.Active), p.Status)
	}
}
