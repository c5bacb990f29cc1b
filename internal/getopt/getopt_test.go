// SPDX-License-Identifier: GPL-2.0-or-later

package getopt

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// plugTable is vde_plug's table ("c:hp:dm:M:g:G:lLD:" plus its long names).
var plugTable = []Option{
	{'p', "pidfile", RequiredArg}, {'d', "daemon", NoArg}, {0, "port", RequiredArg}, {0, "port2", RequiredArg},
	{'m', "mod", RequiredArg}, {'M', "mod2", RequiredArg}, {'g', "group", RequiredArg}, {'G', "group2", RequiredArg},
	{'D', "descr", RequiredArg}, {'l', "log", NoArg}, {'L', "iplog", NoArg}, {'h', "help", NoArg}, {'c', "", RequiredArg},
}

// switchTable is part of vde_switch's (getopt_long_only, aliases for -s).
var switchTable = []Option{
	{'s', "sock", RequiredArg}, {'s', "vdesock", RequiredArg}, {'s', "unix", RequiredArg}, {'x', "hub", NoArg},
	{'h', "help", NoArg}, {'n', "numports", RequiredArg}, {'m', "mode", RequiredArg}, {'m', "mod", RequiredArg},
	{0, "macaddr", RequiredArg}, {0, "mgmtmode", RequiredArg}, {'M', "mgmt", RequiredArg}, {'d', "daemon", NoArg},
	{0, "dirmode", RequiredArg}, {'o', "opt", OptionalArg},
}

