// SPDX-License-Identifier: GPL-2.0-or-later

// Package daemon puts a govde tool in the background the Go way. C tools call daemon(3), which forks
// and keeps running in the child; a Go program cannot fork safely, so -d re-executes the program with
// the same arguments in a new session, stdio on /dev/null, and the parent returns only once the child
// reports that it is ready or why it could not start. Scripts can therefore use a daemon's sockets as
// soon as the command returns, and a daemon that fails to start makes the command fail.
//
// Run is what a tool calls: it does -d (Start in the parent, Detach in the child), reports readiness
// or the startup error, changes to "/", creates and removes the -p pid file (CreatePidfile: O_EXCL,
// O_NOFOLLOW, mode 0644, removed only while it is still ours) and logs to syslog in the daemon
// (Syslog) or to stderr in the foreground:
//
//	return daemon.Run(c.Context, daemon.Options{Name: "wirefilter", Background: d, Pidfile: pidfile,
//		Stderr: c.App.ErrWriter}, func(ctx context.Context, p *daemon.Process) error {
//		ln, err := listen() // a startup error: the -d parent prints it and exits with its code
//		if err != nil {
//			return err
//		}
//		if err := p.Ready(); err != nil { // writes the pid file; the -d parent returns 0
//			return err
//		}
//		return serve(ctx, ln, p.Logf)
//	})
package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/govde/govde/internal/cmdutil"
)

// envVar marks the re-executed child; its value is the descriptor of the pipe to the waiting parent.
const envVar = "GOVDE_DAEMON"

// reportFD is the child's end of the report pipe: the first of exec.Cmd.ExtraFiles.
const reportFD = 3

// A Child is the daemon's link to the parent waiting in Start. A nil *Child (not a daemon child) is
// valid: its methods do nothing.
type Child struct {
	mu sync.Mutex
	f  *os.File
}

var (
	detachOnce sync.Once
	child      *Child
)

// Detach returns the link to the waiting parent when this process is a daemon child started by
// Start, and nil otherwise. It removes the marker from the environment, so that programs the daemon
// starts do not take themselves for daemon children. Later calls return the same value.
func Detach() *Child {
	detachOnce.Do(func() {
		v, ok := os.LookupEnv(envVar)
		if !ok {
			return
		}
		os.Unsetenv(envVar)
		if v != strconv.Itoa(reportFD) {
			return
		}
		child = &Child{f: os.NewFile(reportFD, "daemon-report")}
	})
	return child
}

// Ready tells the parent that the daemon is up: its Start returns nil. Only the first report counts.
func (c *Child) Ready() { c.report(0, "") }

// Fail tells the parent that the daemon could not start: its Start returns an error that exits with
// code and prints msg (nothing when msg is empty). Only the first report counts.
func (c *Child) Fail(code int, msg string) {
	if code == 0 {
		code = 1
	}
	c.report(code, msg)
}

func (c *Child) report(code int, msg string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return
	}
	fmt.Fprintf(c.f, "%d %s\n", code, strings.ReplaceAll(msg, "\n", " "))
	c.f.Close()
	c.f = nil
}

// Start re-executes the running program (same arguments, environment and working directory) as a
// daemon: a new session, stdin, stdout and stderr on /dev/null. It waits up to timeout for the child's
// Ready or Fail. It returns nil after Ready, an error carrying the child's code and message after Fail,
// and an error when the child exits without a report or does not report in time (it is then killed).
func Start(timeout time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0] // keep the name it was invoked as (vde_switch, vde_plug, ...)
	cmd.Env = append(os.Environ(), envVar+"="+strconv.Itoa(reportFD))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}

	type result struct {
		line string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		res <- result{line, err}
	}()
	var got result
	select {
	case got = <-res:
	case <-time.After(timeout):
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("daemon: not ready after %v", timeout)
	}
	if got.err != nil { // the pipe closed without a report: the child has exited
		werr := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(werr, &ee) && ee.ExitCode() > 0 {
			return cmdutil.Exitf(ee.ExitCode(), "daemon exited with status %d before it was ready", ee.ExitCode())
		}
		return fmt.Errorf("daemon exited before it was ready (%v)", werr)
	}
	codeStr, msg, _ := strings.Cut(strings.TrimSuffix(got.line, "\n"), " ")
	code, err := strconv.Atoi(codeStr)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("daemon: bad report %q", got.line)
	}
	if code != 0 {
		cmd.Wait()
		if msg == "" {
			return cmdutil.Exit(code)
		}
		return &cmdutil.ExitError{Code: code, Err: errors.New(msg)}
	}
	return cmd.Process.Release() // the daemon outlives us; init reaps it
}
