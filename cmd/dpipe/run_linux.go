// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/pkg/dpipe"
	"golang.org/x/sys/unix"
)

// watchEnv marks the re-execution of dpipe that, with -n -p/-P, removes the pid files once the last
// command exits.
const watchEnv = "GOVDE_DPIPE_WATCH"

// daemonTimeout bounds how long -d waits for the daemon to start the commands.
const daemonTimeout = 30 * time.Second

// termSignals end dpipe: it removes its pid files and sends SIGTERM to the last command; then it
// exits 0 on SIGTERM, and re-raises SIGHUP or SIGINT to its process group.
var termSignals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM}

// ignoredSignals are ignored by dpipe itself (not by the commands, which start with default handling).
var ignoredSignals = []os.Signal{syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGUSR1, syscall.SIGUSR2,
	syscall.SIGVTALRM, syscall.SIGIO, syscall.SIGPWR, syscall.SIGSTKFLT}

// runChain runs the parsed command line p as the dpipe program does. It returns nil or a
// cmdutil.ExitError with the exit status: that of the last command (128+N if signal N killed it, 127 if
// it could not be started), 0 after SIGTERM, 1 (with the message) when dpipe itself fails.
//
// It changes the state of the whole process: unless -d it makes the process the leader of a new process
// group (so that "kill -- -PGID" with the -P file reaches every command); with -d, daemon.Run
// re-executes the program in a new session with /dev/null as stdio and / as working directory (set
// before the commands start, as daemon(3) does) and the parent returns 0 once the commands are
// started; with -n it execs the last command and does not return unless that fails; with -n and
// -p/-P it first starts a copy of the program that removes the pid files when the last command exits.
// Pid file names are made absolute first.
func runChain(ctx context.Context, p dpipe.Pipeline) error {
	if err := absFiles(&p.Options); err != nil {
		return err
	}
	if v, ok := os.LookupEnv(watchEnv); ok {
		return watch(v, p.Options)
	}
	opts := daemon.Options{Name: "dpipe", Background: p.Daemon, Timeout: daemonTimeout, Chdir: daemon.ChdirAtStart}
	return daemon.Run(ctx, opts, func(_ context.Context, d *daemon.Process) error { return serve(p, d) })
}

// serve starts the chain and waits for it, or becomes its last command (-n). Errors before d.Ready
// are startup errors, which the -d parent prints.
func serve(p dpipe.Pipeline, d *daemon.Process) error {
	if !d.Background() {
		if err := newProcessGroup(); err != nil {
			return fmt.Errorf("cannot create process group: %w", err)
		}
	}

	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, termSignals...)
	signal.Notify(make(chan os.Signal, 1), ignoredSignals...) // never read: the signals are dropped

	written, err := writePidFiles(p.Options)
	clean := func() {
		if !p.NoClean {
			for _, f := range written {
				f.Remove()
			}
		}
	}
	if err != nil {
		clean()
		return err
	}

	chain, err := dpipe.StartChain(p.Stages, dpipe.Config{ExecLast: p.NoWrap})
	if err != nil {
		clean()
		return err
	}
	if err := d.Ready(); err != nil { // the -d parent returns 0
		clean()
		chain.SignalLast(syscall.SIGTERM)
		return err
	}
	if p.NoWrap {
		if len(written) > 0 && !p.NoClean {
			if err := startWatcher(); err != nil {
				fmt.Fprintf(os.Stderr, "dpipe: pid file watcher: %v\n", err)
			}
		}
		last := p.Stages[len(p.Stages)-1].Args
		err := execLast(chain, last)
		clean()
		return cmdutil.Exitf(dpipe.ExecFailed, "%v", err)
	}

	// Like the reference, dpipe no longer holds its own stdin and stdout, so that readers of its
	// stdout see end-of-file once the commands are gone.
	if devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
		unix.Dup3(int(devnull.Fd()), 0, 0)
		unix.Dup3(int(devnull.Fd()), 1, 0)
		devnull.Close()
	}

	go chain.Wait()
	var sig os.Signal
	select {
	case <-chain.Done():
		// A signal sent to the whole group (kill -- -PGID) ends the commands and reaches us at the
		// same time: when it has arrived, it decides the exit status, as the reference's handler does.
		// The commands' ends may be seen before it is: when the last died of a signal we handle, it
		// gets signalGrace to come (a run under -race exited 143 for a SIGTERM to the group).
		code := chain.Wait()
		select {
		case sig = <-sigc:
		default:
			if !diedOf(code, termSignals) {
				clean()
				return exitStatus(code)
			}
			select {
			case sig = <-sigc:
			case <-time.After(signalGrace):
				clean()
				return exitStatus(code)
			}
		}
	case sig = <-sigc:
	}
	clean()
	chain.SignalLast(syscall.SIGTERM)
	if sig == syscall.SIGTERM {
		return nil
	}
	s := sig.(syscall.Signal)
	signal.Reset(sig)
	if syscall.Getpgrp() == os.Getpid() {
		syscall.Kill(0, s) // our own group: the commands and dpipe itself
	} else {
		// -d: we lead our session's group too, so this is only a safety net: never signal a
		// group we did not create.
		for _, pr := range chain.Processes() {
			if pr != nil {
				pr.Signal(s)
			}
		}
		syscall.Kill(os.Getpid(), s)
	}
	time.Sleep(time.Second) // the signal's default action ends the process meanwhile
	return exitStatus(128 + int(s))
}

