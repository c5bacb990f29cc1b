// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/sched"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/plug"
	"github.com/govde/govde/pkg/relay"
	"github.com/govde/govde/pkg/vde"
	"github.com/govde/govde/pkg/wirefilter"
)

// descrPrefix is the description wirefilter's plugs give the switch, before " user=… pid=…".
const descrPrefix = "vde_crosscable"

// daemonTimeout bounds how long --daemon waits for the filter to be up.
const daemonTimeout = 30 * time.Second

// serve runs the filter, as a daemon with --daemon.
func serve(c *cli.Context, cfg *config) error {
	for _, p := range []*string{&cfg.mgmt, &cfg.rcfile, &cfg.blink} {
		if *p != "" && !filepath.IsAbs(*p) {
			if a, err := filepath.Abs(*p); err == nil {
				*p = a
			}
		}
	}
	mode, err := sched.ParseMode(os.Getenv(sched.EnvVar))
	if err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	if err := sched.SetHot(os.Getenv(sched.HotEnvVar)); err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	sched.WatchPoller() // the console's goroutines run beside the data-plane loop
	cfg.sched = mode
	descr := vde.Description(descrPrefix) // the pid is taken before daemonizing, as in the reference
	opts := daemon.Options{Name: c.App.Name, Background: cfg.daemon, Pidfile: cfg.pidfile,
		Timeout: daemonTimeout, Chdir: daemon.KeepDir, Stderr: c.App.ErrWriter}
	return daemon.Run(c.Context, opts, func(ctx context.Context, d *daemon.Process) error {
		return filter(ctx, c, cfg, descr, d)
	})
}

// newEngine returns the engine with the command line's values.
func newEngine(cfg *config) (*impair.Engine, error) {
	ic := impair.Config{}
	if cfg.seeded {
		ic.Rand = impair.NewSource(cfg.seed)
	}
	e := impair.New(ic)
	for _, s := range cfg.sets {
		if err := e.Set(s.p, s.arg); err != nil {
			return nil, valueErr(err)
		}
	}
	e.SetFIFO(!cfg.nofifo)
	return e, nil
}

