// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/urfave/cli/v2"
)

// runApp runs the program in-process as name with args and stdin, and returns its output and exit status.
func runApp(t *testing.T, name string, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := newAppAs(name)
	app.Writer, app.ErrWriter = &out, &errb
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	app.Reader = stdin
	err := app.Run(append([]string{name}, args...))
	code = cmdutil.Report(app, err)
	return out.String(), errb.String(), code
}

func TestParseTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10s", 10 * time.Second, true},
		{"5", 5 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"250ms", 250 * time.Millisecond, true},
		{"0", 0, false},
		{"-1s", 0, false},
		{"soon", 0, false},
	} {
		got, err := parseTimeout(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestConfigFrom(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want config
		err  string
	}{
		{[]string{"/s"}, config{name: "vterm", sock: "/s", timeout: 10 * time.Second}, ""},
		{[]string{"-j", "-t", "2", "/s", "port/print", "1"},
			config{name: "vterm", sock: "/s", command: "port/print 1", json: true, timeout: 2 * time.Second}, ""},
		{[]string{"-rv", "/s"}, config{name: "vterm", sock: "/s", raw: true, verbose: true, timeout: 10 * time.Second}, ""},
		{[]string{}, config{}, "missing management socket path"},
		{[]string{"-r", "/s", "help"}, config{}, `"help": -r takes only the socket path`},
		{[]string{"-t", "x", "/s"}, config{}, `-t "x": want seconds or a duration such as 500ms`},
	} {
		app := newAppAs("vterm")
		var got config
		var gotErr error
		app.Action = func(c *cli.Context) error { got, gotErr = configFrom(c); return nil }
		app.Writer, app.ErrWriter = io.Discard, io.Discard
		if err := app.Run(append([]string{"vterm"}, tc.args...)); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if tc.err != "" {
			if gotErr == nil || cmdutil.Message(gotErr) != tc.err {
				t.Errorf("configFrom(%q) error = %v, want %q", tc.args, gotErr, tc.err)
			}
			continue
		}
		if gotErr != nil {
			t.Errorf("configFrom(%q): %v", tc.args, gotErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(config{})); diff != "" {
			t.Errorf("configFrom(%q) mismatch (-want +got):\n%s", tc.args, diff)
		}
	}
}

func TestPromptFor(t *testing.T) {
	for _, tc := range [][3]string{
		{"vde$ ", "/tmp/s.mgmt", "vde[/tmp/s.mgmt]: "},
		{"VDEwf$ ", "wf", "VDEwf[wf]: "},
		{"$ ", "x", "[x]: "},
	} {
		if got := promptFor(tc[0], tc[1]); got != tc[2] {
			t.Errorf("promptFor(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestHistoryPath(t *testing.T) {
	state, home := t.TempDir(), t.TempDir()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	got, err := historyPath("/run/sw.mgmt", env(map[string]string{"XDG_STATE_HOME": state, "HOME": home}))
	if want := filepath.Join(state, "govde", "vterm", "history-%2Frun%2Fsw.mgmt"); err != nil || got != want {
		t.Errorf("historyPath = %q, %v; want %q", got, err, want)
	}
	if fi, err := os.Stat(got); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file: %v, %v; want mode 0600", fi, err)
	}
	got, err = historyPath("/run/sw.mgmt", env(map[string]string{"XDG_STATE_HOME": "relative", "HOME": home}))
	if want := filepath.Join(home, ".local", "state", "govde", "vterm", "history-%2Frun%2Fsw.mgmt"); err != nil || got != want {
		t.Errorf("historyPath (relative XDG_STATE_HOME) = %q, %v; want %q", got, err, want)
	}
	if _, err := historyPath("/x", env(nil)); err == nil {
		t.Error("historyPath without HOME or XDG_STATE_HOME succeeded")
	}
}

// switchHelp is vde_switch's help data, abridged.
var switchHelp = []string{
	"COMMAND PATH       SYNTAX          HELP",
	"------------       --------------  ------------",
	"help               [arg]           Help (limited to arg when specified)",
	"logout                             logout from this mgmt terminal",
	"showinfo                           show switch version and info",
	"port               ============    PORT STATUS MENU",
	"port/showinfo                      show port info",
	"port/sethub        0/1             1=HUB 0=switch",
	"port/setvlan       N VLAN          set port VLAN (untagged)",
	"port/setnumports   N               set the number of ports",
	"debug/add          dbgpath         enable debug info for a given category",
	"debug/del          dbgpath         disable debug info for a given category",
	"fstp/setedge       VLAN PORT 1/0   Define an edge port for a vlan 1=Y 0=N",
}

func TestCompleter(t *testing.T) {
	var hints []string
	c := &completer{entries: mgmt.ParseHelp(switchHelp), hint: func(s string) { hints = append(hints, s) },
		debugCats: parseDebugList([]string{
			"CATEGORY               TAG STATUS HELP",
			"------------           --- ------ ----",
			"hash/+                 011 OFF    hash: new element",
			"port/+                 021 OFF    new port",
			"port/descr             023 OFF    new port description",
			"port/ep/+              031 OFF    new endpoint",
		})}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"port/sh", []string{"owinfo "}},
		{"po", []string{"rt/"}},
		{"port/set", []string{"hub ", "numports ", "vlan "}},
		{"", []string{"debug/", "fstp/", "help ", "logout ", "port/", "showinfo "}},
		{"port/sethub ", []string{"0 ", "1 "}},
		{"port/sethub 1", []string{" "}},
		{"fstp/setedge 1 2 ", []string{"1 ", "0 "}},
		{"help port/setv", []string{"lan "}},
		{"nosuch ", nil},
		{"debug/add p", []string{"ort/"}},
		{"debug/del port/", []string{"+ ", "descr ", "ep/"}},
		{"port/setvlan ", nil},
	} {
		got, _ := c.Do([]rune(tc.line), len([]rune(tc.line)))
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if diff := cmp.Diff(tc.want, gs); diff != "" {
			t.Errorf("Do(%q) mismatch (-want +got):\n%s", tc.line, diff)
		}
	}
	if want := []string{"  port/setvlan N VLAN    set port VLAN (untagged)"}; !cmp.Equal(hints, want) {
		t.Errorf("hints = %q, want %q", hints, want)
	}
}

func TestStyle(t *testing.T) {
	plain := newStyle(func(k string) string { return map[string]string{"TERM": "xterm", "NO_COLOR": "1"}[k] })
	if got := plain.err("Invalid argument (1022)"); got != "Error: Invalid argument (1022)" {
		t.Errorf("err = %q", got)
	}
	if got := plain.debug("3031 port/ep/+ Port 02 FD 11"); got != "** DBG MSG: port/ep/+ Port 02 FD 11" {
		t.Errorf("debug = %q", got)
	}
	color := newStyle(func(k string) string { return map[string]string{"TERM": "xterm"}[k] })
	if got := color.err("x"); got != "\x1b[1;31mError: x\x1b[0m" {
		t.Errorf("colour err = %q", got)
	}
}

// fakePeer serves handle on a socket in a temporary directory.
func fakePeer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mgmt")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
			c.Close()
		}
	}()
	return path
}