// render prints a parse as util-linux getopt(1) does: " -x 'arg' --long 'arg' -- 'operand'".
// With byLong, an option given by its long name prints as such, as getopt(1) prints it.
func render(got []Opt, ops []string, byLong bool) string {
	q := func(s string) string { return " '" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var b strings.Builder
	for _, o := range got {
		if o.Short != 0 && !(byLong && o.ByLong) {
			b.WriteString(" -" + string(o.Short))
		} else {
			b.WriteString(" --" + o.Long)
		}
		if o.HasArg != NoArg {
			b.WriteString(q(o.Arg))
		}
	}
	b.WriteString(" --")
	for _, a := range ops {
		b.WriteString(q(a))
	}
	return b.String()
}

func TestParse(t *testing.T) {
	plug := &Parser{Options: plugTable, Stop: "=", SingleDashExact: true}
	sw := &Parser{Options: switchTable, LongOnly: true}
	dpipe := &Parser{Options: []Option{{'d', "daemon", NoArg}, {'p', "pidfile", RequiredArg}, {'P', "pgrpfile", RequiredArg}}, POSIX: true}
	tunctl := &Parser{Options: []Option{{'b', "", NoArg}, {'d', "", RequiredArg}, {'t', "", RequiredArg}}}
	tests := []struct {
		p    *Parser
		args []string
		want string // rendered parse, or the error message
	}{
		{plug, []string{"-dp", "f", "url"}, " -d -p 'f' -- 'url'"},
		{plug, []string{"url", "-pf", "--mod=0600", "u2"}, " -p 'f' -m '0600' -- 'url' 'u2'"},
		{plug, []string{"--pi", "x", "--", "-d"}, " -p 'x' -- '-d'"},
		{plug, []string{"url", "=", "cat", "-A"}, " -- 'url' '=' 'cat' '-A'"},
		{plug, []string{"-p", "=", "cat"}, "option requires an argument -- 'p'"},
		{plug, []string{"--pidfile", "=", "cat"}, "option '--pidfile' requires an argument"},
		{plug, []string{"--por", "1"}, "option '--por' is ambiguous; possibilities: '--port' '--port2'"},
		{plug, []string{"--port", "1"}, " --port '1' --"},
		{plug, []string{"--mo=1"}, "option '--mo=1' is ambiguous; possibilities: '--mod' '--mod2'"},
		{plug, []string{"--daemon=1"}, "option '--daemon' doesn't allow an argument"},
		{plug, []string{"--foo=1"}, "unrecognized option '--foo=1'"},
		{plug, []string{"-daemon", "-pidfile=f", "-group2", "g"}, " -d -p 'f' -G 'g' --"},
		{plug, []string{"-pid"}, " -p 'id' --"},
		{plug, []string{"-dae"}, "invalid option -- 'a'"},
		{&Parser{Options: plugTable}, []string{"-daemon"}, "invalid option -- 'a'"},
		{plug, []string{"-x"}, "invalid option -- 'x'"},
		{plug, []string{"-"}, " -- '-'"},
		{sw, []string{"-hub", "-sock", "d", "-numports=6"}, " -x -s 'd' -n '6' --"},
		{sw, []string{"-vde", "d", "--un=e"}, " -s 'd' -s 'e' --"},
		{sw, []string{"-mo", "1"}, "option '-mo' is ambiguous; possibilities: '-mode' '-mod'"},
		{sw, []string{"--mo", "1"}, "option '--mo' is ambiguous; possibilities: '--mode' '--mod'"},
		{sw, []string{"-mod", "1"}, " -m '1' --"},
		{sw, []string{"-m", "1"}, " -m '1' --"},
		{sw, []string{"-dx"}, " -d -x --"},
		{sw, []string{"-dz"}, "invalid option -- 'z'"},
		{sw, []string{"-zz"}, "unrecognized option '-zz'"},
		{sw, []string{"-o", "-ofoo", "--opt=bar", "--opt", "x"}, " -o '' -o 'foo' -o 'bar' -o '' -- 'x'"},
		{dpipe, []string{"-d", "cat", "-p", "f"}, " -d -- 'cat' '-p' 'f'"},
		{dpipe, []string{"-p", "=", "cat"}, " -p '=' -- 'cat'"},
		{dpipe, []string{"--pid"}, "option '--pidfile' requires an argument"},
		{tunctl, []string{"-bttap0", "x"}, " -b -t 'tap0' -- 'x'"},
		{tunctl, []string{"--help"}, "invalid option -- '-'"},
		{tunctl, []string{"-t"}, "option requires an argument -- 't'"},
	}
	for _, tc := range tests {
		opts, ops, err := tc.p.Parse(tc.args)
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.Is(err, os.ErrInvalid) {
				t.Errorf("Parse(%q): error %v does not wrap os.ErrInvalid", tc.args, err)
			}
		} else {
			got = render(opts, ops, false)
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

// TestScannerStops checks that a tool can stop at an option (dpipe -h) and get the rest unparsed.
func TestScannerStops(t *testing.T) {
	p := &Parser{Options: []Option{{'h', "help", NoArg}, {'d', "", NoArg}}, POSIX: true}
	s := p.Scan([]string{"-dh", "--bogus", "x"})
	var got []byte
	for {
		o, ok := s.Next()
		if !ok {
			t.Fatalf("Next stopped early: %v", s.Err())
		}
		if got = append(got, o.Short); o.Short == 'h' {
			break
		}
	}
	if string(got) != "dh" || strings.Join(s.Args(), " ") != "--bogus x" {
		t.Errorf("got %q, rest %q", got, s.Args())
	}
	var e *Error
	_, _, err := p.Parse([]string{"-d", "--bogus"})
	if !errors.As(err, &e) || e.Kind != Unrecognized || e.Index != 1 || e.Opt != "--bogus" {
		t.Errorf("Parse error = %#v", err)
	}
}

// oracle runs util-linux getopt(1), which uses glibc's getopt_long(_only), and returns its normalised
// output, or the first error line without the "prog: " prefix.
func oracle(t *testing.T, p *Parser, args []string) string {
	short := ""
	if p.POSIX {
		short = "+"
	}
	var long []string
	for _, o := range p.Options {
		if o.Short != 0 && !strings.ContainsRune(short, rune(o.Short)) {
			short += string(o.Short) + [...]string{"", ":", "::"}[o.HasArg]
		}
		if o.Long != "" {
			long = append(long, o.Long+[...]string{"", ":", "::"}[o.HasArg])
		}
	}
	argv := []string{"-n", "prog", "-o", short}
	if len(long) > 0 {
		argv = append(argv, "-l", strings.Join(long, ","))
	}
	if p.LongOnly {
		argv = append(argv, "-a")
	}
	cmd := exec.Command("/usr/bin/getopt", append(append(argv, "--"), args...)...)
	cmd.Env = []string{"LC_ALL=C"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		line, _, _ := strings.Cut(stderr.String(), "\n")
		return strings.TrimPrefix(line, "prog: ")
	}
	return strings.TrimSuffix(string(out), "\n")
}

// oracleTables are tables that util-linux getopt can express: its long options all have val 0, so a
// prefix shared by two long-only options of the same HasArg is not ambiguous there but is in a tool.
// These tables avoid such pairs (in LongOnly mode every shared prefix is ambiguous anyway).
var oracleTables = []*Parser{
	{Options: []Option{{'d', "daemon", NoArg}, {'p', "pidfile", RequiredArg}, {'P', "pgrpfile", RequiredArg},
		{'o', "", OptionalArg}, {0, "descr", RequiredArg}, {0, "dump", OptionalArg}, {'h', "help", NoArg}}},
	{Options: []Option{{'d', "daemon", NoArg}, {'p', "pidfile", RequiredArg}, {'P', "pgrpfile", RequiredArg},
		{'n', "nowrap", NoArg}, {'h', "help", NoArg}}, POSIX: true},
	{Options: []Option{{'x', "hub", NoArg}, {'n', "numports", RequiredArg}, {'m', "mode", RequiredArg},
		{0, "mgmt", RequiredArg}, {'d', "daemon", NoArg}, {0, "dirmode", RequiredArg}, {'o', "opt", OptionalArg},
		{0, "hash", NoArg}, {'h', "", NoArg}}, LongOnly: true},
	{Options: []Option{{'b', "", NoArg}, {'d', "", RequiredArg}, {'t', "", RequiredArg}, {'i', "", NoArg}}},
}

// oracleArgs are command lines for every table; each word is tried alone and in pairs.
var oracleArgs = []string{
	"-d", "-dp", "-dpx", "-p", "x", "--p", "--pi=f", "--pid", "--", "-", "=", "--=x", "--daemon=1", "--daemon",
	"--de", "--d", "--dump", "--dump=3", "-o", "-o3", "-h", "--h", "-hub", "-hu", "-n", "-nu", "-nuy", "-m", "-mo",
	"-mg", "-mgmt=1", "-di", "-dir", "-x", "-xd", "-zz", "-z", "--zz", "-b", "-bt", "-bttap", "-i", "--help",
	"-opt", "-op=v", "-ha", "-has",
}

// TestAgainstGetopt1 compares Parse with glibc, through util-linux getopt(1), on many command lines.
func TestAgainstGetopt1(t *testing.T) {
	if _, err := os.Stat("/usr/bin/getopt"); err != nil {
		t.Skip("no /usr/bin/getopt (util-linux)")
	}
	var lines [][]string
	for _, a := range oracleArgs {
		lines = append(lines, []string{a}, []string{"op", a, "x"})
		for _, b := range []string{"x", "-d", "--", "-p"} {
			lines = append(lines, []string{a, b})
		}
	}
	if testing.Short() {
		lines = lines[:40]
	}
	for _, p := range oracleTables {
		for _, args := range lines {
			if !p.hasLong() && slices.ContainsFunc(args, func(a string) bool { return len(a) > 2 && a[:2] == "--" }) {
				continue // getopt(1) always passes long options; getopt(3) without them is TestParse's
			}
			want := oracle(t, p, args)
			opts, ops, err := p.Parse(args)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = render(opts, ops, true)
			}
			if got != want {
				t.Errorf("table %v posix %v longonly %v: Parse(%q) = %s, getopt(1) = %s",
					p.Options, p.POSIX, p.LongOnly, args, got, want)
			}
		}
	}
}
