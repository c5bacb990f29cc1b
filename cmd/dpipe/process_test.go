// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// These tests run the dpipe binaries: ours (testutil.Bin) and, where the behaviour is the same,
// the reference one, and compare. Every run gets its own process group (Setpgid), because the
// reference dpipe signals its caller's process group on usage errors.

type impl struct{ name, bin string }

// impls returns our dpipe and, when installed, the reference one (skipped, or failing under CI, if not).
func impls(t *testing.T, withReal bool) []impl {
	t.Helper()
	is := []impl{{"ours", testutil.Bin(t, "dpipe")}}
	if withReal {
		is = append(is, impl{"real", testutil.RealTool(t, "dpipe")})
	}
	return is
}

// runDpipe runs bin with args in dir (at most 10 s), in a process group of its own, and returns its
// shell-style status and sorted stderr lines.
func runDpipe(t *testing.T, bin, dir string, args ...string) (int, []string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group we made for it
		<-done
		t.Fatalf("%s %q: still running after 10s; stderr %q", bin, args, errb.String())
	}
	lines := strings.Split(strings.TrimRight(errb.String(), "\n"), "\n")
	slices.Sort(lines)
	return status(cmd.ProcessState), lines
}

func status(ps *os.ProcessState) int {
	if ws := ps.Sys().(syscall.WaitStatus); ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// TestCompareWithReal runs the same command lines through our dpipe and the reference one and
// compares exit status and what the commands report on stderr.
func TestCompareWithReal(t *testing.T) {
	ours, real := testutil.Bin(t, "dpipe"), testutil.RealTool(t, "dpipe")
	filter := func(tag string) string { return `while read l; do echo "${l}` + tag + `"; done` }
	tests := []struct {
		name         string
		args         []string
		statusOnly   bool // stderr differs on purpose (our error messages)
		wantStatus   int
		wantContains string
	}{
		{name: "two", args: []string{"sh", "-c", `echo ping; read r; echo "L:$r" >&2`, "=", "sh", "-c", `read l; echo "R:$l" >&2; echo pong`},
			wantContains: "R:ping"},
		{name: "three", args: []string{
			"sh", "-c", `echo a; read r; echo "L:$r" >&2`, "=",
			"sh", "-c", `read x; echo "$x-m" >&$ALTERNATE_STDOUT; read y <&$ALTERNATE_STDIN; echo "$y-m"; echo "M:$ALTERNATE_STDIN,$ALTERNATE_STDOUT" >&2`, "=",
			"sh", "-c", `read l; echo "R:$l" >&2; echo b`},
			wantContains: "L:b-m"},
		{name: "env everywhere", args: []string{"sh", "-c", `echo "L:$ALTERNATE_STDIN,$ALTERNATE_STDOUT" >&2`, "=",
			"sh", "-c", `echo "R:$ALTERNATE_STDIN,$ALTERNATE_STDOUT" >&2`}, wantContains: "R:3,4"},
		{name: "left to right", args: []string{"sh", "-c", `echo a; read r; echo "L:$r" >&2`, "=}",
			"sh", "-c", filter("+f"), "}=", "sh", "-c", `read l; echo "R:$l" >&2; echo b`}, wantContains: "R:a+f"},
		{name: "right to left", args: []string{"sh", "-c", `echo a; read r; echo "L:$r" >&2`, "={",
			"sh", "-c", filter("+f"), "{=", "sh", "-c", `read l; echo "R:$l" >&2; echo b`}, wantContains: "L:b+f"},
		{name: "man page mix", args: []string{"sh", "-c", `echo A; read r; echo "a:$r" >&2`, "=}",
			"sh", "-c", filter("B"), "}={", "sh", "-c", filter("C"), "{=",
			"sh", "-c", `read x; echo "d:$x" >&2; echo "${x}D" >&4; read y <&3; echo "$y"`, "=",
			"sh", "-c", `read z; echo "e:$z" >&2; echo E`}, wantContains: "a:EC"},
		{name: "status of last", args: []string{"sh", "-c", "exit 3", "=", "sh", "-c", "exit 7"}, wantStatus: 7},
		{name: "status of last, first fails", args: []string{"sh", "-c", "exit 3", "=", "true"}},
		{name: "last not found", args: []string{"cat", "=", "/nonexistent/govde"}, statusOnly: true, wantStatus: 127},
		{name: "options then commands", args: []string{"--", "sh", "-c", `echo "x" >&2`, "=", "cat"}, wantContains: "x"},
		{name: "nowrap", args: []string{"-n", "sh", "-c", "echo hi", "=", "sh", "-c", `read l; echo "R:$l" >&2; exit 4`},
			wantStatus: 4, wantContains: "R:hi"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ost, oerr := runDpipe(t, ours, dir, tc.args...)
			rs, rerr := runDpipe(t, real, dir, tc.args...)
			if ost != tc.wantStatus || rs != tc.wantStatus {
				t.Errorf("status: ours %d, real %d, want %d", ost, rs, tc.wantStatus)
			}
			if tc.statusOnly {
				return
			}
			if !slices.Equal(oerr, rerr) {
				t.Errorf("stderr lines differ:\nours %q\nreal %q", oerr, rerr)
			}
			if !slices.Contains(oerr, tc.wantContains) && tc.wantContains != "" {
				t.Errorf("stderr lines %q lack %q", oerr, tc.wantContains)
			}
		})
	}
}

