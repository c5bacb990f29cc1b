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

// FSTP commands, with vde_switch's output formats.

func (c *Console) fstpCommands() []mgmt.Command {
	return []mgmt.Command{
		{Path: "fstp", Syntax: "============", Help: "FAST SPANNING TREE MENU"},
		{Path: "fstp/showinfo", Help: "show fstp info", Data: true, Run: c.fstpShowinfo},
		{Path: "fstp/setfstp", Syntax: "0/1", Help: "Fast spanning tree protocol 1=ON 0=OFF", Data: true, Run: c.fstpSet},
		{Path: "fstp/setedge", Syntax: "VLAN PORT 1/0", Help: "Define an edge port for a vlan 1=Y 0=N", Run: c.fstpSetedge},
		{Path: "fstp/bonus", Syntax: "VLAN PORT COST", Help: "set the port bonus for a vlan", Run: c.fstpBonus},
		{Path: "fstp/print", Syntax: "[N]", Help: "print fst data for the defined vlan", Data: true, Run: c.fstpPrint},
	}
}

func (c *Console) fstpShowinfo(_ *mgmt.Session, w io.Writer, _ string) error {
	p := c.sw.Priority()
	fmt.Fprintf(w, "MAC %s Priority %d (0x%x)\nFSTP=%t\n", c.sw.MAC(), p, p, c.sw.FSTPEnabled())
	return nil
}

func (c *Console) fstpSet(_ *mgmt.Session, w io.Writer, arg string) error {
	if errors.Is(c.sw.SetFSTP(mgmt.Atoi(arg) != 0), vswitch.ErrHub) {
		fmt.Fprintf(w, "Can't use fstp in hub mode\n") // and success, as the reference
	}
	return nil
}

// fstpTriple parses "VLAN PORT X" (EINVAL for a bad syntax); the switch checks the values.
func fstpTriple(arg string) (vlan, port, x int, err error) {
	v, n := mgmt.Ints(arg, "iii")
	if n != 3 {
		return 0, 0, 0, syscall.EINVAL
	}
	return v[0], v[1], v[2], nil
}

func (c *Console) fstpSetedge(_ *mgmt.Session, _ io.Writer, arg string) error {
	vlan, port, on, err := fstpTriple(arg)
	if err != nil {
		return err
	}
	return c.sw.SetFSTPEdge(vlan, port, on != 0)
}

func (c *Console) fstpBonus(_ *mgmt.Session, _ io.Writer, arg string) error {
	vlan, port, cost, err := fstpTriple(arg)
	if err != nil {
		return err
	}
	return c.sw.SetFSTPBonus(vlan, port, cost)
}

func (c *Console) fstpPrint(_ *mgmt.Session, w io.Writer, arg string) error {
	if arg == "" {
		for _, fi := range c.sw.FSTPAll() {
			printFSTP(w, fi)
		}
		return nil
	}
	fi, err := c.sw.FSTP(mgmt.Atoi(arg))
	if err != nil {
		return err
	}
	printFSTP(w, fi)
	return nil
}

// roleNames are the port roles as fstp/print names them.
var roleNames = [...]string{
	vswitch.RoleUnknown:    "Unknown",
	vswitch.RoleRoot:       "Root",
	vswitch.RoleDesignated: "Designated",
	vswitch.RoleAlternate:  "Alternate/Backup",
	vswitch.RoleEdge:       "Edge",
}

// printFSTP prints one VLAN's spanning tree as the reference does. Like r586, which tests the
// untagged set twice where it means untagged or tagged, it shows every tagged port as "Unknown";
// vlan/print shows whether such a port forwards.
func printFSTP(w io.Writer, fi vswitch.FSTPInfo) {
	root, on := "", ""
	if fi.IsRoot {
		root = "ROOTSWITCH"
	}
	if !fi.Enabled {
		on = "FSTP IS DISABLED"
	}
	fmt.Fprintf(w, "FST DATA VLAN %04d %s %s\n", fi.VLAN, root, on)
	fmt.Fprintf(w, " ++ root %s\n", fi.Root)
	fmt.Fprintf(w, " ++ designated %s\n", fi.Designated)
	fmt.Fprintf(w, " ++ rootport %04d cost %d age %d bonusport %04d bonuscost %d\n",
		fi.RootPort, fi.RootCost, int(fi.Age.Seconds()), fi.BonusPort, fi.BonusCost)
	for _, p := range fi.Ports {
		role := "Unknown"
		if int(p.Role) < len(roleNames) && !p.Tagged {
			role = roleNames[p.Role]
		}
		fmt.Fprintf(w, " -- Port %04d tagged=%d portcost=%d role=%s\n", p.Port, b2i(p.Tagged), p.Cost, role)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
