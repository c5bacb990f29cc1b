// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// daemonEnv marks the re-executed daemon copy of the program; its value is the number of the
// descriptor on which the child reports "ok" or its error to the waiting parent.
const daemonEnv = "GOVDE_PLUG2TAP_DAEMON"

// readyFD is the descriptor the parent hands the child (the first of ExtraFiles).
const readyFD = 3

func isDaemonChild() bool { return os.Getenv(daemonEnv) != "" }

// daemonReady returns the report pipe when we are the daemon child, after detaching from the
// caller's working directory; nil otherwise.
func daemonReady() *os.File {
	if !isDaemonChild() {
		return nil
	}
	os.Unsetenv(daemonEnv)
	os.Chdir("/")
	return os.NewFile(readyFD, "daemon-ready")
}

// startDaemon re-executes the program in a new session with stdio on /dev/null and waits (at most
// 30 s) for the child to report that it is set up. The child's setup error becomes ours.
func startDaemon() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	defer devnull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", daemonEnv, readyFD))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release() // the daemon outlives us; init reaps it
	r.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok":
		return nil
	case line != "":
		return cmdutil.Exitf(1, "%s", line)
	default:
		return cmdutil.Exitf(1, "daemon (pid %d) exited before it was ready: %v", pid, err)
	}
}

// stdinCloser makes a blocked read of the non-blocking stdin return (by a deadline in the past)
// without closing descriptor 0, which stays usable for the rest of the process.
type stdinCloser struct{ f *os.File }

func (s stdinCloser) Close() error {
	s.f.SetReadDeadline(time.Unix(1, 0))
	return nil
}

// openStdio returns the 2-byte VDE stream on stdin/stdout, and a function that puts stdin back in
// blocking mode. Stdin is made non-blocking when it is a pipe or a socket (never a terminal, whose
// mode the shell shares) so that the runtime poller can interrupt a pending read when the TAP side ends.
func openStdio() (frame.Endpoint, func()) {
	in := os.Stdin
	restore := func() {}
	var st syscall.Stat_t
	if syscall.Fstat(0, &st) != nil {
		return stream.NewConn(in, os.Stdout, nil), restore
	}
	if t := st.Mode & syscall.S_IFMT; (t == syscall.S_IFIFO || t == syscall.S_IFSOCK) && syscall.SetNonblock(0, true) == nil {
		in = os.NewFile(0, "stdin")
		restore = func() { syscall.SetNonblock(0, false) }
	}
	return stream.NewConn(in, os.Stdout, stdinCloser{in}), restore
}
