// SPDX-License-Identifier: GPL-2.0-or-later

// Package getopt parses command lines as glibc's getopt_long(3) and getopt_long_only(3) do, with
// their error messages, for the tools whose originals use them (vde_plug, vde_tunctl, dpipe …).
//
// A Parser holds the option table and the mode: GNU argument permutation (options may follow the
// operands) or POSIX mode (stop at the first operand, the "+" of an optstring), single-dash long
// options (LongOnly), and an optional stop word that ends the options. Long names may be abbreviated
// to any unambiguous prefix. "--" ends the options; "-" is an operand. A table without long names
// parses as getopt(3): "--foo" is then the short option '-', which is invalid.
//
// It does not read POSIXLY_CORRECT; set POSIX instead.
package getopt

import (
	"fmt"
	"os"
	"strings"
)

// HasArg says whether an option takes an argument.
type HasArg int

const (
	// NoArg: a flag ("--daemon=x" is an error).
	NoArg HasArg = iota
	// RequiredArg: the argument is attached (-pFILE, --pidfile=FILE) or else the next word.
	RequiredArg
	// OptionalArg: the argument is only ever attached (-pFILE, --pidfile=FILE).
	OptionalArg
)

// An Option is one entry of the table: a short letter (0 for none), a long name ("" for none), or both.
// Entries with the same non-zero Short and the same HasArg are aliases of one option (vde_switch's
// --sock, --vdesock, --unix): getopt_long does not call a prefix that matches only aliases ambiguous.
type Option struct {
	Short  byte
	Long   string
	HasArg HasArg
}

// A Parser is an option table plus the parsing mode. Its methods do not modify it; it is safe for
// concurrent use.
type Parser struct {
	Options []Option
	// LongOnly selects getopt_long_only: "-name" is a long option when it matches one (exactly or by
	// a prefix), else a cluster of short options. A one-letter word "-x" is the short option x
	// when there is one.
	LongOnly bool
	// SingleDashExact, without LongOnly, makes a single-dash word that is exactly a long name
	// ("-pidfile", "-pidfile=F") that long option; any other single-dash word is a short cluster
	// ("-pid" is -p id). vplug uses it to accept the "-group" that vde_plug's usage advertises.
	SingleDashExact bool
	// POSIX stops option parsing at the first operand, as a leading '+' in the optstring does.
	// Otherwise the operands are permuted to the end (GNU).
	POSIX bool
	// Stop, when not empty, is an operand word that ends option parsing: it and every word after it
	// are operands. It is never taken as an option's argument either: "-p =" reports that -p
	// requires an argument. (vplug uses "=", so that "URL = cmd -x" leaves -x to cmd.)
	Stop string
}

// An Opt is one option found on the command line.
type Opt struct {
	Option          // the table entry (for an alias, the one that matched)
	Arg      string // its argument ("" for NoArg, or an OptionalArg given none)
	ArgGiven bool   // an argument was given
	ByLong   bool   // it was given by its long name
	Index    int    // index in args of the word that held the option
	ArgIndex int    // index in args of the word that held the argument (Index when attached or none)
}

// Kind classifies an Error.
type Kind int

const (
	Invalid      Kind = iota + 1 // unknown short option: "invalid option -- 'x'"
	Unrecognized                 // unknown long option: "unrecognized option '--foo'"
	Ambiguous                    // "option '--p' is ambiguous; possibilities: '--pidfile' '--port'"
	MissingArg                   // "option requires an argument -- 'x'", "option '--x' requires an argument"
	ExtraArg                     // "option '--x' doesn't allow an argument"
)

