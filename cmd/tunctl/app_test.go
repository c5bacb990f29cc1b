// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/tap"
)

func TestParseArgs(t *testing.T) {
	def := config{owner: -1, group: -1, cloneDev: tap.DefaultCloneDev}
	with := func(f func(*config)) config { c := def; f(&c); return c }
	tests := []struct {
		argv []string
		want config
	}{
		{nil, def},
		{[]string{"-t", "tap0"}, with(func(c *config) { c.name = "tap0" })},
		{[]string{"-ttap0"}, with(func(c *config) { c.name = "tap0" })},
		{[]string{"-bt", "tap0"}, with(func(c *config) { c.brief, c.name = true, "tap0" })},
		{[]string{"-bttap0"}, with(func(c *config) { c.brief, c.name = true, "tap0" })},
		{[]string{"-u", "0", "-t", "x"}, with(func(c *config) { c.owner, c.name = 0, "x" })},
		{[]string{"-u", "root", "-g", "root", "-t", "x"}, with(func(c *config) { c.owner, c.group, c.name = 0, 0, "x" })},
		{[]string{"-u", "0x10"}, with(func(c *config) { c.owner = 16 })},
		{[]string{"-u", "010"}, with(func(c *config) { c.owner = 8 })},
		{[]string{"-u", "-5"}, with(func(c *config) { c.owner = -5 })},
		{[]string{"-u", ""}, with(func(c *config) { c.owner = 0 })},
		{[]string{"-g", "7"}, with(func(c *config) { c.group = 7 })},
		{[]string{"-n", "-t", "vt0"}, with(func(c *config) { c.tun, c.name = true, "vt0" })},
		{[]string{"-d", "tap3"}, with(func(c *config) { c.delete, c.name = true, "tap3" })},
		{[]string{"-f", "/dev/misc/net/tun", "-d", "tap3"}, with(func(c *config) { c.cloneDev, c.delete, c.name = "/dev/misc/net/tun", true, "tap3" })},
		{[]string{"-h"}, with(func(c *config) { c.help = true })},
		{[]string{"--help"}, with(func(c *config) { c.help = true })},
	}
	for _, tc := range tests {
		got, err := parseArgs("tunctl", tc.argv)
		if err != nil {
			t.Errorf("parseArgs(%q) error %v", tc.argv, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(config{})); diff != "" {
			t.Errorf("parseArgs(%q) mismatch (-want +got):\n%s", tc.argv, diff)
		}
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		c    config
		want tap.Kind
	}{
		{config{name: "tap0"}, tap.TAP},
		{config{name: "tun0"}, tap.TUN},
		{config{name: "tunnel"}, tap.TUN},
		{config{name: "vt0", tun: true}, tap.TUN},
		{config{name: "xtun"}, tap.TAP},
	} {
		if got := tc.c.kind(); got != tc.want {
			t.Errorf("%+v.kind() = %v, want %v", tc.c, got, tc.want)
		}
	}
}

// run runs the app with argv as the program prog and returns stdout, stderr and the exit status.
func runApp(argv ...string) (string, string, int) {
	app := newApp()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errb
	code := cmdutil.Report(app, app.Run(append([]string{"tunctl"}, argv...)))
	return out.String(), errb.String(), code
}

// TestErrors checks vde_tunctl's exact error lines and exit status 1 (no root needed).
func TestErrors(t *testing.T) {
	prog := os.Args[0]
	usage := strings.ReplaceAll(usageText, "%[1]s", prog)
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"-x"}, prog + ": invalid option -- 'x'\n" + usage},
		{[]string{"--foo"}, prog + ": invalid option -- '-'\n" + usage},
		{[]string{"-i"}, usage},
		{[]string{"-d"}, prog + ": option requires an argument -- 'd'\n" + usage},
		{[]string{"-bt"}, prog + ": option requires an argument -- 't'\n" + usage},
		{[]string{"-u", "nosuchuser-gv"}, "'nosuchuser-gv' is neither a username nor a numeric uid.\n" + usage},
		{[]string{"-g", "nosuchgroup-gv"}, "'nosuchgroup-gv' is neither a groupname nor a numeric gid.\n" + usage},
		{[]string{"-t", "x", "extra"}, usage},
		{[]string{"--", "-t", "x"}, usage},
		{[]string{"-f", "/nonexistent", "-t", "x"}, "Failed to open '/nonexistent' : No such file or directory\n"},
	}
	for _, tc := range tests {
		out, errs, code := runApp(tc.argv...)
		if code != 1 || out != "" || errs != tc.want {
			t.Errorf("tunctl %q: exit %d, stdout %q, stderr\n%s\nwant exit 1, stderr\n%s", tc.argv, code, out, errs, tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, h := range []string{"-h", "--help"} {
		out, errs, code := runApp(h)
		if code != 0 || errs != "" || !strings.HasPrefix(out, "Create: ") || !strings.Contains(out, "-h print this help") {
			t.Errorf("tunctl %s: exit %d, stdout %q, stderr %q", h, code, out, errs)
		}
	}
	man, err := os.ReadFile(filepath.Join("..", "..", "man", "tunctl.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []string{`\-b`, `\-u`, `\-g`, `\-n`, `\-t`, `\-f`, `\-d`, `\-h`} {
		if !bytes.Contains(man, []byte(opt)) {
			t.Errorf("man/tunctl.1 does not document %s", opt)
		}
	}
}

func TestParseCInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"1001", 1001, true}, {"0x1f", 31, true}, {"0X1F", 31, true}, {"017", 15, true},
		{"-1", -1, true}, {"+7", 7, true}, {"4294967295", -1, true},
		{"4294967296", 0, false}, {"12a", 0, false}, {"0x", 0, false}, {"09", 0, false}, {"--1", 0, false}, {"nobody", 0, false},
	} {
		got, err := parseCInt(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseCInt(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseArgs checks that no command line makes the parser panic and that a parsed name is one of
// the arguments.
func FuzzParseArgs(f *testing.F) {
	f.Add("-bt\x00tap0")
	f.Add("-u\x00nobody\x00-g\x000x10\x00-n")
	f.Add("-d\x00tun0\x00-f\x00/dev/net/tun")
	f.Add("--\x00-x\x00-ttap")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		c, err := parseArgs("tunctl", args)
		if err == nil && c.name != "" && !strings.Contains(s, c.name) {
			t.Fatalf("parseArgs(%q) name %q not from the arguments", args, c.name)
		}
	})
}