// sides opens the left and right sides of the cable.
func sides(ctx context.Context, c *cli.Context, cfg *config, descr string, bg bool) (l, r frame.Endpoint, bidir bool, closer io.Closer, err error) {
	if !cfg.plugs {
		s, err := wirefilter.OpenStdio(os.Getenv)
		if errors.Is(err, wirefilter.ErrNotPipe) && bg {
			// the daemon's stdio is /dev/null: the waiting parent prints the reason
			return nil, nil, false, nil, cmdutil.Exitf(1, "--daemon needs -v or URLs: %v", err)
		}
		if errors.Is(err, wirefilter.ErrNotPipe) {
			fmt.Fprintf(c.App.ErrWriter, "%s: %v\n%s", c.App.Name, err, usageText)
			return nil, nil, false, nil, cmdutil.Exit(1)
		}
		if err != nil {
			return nil, nil, false, nil, cmdutil.Exitf(1, "%v", err)
		}
		return s.L, s.R, s.Bidirectional, s, nil
	}
	open := func(url string) (frame.Endpoint, error) {
		if url == "-" {
			return plug.OpenStdio()
		}
		return plug.Open(ctx, url, plug.Options{Descr: descr, Raw: true})
	}
	if l, err = open(cfg.left); err != nil {
		return nil, nil, false, nil, cmdutil.Exitf(1, "%v", err)
	}
	if r, err = open(cfg.right); err != nil {
		l.Close()
		return nil, nil, false, nil, cmdutil.Exitf(1, "%v", err)
	}
	return l, r, true, nopCloser{}, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// filter is the life of the filter once daemonized (or not): errors before d.Ready are startup
// errors, which daemon.Run hands to the waiting --daemon parent.
func filter(ctx context.Context, c *cli.Context, cfg *config, descr string, d *daemon.Process) error {
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	e, err := newEngine(cfg)
	if err != nil {
		return err
	}
	var blink *wirefilter.Blink
	if cfg.blink != "" {
		if blink, err = wirefilter.NewBlink(cfg.blink, cfg.blinkID, os.Getpid()); err != nil {
			return cmdutil.Exitf(1, "%v", err)
		}
		defer blink.Close()
	}
	l, r, bidir, closer, err := sides(ctx, c, cfg, descr, d.Background())
	if err != nil {
		return err
	}
	defer closer.Close()
	f := wirefilter.New(wirefilter.Config{Engine: e, Bidirectional: bidir, Blink: blink})
	defer f.Close()
	srv := mgmt.New(wirefilter.NewConsole(f).Config(d.Logf))
	defer srv.Close()
	if cfg.rcfile != "" {
		if err := srv.RunScript(cfg.rcfile); err != nil {
			d.Logf("rcfile %s: %v", cfg.rcfile, err)
		}
	}
	if cfg.mgmt != "" {
		ln, err := mgmt.Listen(cfg.mgmt, cfg.mgmtMode, -1)
		if err != nil {
			l.Close()
			r.Close()
			return cmdutil.Exitf(1, "%v", err)
		}
		defer ln.Close() // removes the socket file
		go srv.Serve(ln)
	}
	if err := d.Ready(); err != nil {
		l.Close()
		r.Close()
		return cmdutil.Exitf(1, "%v", err)
	}
	switch {
	case cfg.plugs:
		d.Logf("bidirectional vdeplug filter L=%s R=%s starting...", cfg.left, cfg.right)
	case bidir:
		d.Logf("bidirectional filter starting...")
	default:
		d.Logf("monodirectional filter starting...")
	}
	consoleDone := make(chan error, 1)
	if cfg.plugs && cfg.left != "-" && cfg.right != "-" && !d.Background() {
		go func() { consoleDone <- srv.ServeConsole(os.Stdin, os.Stdout, os.Stdout) }()
	}
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	joined := make(chan error, 1)
	rc := &relay.Config{Hook: f.Hook, Gate: f.Gate, OnRoom: f.OnRoom, Timer: f.Timer,
		Stats: new(relay.Stats), Bunched: new(atomic.Bool)}
	// Bunched pipe writes once a bulk flow passes and no vde2 wirefilter reads our pipes, and
	// SCHED_BATCH while that flow lasts and nothing is set (package sched): delays, bandwidth and
	// speed need their wake-ups to preempt.
	fds := sched.StreamFDs(l, r)
	go sched.Follow(jctx, cfg.sched, sched.Flow{
		Frames: func() uint64 { return rc.Stats.Dir[0].Frames.Load() + rc.Stats.Dir[1].Frames.Load() },
		FDs:    fds,
		Bunch:  func() { rc.Bunched.Store(true) },
		Allow:  e.Clear,
	})
	if relay.Fast(l, r, rc) && len(fds) == 0 {
		// Plugs on both sides: the loop is all the work, its waits may keep the P (sched.Waiter).
		// Not on a stream (unlike vplug, which goes on one P there once no vde2 wirefilter is beside
		// it): tried, the transparent filter's cost moved within noise (bench-wirefilter's cost on
		// our switches, 0.86-0.90 of the bare cable against 0.86-0.87), and its delays through one P
		// on a stream are unmeasured.
		sched.OneProc()
	}
	go func() { joined <- relay.Join(jctx, l, r, rc) }()
	select {
	case err := <-joined:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			d.Logf("%v", err)
		}
		return nil
	case <-ctx.Done():
	case <-srv.Done():
	case err := <-consoleDone:
		if errors.Is(err, io.EOF) {
			d.Logf("EOF on stdin, cleaning up and exiting")
		}
	}
	cancel()
	<-joined
	return nil
}
