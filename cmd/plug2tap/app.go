// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/sched"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/plug"
	"github.com/govde/govde/pkg/relay"
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
	if err := sched.SetHot(os.Getenv(sched.HotEnvVar)); err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	mode, err := sched.ParseMode(os.Getenv(sched.EnvVar))
	if err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	opts := daemon.Options{Name: "plug2tap", Background: cfg.daemon, Pidfile: cfg.pidfile, Timeout: daemonTimeout}
	return daemon.Run(c.Context, opts, func(ctx context.Context, d *daemon.Process) error {
		return serve(ctx, cfg, mode, d)
	})
}

// daemonTimeout bounds how long -d waits for the daemon to connect.
const daemonTimeout = 30 * time.Second

// serve connects the switch (or the stream) and the TAP, writes the pidfile and copies frames until
// one side goes away or ctx ends. Errors before d.Ready are startup errors (daemon.Run hands them to
// the waiting -d parent); the daemon logs "plug2tap started" to syslog. While a bulk flow passes, the
// process runs under SCHED_BATCH unless mode is sched.Normal (sched.Follow).
func serve(ctx context.Context, cfg config, mode sched.Mode, d *daemon.Process) (err error) {
	// Opened raw, the switch (or stream) and the TAP let relay.Join take its poll(2) fast path. The TAP
	// has offloads where the kernel grants them: it cuts the 64 KB segments it reads into frames and
	// joins the TCP segments written to it, so the switch still sees ordinary frames.
	var sw frame.Endpoint
	if cfg.sock == "-" {
		sw, err = plug.OpenStdio()
	} else {
		sw, err = plug.Open(ctx, cfg.sock, plug.Options{
			Descr: vde.Description(descrPrefix),
			Group: cfg.group,
			Mode:  cfg.mode,
			Port:  cfg.port,
			Raw:   true,
		})
	}
	if err != nil {
		return err
	}
	dev, err := tap.OpenConfig(tap.Config{Name: cfg.tap, Raw: true, Offload: true})
	if err != nil {
		sw.Close()
		return err
	}
	if err := d.Ready(); err != nil { // writes the pidfile; the daemon then changes to /
		sw.Close()
		dev.Close()
		return err
	}
	if d.Background() {
		d.Logf("plug2tap started")
	}
	// SCHED_BATCH while a bulk flow passes (sched.Follow): the frames the switch sends and those the
	// TAP gives then wait for the running thread instead of preempting it, and go several to a wake-up.
	// Not beside vde2's wirefilter on the stream (sched.FragilePeer).
	rc := &relay.Config{Stats: new(relay.Stats)}
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	go sched.Follow(fctx, mode, sched.Flow{
		Frames: func() uint64 { return rc.Stats.Dir[0].Frames.Load() + rc.Stats.Dir[1].Frames.Load() },
		FDs:    sched.StreamFDs(dev, sw),
	})
	if relay.Fast(dev, sw, rc) {
		sched.OneProc() // the loop is all the work: its waits may keep the P (sched.Waiter)
	}
	return relay.Join(ctx, dev, sw, rc) // the daemon logs an error here (daemon.Run)
}
