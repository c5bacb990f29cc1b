// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/plug"
	"github.com/govde/govde/pkg/stream"
	"github.com/govde/govde/pkg/vde"
)

// daemonTimeout bounds how long -d waits for the daemon to connect its plugs.
const daemonTimeout = 30 * time.Second

// descrPrefix is the default description, before " user=… pid=…".
const descrPrefix = "vplug:"

func newApp() *cli.App {
	name := "vplug"
	if cmdutil.ProgName() == "vde_plug" {
		name = "vde_plug"
	}
	app := cmdutil.NewApp(name, "join a VDE plug URL to stdin/stdout, to a second URL, or to a command")
	// Options are parsed by configFrom (getopt_long style, stopping at "="), not by urfave/cli.
	app.SkipFlagParsing = true
	app.HideHelp = true
	app.HideVersion = true
	app.UseShortOptionHandling = false
	app.Action = run
	return app
}

func run(c *cli.Context) error {
	cfg, err := configFrom(c.Args().Slice())
	if err != nil {
		return err
	}
	if cfg.help {
		fmt.Fprint(c.App.Writer, usage(c.App.Name))
		return nil
	}
	opts := daemon.Options{Name: c.App.Name, Background: cfg.daemon, Pidfile: cfg.pidfile, Timeout: daemonTimeout,
		Chdir: daemon.KeepDir} // relative URLs and paths keep their meaning (man/vplug.1)
	return daemon.Run(c.Context, opts, func(ctx context.Context, d *daemon.Process) error {
		return plugIn(ctx, c, cfg, d)
	})
}

// plugIn opens the plugs and joins them. Errors before d.Ready are startup errors, which daemon.Run
// hands to the waiting -d parent.
func plugIn(ctx context.Context, c *cli.Context, cfg *config, d *daemon.Process) error {
	// A closed stdout must give EPIPE (and an orderly exit with clean-up), not kill us.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// Created with O_EXCL: an existing pidfile is an error (vde_plug overwrites it; see man/vplug.1).
	if err := d.WritePidfile(); err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	var lg *logger
	if cfg.log {
		lg = newLogger(c.App.Name)
		lg.start()
		defer lg.stop()
	}
	descr := vde.Description(descrPrefix)
	if cfg.descr != "" {
		descr = vde.Description(cfg.descr)
	}
	a, err := plug.Open(ctx, cfg.urls[0], plug.Options{Descr: descr, Group: cfg.group, Mode: cfg.mode, Port: cfg.port})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return cmdutil.Exitf(1, "%v", err)
	}
	var b frame.Endpoint
	switch {
	case cfg.cmd != nil:
		b, err = plug.StartCommand(cfg.cmd, "", c.App.ErrWriter)
		if err != nil {
			a.Close()
			return cmdutil.Exitf(1, "%s: %v", cfg.cmd[0], unwrapExec(err))
		}
	case len(cfg.urls) == 2:
		b, err = plug.Open(ctx, cfg.urls[1], plug.Options{Descr: descr, Group: cfg.group2, Mode: cfg.mode2, Port: cfg.port2})
		if err != nil {
			a.Close()
			if ctx.Err() != nil {
				return nil
			}
			return cmdutil.Exitf(1, "%v", err)
		}
	default:
		s, restore := openStdio()
		defer restore()
		b = s
	}
	if cfg.iplog {
		b = &watched{Endpoint: b, check: lg.checkIP}
	}
	if err := d.Ready(); err != nil {
		a.Close()
		b.Close()
		return err
	}
	if err := plug.Join(ctx, a, b); err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	return nil
}

// unwrapExec shortens exec's "exec: \"x\": executable file not found in $PATH" to its cause.
func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// openStdio returns the 2-byte stream over stdin/stdout. Both descriptors are switched to non-blocking
// mode, so that the runtime poller serves them and closing unblocks a pending read; restore puts the
// original modes back (they are shared with the processes that gave us these descriptors).
func openStdio() (ep frame.Endpoint, restore func()) {
	var undo []func()
	file := func(fd int, name string) *os.File {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err == nil && flags&unix.O_NONBLOCK == 0 && unix.SetNonblock(fd, true) == nil {
			undo = append(undo, func() { unix.SetNonblock(fd, false) })
		}
		return os.NewFile(uintptr(fd), name)
	}
	in, out := file(0, "/dev/stdin"), file(1, "/dev/stdout")
	return stream.NewConn(in, out, closers{in, out}), func() {
		for _, f := range undo {
			f()
		}
	}
}

type closers []*os.File

func (cs closers) Close() error {
	for _, c := range cs {
		c.Close()
	}
	return nil
}

// watched calls check on every frame read from the Endpoint (for -L).
type watched struct {
	frame.Endpoint
	check func([]byte)
}

func (w *watched) ReadFrame(b []byte) (int, error) {
	n, err := w.Endpoint.ReadFrame(b)
	if err == nil {
		w.check(b[:n])
	}
	return n, err
}
