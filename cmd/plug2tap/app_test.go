// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/govde/govde/internal/cmdutil"
	"github.com/urfave/cli/v2"
)

// parse runs the app's flag parsing on argv and returns what configFrom made of it.
func parse(argv ...string) (config, string, int) {
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	var cfg config
	app.Action = func(c *cli.Context) error {
		var err error
		cfg, err = configFrom(c)
		if errors.Is(err, errHelp) {
			return cli.ShowAppHelp(c)
		}
		return err
	}
	code := cmdutil.Report(app, app.Run(append([]string{"plug2tap"}, argv...)))
	return cfg, out.String(), code
}

func TestConfigFrom(t *testing.T) {
	wd, _ := os.Getwd()
	tests := []struct {
		argv []string
		want config
	}{
		{[]string{"tap0"}, config{tap: "tap0"}},
		{[]string{"-s", "/tmp/sw", "-p", "3", "-m", "660", "-g", "users", "tap0"},
			config{tap: "tap0", sock: "/tmp/sw", port: 3, mode: 0o660, group: "users"}},
		{[]string{"--sock", "vde:///tmp/sw[4]", "--port=5", "--mod", "0600", "--group", "0", "t1"},
			config{tap: "t1", sock: "vde:///tmp/sw[4]", port: 5, mode: 0o600, group: "0"}},
		{[]string{"--mode", "770", "t1"}, config{tap: "t1", mode: 0o770}},
		{[]string{"-mode", "770", "-sock", "/x", "-port", "2", "t1"}, config{tap: "t1", mode: 0o770, sock: "/x", port: 2}},
		{[]string{"-mod", "700", "t1"}, config{tap: "t1", mode: 0o700}},
		{[]string{"-s", "-", "tap0"}, config{tap: "tap0", sock: "-"}},
		{[]string{"-d", "-P", "p.pid", "tap0"}, config{tap: "tap0", daemon: true, pidfile: filepath.Join(wd, "p.pid")}},
		{[]string{"-dP", "/run/p.pid", "tap0"}, config{tap: "tap0", daemon: true, pidfile: "/run/p.pid"}},
		{[]string{"--daemon", "--pidfile", "/run/p.pid", "tap0"}, config{tap: "tap0", daemon: true, pidfile: "/run/p.pid"}},
		{[]string{"-daemon", "-pidfile", "/run/p.pid", "tap0"}, config{tap: "tap0", daemon: true, pidfile: "/run/p.pid"}},
		// As vde_plug2tap's getopt_long_only: options after the TAP name, abbreviations, "--".
		{[]string{"tap0", "-s", "/x", "-dae"}, config{tap: "tap0", sock: "/x", daemon: true}},
		{[]string{"-so", "/x", "--po=4", "-gr", "users", "tap0"}, config{tap: "tap0", sock: "/x", port: 4, group: "users"}},
		{[]string{"-s/x", "--", "-tap"}, config{tap: "-tap", sock: "/x"}},
	}
	for _, tc := range tests {
		got, out, code := parse(tc.argv...)
		if code != 0 {
			t.Errorf("%q: exit %d: %s", tc.argv, code, out)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(config{})); diff != "" {
			t.Errorf("%q: config mismatch (-want +got):\n%s", tc.argv, diff)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		argv []string
		want string // in the output, which must name the offending value
	}{
		{nil, "missing TAP interface name"},
		{[]string{"tap0", "tap1"}, `unexpected argument "tap1"`},
		{[]string{"-p", "0", "t"}, `-p "0": want a port number`},
		{[]string{"-p", "-3", "t"}, `-p "-3"`},
		{[]string{"-p", "x", "t"}, `-p "x"`},
		{[]string{"-p", "8388608", "t"}, `-p "8388608"`},
		{[]string{"-m", "999", "t"}, `-m "999": want an octal`},
		{[]string{"-m", "1777", "t"}, `-m "1777"`},
		{[]string{"--mod", "rw", "t"}, `-m "rw"`},
		{[]string{"-g", "", "t"}, `-g ""`},
		{[]string{"-d", "-s", "-", "t"}, "-d with -s -"},
		{[]string{"averyveryveryverylongtapname"}, `TAP name "averyveryveryverylongtapname"`},
		{[]string{"-x", "t"}, "unrecognized option '-x'"},
		{[]string{"-dx", "t"}, "invalid option -- 'x'"},
		{[]string{"-s"}, "option requires an argument -- 's'"},
		{[]string{"--sock"}, "option '--sock' requires an argument"},
		{[]string{"-daemon=1", "t"}, "option '-daemon' doesn't allow an argument"},
	}
	for _, tc := range tests {
		_, out, code := parse(tc.argv...)
		if code != cmdutil.UsageCode {
			t.Errorf("%q: exit %d, want %d (%s)", tc.argv, code, cmdutil.UsageCode, out)
		}
		if !strings.HasPrefix(out, "plug2tap: ") || !strings.Contains(out, tc.want) {
			t.Errorf("%q: output %q, want plug2tap: …%s…", tc.argv, out, tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, h := range []string{"-h", "--help", "-help"} {
		_, out, code := parse(h)
		if code != 0 {
			t.Errorf("%s: exit %d", h, code)
		}
		for _, want := range []string{"Usage: plug2tap [OPTION]... tap_name", "--mode=mode", "--mod)", "--sock=socket", "-P, --pidfile=pidfile", "-d, --daemon"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: help lacks %q:\n%s", h, want, out)
			}
		}
	}
}

// TestHelpMatchesMan checks that every option of the help text is in the man page.
func TestHelpMatchesMan(t *testing.T) {
	man, err := os.ReadFile("../../man/plug2tap.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []string{"port", "group", "mode", "mod", "sock", "daemon", "pidfile", "help"} {
		if !bytes.Contains(man, []byte(`\-\-`+opt)) {
			t.Errorf("man/plug2tap.1 does not document --%s", opt)
		}
	}
}
