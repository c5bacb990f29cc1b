// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"errors"
	"math"
	"strconv"
	"syscall"

	"github.com/govde/govde/pkg/mgmt"
)

// A Dir is a direction through the cable: LR (left to right) or RL.
type Dir int

// The two directions. A monodirectional filter uses LR only.
const (
	LR Dir = iota
	RL
)

func (d Dir) String() string {
	if d == RL {
		return "RL"
	}
	return "LR"
}

// An Alg is the distribution a Value's jitter is drawn from.
type Alg uint8

// Uniform is the default: value ± plus, uniform. Normal is Gaussian with ±plus = ±3σ.
const (
	Uniform Alg = iota
	Normal
)

// Char returns the letter wirefilter shows for a: 'U' or 'N'.
func (a Alg) Char() byte {
	if a == Normal {
		return 'N'
	}
	return 'U'
}

// A Value is one parameter of one direction in one Markov node: value ± plus drawn from Alg.
// The zero Value (0+0U) means the feature is off.
type Value struct {
	Value, Plus float64
	Alg         Alg
}

// Min and Max are the bounds wirefilter tests features with: value − plus and value + plus.
func (v Value) Min() float64 { return v.Value - v.Plus }

// Max returns value + plus; a feature is on when Max() > 0.
func (v Value) Max() float64 { return v.Value + v.Plus }

// String formats v as wirefilter's showinfo does ("%g+%g%c"), e.g. "1.04858e+06+524288U".
func (v Value) String() string { return string(v.Append(nil)) }

// Append appends v formatted as String does to b.
func (v Value) Append(b []byte) []byte {
	b = AppendG(b, v.Value)
	b = append(b, '+')
	b = AppendG(b, v.Plus)
	return append(b, v.Alg.Char())
}

// A Setting is a parsed value argument: the directions it applies to, the Markov node and the value.
type Setting struct {
	LR, RL bool // directions set: both unless the argument starts with "LR" or "RL"
	Node   int  // Markov node, from the "[n]" suffix; 0 without one
	Value  Value
}

// ErrInvalid is wrapped by every parse error, with EINVAL: errors.Is(err, ErrInvalid) and
// errors.Is(err, syscall.EINVAL) both hold, and mgmt reports "1022 Invalid argument".
var ErrInvalid = errors.New("invalid wirefilter value")

func invalid(s, why string) error {
	return &mgmt.Error{Errno: syscall.EINVAL, Err: &ParseError{Input: s, Why: why}}
}

// A ParseError describes an argument ParseValue rejected. It is returned inside a *mgmt.Error that
// carries EINVAL.
type ParseError struct {
	Input string
	Why   string
}

func (e *ParseError) Error() string {
	return "wirefilter value " + strconv.Quote(e.Input) + ": " + e.Why
}

// Unwrap returns ErrInvalid.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// ParseValue parses a wirefilter value argument, [LR|RL]<value>[+<plus>][K|M|G][U|N][[node]], as the
// reference's read_wirevalue does (vde-protocol.md 10.2): trailing blanks are removed, then an
// optional "[n]" node suffix (n < numNodes), then one of U/u/N/n, then one of K/k, M/m, G/g (2^10,
// 2^20, 2^30, multiplying value and plus). The rest is scanned as C's "%lf+%lf", "LR%lf+%lf" or
// "RL%lf+%lf"; as with sscanf, what follows the numbers is ignored and a missing plus is 0.
//
// Unlike the reference, which silently ignores what it cannot parse, ParseValue returns an error
// carrying EINVAL when no number is found, the node is not a number in [0, numNodes), or a number
// (after the multiplier) is not finite.
func ParseValue(s string, numNodes int) (Setting, error) {
	in := s
	n := len(s)
	for n > 0 && (s[n-1] == ' ' || s[n-1] == '\t' || s[n-1] == '\n' || s[n-1] == '\r') {
		n--
	}
	s = s[:n]
	var st Setting
	if n > 0 && s[n-1] == ']' {
		open := -1
		for i := n - 2; i >= 0; i-- {
			if s[i] == '[' {
				open = i
				break
			}
		}
		if open < 0 {
			return Setting{}, invalid(in, "']' without '['")
		}
		node, used, ok := mgmt.ScanInt(s[open+1:n-1], 'd')
		if !ok || used != n-1-open-1 {
			return Setting{}, invalid(in, "node is not a number")
		}
		if node < 0 || node >= max(numNodes, 1) {
			return Setting{}, invalid(in, "no such Markov node")
		}
		st.Node = node
		s = s[:open]
	}
	if l := len(s); l > 0 {
		switch s[l-1] {
		case 'U', 'u':
			s = s[:l-1]
		case 'N', 'n':
			st.Value.Alg = Normal
			s = s[:l-1]
		}
	}
	mult := 1.0
	if l := len(s); l > 0 {
		switch s[l-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		}
		if mult != 1 {
			s = s[:l-1]
		}
	}
	st.LR, st.RL = true, true
	v, plus, ok := scanPair(s)
	if !ok && len(s) >= 2 && (s[:2] == "LR" || s[:2] == "RL") {
		st.LR, st.RL = s[:2] == "LR", s[:2] == "RL"
		v, plus, ok = scanPair(s[2:])
	}
	if !ok {
		return Setting{}, invalid(in, "no number")
	}
	st.Value.Value, st.Value.Plus = v*mult, plus*mult
	if !finite(st.Value.Value) || !finite(st.Value.Plus) {
		return Setting{}, invalid(in, "number is not finite")
	}
	return st, nil
}

// scanPair is sscanf(s, "%lf+%lf", &v, &plus) > 0.
func scanPair(s string) (v, plus float64, ok bool) {
	v, n, ok := mgmt.ScanFloat(s)
	if !ok {
		return 0, 0, false
	}
	if s = s[n:]; len(s) > 0 && s[0] == '+' {
		if p, _, ok := mgmt.ScanFloat(s[1:]); ok {
			plus = p
		}
	}
	return v, plus, true
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

// AppendG appends f formatted as C's printf("%g") does (glibc): six significant digits, exponent
// form when the exponent is < −4 or ≥ 6, trailing zeros removed, "inf", "-inf", "nan", "-nan".
func AppendG(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return append(b, "-nan"...)
		}
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	// strconv's 'g' with precision 6 follows C's %g rules: the same exponent threshold, exact decimal
	// rounding with ties to even, no trailing zeros, and a two-digit minimum exponent.
	return strconv.AppendFloat(b, f, 'g', 6, 64)
}

// FormatG returns f formatted as C's printf("%g") does.
func FormatG(f float64) string { return string(AppendG(nil, f)) }
