// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	testBanner = "BANNER\n"
	testPrompt = "\nvde$ "
	testEOS    = "9999 END OF SESSION"
)

// newTestServer returns a server with a small switch-like table, serving on a socket in a temp dir.
func newTestServer(t *testing.T, opts ...func(*Config)) (*Server, string) {
	t.Helper()
	cfg := Config{Banner: testBanner, Prompt: testPrompt, EndOfSession: testEOS, Help: swHelp}
	for _, o := range opts {
		o(&cfg)
	}
	s := New(cfg)
	s.Add(Command{Path: "ds", Syntax: "============", Help: "DATA SOCKET MENU"},
		Command{Path: "ds/showinfo", Help: "show ds info", Data: true,
			Run: func(_ *Session, w io.Writer, _ string) error { fmt.Fprintf(w, "ctl dir /x\n"); return nil }},
		swHelpCmd, swLogout, swShutdown, swLoad)
	s.Add(swDebug...)
	s.Add(Command{Path: "echo", Syntax: "ARG", Help: "echo arg", Data: true,
		Run: func(_ *Session, w io.Writer, arg string) error { fmt.Fprintf(w, "[%s]\n", arg); return nil }},
		Command{Path: "fail", Help: "fail with ENXIO", Data: true,
			Run: func(*Session, io.Writer, string) error { return syscall.ENXIO }},
		Command{Path: "int", Syntax: "N", Help: "atoi",
			Run: func(_ *Session, _ io.Writer, arg string) error {
				if Atoi(arg) <= 0 {
					return syscall.EINVAL
				}
				return nil
			}},
		Command{Path: "event", Help: "emit an event",
			Run: func(_ *Session, _ io.Writer, arg string) error { s.Event("port/+", arg); return nil }})
	s.AddDebug(DebugCategory{Path: "mgmt/+", Tag: 0o2001},
		DebugCategory{Path: "port/+", Tag: 0o21, Help: "new port"},
		DebugCategory{Path: "port/-", Tag: 0o22, Help: "closed port"})
	sock := filepath.Join(t.TempDir(), "mgmt")
	ln, err := Listen(sock, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve = %v", err)
		}
	})
	return s, sock
}

type client struct {
	t *testing.T
	c net.Conn
}

func dial(t *testing.T, sock string) *client {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c}
	if got := cl.until(testPrompt); got != testBanner+testPrompt {
		t.Fatalf("greeting = %q", got)
	}
	return cl
}

// until reads until the output ends with suffix (or 5 s pass) and returns it.
func (cl *client) until(suffix string) string {
	cl.t.Helper()
	var b []byte
	buf := make([]byte, 4096)
	cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !bytes.HasSuffix(b, []byte(suffix)) {
		n, err := cl.c.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			cl.t.Fatalf("read: %v after %q", err, b)
		}
	}
	return string(b)
}

func (cl *client) cmd(line string) string {
	cl.t.Helper()
	if _, err := cl.c.Write([]byte(line)); err != nil {
		cl.t.Fatal(err)
	}
	return strings.TrimSuffix(cl.until(testPrompt), testPrompt)
}

