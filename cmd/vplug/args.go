// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/govde/govde/internal/cmdutil"
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
}

// An option as getopt_long sees it.
type option struct {
	long  string
	short byte // 0: long form only
	arg   bool
}

var options = []option{
	{"daemon", 'd', false},
	{"pidfile", 'p', true},
	{"log", 'l', false},
	{"iplog", 'L', false},
	{"group", 'g', true},
	{"group2", 'G', true},
	{"mod", 'm', true},
	{"mod2", 'M', true},
	{"descr", 'D', true},
	{"port", 0, true},
	{"port2", 0, true},
	{"help", 'h', false},
}

func usageErr(format string, a ...any) error {
	return &cmdutil.UsageError{Err: fmt.Errorf(format, a...), Code: usageCode, ShowUsage: true}
}

// findLong returns the option named by name: an exact long name, or an unambiguous prefix of one
// (getopt_long abbreviations).
func findLong(name string) (*option, error) {
	var match *option
	for i := range options {
		o := &options[i]
		if o.long == name {
			return o, nil
		}
		if strings.HasPrefix(o.long, name) {
			if match != nil {
				return nil, usageErr("option '--%s' is ambiguous (--%s or --%s?)", name, match.long, o.long)
			}
			match = o
		}
	}
	if match == nil || name == "" {
		return nil, usageErr("unrecognized option '--%s'", name)
	}
	return match, nil
}

func findShort(c byte) *option {
	for i := range options {
		if options[i].short == c {
			return &options[i]
		}
	}
	return nil
}

// configFrom parses the arguments (without the program name) the way vde_plug's getopt_long does, with
// two differences: option parsing stops at the first "=" word, so that "URL = sh -c '…'" works, and
// single-dash long names (-pidfile) are accepted too. Options may come after the URLs (GNU permutation).
func configFrom(args []string) (*config, error) {
	cfg := &config{}
	var pos []string
	dashdash := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "=" {
			cfg.cmd = args[i+1:]
			if len(cfg.cmd) == 0 {
				return nil, usageErr("'=' must be followed by a command")
			}
			break
		}
		if dashdash || a == "-" || !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		if a == "--" {
			dashdash = true
			continue
		}
		// next returns the value of an option that takes one: inline, or the next word.
		next := func(name string) (string, error) {
			if i+1 >= len(args) || args[i+1] == "=" {
				return "", usageErr("option '%s' requires an argument", name)
			}
			i++
			return args[i], nil
		}
		body := strings.TrimPrefix(a, "-")
		long := strings.HasPrefix(a, "--")
		if long {
			body = a[2:]
		}
		name, val, hasVal := strings.Cut(body, "=")
		if !long && len(name) > 1 {
			// A single-dash word is a long option when it names one exactly, else a cluster of short ones.
			if o, err := findLong(name); err == nil && o.long == name {
				long = true
			}
		}
		if long {
			o, err := findLong(name)
			if err != nil {
				return nil, err
			}
			if !o.arg {
				if hasVal {
					return nil, usageErr("option '--%s' doesn't allow an argument", o.long)
				}
				val = ""
			} else if !hasVal {
				if val, err = next("--" + o.long); err != nil {
					return nil, err
				}
			}
			if err := cfg.set(o, val); err != nil {
				return nil, err
			}
			continue
		}
		for j := 0; j < len(body); j++ {
			o := findShort(body[j])
			if o == nil {
				return nil, usageErr("invalid option -- '%c'", body[j])
			}
			if !o.arg {
				if err := cfg.set(o, ""); err != nil {
					return nil, err
				}
				continue
			}
			v := body[j+1:]
			if v == "" {
				var err error
				if v, err = next("-" + string(o.short)); err != nil {
					return nil, err
				}
			}
			if err := cfg.set(o, v); err != nil {
				return nil, err
			}
			break
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
func (cfg *config) set(o *option, v string) error {
	var err error
	switch o.long {
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
