// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/govde/govde/internal/buildinfo"
	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/ids"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vde"
	"github.com/govde/govde/pkg/vswitch"
	"github.com/urfave/cli/v2"
)

// Flags. Single-dash long forms (-sock, -hub, -daemon …) work as with vde_switch's getopt_long_only.
var (
	helpFlag     = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}}
	versionFlag  = &cli.BoolFlag{Name: "version", Aliases: []string{"v"}}
	numportsFlag = &cli.StringFlag{Name: "numports", Aliases: []string{"n"}}
	hubFlag      = &cli.BoolFlag{Name: "hub", Aliases: []string{"x"}}
	fstpFlag     = &cli.BoolFlag{Name: "fstp", Aliases: []string{"F"}}
	macFlag      = &cli.StringFlag{Name: "macaddr"}
	priorityFlag = &cli.StringFlag{Name: "priority"}
	hashsizeFlag = &cli.StringFlag{Name: "hashsize"}
	hashmaxFlag  = &cli.StringFlag{Name: "hashmax"}
	sockFlag     = &cli.StringFlag{Name: "sock", Aliases: []string{"s", "vdesock", "unix"}}
	modeFlag     = &cli.StringFlag{Name: "mode", Aliases: []string{"m", "mod"}}
	dirmodeFlag  = &cli.StringFlag{Name: "dirmode"}
	groupFlag    = &cli.StringFlag{Name: "group", Aliases: []string{"g"}}
	daemonFlag   = &cli.BoolFlag{Name: "daemon", Aliases: []string{"d"}}
	pidfileFlag  = &cli.StringFlag{Name: "pidfile", Aliases: []string{"p"}}
	rcfileFlag   = &cli.StringFlag{Name: "rcfile", Aliases: []string{"f"}}
	mgmtFlag     = &cli.StringFlag{Name: "mgmt", Aliases: []string{"M"}}
	mgmtModeFlag = &cli.StringFlag{Name: "mgmtmode"}
	mgmtGrpFlag  = &cli.StringFlag{Name: "mgmtgroup"}
	debugclFlag  = &cli.StringFlag{Name: "debugclients", Aliases: []string{"D"}}
)

// tapList collects -t/--tap values in command-line order. urfave/cli refuses two spellings of one flag
// ("-t a --tap b"), so -t and --tap are two flags sharing one tapList.
type tapList []string

func (l *tapList) Set(s string) error { *l = append(*l, s); return nil }
func (l *tapList) String() string     { return strings.Join(*l, ",") }

// usageText is printed by -h (on stdout, exit 1) and after a bad option; man/vswitch.1 says the same.
const usageText = `Usage: %[1]s [OPTIONS]
Runs a VDE switch.
(global opts)
  -h, --help                 Display this help and exit
  -v, --version              Display version information and exit
  -n, --numports N           Number of ports, port 0 included (default 32)
  -x, --hub                  Make the switch act as a hub
  -F, --fstp                 Activate the fast spanning tree protocol
      --macaddr MAC          Set the switch MAC address
      --priority N           Set the priority for FST (MAC extension)
      --hashsize N           Hash table size
      --hashmax N            Most MAC addresses learned, 0 = no limit (default 262144)
(data socket opts)
  -s, --sock SOCK            control directory pathname
  -s, --vdesock SOCK         Same as --sock SOCK
  -s, --unix SOCK            Same as --sock SOCK
  -m, --mode MODE            Permissions for the control socket (octal)
      --dirmode MODE         Permissions for the sockets directory (octal)
  -g, --group GROUP          Group owner for comm sockets
(management opts)
  -d, --daemon               Run in the background once the sockets accept connections
  -p, --pidfile PIDFILE      Write pid of daemon to PIDFILE
  -f, --rcfile FILE          Configuration file (default ~/.vde2/vde_switch.rc, then /etc/vde2/vde_switch.rc)
  -M, --mgmt SOCK            path of the management UNIX socket
      --mgmtmode MODE        management UNIX socket access mode (octal)
      --mgmtgroup GROUP      management UNIX socket group name
  -D, --debugclients N       accepted for compatibility, ignored
(tap opts)
  -t, --tap TAP              Attach TAP interface TAP to a port (repeatable)

Report bugs at https://github.com/govde/govde/issues
`

// versionText is printed by -v (on stdout, exit 0).
const versionText = `%s vswitch %s
Copyright 2026 The %[1]s authors
A drop-in replacement for vde_switch from VDE 2.3.2 (Copyright 2003-2011 Renzo Davoli).
%[1]s comes with NO WARRANTY, to the extent permitted by law.
You may redistribute copies of %[1]s under the terms of the
GNU General Public License, version 2 or later.
For more information about these matters, see the file
named COPYING.
`

