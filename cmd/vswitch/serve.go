// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vde"
	"github.com/govde/govde/pkg/vswitch"
	"github.com/govde/govde/pkg/vswitch/console"
	"github.com/urfave/cli/v2"
)

// readyTimeout bounds how long -d waits for the child to report its sockets ready.
const readyTimeout = 60 * time.Second

// logger prints "name: msg" on stderr, or to syslog when daemonized.
type logger func(format string, args ...any)

func newLogger(name string, daemon bool, stderr io.Writer) logger {
	if daemon {
		w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_USER, name)
		if err != nil {
			return func(string, ...any) {}
		}
		return func(format string, args ...any) { w.Info(fmt.Sprintf(format, args...)) }
	}
	return func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s: %s\n", name, fmt.Sprintf(format, args...))
	}
}

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
// file it created.
func serve(c *cli.Context, cfg config) error {
	name := c.App.Name
	if err := absPaths(&cfg); err != nil {
		return err
	}
	ready := daemon.Detach() // the link to the waiting parent when we are the -d child
	if cfg.daemon && ready == nil {
		return daemon.Start(readyTimeout) // returns once the child's sockets accept connections
	}
	logf := newLogger(name, cfg.daemon, c.App.ErrWriter)
	// fail reports a startup error: through the pipe to the waiting parent when daemonized.
	fail := func(code int, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if ready != nil {
			ready.Fail(code, msg)
			return cmdutil.Exit(code)
		}
		if msg == "" {
			return cmdutil.Exit(code)
		}
		return cmdutil.Exitf(code, "%s", msg)
	}
	if cfg.daemon {
		logf("vswitch started")
	}
	for _, w := range cfg.warnings {
		logf("%s", w)
	}
	if cfg.fstp && !cfg.sw.Hub {
		logf("fast spanning tree (-F) is not supported: running without it")
	}
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2)
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)

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
			if ready == nil {
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
	if cfg.pidfile != "" {
		f, err := os.OpenFile(cfg.pidfile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			var errno syscall.Errno
			if errors.As(err, &errno) {
				return fail(1, "Error in pidfile creation: %s", mgmt.Strerror(errno))
			}
			return fail(1, "Error in pidfile creation: %v", err)
		}
		_, werr := fmt.Fprintf(f, "%d\n", os.Getpid())
		cerr := f.Close()
		defer os.Remove(cfg.pidfile) // ours: created with O_EXCL
		if werr != nil || cerr != nil {
			return fail(1, "Error in writing pidfile")
		}
	}
	cons := console.New(console.Config{Switch: sw, CtlDir: ln.Dir(), CtlMode: ln.Mode(),
		MgmtPath: cfg.mgmt, MgmtMode: cfg.mgmtMode, Logf: logf})
	defer cons.Close()
	if cfg.mgmt != "" {
		mln, err := mgmt.Listen(cfg.mgmt, os.FileMode(cfg.mgmtMode), cfg.mgmtGroup)
		switch {
		case errors.Is(err, mgmt.ErrInUse):
			// vde_switch silently runs without management here; we say so.
			logf("management socket %s is in use by another program: running without it", cfg.mgmt)
		case err != nil:
			logf("mgmt bind %v", err)
		default:
			go cons.Serve(mln)
		}
	}
	served := make(chan error, 1)
	go func() { served <- sw.Serve(ln) }()
	for _, t := range cfg.taps {
		if _, err := sw.AddTap(t); err != nil {
			logf("ERROR OPENING tap interface: %v", err)
		}
	}
	if rc := rcFile(cfg.rcfile); rc != "" {
		cons.RunScript(rc)
	}
	consoleDone := make(chan error, 1)
	if ready != nil {
		ready.Ready()
		os.Chdir("/")
	} else {
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
