// SPDX-License-Identifier: GPL-2.0-or-later

package dpipe

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/govde/govde/internal/daemon"
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

// Run runs the parsed command line p as the dpipe program does and returns the exit status: that of
// the last command (128+N if signal N killed it, 127 if it could not be started), 0 after SIGTERM,
// 1 when dpipe itself fails. Errors are reported on stderr.
//
// Run changes the state of the whole process, so only the dpipe command calls it: unless -d it makes
// the process the leader of a new process group (so that "kill -- -PGID" with the -P file reaches every
// command); with -d it re-executes the program (os.Args) in a new session with /dev/null as stdio and
// / as working directory, and returns 0 in the parent; with -n it execs the last command and does not
// return unless that fails; with -n and -p/-P it first starts a copy of the program that removes the
// pid files when the last command exits. Pid file names are made absolute first.
func Run(p Pipeline) int {
	if err := absFiles(&p.Options); err != nil {
		fmt.Fprintf(os.Stderr, "dpipe: %v\n", err)
		return 1
	}
	if v, ok := os.LookupEnv(watchEnv); ok {
		return watch(v, p.Options)
	}
	ready := daemon.Detach() // the link to the waiting parent when we are the -d child
	if p.Daemon {
		if ready == nil {
			// Returns once the child has started the commands, or with its error.
			if err := daemon.Start(daemonTimeout); err != nil {
				code := 1
				if ec, ok := err.(interface{ ExitCode() int }); ok {
					code = ec.ExitCode()
				}
				fmt.Fprintf(os.Stderr, "dpipe: %v\n", err) // the child only fails with a message
				return code
			}
			return 0
		}
		if err := os.Chdir("/"); err != nil {
			ready.Fail(1, fmt.Sprintf("daemonize: %v", err))
			return 1
		}
	} else if err := newProcessGroup(); err != nil {
		fmt.Fprintf(os.Stderr, "dpipe: cannot create process group: %v\n", err)
		return 1
	}

	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, termSignals...)
	signal.Notify(make(chan os.Signal, 1), ignoredSignals...) // never read: the signals are dropped

	written, err := writePidFiles(p.Options)
	clean := func() {
		if !p.NoClean {
			for _, f := range written {
				os.Remove(f)
			}
		}
	}
	if err != nil {
		clean()
		fmt.Fprintf(os.Stderr, "dpipe: %v\n", err)
		ready.Fail(1, err.Error())
		return 1
	}

	chain, err := StartChain(p.Stages, Config{ExecLast: p.NoWrap})
	if err != nil {
		clean()
		fmt.Fprintf(os.Stderr, "dpipe: %v\n", err)
		ready.Fail(1, err.Error())
		return 1
	}
	ready.Ready()
	if p.NoWrap {
		if len(written) > 0 && !p.NoClean {
			if err := startWatcher(); err != nil {
				fmt.Fprintf(os.Stderr, "dpipe: pid file watcher: %v\n", err)
			}
		}
		last := p.Stages[len(p.Stages)-1].Args
		err := execLast(chain, last)
		fmt.Fprintf(os.Stderr, "dpipe: %v\n", err)
		clean()
		return ExecFailed
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
		select {
		case sig = <-sigc:
		default:
			clean()
			return chain.Wait()
		}
	case sig = <-sigc:
	}
	clean()
	chain.SignalLast(syscall.SIGTERM)
	if sig == syscall.SIGTERM {
		return 0
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
	return 128 + int(s)
}

// absFiles makes the pid file names absolute, so that -d (working directory /) keeps their meaning.
func absFiles(o *Options) error {
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

// writePidFiles writes the -p and -P files and returns the names of those written.
func writePidFiles(o Options) ([]string, error) {
	var written []string
	if o.PidFile != "" {
		if err := os.WriteFile(o.PidFile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o666); err != nil {
			return written, fmt.Errorf("pid file: %w", err)
		}
		written = append(written, o.PidFile)
	}
	if o.PgrpFile != "" {
		if err := os.WriteFile(o.PgrpFile, fmt.Appendf(nil, "-%d\n", syscall.Getpgrp()), 0o666); err != nil {
			return written, fmt.Errorf("process group file: %w", err)
		}
		written = append(written, o.PgrpFile)
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
// the pid files.
func watch(pidStr string, o Options) int {
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		fmt.Fprintf(os.Stderr, "dpipe: %s=%q: not a process id\n", watchEnv, pidStr)
		return 1
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
	for _, f := range []string{o.PidFile, o.PgrpFile} {
		if f != "" {
			os.Remove(f)
		}
	}
	return 0
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
func execLast(c *Chain, args []string) error {
	path, err := exec.LookPath(args[0])
	if err != nil {
		return errors.New(startError(args[0], err))
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
	err = syscall.Exec(path, args, Env(os.Environ()))
	return fmt.Errorf("exec %s: %w", args[0], err)
}
