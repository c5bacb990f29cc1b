// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/internal/sched"
	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/plug"
)

// usageText is the reference's usage (vde-protocol.md 10.1), plus our --seed; printed on stderr by
// -h and after a usage error, exit 1.
const usageText = `Usage: wirefilter OPTIONS
	--help|-h
	--rcfile|-f Configuration file
	--loss|-l loss_percentage
	--lostburst|-L lost_packet_burst_len
	--delay|-d delay_ms
	--dup|-D dup_percentage
	--band|-b bandwidth(bytes/s)
	--speed|-s interface_speed(bytes/s)
	--chanbufsize|-c channel_bufsize
	--noise|-n noise_bits/megabye
	--mtu|-m mtu_size
	--nofifo|-N
	--mgmt|-M management_socket
	--mgmtmode management_permission(octal)
	--vde-plug plug1:plug2 | -v plug1:plug2
	--daemon
	--pidfile pidfile
	--blink blinksocket
	--blinkid blink_id_string
	--seed random_seed
`

// defaultMgmtMode is the reference's management socket permission.
const defaultMgmtMode os.FileMode = 0o700

// parser is wirefilter's getopt_long_only table: "hNl:n:d:M:D:m:b:s:c:v:L:f:" and the long-only
// options.
var parser = &getopt.Parser{
	Options: []getopt.Option{
		{Short: 'h', Long: "help"},
		{Short: 'f', Long: "rcfile", HasArg: getopt.RequiredArg},
		{Short: 'l', Long: "loss", HasArg: getopt.RequiredArg},
		{Short: 'L', Long: "lostburst", HasArg: getopt.RequiredArg},
		{Short: 'd', Long: "delay", HasArg: getopt.RequiredArg},
		{Short: 'D', Long: "dup", HasArg: getopt.RequiredArg},
		{Short: 'b', Long: "band", HasArg: getopt.RequiredArg},
		{Short: 's', Long: "speed", HasArg: getopt.RequiredArg},
		{Short: 'c', Long: "capacity", HasArg: getopt.RequiredArg},
		{Short: 'c', Long: "chanbufsize", HasArg: getopt.RequiredArg},
		{Short: 'n', Long: "noise", HasArg: getopt.RequiredArg},
		{Short: 'm', Long: "mtu", HasArg: getopt.RequiredArg},
		{Short: 'N', Long: "nofifo"},
		{Short: 'M', Long: "mgmt", HasArg: getopt.RequiredArg},
		{Long: "mgmtmode", HasArg: getopt.RequiredArg},
		{Short: 'v', Long: "vde-plug", HasArg: getopt.RequiredArg},
		{Long: "daemon"},
		{Long: "pidfile", HasArg: getopt.RequiredArg},
		{Long: "blink", HasArg: getopt.RequiredArg},
		{Long: "blinkid", HasArg: getopt.RequiredArg},
		{Long: "seed", HasArg: getopt.RequiredArg},
	},
	LongOnly: true,
}

// paramOf maps the value options to the engine's parameters.
var paramOf = map[byte]impair.Param{
	'l': impair.Loss, 'L': impair.LostBurst, 'd': impair.Delay, 'D': impair.Dup, 'b': impair.Bandwidth,
	's': impair.Speed, 'c': impair.ChanBufSize, 'n': impair.Noise, 'm': impair.MTU,
}

// A setting is one value option, applied in command-line order.
type setting struct {
	p   impair.Param
	arg string
}

// config is what the command line asks for.
type config struct {
	help     bool
	rcfile   string
	sets     []setting
	nofifo   bool
	mgmt     string
	mgmtMode os.FileMode
	plugs    bool   // -v or positional URLs: left and right are plug URLs ("-": stdin/stdout)
	left     string // URL of the left side (frames from it go LR)
	right    string
	daemon   bool
	pidfile  string
	blink    string
	blinkID  string
	seed     uint64
	seeded   bool
	sched    sched.Mode // GOVDE_SCHED
}

func newApp() *cli.App {
	app := cmdutil.NewApp("wirefilter", "a VDE cable with impairments")
	// Options are parsed by configFrom (getopt_long_only), not by urfave/cli.
	app.SkipFlagParsing = true
	app.HideHelp = true
	app.HideVersion = true
	app.UseShortOptionHandling = false
	app.Action = run
	return app
}

