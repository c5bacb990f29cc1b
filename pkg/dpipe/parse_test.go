// SPDX-License-Identifier: GPL-2.0-or-later

package dpipe

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func st(flow Flow, args ...string) Stage { return Stage{Args: args, Flow: flow} }

func TestParse(t *testing.T) {
	tests := []struct {
		args string // split on spaces
		want Pipeline
	}{
		{"a = b", Pipeline{Stages: []Stage{st(Both, "a"), st(Both, "b")}}},
		{"vde_plug -m 0660 /s1 = wirefilter -l 1 = vde_plug /s2", Pipeline{Stages: []Stage{
			st(Both, "vde_plug", "-m", "0660", "/s1"), st(Both, "wirefilter", "-l", "1"), st(Both, "vde_plug", "/s2")}}},
		{"a =} b }= c", Pipeline{Stages: []Stage{st(Both, "a"), st(LeftToRight, "b"), st(Both, "c")}}},
		{"a ={ b {= c", Pipeline{Stages: []Stage{st(Both, "a"), st(RightToLeft, "b"), st(Both, "c")}}},
		{"a =} b = c }= d", Pipeline{Stages: []Stage{st(Both, "a"), st(LeftToRight, "b"), st(LeftToRight, "c"), st(Both, "d")}}},
		// The man page's example: a -> b -> d -> c -> a, and e on d's alternate descriptors.
		{"a =} b }={ c {= d = e", Pipeline{Stages: []Stage{
			st(Both, "a"), st(LeftToRight, "b"), st(RightToLeft, "c"), st(Both, "d"), st(Both, "e")}}},
		{"a =} b }=} c }= d", Pipeline{Stages: []Stage{st(Both, "a"), st(LeftToRight, "b"), st(LeftToRight, "c"), st(Both, "d")}}},
		{"a ={ b {=} c }= d", Pipeline{Stages: []Stage{st(Both, "a"), st(RightToLeft, "b"), st(LeftToRight, "c"), st(Both, "d")}}},
		// Words that merely contain '=' are arguments.
		{"env A=1 = sh -c x=1 ==", Pipeline{Stages: []Stage{st(Both, "env", "A=1"), st(Both, "sh", "-c", "x=1", "==")}}},
		// Options stop at the first non-option: -d below belongs to cat.
		{"-p pid cat -d = cat", Pipeline{Options: Options{PidFile: "pid"}, Stages: []Stage{st(Both, "cat", "-d"), st(Both, "cat")}}},
		{"-ppid -Ppg -d a = b", Pipeline{Options: Options{PidFile: "pid", PgrpFile: "pg", Daemon: true},
			Stages: []Stage{st(Both, "a"), st(Both, "b")}}},
		{"-dnP pg a = b", Pipeline{Options: Options{PgrpFile: "pg", Daemon: true, NoWrap: true},
			Stages: []Stage{st(Both, "a"), st(Both, "b")}}},
		{"-N a = b", Pipeline{Options: Options{NoWrap: true, NoClean: true}, Stages: []Stage{st(Both, "a"), st(Both, "b")}}},
		{"--pidfile=x --pgrpfile y --daemon --nowrapproc a = b", Pipeline{
			Options: Options{PidFile: "x", PgrpFile: "y", Daemon: true, NoWrap: true},
			Stages:  []Stage{st(Both, "a"), st(Both, "b")}}},
		{"--nowrapn --pid x --pg y a = b", Pipeline{Options: Options{PidFile: "x", PgrpFile: "y", NoWrap: true, NoClean: true},
			Stages: []Stage{st(Both, "a"), st(Both, "b")}}},
		{"-- -a = -b", Pipeline{Stages: []Stage{st(Both, "-a"), st(Both, "-b")}}},
		{"- = -", Pipeline{Stages: []Stage{st(Both, "-"), st(Both, "-")}}},
		// -h wins as soon as it is seen, whatever follows.
		{"-h", Pipeline{Options: Options{Help: true}}},
		{"--help a =", Pipeline{Options: Options{Help: true}}},
		{"--he -z", Pipeline{Options: Options{Help: true}}},
		{"-dh", Pipeline{Options: Options{Daemon: true, Help: true}}},
	}
	for _, tc := range tests {
		got, err := Parse(strings.Fields(tc.args))
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tc.args, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tc.args, diff)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		args    []string
		wantArg int
		wantMsg string
	}{
		{nil, 0, "missing commands: want at least cmd1 = cmd2"},
		{[]string{"-p", "x"}, 0, "missing commands"},
		{[]string{"cat"}, 1, `no "=" after "cat"`},
		{[]string{"cat", "-A"}, 1, `no "=" after "cat"`},
		{[]string{"cat", "="}, 0, `no command after "=" (argument 2)`},
		{[]string{"=", "cat"}, 1, `no command before "=" (argument 1)`},
		{[]string{"a", "=", "=", "b"}, 3, `no command between "=" (argument 2) and "=" (argument 3)`},
		{[]string{"a", "=}", "}=", "b"}, 3, `no command between "=}" (argument 2) and "}=" (argument 3)`},
		{[]string{"a", "}=", "b"}, 2, `"}=" (argument 2) closes no "=}"`},
		{[]string{"a", "=", "b", "{=", "c"}, 4, `"{=" (argument 4) closes no "={"`},
		{[]string{"a", "=}", "b", "{=", "c"}, 4, `"{=" (argument 4) does not close "=}" (argument 2): want "}="`},
		{[]string{"a", "=}", "b", "={", "c", "{=", "d"}, 4, `"={" (argument 4) inside "=}" (argument 2)`},
		{[]string{"a", "=}", "b"}, 2, `"=}" (argument 2) is never closed by "}="`},
		{[]string{"a", "={", "b", "{=}", "c"}, 4, `"{=}" (argument 4) is never closed by "}="`},
		{[]string{"-z", "a", "=", "b"}, 1, `invalid option -- 'z'`},
		{[]string{"-dz", "a", "=", "b"}, 1, `invalid option -- 'z'`},
		{[]string{"-p"}, 1, `option requires an argument -- 'p'`},
		{[]string{"-d", "-P"}, 2, `option requires an argument -- 'P'`},
		{[]string{"-p", "", "a", "=", "b"}, 2, `-p: empty file name`},
		{[]string{"--pidfile"}, 1, `option '--pidfile' requires an argument`},
		{[]string{"--pidfile="}, 1, `--pidfile: empty file name`},
		{[]string{"--daemon=1", "a", "=", "b"}, 1, `option '--daemon' doesn't allow an argument`},
		{[]string{"--nowrap", "a", "=", "b"}, 1, `option '--nowrap' is ambiguous; possibilities: '--nowrapproc' '--nowrapnoclean'`},
		{[]string{"--p", "x"}, 1, `option '--p' is ambiguous`},
		{[]string{"--version"}, 1, `unrecognized option '--version'`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.args)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tc.args, err)
			continue
		}
		if !errors.Is(err, os.ErrInvalid) {
			t.Errorf("Parse(%q): errors.Is(err, os.ErrInvalid) = false", tc.args)
		}
		if se.Arg != tc.wantArg || !strings.Contains(se.Msg, tc.wantMsg) {
			t.Errorf("Parse(%q) = (arg %d) %q, want (arg %d) containing %q", tc.args, se.Arg, se.Msg, tc.wantArg, tc.wantMsg)
		}
	}
}

