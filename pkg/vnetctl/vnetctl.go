// SPDX-License-Identifier: GPL-2.0-or-later

package vnetctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/govde/govde/internal/buildinfo"
	"github.com/govde/govde/internal/ids"
)

// Env is what Run needs from the process; fields left zero are taken from the process (os.Getenv,
// the user's name, uname -n, os.Getpid, os.Geteuid).
type Env struct {
	Prog           string // program name for messages (default "vnetctl")
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Host           string
	Pid            int
	Euid           int // -1: os.Geteuid()
	// SelfDir is the folder of the vnetctl binary, searched first for tunctl and vswitch.
	SelfDir string
	// RunDir holds the switch's pidfile (default /var/run, as the original).
	RunDir string
}

// state is one call: the parsed options resolved against the environment.
type state struct {
	Config
	env   Env
	log   *logger
	ctx   context.Context
	me    string // $USER: the invoking user
	user  string // socket owner
	group string // socket group
	ssock string // switch socket directory
	msock string // management socket
	pfile string // pidfile
	fwd   string // BRIDGE_FWDELAY
	// fwdApplied is the forward delay create gave a new bridge, -1 when it made none.
	fwdApplied int
	sw         string // switch program
	tunctl     string
}

// Run performs the command line args (without the program name) and returns the exit status. It prints
// the action's output on env.Stdout and diagnostics on env.Stderr.
func Run(ctx context.Context, env Env, args []string) int {
	env = env.withDefaults()
	s := &state{env: env, ctx: ctx}
	s.me = env.Getenv("USER")
	if s.me == "" {
		if u, err := user.Current(); err == nil {
			s.me = u.Username
		}
	}
	s.log = &logger{w: env.Stderr, name: env.Prog, user: s.me, host: env.Host, pid: env.Pid}
	cfg, err := Parse(args)
	if ue, ok := err.(*UsageError); ok {
		for _, l := range ue.Lines {
			s.log.err(1, "%s", l)
		}
		return 1
	}
	s.Config = cfg
	switch {
	case cfg.HelpEx != "" || cfg.Help:
		fmt.Fprintf(env.Stdout, Usage, env.Prog)
		return 0
	case cfg.Version:
		if cfg.Terse {
			fmt.Fprint(env.Stdout, buildinfo.Version)
		} else {
			fmt.Fprintf(env.Stdout, "%s (%s) %s\n", env.Prog, buildinfo.Name, buildinfo.Version)
		}
		return 0
	}
	if cfg.RHosts != "" && !cfg.Terse {
		s.log.info(1, 1, "Remote execution%s on:%s", quoteIf(" as ", cfg.RUser), cfg.RHosts)
	}
	if s.Action == List || s.Action == ListAll {
		s.printHead()
	}
	if cfg.RHosts != "" {
		return s.remote()
	}
	if cfg.RUser != "" {
		s.log.err(1, "No remote host(\"-r\") for \"-l %s\"", cfg.RUser)
		return 1
	}
	if code := s.resolve(); code != 0 {
		return code
	}
	if s.Action == "" {
		s.log.err(1, "Unknown SWITCH_ACTION=")
		s.log.err(1, "_ARGSCALL=\"%s\"", strings.Join(args, " "))
		fmt.Fprintf(env.Stdout, Usage, env.Prog)
		s.log.err(1, "Unknown SWITCH_ACTION=")
		return 1
	}
	if code, ok := s.sudo(args); ok {
		return code
	}
	switch s.Action {
	case List:
		return s.list(false)
	case ListAll:
		return s.list(true)
	case Info:
		return s.query("SWITCH-INFO:", "showinfo", "Missing UNIX socket QEMUMGMT/_msock="+s.msock)
	case Ports:
		return s.query("SWITCH-PORTS:", "port/print", "Missing UNIX socket:"+s.msock)
	case Check:
		return s.check()
	case Create:
		if s.alive() {
			s.log.info(1, 0, "A functional switch is already present, reuse it.")
			return 0
		}
		return s.create()
	case Cancel:
		if !s.alive() {
			return s.cancelDead()
		}
		return s.cancel()
	}
	return 1
}

// Usage is printed by -h (%[1]s is the program name).
const Usage = `Usage: %[1]s [-b bridge] [-d level] [-f] [-g sbit-group] [-h] [-H help] [-i interface]
       [-l remote-user] [-r [user@]host[,host...]] [-s QEMUSOCK] [-S QEMUMGMT] [-u user[.group]]
       [-n] [-V] [-X] [-Z KSU|NOKSU|SUDO|NOSUDO|ALL]
       (cancel|check|create|info|ports|list|listall)

create   make the bridge (from the uplink) if missing, a TAP for the user and a VDE switch on it
cancel   stop that switch, remove its TAP, and the bridge ctysbr0 when nothing else uses it
check    exit 0 when the switch has a live TAP, 1 otherwise (-X: silently)
info     the switch's showinfo          ports   the switch's port/print
list     the users' switch sockets      listall the same, including per-VM ones
See vnetctl(1).
`

// quoteIf returns prefix and v in double quotes, or "" when v is empty.
func quoteIf(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + `"` + v + `"`
}

