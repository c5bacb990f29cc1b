// SPDX-License-Identifier: GPL-2.0-or-later

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/urfave/cli/v2"
)

// DefaultTimeout bounds how long the parent of a -d daemon waits for its report when Options.Timeout
// is zero.
const DefaultTimeout = 30 * time.Second

// Chdir says when a daemon changes its working directory to "/", as daemon(3) does.
type Chdir int

const (
	// ChdirOnReady changes directory once the tool is ready: its startup still resolves relative
	// names from the directory it was started in.
	ChdirOnReady Chdir = iota
	// ChdirAtStart changes directory before the tool's function runs, as a C tool calling daemon(3)
	// first does: relative names are resolved from "/".
	ChdirAtStart
	// KeepDir keeps the working directory.
	KeepDir
)

// Options say how Run runs a tool.
type Options struct {
	Name       string        // the tool's name: syslog ident and the prefix of foreground messages
	Background bool          // run as a daemon (-d)
	Pidfile    string        // write the pid here (-p); made absolute against the starting directory
	Timeout    time.Duration // how long the parent waits for the daemon's report; 0 means DefaultTimeout
	Chdir      Chdir         // when the daemon changes to "/"
	Stderr     io.Writer     // where Logf writes in the foreground as "name: message"; nil discards
}

// A Process is a running tool as Run sets it up. Its methods are safe for concurrent use.
type Process struct {
	opts  Options
	child *Child // nil in the foreground
	log   *Logger

	mu    sync.Mutex
	pid   *Pidfile
	ready bool
}

// Run runs fn, the body of a tool, as a daemon when o.Background is set and in the foreground
// otherwise, and returns what the tool's action should return.
//
// With o.Background, the first call re-executes the program (Start) and returns once the copy has
// reported: nil when it is ready, an error with its exit code and message when it failed to start.
// In that copy (the daemon: a new session, stdio on /dev/null), Run calls fn with a Process that logs
// to syslog, and changes to "/" as o.Chdir says. An error fn returns before Ready goes to the waiting
// parent with its code (cli.ExitCoder, else 1) and message; the daemon then exits silently. An error
// after Ready is logged, as nobody is left to read stderr; fn returning nil before Ready counts as
// ready.
//
// In the foreground Run just calls fn, with a Process that logs to o.Stderr.
//
// Either way the pid file o.Pidfile, when set, is created by Process.WritePidfile (or Ready) and
// removed when fn returns, if it is still ours.
func Run(ctx context.Context, o Options, fn func(ctx context.Context, p *Process) error) error {
	if o.Pidfile != "" {
		abs, err := filepath.Abs(o.Pidfile)
		if err != nil {
			return fmt.Errorf("pidfile %s: %w", o.Pidfile, err)
		}
		o.Pidfile = abs
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	child := Detach()
	if o.Background && child == nil {
		return Start(o.Timeout)
	}
	p := &Process{opts: o, child: child}
	if child == nil {
		p.log = NewLogger(o.Name, o.Stderr)
		return p.finish(fn(ctx, p))
	}
	p.log = Syslog(o.Name, nil)
	var err error
	if o.Chdir == ChdirAtStart {
		err = chdirRoot()
	}
	if err == nil {
		err = fn(ctx, p)
	}
	err = p.finish(err)
	p.mu.Lock()
	ready := p.ready
	p.mu.Unlock()
	switch {
	case !ready && err == nil:
		child.Ready()
	case !ready:
		code := exitCode(err)
		child.Fail(code, message(err))
		return cmdutil.Exit(code) // the parent prints the message
	case err != nil:
		if msg := message(err); msg != "" {
			p.log.Printf("%s", msg)
		}
	}
	p.log.Close()
	return err
}

// finish removes the pid file after fn has returned err.
func (p *Process) finish(err error) error {
	p.mu.Lock()
	pf := p.pid
	p.mu.Unlock()
	pf.Remove()
	return err
}

func chdirRoot() error {
	if err := os.Chdir("/"); err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	return nil
}

// message is the text Main would print for err: "" for a silent cmdutil.Exit.
func message(err error) string {
	var ee *cmdutil.ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return ""
	}
	return cmdutil.Message(err)
}

// exitCode is the status err asks for: its cli.ExitCoder's code, else 1.
func exitCode(err error) int {
	var ec cli.ExitCoder
	if errors.As(err, &ec) && ec.ExitCode() != 0 {
		return ec.ExitCode()
	}
	return 1
}

// Background reports whether the process is the daemon (started by -d) rather than a foreground run.
func (p *Process) Background() bool { return p.child != nil }

// Logf logs one message: to syslog in the daemon (discarded when there is no syslog), to
// Options.Stderr as "name: message" in the foreground.
func (p *Process) Logf(format string, args ...any) { p.log.Printf(format, args...) }

// WritePidfile creates Options.Pidfile (see CreatePidfile) holding our pid, unless it has been
// created already or none was asked for. Run removes it when the tool's function returns. The error
// reads "pidfile: open PATH: file exists" and wraps the *os.PathError and its errno.
func (p *Process) WritePidfile() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opts.Pidfile == "" || p.pid != nil {
		return nil
	}
	pf, err := CreatePidfile(p.opts.Pidfile, os.Getpid())
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	p.pid = pf
	return nil
}

// Ready declares the tool started: it writes the pid file if WritePidfile has not, and in the daemon
// changes to "/" (ChdirOnReady) and tells the waiting parent to return 0. Only the first call counts.
// An error (pid file, chdir) is the tool's startup error: return it.
func (p *Process) Ready() error {
	if err := p.WritePidfile(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready {
		return nil
	}
	if p.child != nil && p.opts.Chdir == ChdirOnReady {
		if err := chdirRoot(); err != nil {
			return err
		}
	}
	p.ready = true
	p.child.Ready()
	return nil
}
