// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

// C-compatible argument parsing, for the commands of every tool. The reference consoles parse arguments
// with atoi(), strtol(), strtod() and sscanf(); to answer the same inputs the same way, these helpers
// reproduce their rules: leading white space is skipped, a sign is allowed, parsing stops at the first
// byte that does not fit, and integers wrap to a C int. Atoi is atoi; ScanInt and ScanFloat are one
// strtol/strtod; a Scanner (or Sscanf, scanf.go) walks an argument conversion by conversion.

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// parseC parses an integer like strtol at the start of s with base 8, 10, 16 or 0 (C prefixes: 0x
// hex, 0 octal). It returns the value converted to a C int, the number of bytes consumed and whether
// any digit was found. Like strtol the value saturates at the int64 range before the conversion.
func parseC(s string, base int) (v int, n int, ok bool) {
	x, n, ok := parseC64(s, base)
	return int(int32(x)), n, ok
}

// parseC64 is parseC without the conversion to a C int: strtol on a 64-bit long.
func parseC64(s string, base int) (v int64, n int, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	hasHexPrefix := i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') &&
		i+2 < len(s) && digitVal(s[i+2]) < 16
	switch {
	case (base == 0 || base == 16) && hasHexPrefix:
		base = 16
		i += 2
	case base == 0 && i < len(s) && s[i] == '0':
		base = 8
	case base == 0:
		base = 10
	}
	var acc uint64
	sat := false
	start := i
	for i < len(s) {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		if !sat {
			const lim = uint64(1) << 63
			if acc > (lim-uint64(d))/uint64(base) {
				sat = true
			} else {
				acc = acc*uint64(base) + uint64(d)
			}
		}
		i++
	}
	if i == start {
		return 0, 0, false
	}
	var x int64
	switch {
	case sat || (!neg && acc > 1<<63-1):
		if neg {
			x = -1 << 63
		} else {
			x = 1<<63 - 1
		}
	case neg:
		x = int64(-acc) // acc ≤ 1<<63: two's complement negation is exact
	default:
		x = int64(acc)
	}
	return x, i, true
}

// Atoi converts s like C atoi(): leading white space, an optional sign and decimal digits; anything
// else ends the number, and no digits give 0.
func Atoi(s string) int {
	v, _, _ := parseC(s, 10)
	return v
}

// A Scanner reads values from a command argument the way sscanf does. Each method consumes its
// conversion and reports whether it matched; once one fails the following ones fail too, so the
// number of matches can be compared as with sscanf's return value.
type Scanner struct {
	s    string
	n    int // conversions matched
	fail bool
}

// NewScanner returns a Scanner over s. A Scanner is not safe for concurrent use.
func NewScanner(s string) *Scanner { return &Scanner{s: s} }

// Int scans one integer: verb 'i' (%i: 0x hex, 0 octal, else decimal), 'd' (decimal) or 'x' (hex,
// optional 0x prefix). Leading white space is skipped.
func (sc *Scanner) Int(verb byte) (int, bool) {
	if sc.fail {
		return 0, false
	}
	base := 0
	switch verb {
	case 'd':
		base = 10
	case 'x':
		base = 16
	}
	v, n, ok := parseC(sc.s, base)
	if !ok {
		sc.fail = true
		return 0, false
	}
	sc.s = sc.s[n:]
	sc.n++
	return v, true
}

// Lit matches the literal byte c (as a format character other than a blank or '%').
func (sc *Scanner) Lit(c byte) bool {
	if sc.fail {
		return false
	}
	if len(sc.s) == 0 || sc.s[0] != c {
		sc.fail = true
		return false
	}
	sc.s = sc.s[1:]
	return true
}

// Blank skips any white space, as a blank in a scanf format does. It always matches.
func (sc *Scanner) Blank() {
	if sc.fail {
		return
	}
	i := 0
	for i < len(sc.s) && isCSpace(sc.s[i]) {
		i++
	}
	sc.s = sc.s[i:]
}

// String scans one word as %s does: white space is skipped, then the bytes up to the next white
// space (or the end) are returned. It fails when no byte is left.
func (sc *Scanner) String() (string, bool) {
	if sc.fail {
		return "", false
	}
	sc.Blank()
	i := 0
	for i < len(sc.s) && !isCSpace(sc.s[i]) {
		i++
	}
	if i == 0 {
		sc.fail = true
		return "", false
	}
	w := sc.s[:i]
	sc.s = sc.s[i:]
	sc.n++
	return w, true
}

// Char scans one byte as %c does, white space included. It fails at the end of the input.
func (sc *Scanner) Char() (byte, bool) {
	if sc.fail || len(sc.s) == 0 {
		sc.fail = true
		return 0, false
	}
	c := sc.s[0]
	sc.s = sc.s[1:]
	sc.n++
	return c, true
}

// Float scans one floating-point number as %f, %lf, %g and %e do (see ScanFloat).
func (sc *Scanner) Float() (float64, bool) {
	if sc.fail {
		return 0, false
	}
	v, n, ok := ScanFloat(sc.s)
	if !ok {
		sc.fail = true
		return 0, false
	}
	sc.s = sc.s[n:]
	sc.n++
	return v, true
}

// Rest returns the input not consumed yet.
func (sc *Scanner) Rest() string { return sc.s }

// Failed reports whether a conversion or literal failed to match.
func (sc *Scanner) Failed() bool { return sc.fail }

// Matched returns the number of conversions that matched so far.
func (sc *Scanner) Matched() int { return sc.n }

// Ints scans len(verbs) integers separated by optional white space, as sscanf(s, "%i %i", ...) does,
// and returns the values and how many matched.
func Ints(s string, verbs string) ([]int, int) {
	sc := NewScanner(s)
	vals := make([]int, len(verbs))
	for i := range len(verbs) {
		v, ok := sc.Int(verbs[i])
		if !ok {
			break
		}
		vals[i] = v
	}
	return vals, sc.Matched()
}

// ScanInt parses one integer at the start of s like a single sscanf conversion ('i', 'd' or 'x', see
// Scanner.Int) and returns its value, the number of bytes consumed and whether it matched.
func ScanInt(s string, verb byte) (v, n int, ok bool) {
	base := 0
	switch verb {
	case 'd':
		base = 10
	case 'x':
		base = 16
	}
	return parseC(s, base)
}
