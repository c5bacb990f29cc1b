// SPDX-License-Identifier: GPL-2.0-or-later

package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/cmdutil"
)

// runOptions are the Options both the test (the parent) and fakeRun (the daemon) pass to Run.
func runOptions() Options {
	return Options{Name: "vtest", Background: true, Pidfile: os.Getenv("DAEMON_TEST_PIDFILE"), Timeout: 10 * time.Second}
}

// fakeRun is the daemon side of the Run tests: the test binary re-executed by Run's Start.
func fakeRun(mode string) int {
	out := os.Getenv("DAEMON_TEST_OUT")
	err := Run(context.Background(), runOptions(), func(ctx context.Context, p *Process) error {
		switch mode {
		case "ready":
			if err := p.Ready(); err != nil {
				return err
			}
			wd, _ := os.Getwd()
			os.WriteFile(out, fmt.Appendf(nil, "pid=%d background=%v wd=%s", os.Getpid(), p.Background(), wd), 0o644)
			for _, err := os.Stat(out + ".stop"); err != nil; _, err = os.Stat(out + ".stop") {
				time.Sleep(10 * time.Millisecond)
			}
			return nil
		case "fail":
			return cmdutil.Exitf(3, "bind /x: address in use")
		case "pidfile":
			return p.Ready() // the pid file exists: fails
		}
		return nil
	})
	os.WriteFile(out+".exit", []byte(fmt.Sprint(err)), 0o644)
	if err != nil {
		return cmdutil.Report(cmdutil.NewApp("vtest", ""), err)
	}
	return 0
}

func startRun(t *testing.T, mode string) (err error, dir string) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("DAEMON_TEST_RUN", mode)
	t.Setenv("DAEMON_TEST_OUT", filepath.Join(dir, "out"))
	t.Setenv("DAEMON_TEST_PIDFILE", filepath.Join(dir, "pid"))
	if mode == "pidfile" {
		os.WriteFile(filepath.Join(dir, "pid"), []byte("1\n"), 0o644)
	}
	err = Run(context.Background(), runOptions(), func(context.Context, *Process) error {
		t.Error("the parent ran the tool's function")
		return nil
	})
	return err, dir
}

// TestRunReady: the parent returns nil once the daemon is ready; the daemon runs in the background in
// "/", its pid file holds its pid while it runs and is removed when it ends.
func TestRunReady(t *testing.T) {
	err, dir := startRun(t, "ready")
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	out := filepath.Join(dir, "out")
	var seen string
	deadline := time.Now().Add(5 * time.Second)
	for seen == "" && time.Now().Before(deadline) {
		b, _ := os.ReadFile(out)
		seen = string(b)
		time.Sleep(10 * time.Millisecond)
	}
	var pid int
	var bg bool
	var wd string
	fmt.Sscanf(seen, "pid=%d background=%t wd=%s", &pid, &bg, &wd)
	if !bg || wd != "/" {
		t.Errorf("daemon saw %q, want background=true wd=/", seen)
	}
	if got, want := readFile(t, filepath.Join(dir, "pid")), fmt.Sprintf("%d\n", pid); got != want {
		t.Errorf("pid file holds %q, want %q", got, want)
	}
	os.WriteFile(out+".stop", nil, 0o644)
	for _, err := os.Stat(out + ".exit"); err != nil && time.Now().Before(deadline); _, err = os.Stat(out + ".exit") {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file still there after the daemon ended (%v)", err)
	}
}

// TestRunFail: an error before Ready reaches the parent with its code and message.
func TestRunFail(t *testing.T) {
	err, _ := startRun(t, "fail")
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || err.Error() != "bind /x: address in use" {
		t.Fatalf("Run = %v, want exit 3 with the daemon's message", err)
	}
}

// TestRunPidfileExists: a daemon whose pid file exists fails with status 1 and the reason, and the
// file is kept.
func TestRunPidfileExists(t *testing.T) {
	err, dir := startRun(t, "pidfile")
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(err.Error(), "pidfile: open ") ||
		!strings.HasSuffix(err.Error(), "file exists") {
		t.Fatalf("Run = %v, want exit 1 with \"pidfile: open ...: file exists\"", err)
	}
	time.Sleep(100 * time.Millisecond) // let the daemon's Run finish
	if got := readFile(t, filepath.Join(dir, "pid")); got != "1\n" {
		t.Errorf("existing pid file now holds %q, want it kept", got)
	}
}

// TestRunForeground: without Background, Run calls the function in this process, logs to Stderr,
// does not change directory, writes the pid file (relative names made absolute) and removes it at
// the end, and returns the function's error unchanged.
func TestRunForeground(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var logs bytes.Buffer
	want := errors.New("boom")
	var pidContent string
	err := Run(context.Background(), Options{Name: "vtest", Pidfile: "pid", Stderr: &logs},
		func(ctx context.Context, p *Process) error {
			if p.Background() {
				t.Error("Background() = true in the foreground")
			}
			p.Logf("hello %d", 1)
			if err := p.WritePidfile(); err != nil {
				t.Fatal(err)
			}
			if err := p.Ready(); err != nil { // the pid file is written once
				t.Fatal(err)
			}
			pidContent = readFile(t, filepath.Join(dir, "pid"))
			if wd, _ := os.Getwd(); wd != dir {
				t.Errorf("working directory %s, want %s kept", wd, dir)
			}
			return want
		})
	if err != want {
		t.Errorf("Run = %v, want %v", err, want)
	}
	if logs.String() != "vtest: hello 1\n" {
		t.Errorf("log %q, want %q", logs.String(), "vtest: hello 1\n")
	}
	if pidContent != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Errorf("pid file held %q", pidContent)
	}
	if _, err := os.Stat(filepath.Join(dir, "pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file not removed (%v)", err)
	}
}