// TestUsageSparesCaller checks that -h and a syntax error neither kill the caller's process group
// (as the reference does) nor exit with a misleading status.
func TestUsageSparesCaller(t *testing.T) {
	bin := testutil.Bin(t, "dpipe")
	cmd := exec.Command("sh", "-c", `"$0" -h 2>/dev/null; echo "help=$?"; "$0" cat = 2>/dev/null; echo "syntax=$?"`, bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("caller shell: %v (output %q)", err, out)
	}
	if string(out) != "help=0\nsyntax=2\n" {
		t.Errorf("caller shell printed %q, want \"help=0\\nsyntax=2\\n\"", out)
	}
}

// startDpipe starts bin in dir; ownGroup puts it in a process group of its own first. The process
// group dpipe leads is killed by the cleanup.
func startDpipe(t *testing.T, bin, dir string, ownGroup bool, args ...string) *testutil.Proc {
	t.Helper()
	p := testutil.Start(t, func(c *exec.Cmd) {
		c.Dir = dir
		if ownGroup {
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		}
	}, bin, args...)
	pid := p.Cmd.Process.Pid
	t.Cleanup(func() {
		// Only the group this dpipe created (its pgid is its pid), never ours.
		if pg, err := syscall.Getpgid(pid); err == nil && pg == pid {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	return p
}

// readFile waits for a file to have a full line and returns it.
func readLine(t *testing.T, path string) string {
	t.Helper()
	var s string
	testutil.Eventually(t, 5*time.Second, path, func() bool {
		b, err := os.ReadFile(path)
		s = string(b)
		return err == nil && strings.HasSuffix(s, "\n")
	})
	return s
}

// children returns the pids of the live children of pid.
func children(pid int) []int {
	var kids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so parse after the last ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(pid) {
			kids = append(kids, n)
		}
	}
	return kids
}

// gone reports whether pid has exited (it may linger as a zombie of an init that does not reap).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) == 0 || f[0] == "Z"
}

func statField(t *testing.T, pid, field int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, _ := strconv.Atoi(f[field-3]) // field numbers as in proc(5): 3 is state
	return n
}

// waitChildren waits until dpipe has started n commands.
func waitChildren(t *testing.T, pid, n int) []int {
	t.Helper()
	var kids []int
	testutil.Eventually(t, 5*time.Second, fmt.Sprintf("%d commands under dpipe %d", n, pid), func() bool {
		kids = children(pid)
		return len(kids) == n
	})
	return kids
}

// TestPidFilesAndSignals covers -p/-P (content, removal) and SIGTERM/SIGINT, with our dpipe and the reference.
func TestPidFilesAndSignals(t *testing.T) {
	for _, im := range impls(t, true) {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
			t.Run(im.name+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				pidf, pgf := filepath.Join(dir, "pid"), filepath.Join(dir, "pgrp")
				p := startDpipe(t, im.bin, dir, false, "-p", "pid", "--pgrpfile", "pgrp", "cat", "=", "cat")
				pid := p.Cmd.Process.Pid
				if got, want := readLine(t, pidf), fmt.Sprintf("%d\n", pid); got != want {
					t.Errorf("pid file = %q, want %q", got, want)
				}
				// dpipe leads a new process group (so kill -- -PGID reaches all of it), not ours.
				if got, want := readLine(t, pgf), fmt.Sprintf("-%d\n", pid); got != want {
					t.Errorf("pgrp file = %q, want %q", got, want)
				}
				kids := waitChildren(t, pid, 2)
				for _, k := range kids {
					if pg, _ := syscall.Getpgid(k); pg != pid {
						t.Errorf("command %d in process group %d, want %d", k, pg, pid)
					}
				}
				syscall.Kill(pid, sig)
				p.Wait(5 * time.Second)
				got := status(p.Cmd.ProcessState)
				want := 0 // SIGTERM: clean exit
				if sig != syscall.SIGTERM {
					want = 128 + int(sig) // re-raised to the group, dpipe included
				}
				if got != want {
					t.Errorf("status after %v = %d, want %d", sig, got, want)
				}
				for _, f := range []string{pidf, pgf} {
					if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s not removed: %v", f, err)
					}
				}
				testutil.Eventually(t, time.Second, "commands gone", func() bool { return gone(kids[0]) && gone(kids[1]) })
			})
		}
	}
}

