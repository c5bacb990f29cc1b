// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"fmt"
	"io"
	"syscall"

	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vswitch"
)

// FSTP commands. There is no FSTP: they answer as vde_switch does with FSTP off.

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
	fmt.Fprintf(w, "MAC %s Priority %d (0x%x)\nFSTP=false\n", c.sw.MAC(), p, p)
	return nil
}

func (c *Console) fstpSet(_ *mgmt.Session, w io.Writer, arg string) error {
	if c.sw.Hub() {
		fmt.Fprintf(w, "Can't use fstp in hub mode\n")
		return nil
	}
	if mgmt.Atoi(arg) != 0 {
		return syscall.EOPNOTSUPP
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
	vswitch.RoleAlternate:  "Alternate",
	vswitch.RoleBackup:     "Backup",
	vswitch.RoleEdge:       "Edge",
}

// printFSTP prints one VLAN's spanning tree as the reference does with FSTP off.
func printFSTP(w io.Writer, fi vswitch.FSTPInfo) {
	fmt.Fprintf(w, "FST DATA VLAN %04d ROOTSWITCH FSTP IS DISABLED\n", fi.VLAN)
	fmt.Fprintf(w, " ++ root %02x:%02x:%s\n", fi.RootPriority>>8, fi.RootPriority&0xff, fi.RootMAC)
	fmt.Fprintf(w, " ++ designated ff:ff:ff:ff:ff:ff:ff:ff\n")
	fmt.Fprintf(w, " ++ rootport %04d cost %d age %d bonusport %04d bonuscost %d\n",
		fi.RootPort, fi.RootCost, int(fi.Age.Seconds()), fi.BonusPort, fi.BonusCost)
	for _, p := range fi.Ports {
		role := "Unknown"
		if int(p.Role) < len(roleNames) {
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
