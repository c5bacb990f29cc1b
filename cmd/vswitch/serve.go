// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/sched"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vde"
	"github.com/govde/govde/pkg/vswitch"
	"github.com/govde/govde/pkg/vswitch/console"
	"github.com/urfave/cli/v2"
)

// readyTimeout bounds how long -d waits for the child to report its sockets ready.
const readyTimeout = 60 * time.Second

// absPaths makes the paths of cfg absolute against the current (original) directory: the daemon
// changes to "/".
func absPaths(cfg *config) error {
	for _, p := range []*string{&cfg.dir, &cfg.pidfile, &cfg.rcfile, &cfg.mgmt} {
		if *p == "" || filepath.IsAbs(*p) {
			continue
		}
		a, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = a
	}
	return nil
}

// serve runs the switch until a signal, shutdown or the end of the stdin console, then removes every
// file it created. With -d it runs as a daemon (internal/daemon) that reports when its sockets accept
// connections.
func serve(c *cli.Context, cfg config) error {
	if err := absPaths(&cfg); err != nil {
		return err
	}
	if err := sched.SetHot(os.Getenv(sched.HotEnvVar)); err != nil {
		return cmdutil.Exitf(1, "%v", err)
	}
	sched.WatchPoller() // the console's and the control sockets' goroutines run beside the data-plane loop
	opts := daemon.Options{Name: c.App.Name, Background: cfg.daemon, Pidfile: cfg.pidfile,
		Timeout: readyTimeout, Stderr: c.App.ErrWriter}
	return daemon.Run(c.Context, opts, func(_ context.Context, d *daemon.Process) error {
		return runSwitch(cfg, d)
	})
}

// runSwitch is the switch's life once daemonized (or not): startup errors are returned before
// d.Ready, and Run hands them to the waiting -d parent.
func runSwitch(cfg config, d *daemon.Process) error {
	logf := d.Logf
	fail := func(code int, format string, args ...any) error {
		if msg := fmt.Sprintf(format, args...); msg != "" {
			return cmdutil.Exitf(code, "%s", msg)
		}
		return cmdutil.Exit(code)
	}
	if d.Background() {
		logf("vswitch started")
	}
	for _, w := range cfg.warnings {
		logf("%s", w)
	}
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2)
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)

	// The plane is the switch's work, TAP ports included: its waits may keep the P (sched.Waiter).
	sched.OneProc()
	swCfg := cfg.sw
	swCfg.Logf = logf
	sw, err := vswitch.New(swCfg)
	if err != nil {
		return fail(1, "%v", err)
	}
	defer sw.Close()
	lopt := cfg.listen
	lopt.OnBadRequest = func(err error) { logf("%v", err) }
	ln, err := vde.Listen(cfg.dir, lopt)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			if !d.Background() {
				logf("Could not bind to socket '%s': %s", filepath.Join(cfg.dir, "ctl"), mgmt.Strerror(syscall.EADDRINUSE))
				logf("Cleanup not removing files")
				return cmdutil.Exit(255)
			}
			return fail(255, "Could not bind to socket '%s': %s", filepath.Join(cfg.dir, "ctl"), mgmt.Strerror(syscall.EADDRINUSE))
		}
		return fail(1, "%v", err)
	}
	defer func() {
		// The endpoints' data sockets go first (sw.Close unlinks them): the directory must be empty
		// before it can be removed.
		sw.Close()
		ln.Close()
		ln.RemoveDir()
	}()
	if err := d.WritePidfile(); err != nil { // removed by daemon.Run at exit, if still ours
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return fail(1, "Error in pidfile creation: %s", mgmt.Strerror(errno))
		}
		return fail(1, "Error in pidfile creation: %v", err)
	}
	cons := console.New(console.Config{Switch: sw, CtlDir: ln.Dir(), CtlMode: ln.Mode(),
		MgmtPath: cfg.mgmt, MgmtMode: cfg.mgmtMode, Logf: logf})
	defer cons.Close()
	var mln *mgmt.Listener
	if cfg.mgmt != "" {
		var err error
		mln, err = mgmt.Listen(cfg.mgmt, os.FileMode(cfg.mgmtMode), cfg.mgmtGroup)
		switch {
		case errors.Is(err, mgmt.ErrInUse):
			// vde_switch silently runs without management here; we say so.
			logf("management socket %s is in use by another program: running without it", cfg.mgmt)
		case err != nil:
			logf("mgmt bind %v", err)
		}
	}
	// As in vde_switch, the -t ports and the rc file come before the first client and console
	// session is served: whoever connects as soon as the sockets exist sees them in place (clients
	// that connect earlier wait in the listen backlog).
	for _, t := range cfg.taps {
		if _, err := sw.AddTap(t); err != nil {
			logf("ERROR OPENING tap interface: %v", err)
		}
	}
	if rc := rcFile(cfg.rcfile); rc != "" {
		cons.RunScript(rc)
	}
	served := make(chan error, 1)
	go func() { served <- sw.Serve(ln) }()
	if mln != nil {
		go cons.Serve(mln)
	}
	consoleDone := make(chan error, 1)
	if err := d.Ready(); err != nil { // the -d parent returns; the daemon changes to /
		return fail(1, "%v", err)
	}
	if !d.Background() {
		go func() { consoleDone <- cons.ServeConsole(os.Stdin, os.Stdout, os.Stdin) }()
	}
	select {
	case sig := <-sigc:
		n := 0
		if s, ok := sig.(syscall.Signal); ok {
			n = int(s)
		}
		logf("Caught signal %d, cleaning up and exiting", n)
	case <-cons.Done():
	case err := <-consoleDone:
		if errors.Is(err, io.EOF) {
			logf("EOF on stdin, cleaning up and exiting")
		}
	case err := <-served:
		if err != nil {
			logf("%v", err)
			return cmdutil.Exit(1)
		}
	}
	return nil
}

// rcFile returns the rc file to run: the -f file, else ~/.vde2/vde_switch.rc, else
// /etc/vde2/vde_switch.rc when readable, else "".
func rcFile(flag string) string {
	if flag != "" {
		return flag
	}
	readable := func(p string) bool { return syscall.Access(p, 4) == nil }
	if home := os.Getenv("HOME"); home != "" {
		if p := filepath.Join(home, ".vde2", "vde_switch.rc"); readable(p) {
			return p
		}
	}
	if p := "/etc/vde2/vde_switch.rc"; readable(p) {
		return p
	}
	return ""
}
