// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/getopt"
)

// parser is vde_plug2tap's getopt_long_only table ("hdP:p:s:m:g:" and its long names), plus --mode,
// which vde_plug2tap advertises but rejects. Options may follow the TAP name (GNU permutation) and
// long names may be abbreviated, with one or two dashes.
var parser = &getopt.Parser{
	Options: []getopt.Option{
		{Short: 's', Long: "sock", HasArg: getopt.RequiredArg},
		{Short: 'p', Long: "port", HasArg: getopt.RequiredArg},
		{Short: 'h', Long: "help"},
		{Short: 'm', Long: "mod", HasArg: getopt.RequiredArg},
		{Short: 'm', Long: "mode", HasArg: getopt.RequiredArg},
		{Short: 'g', Long: "group", HasArg: getopt.RequiredArg},
		{Short: 'd', Long: "daemon"},
		{Short: 'P', Long: "pidfile", HasArg: getopt.RequiredArg},
	},
	LongOnly: true,
}

// args is a parsed command line: the last value of each option by short name, and the operands.
type args struct {
	opt      map[byte]string
	operands []string
}

func (a args) isSet(c byte) bool { _, ok := a.opt[c]; return ok }

// parseArgs parses the command line (without the program name) as vde_plug2tap's getopt_long_only.
func parseArgs(argv []string) (args, error) {
	opts, ops, err := parser.Parse(argv)
	if err != nil {
		return args{}, &cmdutil.UsageError{Err: err, ShowUsage: true}
	}
	a := args{opt: map[byte]string{}, operands: ops}
	for _, o := range opts {
		a.opt[o.Short] = o.Arg
	}
	return a, nil
}
