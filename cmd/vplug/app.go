// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/sched"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/plug"
	"github.com/govde/govde/pkg/relay"
	"github.com/govde/govde/pkg/vde"
)

// argv0 returns the program's argv[0]; tests replace it.
var argv0 = func() string { return os.Args[0] }

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
	if loginShell(argv0()) {
		return refuseShell(c.App.Name, c.App.ErrWriter)
	}
	cfg, err := configFrom(c.Args().Slice())
	if errors.Is(err, errShell) {
		return refuseShell(c.App.Name, c.App.ErrWriter)
	}
	if err != nil {
		return err
	}
	if cfg.shell && inIPLogGroup() {
		cfg.iplog = true
	}
	if cfg.help {
		fmt.Fprint(c.App.Writer, usage(c.App.Name))
		return nil
	}
	mode, err := sched.ParseMode(os.Getenv(sched.EnvVar))
	if err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	if err := sched.SetHot(os.Getenv(sched.HotEnvVar)); err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	opts := daemon.Options{Name: c.App.Name, Background: cfg.daemon, Pidfile: cfg.pidfile, Timeout: daemonTimeout,
		Chdir: daemon.KeepDir} // relative URLs and paths keep their meaning (man/vplug.1)
	return daemon.Run(c.Context, opts, func(ctx context.Context, d *daemon.Process) error {
		return plugIn(ctx, c, cfg, mode, d)
	})
}

// plugIn opens the plugs and joins them. Errors before d.Ready are startup errors, which daemon.Run
// hands to the waiting -d parent.
func plugIn(ctx context.Context, c *cli.Context, cfg *config, mode sched.Mode, d *daemon.Process) error {
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
	// Opened raw, the endpoints let relay.Join take its poll(2) fast path when both sides allow it.
	a, err := plug.Open(ctx, cfg.urls[0], plug.Options{Descr: descr, Group: cfg.group, Mode: cfg.mode, Port: cfg.port, Raw: true})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return cmdutil.Exitf(1, "%v", err)
	}
	var b frame.Endpoint
	switch {
	case cfg.cmd != nil:
		b, err = plug.StartCommandRaw(cfg.cmd, "", c.App.ErrWriter)
		if err != nil {
			a.Close()
			return cmdutil.Exitf(1, "%s: %v", cfg.cmd[0], unwrapExec(err))
		}
	case len(cfg.urls) == 2:
		b, err = plug.Open(ctx, cfg.urls[1], plug.Options{Descr: descr, Group: cfg.group2, Mode: cfg.mode2, Port: cfg.port2, Raw: true})
		if err != nil {
			a.Close()
			if ctx.Err() != nil {
				return nil
			}
			return cmdutil.Exitf(1, "%v", err)
		}
	default:
		b, err = plug.OpenStdio()
		if err != nil {
			a.Close()
			return cmdutil.Exitf(1, "stdio: %v", err)
		}
	}
	var rc relay.Config
	if cfg.iplog {
		rc.Hook = watch(lg.checkIP)
	}
	if err := d.Ready(); err != nil {
		a.Close()
		b.Close()
		return err
	}
	// SCHED_BATCH and bunched pipe writes while a bulk flow passes (package sched), started after
	// the command, if any, so that the command keeps the user's policy.
	st, bunched := new(relay.Stats), new(atomic.Bool)
	rc.Stats, rc.Bunched = st, bunched
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	fds := sched.StreamFDs(a, b)
	fast := relay.Fast(a, b, &rc)
	fl := sched.Flow{
		Frames: func() uint64 { return st.Dir[0].Frames.Load() + st.Dir[1].Frames.Load() },
		FDs:    fds,
		Bunch:  func() { bunched.Store(true) },
	}
	if fast && len(fds) > 0 {
		// On a stream, one P once the peers are known: not beside vde2's wirefilter, which a vplug
		// that fast made stall in 4 of 5 TCP runs (see sched.FragilePeer).
		fl.NoFragile = func() { sched.OneProc() }
		// Beside vde2's wirefilter writing our input, no record longer than it passes is in step.
		maxRecord := new(atomic.Int32)
		rc.MaxRecord = maxRecord
		fl.MaxRecord = func(n int) { maxRecord.Store(int32(n)) }
	}
	go sched.Follow(fctx, mode, fl)
	if fast && len(fds) == 0 {
		// The loop is all the work: its waits may keep the P (sched.Waiter).
		sched.OneProc()
	}
	if err := relay.Join(ctx, a, b, &rc); err != nil {
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

// watch returns the relay hook of -L: check sees every frame read from b (direction BtoA).
func watch(check func([]byte)) relay.Hook {
	return func(dir relay.Dir, f []byte, _ relay.Emitter) relay.Verdict {
		if dir == relay.BtoA {
			check(f)
		}
		return relay.Pass
	}
}
