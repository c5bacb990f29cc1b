// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vswitch"
)

// Reference limits: VLAN ids are 0…4094 in tables (NUMOFVLAN = 4095), 4095 is "no VLAN".
const (
	numOfVLAN = 4095
	noVLAN    = vswitch.NoVLAN
)

// intCmd adapts a handler of one integer argument parsed like C atoi() (the reference's INTARG).
func intCmd(f func(n int) error) func(*mgmt.Session, io.Writer, string) error {
	return func(_ *mgmt.Session, _ io.Writer, arg string) error { return f(mgmt.Atoi(arg)) }
}

func pluginCommands() []mgmt.Command {
	return []mgmt.Command{
		{Path: "plugin", Syntax: "============", Help: "PLUGINS MENU"},
		{Path: "plugin/list", Help: "list plugins", Data: true,
			Run: func(_ *mgmt.Session, w io.Writer, _ string) error {
				fmt.Fprintf(w, "%-22s %s\n%-22s %s\n", "NAME", "HELP", "------------", "----")
				return syscall.ENOENT // no plugin is ever loaded
			}},
		{Path: "plugin/add", Syntax: "library", Help: "load a plugin",
			Run: func(*mgmt.Session, io.Writer, string) error { return syscall.EOPNOTSUPP }},
		{Path: "plugin/del", Syntax: "name", Help: "unload a plugin",
			Run: func(*mgmt.Session, io.Writer, string) error { return syscall.ENOENT }},
	}
}

// MAC table commands.

func (c *Console) hashCommands() []mgmt.Command {
	return []mgmt.Command{
		{Path: "hash", Syntax: "============", Help: "HASH TABLE MENU"},
		{Path: "hash/showinfo", Help: "show hash info", Data: true, Run: c.hashShowinfo},
		{Path: "hash/setsize", Syntax: "N", Help: "change hash size", Run: intCmd(c.hashSetsize)},
		{Path: "hash/setgcint", Syntax: "N", Help: "change garbage collector interval", Run: intCmd(c.sw.SetGCInterval)},
		{Path: "hash/setexpire", Syntax: "N", Help: "change hash entries expire time", Run: intCmd(c.sw.SetExpire)},
		{Path: "hash/setminper", Syntax: "N", Help: "minimum persistence time", Run: intCmd(c.sw.SetMinPersist)},
		{Path: "hash/print", Help: "print the hash table", Data: true, Run: c.hashPrint},
		{Path: "hash/find", Syntax: "MAC [VLAN]", Help: "MAC lookup", Data: true, Run: c.hashFind},
		// Ours, hidden so that help stays vde_switch's (which answers 1038 to them): the limit on learned
		// entries (--hashmax) and the table's counters.
		{Path: "hash/setmax", Syntax: "N", Help: "most MAC addresses learned, 0 = no limit", Hidden: true,
			Run: intCmd(c.sw.SetHashMax)},
		{Path: "hash/stats", Help: "MAC table counters", Hidden: true, Data: true, Run: c.hashStats},
	}
}

// hashStats prints the MAC table counters, one "name value" per line. When entries reach max, new
// source addresses are not learned (refused counts them) and frames to them are flooded.
func (c *Console) hashStats(_ *mgmt.Session, w io.Writer, _ string) error {
	st := c.sw.HashStats()
	fmt.Fprintf(w, "entries %d\nmax %d\ncapacity %d\nrefused %d\nexpired %d\nshrunk %d\nmaxstep %d\n",
		st.Entries, st.Max, st.Capacity, st.Refused, st.Expired, st.Shrunk, st.MaxStep)
	return nil
}

func (c *Console) hashShowinfo(_ *mgmt.Session, w io.Writer, _ string) error {
	h := c.sw.HashInfo()
	fmt.Fprintf(w, "Hash size %d\nGC interval %d secs\nGC expire %d secs\nMin persistence %d secs\n",
		h.Size, h.GCInterval, h.Expire, h.MinPersist)
	return nil
}

func (c *Console) hashSetsize(n int) error {
	if n > 0 && n&(n-1) != 0 {
		p := 1
		for p < n {
			p <<= 1
		}
		c.cfg.Logf("Hash size must be a power of 2. %d rounded to %d", n, p)
	}
	return c.sw.SetHashSize(n)
}

func printHashEntry(w io.Writer, e vswitch.HashEntry, port int) error {
	_, err := fmt.Fprintf(w, "Hash: %04d Addr: %s VLAN %04d to port: %03d  age %d secs\n",
		e.Bucket, e.MAC, e.VLAN, port, int64(e.Age.Seconds()))
	return err
}

// hashPrint prints a snapshot of the table. The reply streams to the session (pkg/mgmt): the printing
// stops early when the session is gone.
func (c *Console) hashPrint(_ *mgmt.Session, w io.Writer, _ string) error {
	for _, e := range c.sw.HashEntries() {
		if printHashEntry(w, e, e.Port) != nil {
			return nil
		}
	}
	return nil
}

// hashFind parses "MAC [VLAN]" as sscanf("%x:%x:%x:%x:%x:%x %d") (or with '.' when the argument
// has no ':'), and prints the entry with its real port (the reference prints port+1).
func (c *Console) hashFind(_ *mgmt.Session, w io.Writer, arg string) error {
	sep := byte('.')
	if strings.IndexByte(arg, ':') >= 0 {
		sep = ':'
	}
	sc := mgmt.NewScanner(arg)
	var mac frame.MAC
	for i := range mac {
		if i > 0 {
			sc.Lit(sep)
		}
		v, _ := sc.Int('x')
		mac[i] = byte(v)
	}
	if sc.Matched() < 6 {
		return syscall.EINVAL
	}
	vlan, _ := sc.Int('d')
	if vlan < 0 || vlan > noVLAN {
		return syscall.ENODEV
	}
	e, ok := c.sw.FindHash(mac, vlan)
	if !ok {
		return syscall.ENODEV
	}
	printHashEntry(w, e, e.Port)
	return nil
}
