// SPDX-License-Identifier: GPL-2.0-or-later

package dpipe

import (
	"errors"
	"fmt"
	"os"

	"github.com/govde/govde/internal/getopt"
)

// Usage is the help text dpipe prints for -h/--help and after a syntax error (on stderr).
// man/dpipe.1 documents the same options.
const Usage = `Usage:
  dpipe [OPTIONS] cmd1 [arg1...] = cmd2 [arg2...] [= cmd3 [arg3...]]...
Joins the commands with pipes both ways: each command's output feeds the input
of its right neighbour and vice versa. A middle command talks to its left
neighbour on stdin/stdout and to its right neighbour on the descriptors
$ALTERNATE_STDIN (3) and $ALTERNATE_STDOUT (4).
  ... =} cmd [arg...] }= ...   cmd filters only the data flowing left to right
  ... ={ cmd [arg...] {= ...   cmd filters only the data flowing right to left
Options (option parsing stops at the first non-option):
  -p, --pidfile PIDFILE    write the process id of dpipe to PIDFILE
  -P, --pgrpfile PGRPFILE  write the process group id, negated, to PGRPFILE
  -d, --daemon             run in the background as a daemon (working directory /)
  -n, --nowrapproc         no dpipe parent process: dpipe execs the last command
  -N, --nowrapnoclean      like -n, and never remove PIDFILE or PGRPFILE
  -h, --help               show this help
`

// A Flow says which data a command of the chain sees.
type Flow int

const (
	// Both: the command sees both directions. A middle command talks to its left neighbour on
	// stdin/stdout and to its right neighbour on descriptors 3 and 4. The first and last commands
	// always have this flow.
	Both Flow = iota
	// LeftToRight: a middle command between "=}" and "}=" filters the data flowing from left to right
	// (stdin from the left, stdout to the right); data flowing right to left bypasses it.
	LeftToRight
	// RightToLeft: a middle command between "={" and "{=" filters the data flowing from right to left
	// (stdin from the right, stdout to the left); data flowing left to right bypasses it.
	RightToLeft
)

// String returns "both", "left-to-right" or "right-to-left".
func (f Flow) String() string {
	switch f {
	case Both:
		return "both"
	case LeftToRight:
		return "left-to-right"
	case RightToLeft:
		return "right-to-left"
	}
	return fmt.Sprintf("Flow(%d)", int(f))
}

// A Stage is one command of the chain: its argv (Args[0] is looked up in PATH) and its flow.
type Stage struct {
	Args []string
	Flow Flow
}

// Options are dpipe's command-line options.
type Options struct {
	PidFile  string // -p: file to write the dpipe pid to ("%d\n")
	PgrpFile string // -P: file to write the negated process group id to ("-%d\n")
	Daemon   bool   // -d: run as a daemon
	NoWrap   bool   // -n or -N: dpipe itself execs the last command
	NoClean  bool   // -N: never remove the pid files
	Help     bool   // -h: print Usage and exit 0; nothing else is parsed after it
}

// A Pipeline is a parsed dpipe command line.
type Pipeline struct {
	Options
	Stages []Stage // at least two when Help is false
}

// A SyntaxError is a bad dpipe command line. Arg is the 1-based index of the offending word in the
// arguments given to Parse (0 when the problem is a missing word at the end).
type SyntaxError struct {
	Arg int
	Msg string
}

// Error returns the message, which names the offending word and its position.
func (e *SyntaxError) Error() string { return e.Msg }

// Unwrap returns os.ErrInvalid, so that errors.Is(err, os.ErrInvalid) holds for every syntax error.
func (e *SyntaxError) Unwrap() error { return os.ErrInvalid }

func syntaxErr(arg int, format string, a ...any) error {
	return &SyntaxError{Arg: arg, Msg: fmt.Sprintf(format, a...)}
}

// parser is dpipe's getopt_long table: "+dp:P:hnN" (POSIX mode: options stop at the first command
// word) and the long forms, in vdeplug4's order.
var parser = &getopt.Parser{
	Options: []getopt.Option{
		{Short: 'n', Long: "nowrapproc"},
		{Short: 'N', Long: "nowrapnoclean"},
		{Short: 'p', Long: "pidfile", HasArg: getopt.RequiredArg},
		{Short: 'P', Long: "pgrpfile", HasArg: getopt.RequiredArg},
		{Short: 'd', Long: "daemon"},
		{Short: 'h', Long: "help"},
	},
	POSIX: true,
}