// signalGrace is how long dpipe waits for a signal of termSignals once the last command died of it.
const signalGrace = 200 * time.Millisecond

// diedOf reports whether the shell-style status code is a death by one of sigs.
func diedOf(code int, sigs []os.Signal) bool {
	for _, s := range sigs {
		if code == 128+int(s.(syscall.Signal)) {
			return true
		}
	}
	return false
}

// exitStatus turns an exit status into what the action returns.
func exitStatus(code int) error {
	if code == 0 {
		return nil
	}
	return cmdutil.Exit(code)
}

// absFiles makes the pid file names absolute, so that -d (working directory /) keeps their meaning.
func absFiles(o *dpipe.Options) error {
	for _, f := range []*string{&o.PidFile, &o.PgrpFile} {
		if *f != "" {
			a, err := filepath.Abs(*f)
			if err != nil {
				return fmt.Errorf("pid file %q: %w", *f, err)
			}
			*f = a
		}
	}
	return nil
}

// newProcessGroup makes the process the leader of a new process group. A session leader (under
// setsid) cannot do that but already leads its group, which is just as good.
func newProcessGroup() error {
	err := syscall.Setpgid(0, 0)
	if err != nil && syscall.Getpgrp() == os.Getpid() {
		return nil
	}
	return err
}

// writePidFiles creates the -p and -P files (daemon.CreatePidfile: they must not exist) and
// returns those written.
func writePidFiles(o dpipe.Options) ([]*daemon.Pidfile, error) {
	var written []*daemon.Pidfile
	if o.PidFile != "" {
		f, err := daemon.CreatePidfile(o.PidFile, os.Getpid())
		if err != nil {
			return written, fmt.Errorf("pid file: %w", err)
		}
		written = append(written, f)
	}
	if o.PgrpFile != "" {
		f, err := daemon.CreatePidfile(o.PgrpFile, -syscall.Getpgrp())
		if err != nil {
			return written, fmt.Errorf("process group file: %w", err)
		}
		written = append(written, f)
	}
	return written, nil
}

// reexec returns a command that runs this program again with the same arguments and env plus extra.
func reexec(extra string) (*exec.Cmd, *os.File, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), extra)
	cmd.Stdin, cmd.Stdout = devnull, devnull
	return cmd, devnull, nil
}

// startWatcher starts the copy of the program that removes the pid files when this process (soon
// the last command) exits. It stays in the process group, so "kill -- -PGID" reaches it too.
func startWatcher() error {
	cmd, devnull, err := reexec(watchEnv + "=" + strconv.Itoa(os.Getpid()))
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// watch is the watcher: it waits for process pid to exit, or for a terminating signal, then removes
// the pid files if they still hold what dpipe wrote (pid, and the negated group id it shares with us).
func watch(pidStr string, o dpipe.Options) error {
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return fmt.Errorf("%s=%q: not a process id", watchEnv, pidStr)
	}
	var files []*daemon.Pidfile
	for f, id := range map[string]int{o.PidFile: pid, o.PgrpFile: -syscall.Getpgrp()} {
		if f != "" {
			if pf, err := daemon.AdoptPidfile(f, id); err == nil {
				files = append(files, pf)
			}
		}
	}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, termSignals...)
	gone := make(chan struct{})
	go func() {
		waitGone(pid)
		close(gone)
	}()
	select {
	case <-gone:
	case <-sigc:
	}
	for _, f := range files {
		f.Remove()
	}
	return nil
}

// waitGone returns when process pid no longer exists: at once through a pidfd, or by polling.
func waitGone(pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == nil || !errors.Is(err, unix.EINTR) {
				return
			}
		}
	}
	if errors.Is(err, unix.ESRCH) {
		return
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(200 * time.Millisecond)
	}
}

// execLast replaces the process with the last command, its stdin and stdout being the chain's ends.
// It returns only on failure.
func execLast(c *dpipe.Chain, args []string) error {
	path, err := exec.LookPath(args[0])
	if err != nil {
		return fmt.Errorf("exec %s: %w", args[0], errors.Unwrap(err)) // an *exec.Error
	}
	// Move both ends above 2 first, in case one of them is descriptor 0 or 1 already.
	in, err := unix.FcntlInt(c.LastStdin.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fmt.Errorf("dup: %w", err)
	}
	out, err := unix.FcntlInt(c.LastStdout.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fmt.Errorf("dup: %w", err)
	}
	if err := unix.Dup3(in, 0, 0); err != nil {
		return fmt.Errorf("dup: %w", err)
	}
	if err := unix.Dup3(out, 1, 0); err != nil {
		return fmt.Errorf("dup: %w", err)
	}
	signal.Reset()
	err = syscall.Exec(path, args, dpipe.Env(os.Environ()))
	return fmt.Errorf("exec %s: %w", args[0], err)
}
