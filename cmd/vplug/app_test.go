// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govde/govde/internal/cmdutil"
)

func TestConfigFrom(t *testing.T) {
	tests := []struct {
		args []string
		want config
	}{
		{nil, config{urls: []string{""}}},
		{[]string{"/tmp/sw"}, config{urls: []string{"/tmp/sw"}}},
		{[]string{""}, config{urls: []string{""}}},
		{[]string{"vde:///a", "ptp:///b"}, config{urls: []string{"vde:///a", "ptp:///b"}}},
		{[]string{"=", "cat"}, config{urls: []string{""}, cmd: []string{"cat"}}},
		{[]string{"/tmp/sw", "=", "sh", "-c", "exec cat -A", "-x", "="},
			config{urls: []string{"/tmp/sw"}, cmd: []string{"sh", "-c", "exec cat -A", "-x", "="}}},
		{[]string{"-d", "-p", "/run/p", "-l", "-g", "users", "-G", "0", "-m", "0660", "-M", "600", "-D", "x", "--port", "3", "--port2=4", "a", "b"},
			config{daemon: true, pidfile: "/run/p", log: true, group: "users", group2: "0", mode: 0o660, mode2: 0o600,
				descr: "x", port: 3, port2: 4, urls: []string{"a", "b"}}},
		{[]string{"-dlp/run/p", "a"}, config{daemon: true, log: true, pidfile: "/run/p", urls: []string{"a"}}},
		{[]string{"-L", "a"}, config{log: true, iplog: true, urls: []string{"a"}}},
		{[]string{"a", "-d", "b", "--pidfile", "f"}, config{daemon: true, pidfile: "f", urls: []string{"a", "b"}}},
		{[]string{"--pid=f", "--desc", "d", "--mod2=0640", "a"}, config{pidfile: "f", descr: "d", mode2: 0o640, urls: []string{"a"}}},
		{[]string{"-pidfile", "f", "-descr", "d", "-group2", "g", "a"}, config{pidfile: "f", descr: "d", group2: "g", urls: []string{"a"}}},
		{[]string{"--", "-weird", "=", "cat"}, config{urls: []string{"-weird"}, cmd: []string{"cat"}}},
		{[]string{"-h", "x", "y", "z"}, config{help: true}},
		{[]string{"-c", "vde_plug"}, config{shell: true, log: true, urls: []string{""}}},
		{[]string{"-cvplug", "-D", "d"}, config{shell: true, log: true, descr: "d", urls: []string{""}}},
		{[]string{"-h", "-c", "ls"}, config{help: true}},
	}
	for _, tt := range tests {
		got, err := configFrom(tt.args)
		if err != nil {
			t.Errorf("configFrom(%q): %v", tt.args, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(config{})); diff != "" {
			t.Errorf("configFrom(%q) mismatch (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestConfigFromErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-x"}, "invalid option -- 'x'"},
		{[]string{"--nosuch"}, "unrecognized option '--nosuch'"},
		{[]string{"--gr", "x"}, "option '--gr' is ambiguous"},
		{[]string{"-p"}, "option requires an argument -- 'p'"},
		{[]string{"--pidfile"}, "option '--pidfile' requires an argument"},
		{[]string{"-p", "=", "cat"}, "option requires an argument -- 'p'"},
		{[]string{"--por", "1"}, "option '--por' is ambiguous; possibilities: '--port' '--port2'"},
		{[]string{"--daemon=1"}, "option '--daemon' doesn't allow an argument"},
		{[]string{"-m", "999"}, "-m 999: want an octal permission"},
		{[]string{"-M", "rw"}, "-M rw: want an octal permission"},
		{[]string{"--port", "0"}, "--port 0: want a port number > 0"},
		{[]string{"--port2", "x"}, "--port2 x: want a port number > 0"},
		{[]string{"a", "b", "c"}, "too many arguments"},
		{[]string{"a", "b", "=", "cat"}, "too many URLs before '='"},
		{[]string{"a", "="}, "'=' must be followed by a command"},
	}
	for _, tt := range tests {
		_, err := configFrom(tt.args)
		var ue *cmdutil.UsageError
		if !errors.As(err, &ue) || ue.ExitCode() != 255 {
			t.Errorf("configFrom(%q) = %v, want a usage error with code 255", tt.args, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("configFrom(%q) error %q, want %q", tt.args, err, tt.want)
		}
	}
}

// TestConfigFromShell: "-c" with another command than vde_plug (or vplug) is the login-shell refusal.
func TestConfigFromShell(t *testing.T) {
	for _, args := range [][]string{{"-c", "ls"}, {"-c", "vde_plug /tmp/sw"}, {"-c", ""}, {"-d", "-c", "sh"}, {"-c", "scp -t ."}} {
		if _, err := configFrom(args); !errors.Is(err, errShell) {
			t.Errorf("configFrom(%q) = %v, want errShell", args, err)
		}
	}
}

// TestLoginShellRefused: as an interactive login shell (argv[0] "-vde_plug") or asked to run anything but
// vde_plug, vplug prints vde_plug's message and exits 255.
func TestLoginShellRefused(t *testing.T) {
	old := argv0
	defer func() { argv0 = old }()
	argv0 = func() string { return "-vplug" }
	out, code := runApp()
	if code != 255 || out != brokerMessage {
		t.Errorf("argv[0] -vplug: status %d, output %q; want 255, %q", code, out, brokerMessage)
	}
	argv0 = old
	out, code = runApp("-c", "/bin/sh")
	if code != 255 || out != brokerMessage {
		t.Errorf("-c /bin/sh: status %d, output %q; want 255, %q", code, out, brokerMessage)
	}
}

// runApp runs the app in-process and returns its output and exit status as Main would.
func runApp(args ...string) (string, int) {
	var out bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run(append([]string{"vplug"}, args...))
	code := cmdutil.Report(app, err)
	return out.String(), code
}

func TestAppUsage(t *testing.T) {
	out, code := runApp("-h")
	if code != 0 || !strings.HasPrefix(out, "Usage:\n  vplug [OPTIONS]\n") {
		t.Errorf("-h: status %d, output:\n%s", code, out)
	}
	out, code = runApp("-x")
	if code != 255 || out != "vplug: invalid option -- 'x'\nTry 'vplug --help' for more information.\n" {
		t.Errorf("-x: status %d, output %q", code, out)
	}
	out, code = runApp("nosuchmod://x")
	if code != 1 || !strings.HasPrefix(out, "vplug: vde_open nosuchmod://x: Protocol not supported") {
		t.Errorf("nosuchmod://x: status %d, output %q", code, out)
	}
	dir := t.TempDir()
	out, code = runApp("vde://" + dir + "[foo=1]")
	if code != 1 || !strings.HasPrefix(out, "vplug: vde_open vde://"+dir+`[foo=1]: Invalid argument: unknown key "foo"`) {
		t.Errorf("unknown key: status %d, output %q", code, out)
	}
	out, code = runApp("null://", "=", "govde-no-such-command")
	if code != 1 || !strings.Contains(out, "govde-no-such-command: executable file not found") {
		t.Errorf("missing command: status %d, output %q", code, out)
	}
}

// TestManMatchesHelp checks that every option in the help text is documented in man/vplug.1.
func TestManMatchesHelp(t *testing.T) {
	man, err := os.ReadFile("../../man/vplug.1")
	if err != nil {
		t.Fatal(err)
	}
	m := strings.ReplaceAll(string(man), `\-`, "-")
	for _, o := range parser.Options {
		if !strings.Contains(m, "--"+o.Long) {
			t.Errorf("man/vplug.1 does not document --%s", o.Long)
		}
		if o.Short != 0 && !strings.Contains(m, "-"+string(o.Short)) {
			t.Errorf("man/vplug.1 does not document -%c", o.Short)
		}
		if !strings.Contains(usageText, "--"+o.Long) {
			t.Errorf("help text does not document --%s", o.Long)
		}
	}
}

func TestIPLog(t *testing.T) {
	var lines []string
	l := &logger{user: "alice", ip: "UNKNOWN_IP_ADDRESS", seen: map[netip.Addr]bool{}, out: func(s string) { lines = append(lines, s) }}
	l.start()
	ip4 := make([]byte, 14+20)
	copy(ip4[12:], []byte{0x08, 0x00, 0x45})
	copy(ip4[14+12:], []byte{198, 18, 0, 7})
	l.checkIP(ip4)
	l.checkIP(ip4) // logged once only
	tagged := make([]byte, 18+40)
	copy(tagged[12:], []byte{0x81, 0x00, 0x00, 0x05, 0x86, 0xdd, 0x60})
	tagged[18+8], tagged[18+9], tagged[18+23] = 0xfe, 0x80, 0x01
	l.checkIP(tagged)
	l.checkIP(make([]byte, 10)) // runt: ignored
	l.out = func(s string) { lines = append(lines, s) }
	l.stop()
	want := []string{
		"START: user alice IP UNKNOWN_IP_ADDRESS",
		"user alice Real-IP UNKNOWN_IP_ADDRESS has got VDE-IP4 198.18.0.7 on vlan 0",
		"user alice Real-IP UNKNOWN_IP_ADDRESS has got VDE-IP6 fe80::1 on vlan 5",
		"STOP: user alice IP UNKNOWN_IP_ADDRESS",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("log lines mismatch (-want +got):\n%s", diff)
	}
}
