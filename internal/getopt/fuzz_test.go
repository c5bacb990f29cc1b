// SPDX-License-Identifier: GPL-2.0-or-later

package getopt

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParse parses newline-separated words with one of several tables and checks that it does not
// panic, that indexes and operands come from the input, and that the normalised form
// ("--long=ARG -x ARG -- OPERANDS"; a short form could read as a long one in LongOnly mode: -o= is --opt=) parses to the same options and operands.
func FuzzParse(f *testing.F) {
	f.Add(uint8(0), "-dp\nf\nurl\n--mod=0600\n=\ncat\n-A")
	f.Add(uint8(1), "-hub\n-sock\nd\n-mo\n1")
	f.Add(uint8(2), "-d\ncat\n-p\nf")
	f.Add(uint8(3), "-bttap0\n--help")
	parsers := []*Parser{
		{Options: plugTable, Stop: "=", SingleDashExact: true},
		{Options: switchTable, LongOnly: true},
		{Options: oracleTables[1].Options, POSIX: true},
		oracleTables[3],
		{Options: switchTable},
	}
	f.Fuzz(func(t *testing.T, which uint8, line string) {
		p := parsers[int(which)%len(parsers)]
		args := strings.Split(line, "\n")
		opts, ops, err := p.Parse(args)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Index < 0 || e.Index >= len(args) || e.Msg == "" {
				t.Fatalf("Parse(%q): bad error %#v", args, err)
			}
			return
		}
		for _, o := range opts {
			if o.Index < 0 || o.ArgIndex < o.Index || o.ArgIndex >= len(args) || !slices.Contains(p.Options, o.Option) ||
				(o.ArgGiven && !strings.Contains(args[o.ArgIndex], o.Arg)) {
				t.Fatalf("Parse(%q): bad option %+v", args, o)
			}
		}
		for _, a := range ops {
			if !slices.Contains(args, a) {
				t.Fatalf("Parse(%q): operand %q not in the input", args, a)
			}
		}
		var norm []string
		for _, o := range opts {
			switch {
			case o.Long != "" && o.ArgGiven:
				norm = append(norm, "--"+o.Long+"="+o.Arg)
			case o.Long != "":
				norm = append(norm, "--"+o.Long)
			case o.HasArg == RequiredArg && o.Arg == "": // attached otherwise: the Stop word is never taken alone
				norm = append(norm, "-"+string(o.Short), o.Arg)
			default:
				norm = append(norm, "-"+string(o.Short)+o.Arg)
			}
		}
		norm = append(append(norm, "--"), ops...)
		opts2, ops2, err := p.Parse(norm)
		if err != nil {
			t.Fatalf("Parse(%q) ok, its normal form %q: %v", args, norm, err)
		}
		same := func(a, b Opt) bool { return a.Option == b.Option && a.Arg == b.Arg }
		if !slices.EqualFunc(opts, opts2, same) || !slices.Equal(ops, ops2) {
			t.Fatalf("Parse(%q) = %v %q; its normal form %q = %v %q", args, opts, ops, norm, opts2, ops2)
		}
	})
}
