// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/ids"
	"github.com/govde/govde/pkg/frame"
)

// A logger writes vde_plug's -l/-L syslog lines (facility LOG_USER, ident = program name).
// Without a syslog daemon the lines are silently lost, as with syslog(3).
type logger struct {
	w    *daemon.Logger // discards when syslog is unavailable
	user string
	ip   string
	seen map[netip.Addr]bool
	out  func(string) // where lines go; tests replace it
}

func newLogger(ident string) *logger {
	l := &logger{user: userName(), ip: sshClientIP(), seen: map[netip.Addr]bool{}}
	l.w = daemon.Syslog(ident, nil)
	l.out = func(s string) { l.w.Printf("%s", s) }
	return l
}

func (l *logger) start() { l.out(fmt.Sprintf("START: user %s IP %s", l.user, l.ip)) }

func (l *logger) stop() {
	l.out(fmt.Sprintf("STOP: user %s IP %s", l.user, l.ip))
	l.w.Close()
}

// checkIP logs, once per address, the IPv4 or IPv6 source address of a frame (-L).
// ReadFrame calls it from one goroutine only.
func (l *logger) checkIP(b []byte) {
	f, err := frame.Parse(b)
	if err != nil {
		return
	}
	off, typ := frame.HeaderLen, f.EtherType()
	vlan := 0
	if f.Tagged() {
		off, typ = frame.HeaderLen+frame.TagLen, f.InnerType()
		v, _ := f.VID()
		vlan = int(v)
	}
	var a netip.Addr
	switch {
	case typ == 0x0800 && len(f) >= off+20 && f[off]>>4 == 4:
		a = netip.AddrFrom4([4]byte(f[off+12 : off+16]))
	case typ == 0x86dd && len(f) >= off+40 && f[off]>>4 == 6:
		a = netip.AddrFrom16([16]byte(f[off+8 : off+24]))
	default:
		return
	}
	if l.seen[a] {
		return
	}
	l.seen[a] = true
	v := "IP4"
	if a.Is6() {
		v = "IP6"
	}
	l.out(fmt.Sprintf("user %s Real-IP %s has got VDE-%s %s on vlan %d", l.user, l.ip, v, a, vlan))
}

func userName() string {
	return ids.UserName(os.Getuid())
}

// sshClientIP returns the first field of $SSH_CLIENT, or vde_plug's placeholder.
func sshClientIP() string {
	if s, ok := os.LookupEnv("SSH_CLIENT"); ok && s != "" {
		ip, _, _ := strings.Cut(s, " ")
		return ip
	}
	return "UNKNOWN_IP_ADDRESS"
}