// TestKillGroup checks that the negated pgid in the -P file ends everything, with the files removed.
func TestKillGroup(t *testing.T) {
	dir := t.TempDir()
	pgf := filepath.Join(dir, "pgrp")
	p := startDpipe(t, testutil.Bin(t, "dpipe"), dir, false, "-P", pgf, "cat", "=", "cat", "=", "cat")
	kids := waitChildren(t, p.Cmd.Process.Pid, 3)
	pg, err := strconv.Atoi(strings.TrimSpace(readLine(t, pgf)))
	if err != nil || pg >= 0 {
		t.Fatalf("pgrp file holds %d, %v; want a negative number", pg, err)
	}
	if -pg != p.Cmd.Process.Pid {
		t.Fatalf("pgrp file holds %d, want -%d (dpipe leads its group)", pg, p.Cmd.Process.Pid)
	}
	syscall.Kill(pg, syscall.SIGTERM)
	if err := p.Wait(5 * time.Second); err != nil {
		t.Errorf("dpipe after kill -- %d: %v", pg, err)
	}
	testutil.Eventually(t, 2*time.Second, "commands gone", func() bool { return gone(kids[0]) && gone(kids[1]) && gone(kids[2]) })
	if _, err := os.Stat(pgf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pgrp file not removed: %v", err)
	}
}

// TestCollapse kills one command of "cat = cat" and checks that dpipe exits within 1 s, for ours and the reference.
func TestCollapse(t *testing.T) {
	for _, im := range impls(t, true) {
		for _, victim := range []string{"first", "last"} {
			t.Run(im.name+"/"+victim, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				// The two cats are told apart by their argument.
				p := startDpipe(t, im.bin, dir, true, "cat", "-", "=", "cat", "-u")
				kids := waitChildren(t, p.Cmd.Process.Pid, 2)
				for _, k := range kids {
					cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", k))
					if (victim == "first") == bytes.HasSuffix(cmdline, []byte("-\x00")) {
						start := time.Now()
						syscall.Kill(k, syscall.SIGKILL)
						if err := p.Wait(5 * time.Second); err != nil && !p.Exited() {
							t.Fatalf("dpipe did not exit after its %s command died: %v", victim, err)
						}
						if d := time.Since(start); d > time.Second {
							t.Errorf("dpipe exited %v after its %s command died, want < 1s", d, victim)
						}
						return
					}
				}
				t.Fatalf("no %s command among %v", victim, kids)
			})
		}
	}
}

// TestNoWrap checks -n (dpipe becomes the last command; the pid file is removed after it exits) and
// -N (the pid file stays), for ours and the reference.
func TestNoWrap(t *testing.T) {
	for _, im := range impls(t, true) {
		for _, opt := range []string{"-n", "-N"} {
			t.Run(im.name+opt, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				last := `echo $$ > last.pid; while [ ! -e go ]; do sleep 0.02; done; exit 5`
				p := startDpipe(t, im.bin, dir, true, opt, "-p", filepath.Join(dir, "pid"), "cat", "=", "sh", "-c", last)
				pid := p.Cmd.Process.Pid
				if got, want := readLine(t, filepath.Join(dir, "last.pid")), fmt.Sprintf("%d\n", pid); got != want {
					t.Errorf("last command's pid = %q, want dpipe's %q", got, want)
				}
				if got, want := readLine(t, filepath.Join(dir, "pid")), fmt.Sprintf("%d\n", pid); got != want {
					t.Errorf("pid file = %q, want %q", got, want)
				}
				os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
				p.Wait(5 * time.Second)
				if got := status(p.Cmd.ProcessState); got != 5 {
					t.Errorf("status = %d, want 5 (the last command's)", got)
				}
				_, err := os.Stat(filepath.Join(dir, "pid"))
				if opt == "-N" {
					if err != nil {
						t.Errorf("-N: pid file removed: %v", err)
					}
					return
				}
				// The reference's watcher polls every second.
				testutil.Eventually(t, 3*time.Second, "pid file removed", func() bool {
					_, err := os.Stat(filepath.Join(dir, "pid"))
					return errors.Is(err, os.ErrNotExist)
				})
			})
		}
	}
}

