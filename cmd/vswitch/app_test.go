// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
	"github.com/govde/govde/pkg/vswitch"
	"github.com/urfave/cli/v2"
)

// parse runs the app's flag parsing on args and returns configFrom's result, without serving.
func parse(t *testing.T, euid int, args ...string) (config, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	var cfg config
	var cerr error
	app.Action = func(c *cli.Context) error {
		cfg, cerr = configFrom(c, euid)
		return nil
	}
	if err := app.Run(append([]string{"vswitch"}, args...)); err != nil {
		return cfg, err
	}
	return cfg, cerr
}

func defaults(euid int) config {
	dir := "/tmp/vde.ctl"
	if euid == 0 {
		dir = "/var/run/vde.ctl"
	}
	return config{
		sw:        vswitch.Config{NumPorts: 32, Group: -1, GroupSet: true, DataMode: 0o600, MgmtPortMode: 0o600},
		dir:       dir,
		listen:    vde.ListenOptions{Mode: 0o600, DirMode: 0o2700, Group: -1, MgmtMode: 0o600, MgmtGroup: -1},
		mgmtMode:  0o600,
		mgmtGroup: -1,
	}
}

func TestConfigFrom(t *testing.T) {
	tests := []struct {
		args []string
		euid int
		mod  func(*config)
	}{
		{nil, 1000, nil},
		{nil, 0, nil},
		{[]string{"-n", "8"}, 1000, func(c *config) { c.sw.NumPorts = 8 }},
		{[]string{"-numports", "0x10"}, 1000, func(c *config) { c.sw.NumPorts = 16 }},
		{[]string{"--numports=010"}, 1000, func(c *config) { c.sw.NumPorts = 8 }},
		{[]string{"-x"}, 1000, func(c *config) { c.sw.Hub = true }},
		{[]string{"-hub"}, 1000, func(c *config) { c.sw.Hub = true }},
		{[]string{"-F"}, 1000, func(c *config) { c.sw.FSTP = true }},
		{[]string{"--macaddr", "02:aa:bb:cc:dd:ee"}, 1000, func(c *config) { c.sw.MAC = frame.MAC{2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee} }},
		{[]string{"-macaddr", "2.0.0.0.0.1"}, 1000, func(c *config) { c.sw.MAC = frame.MAC{2, 0, 0, 0, 0, 1} }},
		{[]string{"--priority", "0x1234"}, 1000, func(c *config) { c.sw.Priority = 0x1234 }},
		{[]string{"--priority", "0100"}, 1000, func(c *config) { c.sw.Priority = 64 }},
		{[]string{"--priority", "0x12345"}, 1000, func(c *config) { c.sw.Priority = 0x2345 }},
		{[]string{"--hashsize", "64"}, 1000, func(c *config) { c.sw.HashSize = 64 }},
		{[]string{"--hashsize", "100"}, 1000, func(c *config) {
			c.sw.HashSize = 128
			c.warnings = []string{"Hash size must be a power of 2. 100 rounded to 128"}
		}},
		{[]string{"--hashmax", "1000"}, 1000, func(c *config) { c.sw.HashMax = 1000 }},
		{[]string{"-hashmax", "0"}, 1000, func(c *config) { c.sw.HashMax = -1 }},
		{[]string{"-s", "/tmp/x"}, 1000, func(c *config) { c.dir = "/tmp/x" }},
		{[]string{"-sock", "/tmp/x"}, 1000, func(c *config) { c.dir = "/tmp/x" }},
		{[]string{"--vdesock", "/tmp/x"}, 1000, func(c *config) { c.dir = "/tmp/x" }},
		{[]string{"-unix", "/tmp/x"}, 1000, func(c *config) { c.dir = "/tmp/x" }},
		{[]string{"-m", "660"}, 1000, func(c *config) { c.listen.Mode, c.listen.DirMode, c.sw.DataMode = 0o660, 0o2770, 0o660 }},
		{[]string{"-mod", "666"}, 1000, func(c *config) { c.listen.Mode, c.listen.DirMode, c.sw.DataMode = 0o666, 0o2777, 0o666 }},
		{[]string{"--dirmode", "750"}, 1000, func(c *config) { c.listen.Mode, c.listen.DirMode, c.sw.DataMode = 0o640, 0o750, 0o640 }},
		{[]string{"-m", "644", "--dirmode", "711"}, 1000, func(c *config) { c.listen.Mode, c.listen.DirMode, c.sw.DataMode = 0o644, 0o711, 0o644 }},
		{[]string{"-g", "root"}, 1000, func(c *config) { c.listen.Group, c.sw.Group = 0, 0 }},
		{[]string{"-group", "root"}, 1000, func(c *config) { c.listen.Group, c.sw.Group = 0, 0 }},
		{[]string{"-d", "-p", "x.pid"}, 1000, func(c *config) { c.daemon, c.pidfile = true, "x.pid" }},
		{[]string{"-daemon", "-pidfile", "/run/x.pid"}, 1000, func(c *config) { c.daemon, c.pidfile = true, "/run/x.pid" }},
		{[]string{"-f", "my.rc"}, 1000, func(c *config) { c.rcfile = "my.rc" }},
		{[]string{"-rcfile", "my.rc"}, 1000, func(c *config) { c.rcfile = "my.rc" }},
		{[]string{"-M", "/tmp/m", "--mgmtmode", "0660", "--mgmtgroup", "root"}, 1000, func(c *config) {
			c.mgmt, c.mgmtMode, c.mgmtGroup = "/tmp/m", 0o660, 0
			c.listen.MgmtMode, c.listen.MgmtGroup, c.sw.MgmtPortMode = 0o660, 0, 0o660
		}},
		{[]string{"-mgmt", "/tmp/m"}, 1000, func(c *config) { c.mgmt = "/tmp/m" }},
		{[]string{"-D", "4"}, 1000, nil},
		{[]string{"-t", "tap0", "-tap", "tap1", "--tap", "a,b", "-t", "x"}, 1000, func(c *config) { c.taps = []string{"tap0", "tap1", "a,b", "x"} }},
	}
	for _, tt := range tests {
		got, err := parse(t, tt.euid, tt.args...)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		want := defaults(tt.euid)
		if tt.mod != nil {
			tt.mod(&want)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(config{}), cmp.Comparer(func(a, b func(string, ...any)) bool { return true }),
			cmp.Comparer(func(a, b func(error)) bool { return true })); diff != "" {
			t.Errorf("%q: config (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestConfigFromErrors(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		msg      string
		wantHelp bool
	}{
		{[]string{"-n", "0"}, 1, "vswitch: The switch must have at least 1 port\n\n", false},
		{[]string{"-n", "abc"}, 2, "vswitch: --numports abc: not a number\n", false},
		{[]string{"-n", "8x"}, 2, "vswitch: --numports 8x: not a number\n", false},
		{[]string{"--macaddr", "zz"}, 1, "vswitch: Invalid MAC Addr zz\n", true},
		{[]string{"--hashsize", "0"}, 2, "vswitch: --hashsize 0: want 1..16777216\n", false},
		{[]string{"--hashmax", "-1"}, 2, "vswitch: --hashmax -1: want 0 (no limit) or more\n", false},
		{[]string{"-m", "8"}, 2, "vswitch: --mode 8: not an octal mode\n", false},
		{[]string{"-g", "no-such-group-xyz"}, 1, "vswitch: No such group 'no-such-group-xyz'\n", false},
		{[]string{"--mgmtgroup", "no-such-group-xyz"}, 1, "vswitch: No such group 'no-such-group-xyz'\n", false},
		{[]string{"extra"}, 1, "vswitch: unexpected argument \"extra\"\n", true},
		{[]string{"--bogus"}, 1, "vswitch: flag provided but not defined: -bogus\n", true},
	}
	for _, tt := range tests {
		app := newApp()
		var out, errb bytes.Buffer
		app.Writer, app.ErrWriter = &out, &errb
		app.Action = func(c *cli.Context) error {
			_, err := configFrom(c, 1000)
			if err != nil {
				var ue *cmdutil.UsageError
				if errors.As(err, &ue) && ue.Code == 1 {
					out.WriteString("USAGE")
				}
			}
			return err
		}
		err := app.Run(append([]string{"vswitch"}, tt.args...))
		code := cmdutil.Report(app, err)
		if code != tt.code || errb.String() != tt.msg {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", tt.args, code, errb.String(), tt.code, tt.msg)
		}
		if got := out.Len() > 0; got != tt.wantHelp {
			t.Errorf("%q: usage printed = %v, want %v (%q)", tt.args, got, tt.wantHelp, out.String())
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, tt := range []struct {
		arg    string
		code   int
		prefix string
	}{
		{"-h", 1, "Usage: vswitch [OPTIONS]\nRuns a VDE switch.\n(global opts)\n"},
		{"--help", 1, "Usage: vswitch [OPTIONS]\n"},
		{"-help", 1, "Usage: vswitch [OPTIONS]\n"},
		{"-v", 0, "govde vswitch "},
		{"--version", 0, "govde vswitch "},
	} {
		app := newApp()
		var out, errb bytes.Buffer
		app.Writer, app.ErrWriter = &out, &errb
		code := cmdutil.Report(app, app.Run([]string{"vswitch", tt.arg}))
		if code != tt.code || !strings.HasPrefix(out.String(), tt.prefix) || errb.Len() != 0 {
			t.Errorf("%s: exit %d stdout %q stderr %q; want %d, prefix %q", tt.arg, code, out.String(), errb.String(), tt.code, tt.prefix)
		}
	}
}

// TestUsageMatchesManPage checks that every option of --help is documented in man/vswitch.1.
func TestUsageMatchesManPage(t *testing.T) {
	man := readMan(t)
	for _, f := range newApp().Flags {
		for _, n := range f.Names() {
			if len(n) == 1 {
				continue
			}
			if !strings.Contains(man, `\-\-`+n) && !strings.Contains(man, `\-`+n) {
				t.Errorf("option --%s is not in man/vswitch.1", n)
			}
			if n != "help" && n != "version" && n != "mod" && n != "vdesock" && n != "unix" && !strings.Contains(usageText, "--"+n) {
				t.Errorf("option --%s is not in the usage text", n)
			}
		}
	}
}
