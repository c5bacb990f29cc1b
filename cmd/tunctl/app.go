// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/internal/ids"
	"github.com/govde/govde/pkg/tap"
	"github.com/urfave/cli/v2"
)

// usageText is printed by -h (stdout, exit 0) and after a usage error (stderr, exit 1). %[1]s is the
// program name as invoked. The first lines are vde_tunctl's.
const usageText = `Create: %[1]s [-b] [-u owner] [-g group] [-n] [-t device-name] [-f tun-clone-device]
Delete: %[1]s -d device-name [-f tun-clone-device]

The default tun clone device is /dev/net/tun - some systems use
/dev/misc/net/tun instead

-b will result in brief output (just the device name)
-n create a tun interface (not needed if the device name prefix is tun
-h print this help
`

// config is a parsed command line.
type config struct {
	help     bool
	brief    bool
	delete   bool
	tun      bool   // -n
	name     string // -t or -d
	owner    int    // -1 when not given
	group    int    // -1 when not given
	cloneDev string
}

// kind returns TUN when -n was given or the name starts with "tun", as in vde_tunctl.
func (c config) kind() tap.Kind {
	if c.tun || strings.HasPrefix(c.name, "tun") {
		return tap.TUN
	}
	return tap.TAP
}

// A usageError prints msg (when not empty) and the usage on stderr, then exits 1.
type usageError struct{ msg string }

func (e *usageError) Error() string {
	if e.msg == "" {
		return "usage"
	}
	return e.msg
}

// parser is vde_tunctl's getopt(3) string "bd:f:t:u:in" plus g (which it advertises but rejects)
// and h. It has no long options, so "--x" is the invalid option '-', as in vde_tunctl.
var parser = &getopt.Parser{Options: []getopt.Option{
	{Short: 'b'}, {Short: 'n'}, {Short: 'h'}, {Short: 'i'},
	{Short: 'd', HasArg: getopt.RequiredArg}, {Short: 'f', HasArg: getopt.RequiredArg},
	{Short: 't', HasArg: getopt.RequiredArg}, {Short: 'u', HasArg: getopt.RequiredArg},
	{Short: 'g', HasArg: getopt.RequiredArg},
}}

// parseArgs parses args (without the program name) like getopt(3) with GNU argument permutation:
// clustered flags (-bt tap0), attached arguments (-ttap0) and "--" are accepted, and --help is -h.
// It never touches the system except for user and group lookups.
func parseArgs(prog string, args []string) (config, error) {
	c := config{owner: -1, group: -1, cloneDev: tap.DefaultCloneDev}
	s := parser.Scan(args)
	for {
		o, ok := s.Next()
		if !ok {
			break
		}
		switch o.Short {
		case 'i':
			return c, &usageError{} // in vde_tunctl's getopt string but not handled: bare usage
		case 'b':
			c.brief = true
		case 'n':
			c.tun = true
		case 'h':
			c.help = true
		default:
			if err := c.set(o.Short, o.Arg); err != nil {
				return c, err
			}
		}
	}
	var ge *getopt.Error
	if errors.As(s.Err(), &ge) {
		if ge.Opt == "-" && args[ge.Index] == "--help" {
			c.help = true
			return c, nil
		}
		return c, &usageError{fmt.Sprintf("%s: %s", prog, ge.Msg)}
	}
	if c.help {
		return c, nil
	}
	if len(s.Args()) > 0 {
		return c, &usageError{}
	}
	return c, nil
}

// set applies option o with value v.
func (c *config) set(o byte, v string) error {
	switch o {
	case 'd':
		c.delete, c.name = true, v
	case 't':
		c.name = v
	case 'f':
		c.cloneDev = v
	case 'u':
		id, ok := lookupID(v, ids.UserByName)
		if !ok {
			return &usageError{fmt.Sprintf("'%s' is neither a username nor a numeric uid.", v)}
		}
		c.owner = id
	case 'g':
		id, ok := lookupID(v, ids.GroupByName)
		if !ok {
			return &usageError{fmt.Sprintf("'%s' is neither a groupname nor a numeric gid.", v)}
		}
		c.group = id
	}
	return nil
}