// An Error is a bad option. Its message is glibc's, without the "prog: " prefix that getopt prints
// first. It wraps os.ErrInvalid.
type Error struct {
	Kind  Kind
	Index int    // index in args of the offending word
	Opt   string // the option as getopt names it: "x" for a short one, "--foo" or "-foo" for a long one
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns os.ErrInvalid.
func (e *Error) Unwrap() error { return os.ErrInvalid }

// Parse parses args (without the program name) to the end or to the first error, and returns the
// options in command-line order and the operands (permuted to the end, in order; with Stop, the stop
// word and all that follows it come last).
func (p *Parser) Parse(args []string) ([]Opt, []string, error) {
	s := p.Scan(args)
	var opts []Opt
	for {
		o, ok := s.Next()
		if !ok {
			break
		}
		opts = append(opts, o)
	}
	if err := s.Err(); err != nil {
		return opts, nil, err
	}
	return opts, s.Args(), nil
}

// A Scanner returns one option at a time, as getopt does, so that a tool can act on an option
// before the next one is parsed (dpipe's -h ends parsing at once).
type Scanner struct {
	p       *Parser
	args    []string
	i       int    // next word
	cluster string // rest of a short-option cluster being scanned
	ci      int    // index of the cluster's word
	ops     []string
	err     error
	done    bool
}

// Scan returns a Scanner over args (without the program name).
func (p *Parser) Scan(args []string) *Scanner { return &Scanner{p: p, args: args} }

// Err returns the error that stopped Next, if any.
func (s *Scanner) Err() error { return s.err }

// Args returns the operands once Next has returned false without an error. Before that it returns
// the operands seen so far followed by the unscanned words.
func (s *Scanner) Args() []string {
	if s.done {
		return s.ops
	}
	return append(append([]string(nil), s.ops...), s.args[s.i:]...)
}

// Next returns the next option. It returns false at the end of the options or on an error (see Err).
func (s *Scanner) Next() (Opt, bool) {
	if s.done || s.err != nil {
		return Opt{}, false
	}
	if s.cluster != "" {
		return s.short()
	}
	for s.i < len(s.args) {
		w := s.args[s.i]
		switch {
		case w == "--":
			s.finish(s.i + 1)
			return Opt{}, false
		case s.p.Stop != "" && w == s.p.Stop:
			s.finish(s.i)
			return Opt{}, false
		case len(w) < 2 || w[0] != '-':
			if s.p.POSIX {
				s.finish(s.i)
				return Opt{}, false
			}
			s.ops = append(s.ops, w)
			s.i++
			continue
		}
		// Without long options (getopt(3)), "--x" is the cluster "-x" of the short option '-'.
		if s.p.hasLong() && (w[1] == '-' || (s.p.LongOnly && (len(w) > 2 || s.p.short(w[1]) == nil)) ||
			(s.p.SingleDashExact && len(w) > 2 && s.p.exact(w[1:]))) {
			o, handled := s.long(w)
			if handled {
				return o, s.err == nil
			}
		}
		s.cluster, s.ci = w[1:], s.i
		s.i++
		return s.short()
	}
	s.finish(len(s.args))
	return Opt{}, false
}

// finish ends option parsing: args[from:] are operands.
func (s *Scanner) finish(from int) {
	s.ops = append(s.ops, s.args[from:]...)
	s.done = true
}

func (s *Scanner) fail(kind Kind, idx int, opt, format string, a ...any) (Opt, bool) {
	s.err = &Error{Kind: kind, Index: idx, Opt: opt, Msg: fmt.Sprintf(format, a...)}
	return Opt{}, false
}

func (p *Parser) short(c byte) *Option {
	if c == 0 {
		return nil
	}
	for i := range p.Options {
		if p.Options[i].Short == c {
			return &p.Options[i]
		}
	}
	return nil
}

// hasLong reports whether the table has long options; without any, the parser is getopt(3).
func (p *Parser) hasLong() bool {
	for _, o := range p.Options {
		if o.Long != "" {
			return true
		}
	}
	return false
}

// exact reports whether word, up to any '=', is exactly a long name.
func (p *Parser) exact(word string) bool {
	name, _, _ := strings.Cut(word, "=")
	for _, o := range p.Options {
		if o.Long != "" && o.Long == name {
			return true
		}
	}
	return false
}

// same reports whether a and b are one option for getopt_long's ambiguity rule (same has_arg and val).
func same(a, b *Option) bool { return a.Short != 0 && a.Short == b.Short && a.HasArg == b.HasArg }

// long handles the long-option word w (process_long_option in glibc). handled is false when, in
// LongOnly mode, w names no long option but starts with a short one: it is then a short cluster.
func (s *Scanner) long(w string) (o Opt, handled bool) {
	prefix, body := "-", w[1:]
	if w[1] == '-' {
		prefix, body = "--", w[2:]
	}
	name, val, hasVal := strings.Cut(body, "=")
	idx := s.i
	var found *Option
	for k := range s.p.Options {
		if opt := &s.p.Options[k]; opt.Long != "" && opt.Long == name {
			found = opt
			break
		}
	}
	if found == nil {
		var ambig []*Option
		for k := range s.p.Options {
			opt := &s.p.Options[k]
			if opt.Long == "" || !strings.HasPrefix(opt.Long, name) {
				continue
			}
			switch {
			case found == nil:
				found = opt
			case s.p.LongOnly || !same(found, opt):
				if ambig == nil {
					ambig = append(ambig, found)
				}
				ambig = append(ambig, opt)
			}
		}
		if ambig != nil {
			s.i++
			var b strings.Builder
			fmt.Fprintf(&b, "option '%s%s' is ambiguous; possibilities:", prefix, body)
			for _, a := range ambig {
				fmt.Fprintf(&b, " '%s%s'", prefix, a.Long)
			}
			o, _ := s.fail(Ambiguous, idx, prefix+body, "%s", b.String())
			return o, true
		}
	}
	if found == nil {
		if !s.p.LongOnly || prefix == "--" || s.p.short(body[0]) == nil {
			s.i++
			o, _ := s.fail(Unrecognized, idx, prefix+body, "unrecognized option '%s%s'", prefix, body)
			return o, true
		}
		return Opt{}, false
	}
	s.i++
	o = Opt{Option: *found, Index: idx, ArgIndex: idx, ByLong: true}
	switch {
	case hasVal && found.HasArg == NoArg:
		o, _ := s.fail(ExtraArg, idx, prefix+found.Long, "option '%s%s' doesn't allow an argument", prefix, found.Long)
		return o, true
	case hasVal:
		o.Arg, o.ArgGiven = val, true
	case found.HasArg == RequiredArg:
		if s.i >= len(s.args) || (s.p.Stop != "" && s.args[s.i] == s.p.Stop) {
			o, _ := s.fail(MissingArg, idx, prefix+found.Long, "option '%s%s' requires an argument", prefix, found.Long)
			return o, true
		}
		o.Arg, o.ArgGiven, o.ArgIndex = s.args[s.i], true, s.i
		s.i++
	}
	return o, true
}

// short returns the next option of the current cluster.
func (s *Scanner) short() (Opt, bool) {
	c := s.cluster[0]
	s.cluster = s.cluster[1:]
	opt := s.p.short(c)
	if opt == nil {
		s.cluster = ""
		return s.fail(Invalid, s.ci, string(c), "invalid option -- '%c'", c)
	}
	o := Opt{Option: *opt, Index: s.ci, ArgIndex: s.ci}
	switch opt.HasArg {
	case NoArg:
		return o, true
	case OptionalArg:
		if s.cluster != "" {
			o.Arg, o.ArgGiven = s.cluster, true
		}
	case RequiredArg:
		switch {
		case s.cluster != "":
			o.Arg, o.ArgGiven = s.cluster, true
		case s.i >= len(s.args) || (s.p.Stop != "" && s.args[s.i] == s.p.Stop):
			s.cluster = ""
			return s.fail(MissingArg, s.ci, string(c), "option requires an argument -- '%c'", c)
		default:
			o.Arg, o.ArgGiven, o.ArgIndex = s.args[s.i], true, s.i
			s.i++
		}
	}
	s.cluster = ""
	return o, true
}