func TestOneShotPeerDiesMidReply(t *testing.T) {
	sock := fakePeer(t, func(c net.Conn) {
		c.Write([]byte("\nvde$ "))
		bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("0000 DATA END WITH '.'\nHash: 0043 Addr: 02:00:00:00:00:01 VLAN 0000 to port: 001  age 3 secs\n"))
	})
	out, errs, code := runApp(t, "vterm", nil, sock, "hash/print")
	if code != ExitSession || out != "" || !strings.Contains(errs, "connection closed by the peer") {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d and a closed-connection message", code, out, errs, ExitSession)
	}
}

func TestOneShotPeerNeverPrompts(t *testing.T) {
	sock := fakePeer(t, func(c net.Conn) {
		c.Write([]byte("VDE switch V.2.3.2\n"))
		io.Copy(io.Discard, c)
	})
	start := time.Now()
	_, errs, code := runApp(t, "vterm", nil, "-t", "300ms", sock, "help")
	if code != ExitSession || !strings.Contains(errs, "no prompt from management peer within 300ms") {
		t.Errorf("exit %d, stderr %q; want %d and a no-prompt message", code, errs, ExitSession)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v with -t 300ms", d)
	}
}

func TestOneShotReplyTimeout(t *testing.T) {
	sock := fakePeer(t, func(c net.Conn) {
		c.Write([]byte("\nvde$ "))
		io.Copy(io.Discard, c)
	})
	_, errs, code := runApp(t, "vterm", nil, "-t", "300ms", sock, "help")
	if code != ExitSession || !strings.Contains(errs, "help: timed out waiting for the reply") {
		t.Errorf("exit %d, stderr %q; want %d and a timeout message", code, errs, ExitSession)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		err  string
		code int
	}{
		{"vterm", nil, "vterm: missing management socket path\n", 2},
		{"unixcmd", nil, "unixcmd: missing command\nTry 'unixcmd --help' for more information.\n", 2},
		{"unixterm", []string{"/nonexistent/sock"}, "Socket connecting error: No such file or directory\n", 255},
		{"unixterm", nil, "Socket connecting error: No such file or directory\n", 255},
		{"vterm", []string{"-r", "/nonexistent/sock"}, "Socket connecting error: No such file or directory\n", 255},
		{"unixcmd", []string{"-s", "/nonexistent/sock", "help"},
			"unixcmd: dial unix /nonexistent/sock: connect: no such file or directory\n", 255},
	} {
		_, errs, code := runApp(t, tc.name, nil, tc.args...)
		if code != tc.code || errs != tc.err {
			t.Errorf("%s %q: exit %d, stderr %q; want %d, %q", tc.name, tc.args, code, errs, tc.code, tc.err)
		}
	}
}