// TestDaemon checks -d: dpipe returns at once, the chain runs in a new session led by the daemon,
// in /, and the pid file (relative for ours, made absolute first) names the daemon.
func TestDaemon(t *testing.T) {
	for _, im := range impls(t, true) {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pidArg := filepath.Join(dir, "pid")
			if im.name == "ours" {
				pidArg = "pid" // relative: the reference would write it in / after daemon(3)
			}
			script := fmt.Sprintf(`pwd > %s/cwd; exec cat`, dir)
			p := startDpipe(t, im.bin, dir, true, "-d", "-p", pidArg, "sh", "-c", script, "=", "cat")
			if err := p.Wait(5 * time.Second); err != nil {
				t.Fatalf("dpipe -d: %v (stderr %q)", err, p.Stderr.String())
			}
			line := readLine(t, filepath.Join(dir, "pid"))
			dpid, err := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || dpid == p.Cmd.Process.Pid {
				t.Fatalf("pid file %q: want the daemon's pid, not %d", line, p.Cmd.Process.Pid)
			}
			t.Cleanup(func() {
				if pg, err := syscall.Getpgid(dpid); err == nil && pg == dpid {
					syscall.Kill(-dpid, syscall.SIGKILL)
				}
			})
			if sid := statField(t, dpid, 6); sid != dpid {
				t.Errorf("daemon %d is in session %d, want its own", dpid, sid)
			}
			if cwd := readLine(t, filepath.Join(dir, "cwd")); cwd != "/\n" {
				t.Errorf("commands run in %q, want /", cwd)
			}
			kids := waitChildren(t, dpid, 2)
			syscall.Kill(-dpid, syscall.SIGTERM)
			testutil.Eventually(t, 2*time.Second, "daemon and commands gone", func() bool {
				return gone(dpid) && gone(kids[0]) && gone(kids[1])
			})
			testutil.Eventually(t, 2*time.Second, "pid file removed", func() bool {
				_, err := os.Stat(filepath.Join(dir, "pid"))
				return errors.Is(err, os.ErrNotExist)
			})
		})
	}
}

// TestPidFileExists: dpipe refuses an existing -p or -P file (internal/daemon.CreatePidfile), leaves it
// alone and starts no command.
func TestPidFileExists(t *testing.T) {
	bin := testutil.Bin(t, "dpipe")
	for _, opt := range []string{"-p", "-P"} {
		dir := t.TempDir()
		f, mark := filepath.Join(dir, "pid"), filepath.Join(dir, "ran")
		os.WriteFile(f, []byte("1\n"), 0o644)
		p := testutil.Start(t, nil, bin, opt, f, "touch", mark, "=", "cat")
		p.Wait(5 * time.Second)
		if got := status(p.Cmd.ProcessState); got != 1 || !strings.Contains(p.Stderr.String(), "file exists") {
			t.Errorf("dpipe %s EXISTING: status %d, stderr %q; want 1 and \"file exists\"", opt, got, p.Stderr.String())
		}
		if b, _ := os.ReadFile(f); string(b) != "1\n" {
			t.Errorf("dpipe %s: existing file now holds %q, want it kept", opt, b)
		}
		if _, err := os.Stat(mark); err == nil {
			t.Errorf("dpipe %s EXISTING started the commands", opt)
		}
	}
}

// TestOwnProcessGroup checks that dpipe started in its caller's group moves to a group of its own,
// and that a session leader (under setsid, where the reference fails) works as well.
func TestOwnProcessGroup(t *testing.T) {
	bin := testutil.Bin(t, "dpipe")
	dir := t.TempDir()
	p := startDpipe(t, bin, dir, false, "cat", "=", "cat")
	pid := p.Cmd.Process.Pid
	testutil.Eventually(t, 5*time.Second, "dpipe in its own group", func() bool {
		pg, err := syscall.Getpgid(pid)
		return err == nil && pg == pid
	})
	if pg, _ := syscall.Getpgid(pid); pg == syscall.Getpgrp() {
		t.Errorf("dpipe stayed in the test's process group %d", pg)
	}

	s := testutil.Start(t, func(c *exec.Cmd) {
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}, bin, "sh", "-c", "echo a", "=", "sh", "-c", "read x; exit 6")
	s.Wait(5 * time.Second)
	if got := status(s.Cmd.ProcessState); got != 6 {
		t.Errorf("under setsid: status %d, want 6 (stderr %q)", got, s.Stderr.String())
	}
}
