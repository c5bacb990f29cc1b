// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ScanFloat parses a floating-point number at the start of s like C strtod: leading white space,
// an optional sign, then decimal digits with an optional fraction and exponent, a hexadecimal
// "0x" mantissa with an optional "p" exponent, "inf", "infinity" or "nan" (any case, "nan(…)"
// included). It returns the value, the number of bytes consumed and whether a number was found.
// Out-of-range values give ±Inf or 0, as strtod does.
func ScanFloat(s string) (v float64, n int, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	neg := i > start && s[start] == '-'
	rest := strings.ToLower(s[i:min(len(s), i+8)])
	switch {
	case strings.HasPrefix(rest, "infinity"):
		return math.Inf(sign(neg)), i + 8, true
	case strings.HasPrefix(rest, "inf"):
		return math.Inf(sign(neg)), i + 3, true
	case strings.HasPrefix(rest, "nan"):
		i += 3
		if j := strings.IndexByte(s[i:], ')'); i < len(s) && s[i] == '(' && j > 0 && alnumUnderscore(s[i+1:i+j]) {
			i += j + 1
		}
		return math.NaN(), i, true
	}
	base := 10
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		if j := i + 2; j < len(s) && (digitVal(s[j]) < 16 || (s[j] == '.' && j+1 < len(s) && digitVal(s[j+1]) < 16)) {
			base = 16
			i += 2
		}
	}
	digits := 0
	for i < len(s) && digitVal(s[i]) < base {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && digitVal(s[i]) < base {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	mant := i
	exp := byte('e')
	if base == 16 {
		exp = 'p'
	}
	if i < len(s) && (s[i]|0x20) == exp {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	num := s[start:i]
	if base == 16 && i == mant {
		num += "p0" // Go requires the binary exponent that C makes optional
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil && !isRange(err) {
		return 0, 0, false
	}
	return v, i, true
}

func sign(neg bool) int {
	if neg {
		return -1
	}
	return 1
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func alnumUnderscore(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '_' && digitVal(c) >= 36 {
			return false
		}
	}
	return true
}

// Sscanf scans s according to a C scanf format and stores the values through args, as C sscanf
// does, so that a command can parse its argument exactly like the reference tool. It returns the
// number of conversions assigned, or -1 (C's EOF) when the input ends before the first conversion.
//
// The format may hold blanks (skip any white space), literal bytes (must match), "%%" and the
// conversions %d (decimal), %i (0x hex, 0 octal, else decimal), %x, %o, %s (a word), %c (one byte)
// and %f, %e, %g (strtod), each with an optional "*" (scan, do not assign) and the ignored length
// modifiers h, l and ll. Integers go to *int (wrapped to a C int) or *int64, %s to *string, %c to
// *byte, floats to *float64. Numbers are scanned as strtol and strtod scan them (glibc's scanf may
// differ on a dangling exponent such as "1e", which strtod reads as 1). Field widths and scansets are not supported; they, an unknown verb or
// a wrong argument type panic, as they are errors in the program, not in the input.
func Sscanf(s, format string, args ...any) int {
	sc := NewScanner(s)
	assigned, ai := 0, 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case isCSpace(c):
			sc.Blank()
			continue
		case c != '%':
			if !sc.Lit(c) {
				return eofOr(assigned, sc)
			}
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			sc.Blank()
			if !sc.Lit('%') {
				return eofOr(assigned, sc)
			}
			continue
		}
		skip := i < len(format) && format[i] == '*'
		if skip {
			i++
		}
		for i < len(format) && (format[i] == 'h' || format[i] == 'l') {
			i++
		}
		if i >= len(format) {
			panic("mgmt.Sscanf: format ends inside a conversion")
		}
		verb := format[i]
		var dst any
		if !skip {
			if ai >= len(args) {
				panic(fmt.Sprintf("mgmt.Sscanf: %%%c has no argument", verb))
			}
			dst, ai = args[ai], ai+1
		}
		if !sc.convert(verb, dst) {
			return eofOr(assigned, sc)
		}
		if !skip {
			assigned++
		}
	}
	return assigned
}

// eofOr returns n, or -1 when nothing was assigned and the input is all white space (C's EOF).
func eofOr(n int, sc *Scanner) int {
	if n == 0 && strings.TrimLeft(sc.Rest(), " \t\n\v\f\r") == "" {
		return -1
	}
	return n
}

// convert runs one conversion and stores it through dst (nil: discard).
func (sc *Scanner) convert(verb byte, dst any) bool {
	switch verb {
	case 'd', 'i', 'x', 'o', 'u':
		if sc.fail {
			return false
		}
		base := map[byte]int{'d': 10, 'u': 10, 'i': 0, 'x': 16, 'o': 8}[verb]
		v, n, ok := parseC64(sc.s, base)
		if !ok {
			sc.fail = true
			return false
		}
		sc.s = sc.s[n:]
		sc.n++
		switch p := dst.(type) {
		case nil:
		case *int:
			*p = int(int32(v))
		case *int64:
			*p = v
		default:
			panic(fmt.Sprintf("mgmt.Sscanf: %%%c into %T", verb, dst))
		}
		return true
	case 's':
		w, ok := sc.String()
		if ok {
			store(verb, dst, w)
		}
		return ok
	case 'c':
		c, ok := sc.Char()
		if ok {
			store(verb, dst, c)
		}
		return ok
	case 'f', 'e', 'g', 'E', 'G', 'a':
		v, ok := sc.Float()
		if ok {
			store(verb, dst, v)
		}
		return ok
	}
	panic(fmt.Sprintf("mgmt.Sscanf: unsupported conversion %%%c", verb))
}

func store[T any](verb byte, dst any, v T) {
	switch p := dst.(type) {
	case nil:
	case *T:
		*p = v
	default:
		panic(fmt.Sprintf("mgmt.Sscanf: %%%c into %T", verb, dst))
	}
}