// FuzzParse checks that Parse never panics and that a pipeline it accepts accounts for every word.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a = b", "-p\x00x\x00a\x00=\x00b", "a\x00=}\x00b\x00}=\x00c", "a\x00={\x00b\x00{=}\x00c\x00}=\x00d",
		"--pid=x\x00--\x00-a\x00=\x00b", "-h", "=\x00=", "a\x00=}\x00b\x00={",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\x00")
		p, err := Parse(args)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Arg < 0 || se.Arg > len(args) || se.Msg == "" {
				t.Fatalf("Parse(%q): bad error %#v", args, err)
			}
			return
		}
		if p.Help {
			return
		}
		if len(p.Stages) < 2 {
			t.Fatalf("Parse(%q): %d stages", args, len(p.Stages))
		}
		if p.Stages[0].Flow != Both || p.Stages[len(p.Stages)-1].Flow != Both {
			t.Fatalf("Parse(%q): first or last stage is one-way: %v", args, p.Stages)
		}
		words := 0
		for _, s := range p.Stages {
			if len(s.Args) == 0 {
				t.Fatalf("Parse(%q): empty stage", args)
			}
			for _, a := range s.Args {
				if _, _, sep := separator(a); sep {
					t.Fatalf("Parse(%q): separator %q inside a command", args, a)
				}
			}
			words += len(s.Args)
		}
		// The commands and separators are the tail of args.
		tail := words + len(p.Stages) - 1
		if tail > len(args) {
			t.Fatalf("Parse(%q): %d words in stages, more than the arguments", args, words)
		}
		if diff := cmp.Diff(p.Stages[len(p.Stages)-1].Args, args[len(args)-len(p.Stages[len(p.Stages)-1].Args):]); diff != "" {
			t.Fatalf("Parse(%q): last stage is not the end of args: %s", args, diff)
		}
	})
}