// lookupID parses v as a number in C notation (decimal, 0x hex, 0 octal; "" is 0, as strtol gives)
// or else looks it up as a name.
func lookupID(v string, byName func(string) (int, error)) (int, bool) {
	if v == "" {
		return 0, true
	}
	if n, err := parseCInt(v); err == nil {
		return n, true
	}
	n, err := byName(v)
	return n, err == nil
}

// parseCInt parses a 32-bit integer as strtol(s, &end, 0) does: optional sign, then 0x hex, 0 octal
// or decimal.
func parseCInt(s string) (int, error) {
	t := s
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg, t = t[0] == '-', t[1:]
	}
	base := 10
	switch {
	case len(t) > 2 && (t[:2] == "0x" || t[:2] == "0X"):
		base, t = 16, t[2:]
	case len(t) > 1 && t[0] == '0':
		base, t = 8, t[1:]
	}
	if t == "" || t[0] == '+' || t[0] == '-' {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(t, base, 33)
	if err != nil || n > 1<<32-1 {
		return 0, strconv.ErrSyntax
	}
	if neg {
		n = -n
	}
	return int(int32(n)), nil
}

func newApp() *cli.App {
	app := cmdutil.NewApp("tunctl", "create and delete persistent TAP/TUN devices")
	app.SkipFlagParsing = true // getopt(3)-exact parsing and messages, see parseArgs
	app.HideHelp = true
	app.HideVersion = true
	app.Action = run
	return app
}

func run(c *cli.Context) error {
	prog := os.Args[0] // as vde_tunctl and getopt(3) print it: as invoked, path included
	cfg, err := parseArgs(prog, c.Args().Slice())
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.msg != "" {
			fmt.Fprintln(c.App.ErrWriter, ue.msg)
		}
		fmt.Fprintf(c.App.ErrWriter, usageText, prog)
		return cmdutil.Exit(1)
	}
	if cfg.help {
		fmt.Fprintf(c.App.Writer, usageText, prog)
		return nil
	}
	return apply(c.App.Writer, c.App.ErrWriter, cfg, os.Geteuid())
}

// apply creates (makes persistent, sets owner and group) or deletes (makes non-persistent) the
// device and prints vde_tunctl's lines; euid is the owner when neither -u nor -g was given.
func apply(w, ew io.Writer, cfg config, euid int) error {
	name := cfg.name
	if len(name) > 15 {
		name = name[:15] // the kernel's IFNAMSIZ-1, as strncpy in vde_tunctl
	}
	d, err := tap.OpenConfig(tap.Config{Name: name, Kind: cfg.kind(), CloneDev: cfg.cloneDev})
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Op == "open" {
			fmt.Fprintf(ew, "Failed to open '%s' : %s\n", cfg.cloneDev, strerror(pe.Err))
		} else {
			fmt.Fprintf(ew, "TUNSETIFF: %s\n", strerror(err))
		}
		return cmdutil.Exit(1)
	}
	defer d.Close()
	fail := func(what string, err error) error {
		fmt.Fprintf(ew, "%s: %s\n", what, strerror(err))
		return cmdutil.Exit(1)
	}
	if cfg.delete {
		if err := d.SetPersist(false); err != nil {
			return fail("TUNSETPERSIST", err)
		}
		fmt.Fprintf(w, "Set '%s' nonpersistent\n", d.Name())
		return nil
	}
	owner, group := cfg.owner, cfg.group
	if owner == -1 && group == -1 {
		owner = euid
	}
	if owner != -1 {
		if err := d.SetOwner(owner); err != nil {
			return fail("TUNSETOWNER", err)
		}
	}
	if group != -1 {
		if err := d.SetGroup(group); err != nil {
			return fail("TUNSETGROUP", err)
		}
	}
	if err := d.SetPersist(true); err != nil {
		return fail("TUNSETPERSIST", err)
	}
	if cfg.brief {
		fmt.Fprintln(w, d.Name())
		return nil
	}
	line := fmt.Sprintf("Set '%s' persistent and owned by", d.Name())
	if owner != -1 {
		line += fmt.Sprintf(" uid %d", owner)
	}
	if group != -1 {
		line += fmt.Sprintf(" gid %d", group)
	}
	fmt.Fprintln(w, line)
	return nil
}

// strerror returns the C library's text for the errno inside err ("No such file or directory"),
// or err's text.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	return err.Error()
}
