// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/vde"
)

// End-to-end tests of the built command: console, daemon mode, pidfile, sockets and cleanup. No root.

func TestConsoleOnStdin(t *testing.T) {
	bin := testutil.Bin(t, "vswitch")
	base := t.TempDir()
	dir := filepath.Join(base, "sw")
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = inR; c.Env = append(os.Environ(), "HOME="+base) }, bin, "-s", dir, "-n", "4")
	testutil.WaitPath(t, filepath.Join(dir, "ctl"), 10*time.Second)
	inW.Write([]byte("port/showinfo\n"))
	testutil.Eventually(t, 5*time.Second, "console reply", func() bool {
		return strings.Contains(p.Stdout.String(), "1000 Success\n")
	})
	if got, want := p.Stdout.String(), "0000 DATA END WITH '.'\nNumports=4\nHUB=false\ncounters=true\n.\n1000 Success\n"; got != want {
		t.Errorf("console stdout %q, want %q (no banner, prompt on fd 0)", got, want)
	}
	inW.Write([]byte("logout\n")) // ignored on the console
	inW.Close()
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit: %v (stderr %q)", err, p.Stderr.String())
	}
	if got := p.Stderr.String(); got != "vswitch: EOF on stdin, cleaning up and exiting\n" {
		t.Errorf("stderr %q", got)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("control directory left behind: %v", err)
	}
}

func TestInvokedAsVdeSwitch(t *testing.T) {
	bin := testutil.Bin(t, "vswitch")
	base := t.TempDir()
	link := filepath.Join(base, "vde_switch")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "-s", filepath.Join(base, "sw"))
	cmd.Env = append(os.Environ(), "HOME="+base)
	var errb bytes.Buffer
	cmd.Stderr = &errb // stdin is /dev/null: EOF at once
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if got := errb.String(); got != "vde_switch: EOF on stdin, cleaning up and exiting\n" {
		t.Errorf("stderr %q", got)
	}
}

// runDaemon runs "vswitch -d args..." in dir and returns its exit status and stderr.
func runDaemon(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(testutil.Bin(t, "vswitch"), append([]string{"-d"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), errb.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, errb.String()
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("vswitch -d did not return")
	}
	return 0, ""
}

// daemonPID reads a pidfile and arranges for the daemon to be killed at the end of the test.
func daemonPID(t *testing.T, pidfile string) int {
	t.Helper()
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("pidfile %q does not end in a newline", b)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pidfile %q: %v", b, err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestDaemon(t *testing.T) {
	base := t.TempDir()
	code, stderr := runDaemon(t, base, "-s", "sw", "-M", "mgmt", "-p", "sw.pid", "-m", "660", "--mgmtmode", "640", "-f", "rc")
	if code != 0 || stderr != "" {
		t.Fatalf("vswitch -d: exit %d, stderr %q", code, stderr)
	}
	// Ready when -d returns: no retry loop here.
	c, err := net.Dial("unix", filepath.Join(base, "sw", "ctl"))
	if err != nil {
		t.Fatalf("ctl not ready when -d returned: %v", err)
	}
	c.Close()
	pid := daemonPID(t, filepath.Join(base, "sw.pid"))
	if got := testutil.MgmtCommand(t, filepath.Join(base, "mgmt"), "ds/showinfo"); got != "0000 DATA END WITH '.'\nctl dir "+filepath.Join(base, "sw")+"\nstd mode 0660\n.\n1000 Success\n" {
		t.Errorf("ds/showinfo %q", got)
	}
	for path, want := range map[string]os.FileMode{
		filepath.Join(base, "sw"):        os.ModeDir | os.ModeSetgid | 0o770,
		filepath.Join(base, "sw", "ctl"): os.ModeSocket | 0o660,
		filepath.Join(base, "mgmt"):      os.ModeSocket | 0o640,
		filepath.Join(base, "sw.pid"):    0o644,
	} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode(), err, want)
		}
	}
	// SIGHUP does not kill; SIGTERM cleans up everything.
	syscall.Kill(pid, syscall.SIGHUP)
	time.Sleep(200 * time.Millisecond)
	if !alive(pid) {
		t.Fatal("SIGHUP killed the switch")
	}
	syscall.Kill(pid, syscall.SIGTERM)
	testutil.Eventually(t, 10*time.Second, "daemon exit", func() bool { return !alive(pid) })
	for _, p := range []string{"sw", "mgmt", "sw.pid"} {
		if _, err := os.Lstat(filepath.Join(base, p)); !os.IsNotExist(err) {
			t.Errorf("%s left behind after SIGTERM: %v", p, err)
		}
	}
}