func newApp() *cli.App {
	app := cmdutil.NewApp(progName(), "Runs a VDE switch.")
	app.HideHelp = true
	app.HideVersion = true
	// Our -h/-v are ordinary flags handled by run: -h prints our usage and exits 1, as vde_switch does.
	cli.HelpFlag = nil
	taps := &tapList{}
	app.Flags = []cli.Flag{helpFlag, versionFlag, numportsFlag, hubFlag, fstpFlag, macFlag, priorityFlag,
		hashsizeFlag, hashmaxFlag, sockFlag, modeFlag, dirmodeFlag, groupFlag, daemonFlag, pidfileFlag, rcfileFlag,
		mgmtFlag, mgmtModeFlag, mgmtGrpFlag, debugclFlag,
		&cli.GenericFlag{Name: "tap", Value: taps}, &cli.GenericFlag{Name: "t", Value: taps}}
	app.OnUsageError = func(c *cli.Context, err error, _ bool) error {
		fmt.Fprintf(c.App.Writer, usageText, c.App.Name)
		return &cmdutil.UsageError{Err: err, Code: 1}
	}
	app.Action = run
	return app
}

// progName is the name we log under: vswitch, or vde_switch when invoked so.
func progName() string {
	if n := cmdutil.ProgName(); n == "vde_switch" {
		return n
	}
	return "vswitch"
}

// config is everything the command line decides.
type config struct {
	sw        vswitch.Config
	dir       string
	listen    vde.ListenOptions
	daemon    bool
	pidfile   string // as given; made absolute against the original cwd by run
	rcfile    string // "" → default locations
	mgmt      string
	mgmtMode  uint32
	mgmtGroup int
	taps      []string
	warnings  []string // printed before starting (hash size rounding)
}

func tapsOf(c *cli.Context) []string {
	if l, ok := c.Generic("tap").(*tapList); ok && len(*l) > 0 {
		return append([]string(nil), *l...)
	}
	return nil
}

// defaultDir is the control directory by effective uid, as vde_switch chooses it.
func defaultDir(euid int) string {
	if euid == 0 {
		return "/var/run/vde.ctl"
	}
	return "/tmp/vde.ctl"
}

// parseCInt parses a whole flag value like sscanf("%i"): decimal, 0x hex or 0 octal, optional sign.
func parseCInt(flag, s string) (int, error) {
	v, n, ok := mgmt.ScanInt(s, 'i')
	if !ok || n != len(s) {
		return 0, cmdutil.UsageErrorf("--%s %s: not a number", flag, s)
	}
	return v, nil
}

// parseOctal parses a mode like sscanf("%o").
func parseOctal(flag, s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0o"), 8, 32)
	if err != nil || v > 0o7777 {
		return 0, cmdutil.UsageErrorf("--%s %s: not an octal mode", flag, s)
	}
	return uint32(v), nil
}

// lookupGroup resolves a group name like getgrnam: a number is no group ("No such group '0'"), as in
// vde_switch.
func lookupGroup(name string) (int, error) {
	gid, err := ids.GroupByName(name)
	if err != nil {
		return 0, cmdutil.Exitf(1, "No such group '%s'", name)
	}
	return gid, nil
}

// parseMAC accepts vde_switch's notations: %x:%x:%x:%x:%x:%x or with '.'.
func parseMAC(s string) (frame.MAC, error) {
	m, err := frame.ParseMAC(s)
	if err != nil {
		return m, &cmdutil.UsageError{Err: fmt.Errorf("Invalid MAC Addr %s", s), Code: 1}
	}
	return m, nil
}

