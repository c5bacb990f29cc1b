// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/plug"
	"github.com/govde/govde/pkg/tap"
	"github.com/govde/govde/pkg/vde"
	"github.com/urfave/cli/v2"
)

// descrPrefix starts the description the switch shows in port/print ("plug2tap: user=… pid=…").
const descrPrefix = "plug2tap:"

// maxPort is the largest port number a v3 request can carry (24 bits, signed).
const maxPort = 1<<23 - 1

const helpTemplate = `Usage: {{.Name}} [OPTION]... tap_name

  -p, --port=portnum          Port number in the VDE switch
  -g, --group=group           Group for the socket
  -m, --mode=mode             Octal mode for the socket (also --mod)
  -s, --sock=socket           VDE switch control socket or dir, or a VDE plug URL;
                              - for the VDE stream on stdin/stdout
  -d, --daemon                Launch in background
  -P, --pidfile=pidfile       Create pidfile with our PID
  -h, --help                  This help
`

func newApp() *cli.App {
	app := cmdutil.NewApp("plug2tap", "connect a VDE switch to a Linux TAP interface")
	app.ArgsUsage = "tapname"
	app.SkipFlagParsing = true // getopt_long_only, see parseArgs
	app.CustomAppHelpTemplate = helpTemplate
	app.HideVersion = true
	app.Action = run
	return app
}

// config is a validated command line.
type config struct {
	tap     string
	sock    string // "" for the default switch, "-" for stdin/stdout
	port    int
	group   string
	mode    os.FileMode
	daemon  bool
	pidfile string // absolute
}

// configFrom checks the command line; it touches nothing but the working directory's name.
func configFrom(c *cli.Context) (config, error) {
	a, err := parseArgs(c.Args().Slice())
	if err != nil {
		return config{}, err
	}
	if a.isSet('h') {
		return config{}, errHelp
	}
	cfg := config{sock: a.opt['s'], group: a.opt['g'], daemon: a.isSet('d')}
	switch len(a.operands) {
	case 0:
		return cfg, cmdutil.UsageErrorf("missing TAP interface name")
	case 1:
	default:
		return cfg, cmdutil.UsageErrorf("unexpected argument %q after the TAP name %q", a.operands[1], a.operands[0])
	}
	cfg.tap = a.operands[0]
	if cfg.tap == "" || len(cfg.tap) > 15 {
		return cfg, cmdutil.UsageErrorf("TAP name %q: want 1 to 15 characters", cfg.tap)
	}
	if a.isSet('p') {
		p, err := strconv.Atoi(a.opt['p'])
		if err != nil || p <= 0 || p > maxPort {
			return cfg, cmdutil.UsageErrorf("-p %q: want a port number 1..%d", a.opt['p'], maxPort)
		}
		cfg.port = p
	}
	if a.isSet('m') {
		m, err := strconv.ParseUint(a.opt['m'], 8, 32)
		if err != nil || m > 0o777 {
			return cfg, cmdutil.UsageErrorf("-m %q: want an octal permission mode such as 0770", a.opt['m'])
		}
		cfg.mode = os.FileMode(m)
	}
	if a.isSet('g') && cfg.group == "" {
		return cfg, cmdutil.UsageErrorf("-g \"\": want a group name or number")
	}
	if p := a.opt['P']; p != "" {
		abs, err := filepath.Abs(p) // against the original working directory: the daemon runs in /
		if err != nil {
			return cfg, fmt.Errorf("pidfile %s: %w", p, err)
		}
		cfg.pidfile = abs
	}
	if cfg.daemon && cfg.sock == "-" {
		return cfg, cmdutil.UsageErrorf("-d with -s -: a daemon has no stdin/stdout to speak the stream on")
	}
	return cfg, nil
}

// errHelp is configFrom's answer to -h: print the help and exit 0.
var errHelp = errors.New("help requested")

func run(c *cli.Context) error {
	cfg, err := configFrom(c)
	if errors.Is(err, errHelp) {
		return cli.ShowAppHelp(c)
	}
	if err != nil {
		return err
	}
	ready := daemon.Detach() // the link to the waiting parent when we are the -d child
	if cfg.daemon && ready == nil {
		return daemon.Start(daemonTimeout) // the parent returns once the child is set up (or failed)
	}
	return serve(c.Context, cfg, ready)
}

// daemonTimeout bounds how long -d waits for the daemon to connect.
const daemonTimeout = 30 * time.Second

// serve connects the switch (or the stream) and the TAP, writes the pidfile and copies frames until
// one side goes away or ctx ends.
func serve(ctx context.Context, cfg config, ready *daemon.Child) (err error) {
	defer func() {
		if ready != nil && err != nil {
			ready.Fail(1, cmdutil.Message(err))
			err = cmdutil.Exit(1) // the parent prints it
		}
	}()
	var sw frame.Endpoint
	if cfg.sock == "-" {
		var restore func()
		sw, restore = openStdio()
		defer restore()
	} else {
		sw, err = plug.Open(ctx, cfg.sock, plug.Options{
			Descr: vde.Description(descrPrefix),
			Group: cfg.group,
			Mode:  cfg.mode,
			Port:  cfg.port,
		})
	}
	if err != nil {
		return err
	}
	dev, err := tap.Open(cfg.tap)
	if err != nil {
		sw.Close()
		return err
	}
	if cfg.pidfile != "" {
		if err := writePidfile(cfg.pidfile); err != nil {
			sw.Close()
			dev.Close()
			return err
		}
		defer os.Remove(cfg.pidfile)
	}
	var logw io.Writer
	if ready != nil {
		if l, err := syslog.New(syslog.LOG_USER|syslog.LOG_INFO, "plug2tap"); err == nil {
			l.Info("plug2tap started")
			defer l.Close()
			logw = l
		}
		ready.Ready()
		ready = nil
		os.Chdir("/") // like daemon(3); the pidfile path was made absolute by configFrom
	}
	jerr := tap.Join(ctx, dev, sw, nil)
	if jerr != nil && logw != nil {
		fmt.Fprintf(logw, "plug2tap %s: %v", cfg.tap, jerr)
	}
	return jerr
}

// writePidfile creates path exclusively (as vde_switch does) and writes our pid to it.
func writePidfile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	_, err = fmt.Fprintf(f, "%d\n", os.Getpid())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("pidfile: %w", err)
	}
	return nil
}