// Parse parses dpipe's arguments (without the program name) as vdeplug4's dpipe does: getopt-style
// options "+dp:P:hnN" with the long forms, stopping at the first non-option or "--", then the commands
// separated by the whole words "=", "=}", "}=", "={", "{=", "}={" and "{=}". It never touches the system.
// On -h it returns at once with Help set. Errors are *SyntaxError and name the offending word.
func Parse(args []string) (Pipeline, error) {
	var p Pipeline
	i, err := parseOptions(args, &p.Options)
	if err != nil || p.Help {
		return p, err
	}
	p.Stages, err = parseStages(args, i)
	return p, err
}

// parseOptions fills o and returns the index of the first non-option argument.
func parseOptions(args []string, o *Options) (int, error) {
	sc := parser.Scan(args)
	for !o.Help {
		opt, ok := sc.Next()
		if !ok {
			break
		}
		switch opt.Short {
		case 'p', 'P':
			if opt.Arg == "" {
				name := "-" + string(opt.Short)
				if opt.ByLong {
					name = "--" + opt.Long
				}
				return 0, syntaxErr(opt.ArgIndex+1, "%s: empty file name", name)
			}
			if opt.Short == 'p' {
				o.PidFile = opt.Arg
			} else {
				o.PgrpFile = opt.Arg
			}
		case 'd':
			o.Daemon = true
		case 'n':
			o.NoWrap = true
		case 'N':
			o.NoWrap, o.NoClean = true, true
		case 'h':
			o.Help = true
		}
	}
	var ge *getopt.Error
	if errors.As(sc.Err(), &ge) {
		return 0, syntaxErr(ge.Index+1, "%s", ge.Msg)
	}
	return len(args) - len(sc.Args()), nil
}

// separator describes a separator word: the bracket it closes and the one it opens (0 or '}' or '{').
func separator(w string) (closes, opens byte, ok bool) {
	switch w {
	case "=":
		return 0, 0, true
	case "=}", "={":
		return 0, w[1], true
	case "}=", "{=":
		return w[0], 0, true
	case "}={", "{=}", "}=}", "{={":
		return w[0], w[2], true
	}
	return 0, 0, false
}

func closer(open byte) string { return string(open) + "=" }
func opener(open byte) string { return "=" + string(open) }

// parseStages splits args[start:] into commands.
func parseStages(args []string, start int) ([]Stage, error) {
	if start >= len(args) {
		return nil, syntaxErr(0, "missing commands: want at least cmd1 = cmd2")
	}
	var (
		stages  []Stage
		cur     = start // first word of the current command
		open    byte    // bracket open to the left of the current command
		openArg int     // where it was opened
		flow    = Both  // flow of the current command
		prevSep = -1    // index of the previous separator, -1 for none
	)
	for i := start; i <= len(args); i++ {
		var closes, opens byte
		if i < len(args) {
			var ok bool
			if closes, opens, ok = separator(args[i]); !ok {
				continue
			}
		}
		// args[cur:i] is a command, ended by the separator args[i] or by the end.
		if cur == i {
			switch {
			case i == len(args):
				return nil, syntaxErr(0, "no command after %q (argument %d)", args[prevSep], prevSep+1)
			case prevSep < 0:
				return nil, syntaxErr(i+1, "no command before %q (argument %d)", args[i], i+1)
			default:
				return nil, syntaxErr(i+1, "no command between %q (argument %d) and %q (argument %d)",
					args[prevSep], prevSep+1, args[i], i+1)
			}
		}
		stages = append(stages, Stage{Args: args[cur:i], Flow: flow})
		if i == len(args) {
			break
		}
		if closes != 0 {
			if open == 0 {
				return nil, syntaxErr(i+1, "%q (argument %d) closes no %q", args[i], i+1, opener(closes))
			}
			if closes != open {
				return nil, syntaxErr(i+1, "%q (argument %d) does not close %q (argument %d): want %q",
					args[i], i+1, args[openArg], openArg+1, closer(open))
			}
			open = 0
		}
		if opens != 0 {
			if open != 0 {
				return nil, syntaxErr(i+1, "%q (argument %d) inside %q (argument %d): close that with %q first",
					args[i], i+1, args[openArg], openArg+1, closer(open))
			}
			open, openArg = opens, i
		}
		switch open {
		case 0:
			flow = Both
		case '}':
			flow = LeftToRight
		case '{':
			flow = RightToLeft
		}
		prevSep, cur = i, i+1
	}
	if open != 0 {
		return nil, syntaxErr(openArg+1, "%q (argument %d) is never closed by %q: the last command cannot be one-way",
			args[openArg], openArg+1, closer(open))
	}
	if len(stages) < 2 {
		return nil, syntaxErr(start+1, "no \"=\" after %q: want at least cmd1 = cmd2", args[start])
	}
	return stages, nil
}