func TestDaemonRcAndShutdown(t *testing.T) {
	base := t.TempDir()
	os.WriteFile(filepath.Join(base, "rc"), []byte("vlan/create 7\nbogus line\nport/create 3\n"), 0o644)
	code, stderr := runDaemon(t, base, "-s", "sw", "-M", "mgmt", "-p", filepath.Join(base, "pid"), "-f", "rc")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pid := daemonPID(t, filepath.Join(base, "pid"))
	mgmt := filepath.Join(base, "mgmt")
	if got := testutil.MgmtCommand(t, mgmt, "vlan/print 7"); got != "0000 DATA END WITH '.'\nVLAN 0007\n.\n1000 Success\n" {
		t.Errorf("rc file not run: vlan/print 7 = %q", got)
	}
	c, err := net.Dial("unix", mgmt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	c.Read(buf)
	c.Write([]byte("shutdown\n"))
	b, _ := io.ReadAll(c)
	if !strings.HasSuffix(string(b), "9999 END OF SESSION") {
		t.Errorf("shutdown reply %q", b)
	}
	testutil.Eventually(t, 10*time.Second, "exit after shutdown", func() bool { return !alive(pid) })
	if _, err := os.Stat(filepath.Join(base, "sw")); !os.IsNotExist(err) {
		t.Errorf("dir left after shutdown: %v", err)
	}
}

func TestDefaultRcFile(t *testing.T) {
	bin := testutil.Bin(t, "vswitch")
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, ".vde2"), 0o755)
	os.WriteFile(filepath.Join(base, ".vde2", "vde_switch.rc"), []byte("port/setnumports 9\n"), 0o644)
	inR, inW, _ := os.Pipe()
	defer inR.Close()
	defer inW.Close()
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = inR; c.Env = append(os.Environ(), "HOME="+base) }, bin, "-s", filepath.Join(base, "sw"))
	inW.Write([]byte("port/showinfo\n"))
	testutil.Eventually(t, 5*time.Second, "console reply", func() bool { return strings.Contains(p.Stdout.String(), "1000") })
	if !strings.Contains(p.Stdout.String(), "Numports=9\n") {
		t.Errorf("~/.vde2/vde_switch.rc not run: %q", p.Stdout.String())
	}
}

func TestPidfileExists(t *testing.T) {
	base := t.TempDir()
	pidfile := filepath.Join(base, "other.pid")
	os.WriteFile(pidfile, []byte("12345\n"), 0o644)
	code, stderr := runDaemon(t, base, "-s", "sw", "-p", pidfile)
	if code != 1 || stderr != "vswitch: Error in pidfile creation: File exists\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(pidfile); string(b) != "12345\n" {
		t.Errorf("another instance's pidfile was changed or removed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(base, "sw")); !os.IsNotExist(err) {
		t.Errorf("dir left behind: %v", err)
	}
}