// configFrom turns the command line into a config. It does not touch sockets or files (group names are
// resolved through the group database).
func configFrom(c *cli.Context, euid int) (config, error) {
	cfg := config{
		sw:        vswitch.Config{NumPorts: vswitch.DefaultNumPorts, Hub: c.Bool("hub"), FSTP: c.Bool("fstp"), Group: vde.NoGroup, GroupSet: true},
		dir:       defaultDir(euid),
		listen:    vde.ListenOptions{Group: vde.NoGroup, MgmtGroup: vde.NoGroup},
		daemon:    c.Bool("daemon"),
		pidfile:   c.String("pidfile"),
		rcfile:    c.String("rcfile"),
		mgmt:      c.String("mgmt"),
		mgmtMode:  vde.DefaultMgmtMode,
		mgmtGroup: vde.NoGroup,
		taps:      tapsOf(c),
	}
	if c.NArg() > 0 {
		return cfg, &cmdutil.UsageError{Err: fmt.Errorf("unexpected argument %q", c.Args().First()), Code: 1}
	}
	if c.IsSet("numports") {
		n, err := parseCInt("numports", c.String("numports"))
		if err != nil {
			return cfg, err
		}
		if n < 1 {
			return cfg, cmdutil.Exitf(1, "The switch must have at least 1 port\n")
		}
		if n > vswitch.MaxPorts {
			return cfg, cmdutil.UsageErrorf("--numports %d: at most %d", n, vswitch.MaxPorts)
		}
		cfg.sw.NumPorts = n
	}
	if c.IsSet("macaddr") {
		m, err := parseMAC(c.String("macaddr"))
		if err != nil {
			return cfg, err
		}
		cfg.sw.MAC = m
	}
	if c.IsSet("priority") {
		p, err := parseCInt("priority", c.String("priority"))
		if err != nil {
			return cfg, err
		}
		cfg.sw.Priority = uint16(p & 0xffff)
	}
	if c.IsSet("hashsize") {
		n, err := parseCInt("hashsize", c.String("hashsize"))
		if err != nil {
			return cfg, err
		}
		if n < 1 || n > 1<<24 {
			return cfg, cmdutil.UsageErrorf("--hashsize %d: want 1..%d", n, 1<<24)
		}
		p := 1
		for p < n {
			p <<= 1
		}
		if p != n {
			cfg.warnings = append(cfg.warnings, fmt.Sprintf("Hash size must be a power of 2. %d rounded to %d", n, p))
		}
		cfg.sw.HashSize = p
	}
	if c.IsSet("hashmax") {
		n, err := parseCInt("hashmax", c.String("hashmax"))
		if err != nil {
			return cfg, err
		}
		if n < 0 {
			return cfg, cmdutil.UsageErrorf("--hashmax %d: want 0 (no limit) or more", n)
		}
		cfg.sw.HashMax = n
		if n == 0 {
			cfg.sw.HashMax = -1
		}
	}
	if s := c.String("sock"); s != "" {
		cfg.dir = s
	}
	var mode, dirmode *uint32
	if c.IsSet("mode") {
		m, err := parseOctal("mode", c.String("mode"))
		if err != nil {
			return cfg, err
		}
		mode = &m
	}
	if c.IsSet("dirmode") {
		d, err := parseOctal("dirmode", c.String("dirmode"))
		if err != nil {
			return cfg, err
		}
		dirmode = &d
	}
	cfg.listen.Mode, cfg.listen.DirMode = vde.Modes(mode, dirmode)
	cfg.sw.DataMode = cfg.listen.Mode
	if c.IsSet("group") {
		gid, err := lookupGroup(c.String("group"))
		if err != nil {
			return cfg, err
		}
		cfg.listen.Group, cfg.sw.Group = gid, gid
	}
	if c.IsSet("mgmtmode") {
		m, err := parseOctal("mgmtmode", c.String("mgmtmode"))
		if err != nil {
			return cfg, err
		}
		cfg.mgmtMode = m
	}
	if c.IsSet("mgmtgroup") {
		gid, err := lookupGroup(c.String("mgmtgroup"))
		if err != nil {
			return cfg, err
		}
		cfg.mgmtGroup = gid
	}
	cfg.listen.MgmtMode, cfg.listen.MgmtGroup = cfg.mgmtMode, cfg.mgmtGroup
	cfg.sw.MgmtPortMode = cfg.mgmtMode
	if c.IsSet("debugclients") {
		if _, err := parseCInt("debugclients", c.String("debugclients")); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// run is the action: -h and -v, then the switch.
func run(c *cli.Context) error {
	if c.Bool("help") {
		fmt.Fprintf(c.App.Writer, usageText, c.App.Name)
		return cmdutil.Exit(1)
	}
	if c.Bool("version") {
		fmt.Fprintf(c.App.Writer, versionText, buildinfo.Name, buildinfo.Version)
		return nil
	}
	cfg, err := configFrom(c, os.Geteuid())
	if err != nil {
		var ue *cmdutil.UsageError
		if errors.As(err, &ue) && ue.Code == 1 {
			fmt.Fprintf(c.App.Writer, usageText, c.App.Name)
		}
		return err
	}
	return serve(c, cfg)
}
