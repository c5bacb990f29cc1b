// SPDX-License-Identifier: GPL-2.0-or-later

package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/cmdutil"
)

// The test binary doubles as the program under test: with daemonTestMode set it acts as a daemon
// whose behaviour the mode selects, and records what it saw in the file daemonTestOut names.
func TestMain(m *testing.M) {
	if mode := os.Getenv("DAEMON_TEST_MODE"); mode != "" {
		os.Exit(fakeDaemon(mode))
	}
	if mode := os.Getenv("DAEMON_TEST_RUN"); mode != "" {
		os.Exit(fakeRun(mode))
	}
	os.Exit(m.Run())
}

func fakeDaemon(mode string) int {
	c := Detach()
	if c == nil {
		return 99 // not detected as a child
	}
	_, stillSet := os.LookupEnv(envVar)
	sid, _ := getsid()
	out := fmt.Sprintf("sid=%d pid=%d env=%v stdin=%s", sid, os.Getpid(), stillSet, fdTarget(0))
	os.WriteFile(os.Getenv("DAEMON_TEST_OUT"), []byte(out), 0o644)
	switch mode {
	case "ready":
		c.Ready()
		c.Fail(5, "ignored: only the first report counts")
		time.Sleep(200 * time.Millisecond) // the parent has returned by now
		return 0
	case "fail":
		c.Fail(3, "bind /x: address in use")
		return 3
	case "failsilent":
		c.Fail(7, "")
		return 7
	case "exit":
		return 4
	case "hang":
		time.Sleep(time.Minute)
	}
	return 0
}

func getsid() (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}

func fdTarget(fd int) string {
	s, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return s
}

func run(t *testing.T, mode string, timeout time.Duration) (error, string) {
	t.Helper()
	out := t.TempDir() + "/out"
	t.Setenv("DAEMON_TEST_MODE", mode)
	t.Setenv("DAEMON_TEST_OUT", out)
	err := Start(timeout)
	b, _ := os.ReadFile(out)
	return err, string(b)
}

func TestStartReady(t *testing.T) {
	err, seen := run(t, "ready", 10*time.Second)
	if err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
	mySid, _ := getsid()
	var sid, pid int
	var env bool
	var stdin string
	fmt.Sscanf(seen, "sid=%d pid=%d env=%t stdin=%s", &sid, &pid, &env, &stdin)
	if sid != pid || sid == mySid {
		t.Errorf("child session %d (pid %d), ours %d: want a new session led by the child", sid, pid, mySid)
	}
	if env {
		t.Error("the marker is still in the child's environment after Detach")
	}
	if stdin != os.DevNull {
		t.Errorf("child stdin = %q, want %s", stdin, os.DevNull)
	}
}

func TestStartFail(t *testing.T) {
	err, _ := run(t, "fail", 10*time.Second)
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || !strings.Contains(err.Error(), "address in use") {
		t.Fatalf("Start = %v, want exit 3 with the child's message", err)
	}
	err, _ = run(t, "failsilent", 10*time.Second)
	if !errors.As(err, &ee) || ee.Code != 7 || ee.Err != nil {
		t.Fatalf("Start = %#v, want a silent exit 7", err)
	}
}

func TestStartChildExits(t *testing.T) {
	err, _ := run(t, "exit", 10*time.Second)
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != 4 {
		t.Fatalf("Start = %v, want exit status 4 from the child", err)
	}
}

func TestStartTimeout(t *testing.T) {
	start := time.Now()
	err, _ := run(t, "hang", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not ready") || time.Since(start) > 5*time.Second {
		t.Fatalf("Start = %v after %v, want a timeout error", err, time.Since(start))
	}
}

func TestNotAChild(t *testing.T) {
	if c := Detach(); c != nil {
		t.Fatal("Detach in a plain test process returned a Child")
	}
	var c *Child
	c.Ready() // no-ops on nil
	c.Fail(1, "x")
}