func TestLiveSocketRefused(t *testing.T) {
	bin := testutil.Bin(t, "vswitch")
	base := t.TempDir()
	dir := filepath.Join(base, "sw")
	inR, inW, _ := os.Pipe()
	defer inR.Close()
	defer inW.Close()
	first := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = inR; c.Env = append(os.Environ(), "HOME="+base) }, bin, "-s", dir, "-M", filepath.Join(base, "m1"))
	testutil.WaitPath(t, filepath.Join(base, "m1"), 10*time.Second)

	cmd := exec.Command(bin, "-s", dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 255 {
		t.Fatalf("second switch: %v, want exit 255", err)
	}
	want := "vswitch: Could not bind to socket '" + dir + "/ctl': Address already in use\nvswitch: Cleanup not removing files\n"
	if errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	code, stderr := runDaemon(t, base, "-s", dir)
	if code != 255 || stderr != "vswitch: Could not bind to socket '"+dir+"/ctl': Address already in use\n" {
		t.Errorf("-d: exit %d stderr %q", code, stderr)
	}
	if first.Exited() {
		t.Fatal("first switch died")
	}
	if got := testutil.MgmtCommand(t, filepath.Join(base, "m1"), "port/showinfo"); !strings.Contains(got, "Numports=32") {
		t.Errorf("first switch does not answer: %q", got)
	}
	// A second switch with the same mgmt socket but another dir runs without management.
	code, stderr = runDaemon(t, base, "-s", filepath.Join(base, "sw2"), "-M", filepath.Join(base, "m1"), "-p", filepath.Join(base, "p2"))
	if code != 0 {
		t.Fatalf("second switch on a busy mgmt socket: exit %d %q", code, stderr)
	}
	pid := daemonPID(t, filepath.Join(base, "p2"))
	syscall.Kill(pid, syscall.SIGTERM)
	testutil.Eventually(t, 10*time.Second, "exit", func() bool { return !alive(pid) })
	if _, err := os.Stat(filepath.Join(base, "m1")); err != nil {
		t.Errorf("the second switch removed the first one's mgmt socket: %v", err)
	}
}

func TestStaleSocketTakeover(t *testing.T) {
	bin := testutil.Bin(t, "vswitch")
	base := t.TempDir()
	dir := filepath.Join(base, "sw")
	os.Mkdir(dir, 0o700)
	for _, p := range []string{filepath.Join(dir, "ctl"), filepath.Join(base, "mgmt")} {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false)
		ln.Close() // a stale socket file remains
	}
	inR, inW, _ := os.Pipe()
	defer inR.Close()
	defer inW.Close()
	testutil.Start(t, func(c *exec.Cmd) { c.Stdin = inR; c.Env = append(os.Environ(), "HOME="+base) }, bin, "-s", dir, "-M", filepath.Join(base, "mgmt"))
	testutil.Eventually(t, 10*time.Second, "mgmt answers", func() bool {
		c, err := net.Dial("unix", filepath.Join(base, "mgmt"))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if got := testutil.MgmtCommand(t, filepath.Join(base, "mgmt"), "port/showinfo"); !strings.Contains(got, "Numports=32") {
		t.Errorf("mgmt: %q", got)
	}
	c, err := net.Dial("unix", filepath.Join(dir, "ctl"))
	if err != nil {
		t.Fatalf("stale ctl not taken over: %v", err)
	}
	c.Close()
}

// TestCleanupWithClients: at SIGTERM with clients connected, every file the switch made goes, the
// clients' data sockets first, then ctl, then the directory itself (as vde_switch does).
func TestCleanupWithClients(t *testing.T) {
	bin := testutil.Bin(t, "vswitch")
	base := t.TempDir()
	dir := filepath.Join(base, "sw")
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = inR }, bin, "-s", dir)
	testutil.WaitListening(t, filepath.Join(dir, "ctl"), 10*time.Second)
	for i := 0; i < 3; i++ {
		c, err := vde.Dial(context.Background(), dir, vde.DialOptions{Descr: "cleanup test"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 4 {
		t.Fatalf("%s holds %d entries, want ctl and 3 data sockets", dir, len(ents))
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(dir)
		t.Fatalf("switch directory still there after SIGTERM (%v, %d entries)", err, len(ents))
	}
}