// usageErr is a usage error: the message, then the usage text, exit 1.
func usageErr(format string, a ...any) error {
	return &cmdutil.UsageError{Err: fmt.Errorf(format, a...), Code: 1}
}

// valueErr is a bad option value: one line, exit 1 (the reference ignores it silently).
func valueErr(err error) error { return cmdutil.Exitf(1, "%v", err) }

// configFrom parses the arguments (without the program name) as wirefilter's getopt_long_only does.
// It checks every value but opens nothing.
func configFrom(args []string) (*config, error) {
	cfg := &config{mgmtMode: defaultMgmtMode}
	opts, pos, err := parser.Parse(args)
	if err != nil {
		return nil, usageErr("%s", err)
	}
	for _, o := range opts {
		if p, ok := paramOf[o.Short]; ok {
			if _, err := impair.ParseValue(o.Arg, 1); err != nil {
				return nil, valueErr(fmt.Errorf("--%s: %w", o.Long, err))
			}
			cfg.sets = append(cfg.sets, setting{p, o.Arg})
			continue
		}
		switch o.Long {
		case "help":
			cfg.help = true
		case "rcfile":
			cfg.rcfile = o.Arg
		case "nofifo":
			cfg.nofifo = true
		case "mgmt":
			cfg.mgmt = o.Arg
		case "mgmtmode":
			m, err := strconv.ParseUint(o.Arg, 8, 32)
			if err != nil || m > 0o7777 {
				return nil, valueErr(fmt.Errorf("--mgmtmode %s: not an octal permission", o.Arg))
			}
			cfg.mgmtMode = os.FileMode(m)
		case "vde-plug":
			l, r, ok := splitPlugs(o.Arg)
			if !ok {
				return nil, usageErr("-v %s: want plug1:plug2", o.Arg)
			}
			cfg.plugs, cfg.left, cfg.right = true, l, r
		case "daemon":
			cfg.daemon = true
		case "pidfile":
			cfg.pidfile = o.Arg
		case "blink":
			cfg.blink = o.Arg
		case "blinkid":
			cfg.blinkID = o.Arg
		case "seed":
			n, err := strconv.ParseUint(o.Arg, 0, 64)
			if err != nil {
				return nil, valueErr(fmt.Errorf("--seed %s: want an unsigned integer", o.Arg))
			}
			cfg.seed, cfg.seeded = n, true
		}
	}
	if cfg.help {
		return cfg, nil
	}
	switch {
	case len(pos) > 0 && cfg.plugs:
		return nil, usageErr("unexpected argument %q: -v already names both sides", pos[0])
	case len(pos) > 2:
		return nil, usageErr("too many arguments %q: want at most URL_L URL_R", pos)
	case len(pos) == 2:
		cfg.plugs, cfg.left, cfg.right = true, pos[0], pos[1]
	case len(pos) == 1:
		cfg.plugs, cfg.left, cfg.right = true, pos[0], "-"
	}
	return cfg, nil
}

// splitPlugs splits -v's argument into its two URLs. The reference splits at the first colon, which
// is right for two paths ("/tmp/sw1:/tmp/sw2"). A URL with a scheme has colons of its own, so the
// first colon not followed by "//" whose two sides both parse as plug URLs, the right one starting
// like a URL (a scheme, a path or "-"), is taken; failing that, the first colon, as the reference.
func splitPlugs(s string) (l, r string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != ':' || strings.HasPrefix(s[i+1:], "//") {
			continue
		}
		l, r = s[:i], s[i+1:]
		if !validURL(l) || !validURL(r) {
			continue
		}
		if r == "-" || strings.Contains(r, "://") || strings.HasPrefix(r, "/") || strings.HasPrefix(r, ".") {
			return l, r, true
		}
	}
	return strings.Cut(s, ":")
}

func validURL(u string) bool {
	if u == "-" {
		return true
	}
	_, err := plug.ParseURL(u)
	return err == nil
}

func run(c *cli.Context) error {
	cfg, err := configFrom(c.Args().Slice())
	var ue *cmdutil.UsageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(c.App.ErrWriter, "%s: %s\n%s", c.App.Name, ue.Err, usageText)
		return cmdutil.Exit(1)
	case err != nil:
		return err
	case cfg.help:
		fmt.Fprint(c.App.ErrWriter, usageText)
		return cmdutil.Exit(1)
	}
	return serve(c, cfg)
}
