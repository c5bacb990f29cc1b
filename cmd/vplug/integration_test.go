// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/plug"
)

// skipShort skips tests that start real processes under go test -short (make unit).
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped with -short: starts real processes")
	}
}

// testFrame returns a broadcast frame of n bytes tagged with seq.
func testFrame(n int, seq byte) []byte {
	b := make([]byte, n)
	copy(b, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, seq, 0x02, 0x88, 0xb5})
	for i := frame.HeaderLen; i < n; i++ {
		b[i] = byte(i*13) ^ seq
	}
	return b
}

// stdio is a process's stdin (we write) and stdout (we read) as pipes.
type stdio struct {
	in  *os.File // our end of its stdin
	out *os.File // our end of its stdout
}

// startPlug starts our vplug binary with piped stdin/stdout.
func startPlug(t *testing.T, args ...string) (*testutil.Proc, *stdio) {
	t.Helper()
	return startPiped(t, testutil.Bin(t, "vplug"), args...)
}

func startPiped(t *testing.T, bin string, args ...string) (*testutil.Proc, *stdio) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin, c.Stdout = inR, outW }, bin, args...)
	inR.Close()
	outW.Close()
	t.Cleanup(func() { inW.Close(); outR.Close() })
	return p, &stdio{in: inW, out: outR}
}

func (s *stdio) write(t *testing.T, f []byte) {
	t.Helper()
	rec := binary.BigEndian.AppendUint16(nil, uint16(len(f)))
	if _, err := s.in.Write(append(rec, f...)); err != nil {
		t.Fatalf("write record: %v", err)
	}
}

// read reads one stream record, failing after d.
func (s *stdio) read(t *testing.T, d time.Duration) []byte {
	t.Helper()
	b, err := s.tryRead(d)
	if err != nil {
		t.Fatalf("read record: %v", err)
	}
	return b
}

// tryRead reads one stream record, returning an error after d.
func (s *stdio) tryRead(d time.Duration) ([]byte, error) {
	s.out.SetReadDeadline(time.Now().Add(d))
	var h [2]byte
	if _, err := io.ReadFull(s.out, h[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(h[:]))
	if _, err := io.ReadFull(s.out, b); err != nil {
		return nil, err
	}
	return b, nil
}

func sameFrame(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes % x..., want %d bytes % x...", what, len(got), got[:min(len(got), 20)], len(want), want[:min(len(want), 20)])
	}
}

// waitExit waits for p to exit within d and checks its status.
func waitExit(t *testing.T, p *testutil.Proc, d time.Duration, wantCode int) {
	t.Helper()
	err := p.Wait(d)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vplug: %v", err)
	}
	if code != wantCode {
		t.Fatalf("vplug exit status %d, want %d; stderr: %s", code, wantCode, p.Stderr.String())
	}
}

