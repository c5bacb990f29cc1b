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

// fstpTriple parses "VLAN PORT X" and checks it as the reference does: EINVAL for a bad syntax or
// range, ENXIO for a VLAN that does not exist.
func (c *Console) fstpTriple(arg string) (vlan, port, x int, err error) {
	v, n := mgmt.Ints(arg, "iii")
	if n != 3 {
		return 0, 0, 0, syscall.EINVAL
	}
	vlan, port, x = v[0], v[1], v[2]
	if vlan < 0 || vlan >= numOfVLAN || port < 0 || port >= c.sw.NumPorts() {
		return 0, 0, 0, syscall.EINVAL
	}
	if _, err := c.sw.VLAN(vlan, false); err != nil {
		return 0, 0, 0, syscall.ENXIO
	}
	return vlan, port, x, nil
}

func (c *Console) fstpSetedge(_ *mgmt.Session, _ io.Writer, arg string) error {
	vlan, port, on, err := c.fstpTriple(arg)
	if err != nil {
		return err
	}
	if on == 0 {
		c.clearEdges(port, vlan)
		return nil
	}
	// The reference keeps the flag in the VLAN's FSTP table, which forgets it whenever the port
	// joins or leaves the VLAN (becoming active or inactive included). A flag set on an inactive
	// port is therefore never seen, and one set on an active port lasts until such a change.
	if p, err := c.sw.Port(port); err == nil && p.Active {
		c.fmu.Lock()
		c.edge[[2]int{vlan, port}] = true
		c.fmu.Unlock()
	}
	return nil
}

// clearEdges forgets the FSTP edge flag of port in vlan, or in every VLAN when vlan is -1.
func (c *Console) clearEdges(port, vlan int) {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	for k := range c.edge {
		if k[1] == port && (vlan == -1 || k[0] == vlan) {
			delete(c.edge, k)
		}
	}
}

// membershipChanged forgets the edge flags that a change of port's VLANs resets in the reference.
func (c *Console) membershipChanged(port int, vlans ...int) {
	for _, v := range vlans {
		c.clearEdges(port, v)
	}
}

func (c *Console) fstpBonus(_ *mgmt.Session, _ io.Writer, arg string) error {
	vlan, port, cost, err := c.fstpTriple(arg)
	if err != nil {
		return err
	}
	c.fmu.Lock()
	defer c.fmu.Unlock()
	c.bonus[vlan] = [2]int{port, cost}
	return nil
}

// forgetVLAN drops the FSTP settings of a removed VLAN, as the reference frees its FSTP table.
func (c *Console) forgetVLAN(vlan int) {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	delete(c.bonus, vlan)
	for k := range c.edge {
		if k[0] == vlan {
			delete(c.edge, k)
		}
	}
}

func (c *Console) fstpPrint(_ *mgmt.Session, w io.Writer, arg string) error {
	if arg != "" {
		v := mgmt.Atoi(arg)
		if v < 0 || v >= numOfVLAN-1 {
			return syscall.EINVAL
		}
		vi, err := c.sw.VLAN(v, false)
		if err != nil {
			return syscall.ENXIO
		}
		c.fstpPrintVLAN(w, vi)
		return nil
	}
	for _, vi := range c.sw.VLANs(false) {
		c.fstpPrintVLAN(w, vi)
	}
	return nil
}

// fstpPrintVLAN prints one VLAN as the reference's FSTP-off root switch: untagged active ports
// first, then tagged ones (whose role the reference always shows as Unknown).
func (c *Console) fstpPrintVLAN(w io.Writer, vi vswitch.VLANInfo) {
	m, p := c.sw.MAC(), c.sw.Priority()
	c.fmu.Lock()
	bonus := c.bonus[vi.ID]
	c.fmu.Unlock()
	fmt.Fprintf(w, "FST DATA VLAN %04d ROOTSWITCH FSTP IS DISABLED\n", vi.ID)
	fmt.Fprintf(w, " ++ root %02x:%02x:%s\n", p>>8, p&0xff, m)
	fmt.Fprintf(w, " ++ designated ff:ff:ff:ff:ff:ff:ff:ff\n")
	fmt.Fprintf(w, " ++ rootport 0000 cost 0 age %d bonusport %04d bonuscost %d\n",
		int(c.sw.Uptime().Seconds()), bonus[0], bonus[1])
	for _, tagged := range []bool{false, true} {
		for _, vp := range vi.Ports {
			if vp.Tagged != tagged || !vp.Active {
				continue
			}
			role := "Unknown"
			if !tagged {
				role = "Designated"
				c.fmu.Lock()
				if c.edge[[2]int{vi.ID, vp.Port}] {
					role = "Edge"
				}
				c.fmu.Unlock()
			}
			fmt.Fprintf(w, " -- Port %04d tagged=%d portcost=20000000 role=%s\n", vp.Port, b2i(tagged), role)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
