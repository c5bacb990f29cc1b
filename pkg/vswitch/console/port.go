// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/govde/govde/internal/ids"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vswitch"
)

// Port commands: port/showinfo … port/allprint.

func (c *Console) portCommands() []mgmt.Command {
	return []mgmt.Command{
		{Path: "port", Syntax: "============", Help: "PORT STATUS MENU"},
		{Path: "port/showinfo", Help: "show port info", Data: true, Run: c.portShowinfo},
		{Path: "port/setnumports", Syntax: "N", Help: "set the number of ports", Run: intCmd(c.sw.SetNumPorts)},
		{Path: "port/sethub", Syntax: "0/1", Help: "1=HUB 0=switch", Run: intCmd(func(n int) error { c.sw.SetHub(n != 0); return nil })},
		{Path: "port/setvlan", Syntax: "N VLAN", Help: "set port VLAN (untagged)", Run: c.portSetvlan},
		{Path: "port/createauto", Help: "create a port with an automatically allocated id (inactive|notallocatable)", Data: true, Run: c.portCreateauto},
		{Path: "port/create", Syntax: "N", Help: "create the port N (inactive|notallocatable)", Run: intCmd(c.portCreate)},
		{Path: "port/remove", Syntax: "N", Help: "remove the port N", Run: intCmd(c.sw.RemovePort)},
		{Path: "port/allocatable", Syntax: "N 0/1", Help: "Is the port allocatable as unnamed? 1=Y 0=N", Run: c.portAllocatable},
		{Path: "port/setuser", Syntax: "N user", Help: "access control: set user", Run: c.portSetuser},
		{Path: "port/setgroup", Syntax: "N user", Help: "access control: set group", Run: c.portSetgroup},
		{Path: "port/epclose", Syntax: "N ID", Help: "remove the endpoint port N/id ID", Run: c.portEpclose},
		{Path: "port/resetcounter", Syntax: "[N]", Help: "reset the port (N) counters", Run: c.portResetcounter},
		{Path: "port/print", Syntax: "[N]", Help: "print the port/endpoint table", Data: true,
			Run: func(_ *mgmt.Session, w io.Writer, arg string) error { return c.portPrint(w, arg, false) }},
		{Path: "port/allprint", Syntax: "[N]", Help: "print the port/endpoint table (including inactive port)", Data: true,
			Run: func(_ *mgmt.Session, w io.Writer, arg string) error { return c.portPrint(w, arg, true) }},
	}
}

func (c *Console) portShowinfo(_ *mgmt.Session, w io.Writer, _ string) error {
	hub := "false"
	if c.sw.Hub() {
		hub = "true"
	}
	fmt.Fprintf(w, "Numports=%d\nHUB=%s\ncounters=true\n", c.sw.NumPorts(), hub)
	return nil
}

func (c *Console) portSetvlan(_ *mgmt.Session, _ io.Writer, arg string) error {
	v, n := mgmt.Ints(arg, "ii")
	if n != 2 {
		return syscall.EINVAL
	}
	port, vlan := v[0], v[1]
	if vlan < 0 || vlan > numOfVLAN || port < 0 || port >= c.sw.NumPorts() {
		return syscall.EINVAL
	}
	if vlan == numOfVLAN-1 { // 4094 can never exist
		return syscall.ENXIO
	}
	return c.sw.SetPortVLAN(port, vlan)
}

// portCreate creates port n; n = 0 (also "abc" or nothing, which atoi reads as 0) allocates the lowest
// free port as the reference's alloc_port(0) does, unless port 0 itself is in use.
func (c *Console) portCreate(n int) error {
	if n == 0 {
		if _, err := c.sw.Port(0); err == nil {
			return syscall.EEXIST
		}
		_, err := c.sw.CreatePortAuto()
		return err
	}
	return c.sw.CreatePort(n)
}

func (c *Console) portCreateauto(_ *mgmt.Session, w io.Writer, _ string) error {
	n, err := c.sw.CreatePortAuto()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Port %04d\n", n)
	return nil
}

func (c *Console) portAllocatable(_ *mgmt.Session, _ io.Writer, arg string) error {
	v, n := mgmt.Ints(arg, "ii")
	if n != 2 {
		return syscall.EINVAL
	}
	return c.sw.SetAllocatable(v[0], v[1] != 0)
}