// openPlug opens an in-process plug on url, closed at the end of the test.
func openPlug(t *testing.T, url string) frame.Endpoint {
	t.Helper()
	ep, err := plug.Open(context.Background(), url, plug.Options{Descr: "vplug-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func readFrom(t *testing.T, ep frame.Endpoint, d time.Duration) []byte {
	t.Helper()
	ch := make(chan []byte, 1)
	go func() {
		b := make([]byte, frame.MaxLen)
		n, err := ep.ReadFrame(b)
		if err != nil {
			ch <- nil
			return
		}
		ch <- b[:n]
	}()
	select {
	case b := <-ch:
		if b == nil {
			t.Fatal("ReadFrame failed")
		}
		return b
	case <-time.After(d):
		t.Fatalf("no frame within %v", d)
	}
	return nil
}

// TestStdioJumbo sends jumbo and small records through two vplugs joined by ptp://.
func TestStdioJumbo(t *testing.T) {
	skipShort(t)
	p := filepath.Join(t.TempDir(), "link")
	a, as := startPlug(t, "ptp://"+p)
	testutil.WaitPath(t, p, 10*time.Second)
	_, bs := startPlug(t, "ptp://"+p)
	testutil.WaitPath(t, p+"+", 10*time.Second)
	for i, n := range []int{9000, 60, frame.MaxLen} {
		f := testFrame(n, byte(i))
		as.write(t, f)
		sameFrame(t, fmt.Sprintf("a→b %d bytes", n), bs.read(t, 5*time.Second), f)
		g := testFrame(n, byte(i+100))
		bs.write(t, g)
		sameFrame(t, fmt.Sprintf("b→a %d bytes", n), as.read(t, 5*time.Second), g)
	}
	as.in.Close() // stdin EOF: exit 0
	waitExit(t, a, 5*time.Second, 0)
}

// TestStdinOversizeResync writes, in one write to vplug's stdin, a 60-byte record, a 9235-byte one
// (longer than any frame: the stream has lost its record boundaries) and another 60-byte one, then a
// third 60-byte record in a later write: the far vplug delivers the first and the third; the one that
// came with the oversize header is dropped with it (unless the pipe handed the write over in pieces).
func TestStdinOversizeResync(t *testing.T) {
	skipShort(t)
	p := filepath.Join(t.TempDir(), "link")
	_, as := startPlug(t, "ptp://"+p)
	testutil.WaitPath(t, p, 10*time.Second)
	_, bs := startPlug(t, "ptp://"+p)
	testutil.WaitPath(t, p+"+", 10*time.Second)
	f1, f2, f3 := testFrame(60, 1), testFrame(60, 2), testFrame(60, 3)
	w := append([]byte{0x00, 0x3c}, f1...)
	w = append(append(w, 0x24, 0x13), make([]byte, 9235)...)
	w = append(append(w, 0x00, 0x3c), f2...)
	if _, err := as.in.Write(w); err != nil {
		t.Fatal(err)
	}
	sameFrame(t, "the frame before the oversize record", bs.read(t, 5*time.Second), f1)
	if _, err := as.in.Write(append([]byte{0x00, 0x3c}, f3...)); err != nil {
		t.Fatal(err)
	}
	got := bs.read(t, 5*time.Second)
	if bytes.Equal(got, f2) {
		got = bs.read(t, 5*time.Second)
	}
	sameFrame(t, "the frame of the write after the oversize record", got, f3)
}

// TestRealVDEPlugAcrossPipe joins two real vde_switches with our vplug on one side and the real vde_plug
// on the other, through vplug's "= command" form and through the real dpipe, both ways round.
func TestRealVDEPlugAcrossPipe(t *testing.T) {
	skipShort(t)
	sw := testutil.RealTool(t, "vde_switch")
	realPlug := testutil.RealTool(t, "vde_plug")
	vplug := testutil.Bin(t, "vplug")
	tests := []struct {
		name string
		argv func(s1, s2 string) []string
	}{
		{"vplug = vde_plug", func(s1, s2 string) []string { return []string{vplug, s1, "=", realPlug, s2} }},
		{"dpipe vplug = vde_plug", func(s1, s2 string) []string {
			return []string{testutil.RealTool(t, "dpipe"), vplug, s1, "=", realPlug, s2}
		}},
		{"dpipe vde_plug = vplug", func(s1, s2 string) []string {
			return []string{testutil.RealTool(t, "dpipe"), realPlug, s1, "=", vplug, s2}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s1, s2 := filepath.Join(dir, "s1"), filepath.Join(dir, "s2")
			testutil.StartSwitch(t, sw, s1)
			testutil.StartSwitch(t, sw, s2)
			argv := tt.argv(s1, s2)
			testutil.Start(t, nil, argv[0], argv[1:]...)
			a, b := openPlug(t, "vde://"+s1), openPlug(t, "vde://"+s2)
			// The cable is up once a frame crosses; the switches may need a moment to see both plugs.
			f := testFrame(1000, 1)
			got := make(chan []byte, 1)
			go func() {
				buf := make([]byte, frame.MaxLen)
				n, err := b.ReadFrame(buf)
				if err == nil {
					got <- buf[:n]
				}
			}()
			deadline := time.After(10 * time.Second)
		wait:
			for {
				a.WriteFrame(f)
				select {
				case g := <-got:
					sameFrame(t, "s1→s2", g, f)
					break wait
				case <-time.After(100 * time.Millisecond):
				case <-deadline:
					t.Fatal("no frame crossed from s1 to s2 within 10 s")
				}
			}
			g := testFrame(1514, 2)
			if err := b.WriteFrame(g); err != nil {
				t.Fatal(err)
			}
			for {
				r := readFrom(t, a, 5*time.Second)
				if !bytes.Equal(r, f) { // skip retransmissions of f looping back
					sameFrame(t, "s2→s1", r, g)
					break
				}
			}
		})
	}
}

// TestCommandLoopback: "vplug URL = sh -c 'exec cat'" sends every frame from the switch back into it.
func TestCommandLoopback(t *testing.T) {
	skipShort(t)
	sw := testutil.RealTool(t, "vde_switch")
	s := filepath.Join(t.TempDir(), "s")
	testutil.StartSwitch(t, sw, s)
	p := testutil.Start(t, nil, testutil.Bin(t, "vplug"), "vde://"+s, "=", "sh", "-c", "exec cat")
	a := openPlug(t, "vde://"+s)
	waitPorts(t, s, 2)
	f := testFrame(1500, 3)
	if err := a.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	sameFrame(t, "looped back", readFrom(t, a, 5*time.Second), f)
	if p.Exited() {
		t.Fatalf("vplug exited: %s", p.Stderr.String())
	}
}

// waitPorts waits until n data sockets exist in a switch directory (n plugs are connected).
func waitPorts(t *testing.T, dir string, n int) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("%d ports in %s", n, dir), func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "*.*"))
		k := 0
		for _, f := range m {
			if !strings.HasPrefix(filepath.Base(f), ".") {
				k++
			}
		}
		return k >= n
	})
}