func TestCommands(t *testing.T) {
	_, sock := newTestServer(t)
	cl := dial(t, sock)
	tests := []struct{ in, want string }{
		{"ds/showinfo\n", "0000 DATA END WITH '.'\nctl dir /x\n.\n1000 Success\n"},
		{"ds/showinfoXYZ", "0000 DATA END WITH '.'\nctl dir /x\n.\n1000 Success\n"}, // prefix match
		{"  \tds/showinfo\r\n", "0000 DATA END WITH '.'\nctl dir /x\n.\n1000 Success\n"},
		{"DS/SHOWINFO\n", "1038 Function not implemented\n"},
		{"ds\n", "1038 Function not implemented\n"}, // menu headers never match
		{"nosuchcommand\n", "1038 Function not implemented\n"},
		{"\n", ""}, {"   \n", ""}, {"# comment\n", ""}, {"\x00junk\n", ""},
		{"fail\n", "0000 DATA END WITH '.'\n.\n1006 No such device or address\n"},
		{"int 12\n", "1000 Success\n"}, {"int abc\n", "1022 Invalid argument\n"},
		{"echo  a b \n", "0000 DATA END WITH '.'\n[a b ]\n.\n1000 Success\n"},
		{"echo one\necho two\n", "0000 DATA END WITH '.'\n[one\necho two]\n.\n1000 Success\n"}, // one command per read
		{"help ds", "0000 DATA END WITH '.'\n" +
			"COMMAND PATH       SYNTAX          HELP\n" +
			"------------       --------------  ------------\n" +
			"ds                 ============    DATA SOCKET MENU\n" +
			"ds/showinfo                        show ds info\n.\n1000 Success\n"},
		{"help zzz", "0000 DATA END WITH '.'\n" +
			"COMMAND PATH       SYNTAX          HELP\n" +
			"------------       --------------  ------------\n.\n1000 Success\n"},
		{"debug/list", "0000 DATA END WITH '.'\n" +
			"CATEGORY               TAG STATUS HELP\n" +
			"------------           --- ------ ----\n" +
			"port/+                 021 OFF    new port\n" +
			"port/-                 022 OFF    closed port\n.\n1000 Success\n"},
		{"debug/list zz", "0000 DATA END WITH '.'\n" +
			"CATEGORY               TAG STATUS HELP\n" +
			"------------           --- ------ ----\n.\n1002 No such file or directory\n"},
		{"debug/add mgmt", "1022 Invalid argument\n"},
		{"debug/del port", "1002 No such file or directory\n"},
		{"debug/del zz", "1022 Invalid argument\n"},
		{"debug/add port/+", "1000 Success\n"},
		{"debug/add port/+", "1017 File exists\n"},
		{"debug/add port", "1000 Success\n"},
		{"debug/list port/-", "0000 DATA END WITH '.'\n" +
			"CATEGORY               TAG STATUS HELP\n" +
			"------------           --- ------ ----\n" +
			"port/-                 022 ON     closed port\n.\n1000 Success\n"},
		{"event hello", "3021 port/+ hello\n1000 Success\n"},
		{"debug/del port", "1000 Success\n"},
		{"event hello", "1000 Success\n"},
	}
	for _, tt := range tests {
		if got := cl.cmd(tt.in); got != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestLongLineSplitsIntoReads(t *testing.T) {
	_, sock := newTestServer(t)
	cl := dial(t, sock)
	// 201 bytes in one write: the server reads 128, then 73 bytes: two unknown commands, two prompts.
	line := strings.Repeat("x", 200) + "\n"
	if _, err := cl.c.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	want := "1038 Function not implemented\n" + testPrompt + "1038 Function not implemented\n" + testPrompt
	if got := cl.until(want); got != want {
		t.Fatalf("got %q", got)
	}
}

func TestLogoutAndShutdown(t *testing.T) {
	s, sock := newTestServer(t)
	cl := dial(t, sock)
	cl.c.Write([]byte("logout\n"))
	b, err := io.ReadAll(cl.c)
	if err != nil || string(b) != testEOS {
		t.Fatalf("logout: %q, %v; want %q then EOF", b, err, testEOS)
	}
	select {
	case <-s.Done():
		t.Fatal("Done closed by logout")
	default:
	}
	cl = dial(t, sock)
	cl.c.Write([]byte("shutdown\n"))
	b, err = io.ReadAll(cl.c)
	if err != nil || string(b) != testEOS {
		t.Fatalf("shutdown: %q, %v", b, err)
	}
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed by shutdown")
	}
}

func TestLoad(t *testing.T) {
	_, sock := newTestServer(t)
	cl := dial(t, sock)
	rc := filepath.Join(t.TempDir(), "x.rc")
	os.WriteFile(rc, []byte("# comment\necho a\n\nlogout\nfail\nint 3"), 0o644)
	got := cl.cmd("load " + rc + "\n")
	p := "vde[" + rc + "]: "
	want := p + "# comment\n" +
		p + "echo a\n0000 DATA END WITH '.'\n[a]\n.\n1000 Success\n" +
		p + "\n\n1038 Function not implemented\n" +
		p + "logout\n" +
		p + "fail\n0000 DATA END WITH '.'\n.\n1006 No such device or address\n" +
		p + "int 3\n1000 Success\n" +
		"1000 Success\n"
	if got != want {
		t.Errorf("load:\n got %q\nwant %q", got, want)
	}
	if got, want := cl.cmd("load /nonexistent/x"), "1002 No such file or directory\n"; got != want {
		t.Errorf("load missing = %q, want %q", got, want)
	}
	// Only regular files: an endless device and a FIFO are refused instead of holding the session.
	if got, want := cl.cmd("load /dev/zero"), "1022 Invalid argument\n"; got != want {
		t.Errorf("load /dev/zero = %q, want %q", got, want)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := cl.cmd("load "+fifo), "1022 Invalid argument\n"; got != want {
		t.Errorf("load fifo = %q, want %q", got, want)
	}
}

func TestRunScriptSilent(t *testing.T) {
	s := New(Config{Prompt: testPrompt})
	var ran []string
	s.Add(swLoad, Command{Path: "x", Run: func(_ *Session, _ io.Writer, arg string) error {
		ran = append(ran, arg)
		return syscall.EINVAL
	}})
	rc := filepath.Join(t.TempDir(), "rc")
	os.WriteFile(rc, []byte("x 1\nload "+rc+"\nbogus\nx 2\n"), 0o644)
	if err := s.RunScript(rc); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ran) != "[1 2]" {
		t.Errorf("ran %q, want [1 2] (load must fail with EBADF without a session)", ran)
	}
	if err := s.RunScript("/nonexistent"); err == nil {
		t.Error("RunScript of a missing file succeeded")
	}
}

func TestConsole(t *testing.T) {
	s := New(Config{Banner: testBanner, Prompt: testPrompt, EndOfSession: testEOS, Help: swHelp})
	s.Add(swHelpCmd, swLogout, swShutdown)
	s.Add(Command{Path: "x", Run: func(*Session, io.Writer, string) error { return nil }})
	defer s.Close()
	run := func(in ...string) (string, string, error) {
		inR, inW := io.Pipe()
		var out, prompt bytes.Buffer
		done := make(chan error, 1)
		go func() { done <- s.ServeConsole(inR, &syncW{b: &out}, &syncW{b: &prompt}) }()
		go func() {
			for _, l := range in {
				if _, err := inW.Write([]byte(l)); err != nil {
					return
				}
			}
			inW.Close()
		}()
		err := <-done
		inR.Close()
		return out.String(), prompt.String(), err
	}
	out, prompt, err := run("x\n", "logout\n", "nosuch\n")
	if out != "1000 Success\n1038 Function not implemented\n" || prompt != testPrompt+testPrompt || err != io.EOF {
		t.Errorf("console: out %q prompt %q err %v", out, prompt, err)
	}
	out, _, err = run("shutdown\n", "x\n")
	if out != "" || err != ErrShutdown {
		t.Errorf("console shutdown: out %q err %v", out, err)
	}
}

type syncW struct{ b *bytes.Buffer }

func (w *syncW) Write(p []byte) (int, error) { return w.b.Write(p) }

// TestRobust sends garbage, binary junk, 10 KB lines and half-closed connections while another session
// keeps working; afterwards goroutines go back to the baseline.
func TestRobust(t *testing.T) {
	s, sock := newTestServer(t)
	base := runtime.NumGoroutine()
	good := dial(t, sock)
	good.cmd("debug/add port\n")

	// A subscriber that never reads must not block the others.
	stuck := dial(t, sock)
	stuck.cmd("debug/add port\n")
	for i := range 20000 {
		s.Event("port/+", fmt.Sprintf("flood %d %s", i, strings.Repeat("z", 100)))
	}
	for range 50 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, 10<<10)
		for i := range junk {
			junk[i] = byte(i * 7)
		}
		c.Write(junk)
		c.Write([]byte(strings.Repeat("port/print ", 1000)))
		c.(*net.UnixConn).CloseWrite()
		c.Close()
	}
	for range 50 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		c.(*net.UnixConn).CloseWrite() // half-closed, never read
		defer c.Close()
	}
	// The good session still answers; drain its flood of events first.
	good.c.Write([]byte("echo ok\n"))
	if got := good.until("[ok]\n.\n1000 Success\n" + testPrompt); !strings.HasSuffix(got, "[ok]\n.\n1000 Success\n"+testPrompt) {
		t.Fatalf("good session reply %q", got)
	}
	stuck.c.Close()
	good.c.Write([]byte("logout"))
	io.ReadAll(good.c)
	good.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines %d > baseline %d\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

func TestListenStaleAndLive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m")
	ln, err := Listen(path, 0o640, -1)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	if _, err := Listen(path, 0o600, -1); err == nil || !strings.Contains(err.Error(), ErrInUse.Error()) {
		t.Fatalf("second Listen on a live socket = %v, want ErrInUse", err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // leaves a stale socket file
	ln, err = Listen(path, 0o600, -1)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket not removed at close: %v", err)
	}
}