// portAndName splits "N NAME" as the reference does: the port with %i, the name after the first
// word and its following spaces (up to the end of the argument).
func (c *Console) portAndName(arg string) (int, string, error) {
	rest := strings.TrimLeft(arg, " ")
	if i := strings.IndexByte(rest, ' '); i >= 0 {
		rest = strings.TrimLeft(rest[i:], " ")
	} else {
		rest = ""
	}
	v, n := mgmt.Ints(arg, "i")
	if n != 1 || rest == "" {
		return 0, "", syscall.EINVAL
	}
	if _, err := c.sw.Port(v[0]); err != nil {
		return 0, "", err
	}
	return v[0], rest, nil
}

// resolveID maps NAME, a number or NONE/ANY (-1) to an id, as port/setuser and port/setgroup do.
func resolveID(name string, lookup func(string) (int, error)) (int, error) {
	if id, err := lookup(name); err == nil {
		return id, nil
	}
	switch {
	case name[0] >= '0' && name[0] <= '9':
		return mgmt.Atoi(name), nil
	case name == "NONE" || name == "ANY":
		return -1, nil
	}
	return 0, syscall.EINVAL
}

func (c *Console) portSetuser(_ *mgmt.Session, _ io.Writer, arg string) error {
	port, name, err := c.portAndName(arg)
	if err != nil {
		return err
	}
	uid, err := resolveID(name, ids.UserByName)
	if err != nil {
		return err
	}
	return c.sw.SetPortUser(port, uid)
}

func (c *Console) portSetgroup(_ *mgmt.Session, _ io.Writer, arg string) error {
	port, name, err := c.portAndName(arg)
	if err != nil {
		return err
	}
	gid, err := resolveID(name, ids.GroupByName)
	if err != nil {
		return err
	}
	return c.sw.SetPortGroup(port, gid)
}

func (c *Console) portEpclose(_ *mgmt.Session, _ io.Writer, arg string) error {
	v, n := mgmt.Ints(arg, "ii")
	if n != 2 {
		return syscall.EINVAL
	}
	return c.sw.CloseEndpoint(v[0], v[1])
}

func (c *Console) portResetcounter(_ *mgmt.Session, _ io.Writer, arg string) error {
	if arg == "" {
		return c.sw.ResetCounters(-1)
	}
	n := mgmt.Atoi(arg)
	if n < 0 || n >= c.sw.NumPorts() {
		return syscall.EINVAL
	}
	if err := c.sw.ResetCounters(n); err != nil && !errors.Is(err, syscall.ENXIO) {
		return err
	}
	return nil // like the reference, resetting an unallocated port is not an error
}

func (c *Console) portPrint(w io.Writer, arg string, all bool) error {
	if arg == "" {
		for _, p := range c.sw.Ports(all) {
			printPort(w, p)
		}
		return nil
	}
	n := mgmt.Atoi(arg)
	if n < 0 || n >= c.sw.NumPorts() {
		return syscall.EINVAL
	}
	p, err := c.sw.Port(n)
	if err != nil {
		return err
	}
	if !all && !p.Active {
		return syscall.ENXIO
	}
	printPort(w, p)
	return nil
}

func userName(uid int) string {
	if uid == -1 {
		return "NONE"
	}
	return ids.UserName(uid)
}

func groupName(gid int) string {
	if gid == -1 {
		return "NONE"
	}
	return ids.GroupName(gid)
}

func printPort(w io.Writer, p vswitch.PortInfo) {
	in, notIn := "IN", "NOT "
	if p.Active {
		in = ""
	}
	if !p.NotInPool {
		notIn = ""
	}
	fmt.Fprintf(w, "Port %04d untagged_vlan=%04d %sACTIVE - %sUnnamed Allocatable\n", p.Num, p.UntaggedVLAN, in, notIn)
	fmt.Fprintf(w, " Current User: %s Access Control: (User: %s - Group: %s)\n",
		userName(p.CurUser), userName(p.User), groupName(p.Group))
	fmt.Fprintf(w, " IN:  pkts %10d          bytes %20d\n", p.In.Pkts, p.In.Bytes)
	fmt.Fprintf(w, " OUT: pkts %10d          bytes %20d\n", p.Out.Pkts, p.Out.Bytes)
	for _, e := range p.Endpoints {
		d := e.Descr
		if d == "" {
			d = "no endpoint description"
		}
		fmt.Fprintf(w, "  -- endpoint ID %04d module %-12s: %s\n", e.ID, e.Module, d)
	}
}
