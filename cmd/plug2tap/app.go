// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
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

var (
	portFlag    = &cli.StringFlag{Name: "port", Aliases: []string{"p"}, Usage: "port number in the VDE switch"}
	groupFlag   = &cli.StringFlag{Name: "group", Aliases: []string{"g"}, Usage: "group for the socket"}
	modeFlag    = &cli.StringFlag{Name: "mode", Aliases: []string{"m", "mod"}, Usage: "octal mode for the socket"}
	sockFlag    = &cli.StringFlag{Name: "sock", Aliases: []string{"s"}, Usage: "VDE switch control socket or dir, a plug URL, or -"}
	daemonFlag  = &cli.BoolFlag{Name: "daemon", Aliases: []string{"d"}, Usage: "launch in background"}
	pidfileFlag = &cli.StringFlag{Name: "pidfile", Aliases: []string{"P"}, Usage: "create pidfile with our PID"}
)

func newApp() *cli.App {
	app := cmdutil.NewApp("plug2tap", "connect a VDE switch to a Linux TAP interface")
	app.ArgsUsage = "tapname"
	app.Flags = []cli.Flag{portFlag, groupFlag, modeFlag, sockFlag, daemonFlag, pidfileFlag}
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
	cfg := config{sock: c.String("sock"), group: c.String("group"), daemon: c.Bool("daemon")}
	switch c.NArg() {
	case 0:
		return cfg, cmdutil.UsageErrorf("missing TAP interface name")
	case 1:
	default:
		return cfg, cmdutil.UsageErrorf("unexpected argument %q after the TAP name %q (options go first)", c.Args().Get(1), c.Args().First())
	}
	cfg.tap = c.Args().First()
	if cfg.tap == "" || len(cfg.tap) > 15 {
		return cfg, cmdutil.UsageErrorf("TAP name %q: want 1 to 15 characters", cfg.tap)
	}
	if c.IsSet("port") {
		p, err := strconv.Atoi(c.String("port"))
		if err != nil || p <= 0 || p > maxPort {
			return cfg, cmdutil.UsageErrorf("-p %q: want a port number 1..%d", c.String("port"), maxPort)
		}
		cfg.port = p
	}
	if c.IsSet("mode") {
		m, err := strconv.ParseUint(c.String("mode"), 8, 32)
		if err != nil || m > 0o777 {
			return cfg, cmdutil.UsageErrorf("-m %q: want an octal permission mode such as 0770", c.String("mode"))
		}
		cfg.mode = os.FileMode(m)
	}
	if c.IsSet("group") && cfg.group == "" {
		return cfg, cmdutil.UsageErrorf("-g \"\": want a group name or number")
	}
	if p := c.String("pidfile"); p != "" {
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

func run(c *cli.Context) error {
	cfg, err := configFrom(c)
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
	// Opened raw, the switch (or stream) and the TAP let relay.Join take its poll(2) fast path.
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
	dev, err := tap.OpenConfig(tap.Config{Name: cfg.tap, Raw: true})
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
	jerr := relay.Join(ctx, dev, sw, nil)
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