func (e Env) withDefaults() Env {
	if e.Prog == "" {
		e.Prog = "vnetctl"
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Host == "" {
		e.Host, _ = os.Hostname()
	}
	if e.RunDir == "" {
		e.RunDir = "/var/run"
	}
	if e.Pid == 0 {
		e.Pid = os.Getpid()
	}
	if e.Euid == -1 {
		e.Euid = os.Geteuid()
	}
	if e.SelfDir == "" {
		if p, err := os.Executable(); err == nil {
			e.SelfDir = filepath.Dir(p)
		}
	}
	return e
}

// resolve fills in the defaults the original derives (initSetupVDE) and checks -g. It returns an exit
// status, 0 to go on.
func (s *state) resolve() int {
	g := s.env.Getenv
	s.user = s.User
	if s.user == "" {
		s.user = s.me
	}
	s.group = s.Group
	if s.group == "" && s.user != "" {
		if u, err := user.Lookup(s.user); err == nil {
			if gr, err := user.LookupGroupId(u.Gid); err == nil {
				s.group = gr.Name
			}
		}
	}
	if s.group != "" && s.SbitGroup != "" && s.group != s.SbitGroup {
		s.log.err(1, "Group for sbit has to be the same as the GROUP of the USER.")
		s.log.err(1, "%s != %s", s.group, s.SbitGroup)
		return 1
	}
	if s.user == "" {
		s.log.err(1, "Aha, missing USER - do something???!!!")
		return 1
	}
	base := g("CTYS_SOCKBASE")
	if base == "" {
		base = "/var/tmp"
	}
	qs, qm := g("QEMUSOCK"), g("QEMUMGMT")
	if qs == "" {
		qs = base + "/vde_switch0." + s.me
	}
	if qm == "" {
		qm = base + "/vde_mgmt0." + s.me
	}
	s.ssock, s.msock = s.Sock, s.Mgmt
	if s.ssock == "" {
		s.ssock = cutExt(qs) + "." + s.user
	}
	if s.msock == "" {
		s.msock = cutExt(qm) + "." + s.user
	}
	s.pfile = filepath.Join(s.env.RunDir, filepath.Base(s.msock))
	s.fwd = g("BRIDGE_FWDELAY")
	if s.fwd == "" {
		s.fwd = g("BRIDGE_FORWARDDELAY")
	}
	if s.fwd == "" {
		s.fwd = "0"
	}
	return 0
}

// cutExt removes the shortest ".suffix" at the end, as ${x%.*}.
func cutExt(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return p
}

// tool returns the program to run for a VDE tool: the environment variable when set, else ours next to
// this binary, else ours on PATH, else the VDE name on PATH.
func (s *state) tool(envName, ours, vde string) (string, error) {
	if v := s.env.Getenv(envName); v != "" {
		return exec.LookPath(v)
	}
	if s.env.SelfDir != "" {
		p := filepath.Join(s.env.SelfDir, ours)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(ours); err == nil {
		return p, nil
	}
	return exec.LookPath(vde)
}

func (s *state) printHead() {
	if s.NoHead {
		return
	}
	fmt.Fprintln(s.env.Stdout)
	fmt.Fprintln(s.env.Stdout, "switch                        |UID         |GID         |access      |machine-address")
	fmt.Fprintln(s.env.Stdout, "------------------------------+------------+------------+------------+-------------------------")
}

// list prints a row per socket directory whose name starts with the switch socket path less the
// invoking user's name. Unless all, names ending in ".N-N" (per-VM switches) are left out. With no match
// it prints no row (the original lists ".").
func (s *state) list(all bool) int {
	prefix := strings.TrimSuffix(s.ssock, s.me)
	matches, _ := filepath.Glob(globQuote(prefix) + "*")
	sort.Strings(matches)
	for _, m := range matches {
		name := filepath.Base(m)
		if !all && vmSuffix(name) {
			continue
		}
		fi, err := os.Lstat(m)
		if err != nil {
			continue
		}
		uid, gid := owner(fi)
		fmt.Fprintf(s.env.Stdout, "%-30s|%-12s|%-12s|%-12s|%s\n", name, uid, gid, lsMode(fi.Mode()), s.env.Host)
	}
	return 0
}

// vmSuffix reports whether name ends in "." (any character, as the original's awk) digits "-" digits.
func vmSuffix(name string) bool {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || !digits(name[i+1:]) {
		return false
	}
	j := i
	for j > 0 && name[j-1] >= '0' && name[j-1] <= '9' {
		j--
	}
	return j < i && j >= 2
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func globQuote(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(p)
}

// lsMode renders a mode as ls -l does ("drwx--S---").
func lsMode(m os.FileMode) string {
	b := []byte("----------")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&os.ModeSocket != 0:
		b[0] = 's'
	case m&os.ModeSymlink != 0:
		b[0] = 'l'
	case m&os.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&os.ModeCharDevice != 0:
		b[0] = 'c'
	case m&os.ModeDevice != 0:
		b[0] = 'b'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) != 0 {
			b[1+i] = rwx[i]
		}
	}
	special := func(pos int, set bool, on, off byte) {
		if !set {
			return
		}
		if b[pos] == '-' {
			b[pos] = off
		} else {
			b[pos] = on
		}
	}
	special(3, m&os.ModeSetuid != 0, 's', 'S')
	special(6, m&os.ModeSetgid != 0, 's', 'S')
	special(9, m&os.ModeSticky != 0, 't', 'T')
	return string(b)
}

// owner returns the names (or numbers) of the file's owner and group, as ls -l shows them.
func owner(fi os.FileInfo) (string, string) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "?", "?"
	}
	return ids.UserName(int(st.Uid)), ids.GroupName(int(st.Gid))
}