func TestPortPrintDescription(t *testing.T) {
	skipShort(t)
	sw := testutil.RealTool(t, "vde_switch")
	dir := t.TempDir()
	s, m := filepath.Join(dir, "s"), filepath.Join(dir, "mgmt")
	testutil.StartSwitch(t, sw, s, "-M", m)
	p1, _ := startPlug(t, "-D", "my plug", "vde://"+s+"[4]")
	p2, _ := startPlug(t, "--port=6", s)
	user := userName()
	want1 := fmt.Sprintf(": my plug user=%s pid=%d\n", user, p1.Cmd.Process.Pid)
	want2 := fmt.Sprintf(": vplug: user=%s pid=%d\n", user, p2.Cmd.Process.Pid)
	var out string
	testutil.Eventually(t, 10*time.Second, "both plugs in port/print", func() bool {
		out = testutil.MgmtCommand(t, m, "port/print")
		return strings.Contains(out, want1) && strings.Contains(out, want2)
	})
	if !strings.Contains(out, "Port 0004") || !strings.Contains(out, "Port 0006") {
		t.Errorf("port/print does not show ports 4 and 6:\n%s", out)
	}
}

func TestPidfileSIGTERM(t *testing.T) {
	skipShort(t)
	sw := testutil.RealTool(t, "vde_switch")
	dir := t.TempDir()
	s, pidfile := filepath.Join(dir, "s"), filepath.Join(dir, "vplug.pid")
	testutil.StartSwitch(t, sw, s)
	p, _ := startPlug(t, "-p", pidfile, s)
	want := fmt.Sprintf("%d\n", p.Cmd.Process.Pid)
	testutil.Eventually(t, 10*time.Second, "pidfile "+pidfile, func() bool {
		b, _ := os.ReadFile(pidfile)
		return string(b) == want
	})
	waitPorts(t, s, 1)
	p.Cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p, 5*time.Second, 0)
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pidfile still there after SIGTERM: %v", err)
	}
}

