// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/pkg/plug"
)

// usageCode is vde_plug's exit status for usage errors (it exits -1).
const usageCode = 255

// config is what the command line asks for.
type config struct {
	daemon        bool
	pidfile       string
	log, iplog    bool
	group, group2 string
	mode, mode2   os.FileMode // 0: default
	port, port2   int
	descr         string
	help          bool
	urls          []string // one or two; "" is the default switch
	cmd           []string // the command after "=", or nil
	shell         bool     // -c vde_plug: run as a user's login shell (log, and -L for vdeplug_iplog)
}

// parser is vde_plug's getopt_long table ("c:hp:dm:M:g:G:lLD:").
var parser = &getopt.Parser{
	Options: []getopt.Option{
		{Short: 'd', Long: "daemon"},
		{Short: 'p', Long: "pidfile", HasArg: getopt.RequiredArg},
		{Short: 'l', Long: "log"},
		{Short: 'L', Long: "iplog"},
		{Short: 'g', Long: "group", HasArg: getopt.RequiredArg},
		{Short: 'G', Long: "group2", HasArg: getopt.RequiredArg},
		{Short: 'm', Long: "mod", HasArg: getopt.RequiredArg},
		{Short: 'M', Long: "mod2", HasArg: getopt.RequiredArg},
		{Short: 'D', Long: "descr", HasArg: getopt.RequiredArg},
		{Long: "port", HasArg: getopt.RequiredArg},
		{Long: "port2", HasArg: getopt.RequiredArg},
		{Short: 'h', Long: "help"},
		{Short: 'c', HasArg: getopt.RequiredArg},
	},
	SingleDashExact: true,
	Stop:            "=",
}

func usageErr(format string, a ...any) error {
	return &cmdutil.UsageError{Err: fmt.Errorf(format, a...), Code: usageCode, ShowUsage: true}
}

// configFrom parses the arguments (without the program name) the way vde_plug's getopt_long does, with
// two differences: option parsing stops at the first "=" word, so that "URL = sh -c '…'" works, and
// single-dash long names (-pidfile) are accepted too. Options may come after the URLs (GNU permutation).
func configFrom(args []string) (*config, error) {
	cfg := &config{}
	opts, pos, err := parser.Parse(args)
	if err != nil {
		return nil, usageErr("%s", err)
	}
	for _, o := range opts {
		if o.Short == 'c' {
			// Like vde_plug, the first -c that is not vde_plug ends parsing with the broker message
			// (unless -h came first).
			switch {
			case cfg.help:
			case !slices.Contains(shellCommands, o.Arg):
				return nil, errShell
			default:
				cfg.shell, cfg.log = true, true
			}
			continue
		}
		if err := cfg.set(o.Long, o.Arg); err != nil {
			return nil, err
		}
	}
	if i := slices.Index(pos, "="); i >= 0 {
		pos, cfg.cmd = pos[:i], pos[i+1:]
		if len(cfg.cmd) == 0 {
			return nil, usageErr("'=' must be followed by a command")
		}
	}
	if cfg.help {
		return cfg, nil
	}
	switch {
	case cfg.cmd != nil && len(pos) > 1:
		return nil, usageErr("too many URLs before '=' (%q): want at most one", pos)
	case len(pos) > 2:
		return nil, usageErr("too many arguments (%q): want at most two URLs, or URL = COMMAND", pos)
	case len(pos) == 0:
		pos = []string{""}
	}
	cfg.urls = pos
	return cfg, nil
}

// set stores one option's value, checking it.
func (cfg *config) set(long, v string) error {
	var err error
	switch long {
	case "daemon":
		cfg.daemon = true
	case "pidfile":
		if v == "" {
			return usageErr("-p: empty pidfile name")
		}
		cfg.pidfile = v
	case "log":
		cfg.log = true
	case "iplog":
		cfg.log, cfg.iplog = true, true
	case "group":
		cfg.group = v
	case "group2":
		cfg.group2 = v
	case "mod":
		cfg.mode, err = parseMode("-m", v)
	case "mod2":
		cfg.mode2, err = parseMode("-M", v)
	case "descr":
		cfg.descr = v
	case "port":
		cfg.port, err = parsePort("--port", v)
	case "port2":
		cfg.port2, err = parsePort("--port2", v)
	case "help":
		cfg.help = true
	}
	return err
}

func parseMode(opt, v string) (os.FileMode, error) {
	m, err := plug.ParseMode(v)
	if err != nil {
		return 0, usageErr("%s %s: want an octal permission such as 0660", opt, v)
	}
	return m, nil
}

func parsePort(opt, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 1<<23-1 {
		return 0, usageErr("%s %s: want a port number > 0", opt, v)
	}
	return n, nil
}