// TestPidfileExists: -p refuses an existing file (vde_plug would overwrite it) and leaves it alone.
func TestPidfileExists(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "vplug.pid")
	os.WriteFile(pidfile, []byte("1\n"), 0o644)
	out, err := exec.Command(testutil.Bin(t, "vplug"), "-p", pidfile, "null://").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "file exists") {
		t.Errorf("vplug -p EXISTING: %v, output %q; want status 1 and \"file exists\"", err, out)
	}
	if b, _ := os.ReadFile(pidfile); string(b) != "1\n" {
		t.Errorf("existing pid file now holds %q, want it kept", b)
	}
}

func TestExitOnSwitchShutdown(t *testing.T) {
	skipShort(t)
	sw := testutil.RealTool(t, "vde_switch")
	dir := t.TempDir()
	s, pidfile := filepath.Join(dir, "s"), filepath.Join(dir, "pid")
	swp := testutil.StartSwitch(t, sw, s)
	p, ps := startPlug(t, "-p", pidfile, s)
	// The plug is wholly open once a frame from another plug has come through it: a switch that goes
	// away before that makes the open fail (exit status 1), as it does vde_plug's.
	_, qs := startPlug(t, s)
	waitPorts(t, s, 2)
	f := append(bytes.Repeat([]byte{0xff}, 6), 0x02, 0, 0, 0, 0, 1, 0x08, 0x00)
	f = append(f, make([]byte, 46)...)
	var h [2]byte
	testutil.Eventually(t, 10*time.Second, "a broadcast from the other plug through the plug", func() bool {
		qs.write(t, f)
		ps.out.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := io.ReadFull(ps.out, h[:])
		return err == nil
	})
	swp.Stop(5 * time.Second)
	waitExit(t, p, 5*time.Second, 0)
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pidfile still there after exit: %v", err)
	}
}

func TestDaemon(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "d.pid")
	link := filepath.Join(dir, "link")
	// Relative pidfile: the daemon keeps the working directory.
	cmd := exec.Command(testutil.Bin(t, "vplug"), "-d", "-p", "d.pid", "ptp://"+link, "null://")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vplug -d: %v: %s", err, out)
	}
	var pid int
	testutil.Eventually(t, 10*time.Second, "daemon pidfile", func() bool {
		b, err := os.ReadFile(pidfile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	if pid == cmd.Process.Pid {
		t.Fatalf("pidfile holds the parent's pid %d", pid)
	}
	proc, _ := os.FindProcess(pid)
	t.Cleanup(func() { proc.Kill() })
	if sid, err := unix.Getsid(pid); err != nil || sid != pid {
		t.Errorf("daemon %d: session %d (%v), want its own session", pid, sid, err)
	}
	testutil.WaitPath(t, link, 5*time.Second)
	proc.Signal(syscall.SIGTERM)
	testutil.Eventually(t, 5*time.Second, "daemon cleanup", func() bool {
		_, e1 := os.Stat(pidfile)
		_, e2 := os.Stat(link)
		return os.IsNotExist(e1) && os.IsNotExist(e2)
	})
}

func TestVdePlugName(t *testing.T) {
	skipShort(t)
	link := filepath.Join(t.TempDir(), "vde_plug")
	if err := os.Symlink(testutil.Bin(t, "vplug"), link); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(link, "-x").CombinedOutput()
	if want := "vde_plug: invalid option -- 'x'\n"; !strings.HasPrefix(string(out), want) {
		t.Errorf("as vde_plug: %q, want prefix %q", out, want)
	}
	out, _ = exec.Command(link, "-h").CombinedOutput()
	if !strings.Contains(string(out), "  vde_plug [OPTIONS] URL URL\n") {
		t.Errorf("as vde_plug, -h does not use the name:\n%s", out)
	}
}

func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
