// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"fmt"
	"strings"
)

// The URL quoting of vdeplug4: '…' and "…" quote literally, \ takes the next byte literally. We add %XX
// hexadecimal escapes outside quotes (a '%' not followed by two hex digits is literal).

// scan calls f with the index of every byte of s that is outside quotes and not escaped. It fails on an
// unterminated quote or a trailing backslash.
func scan(s string, f func(i int)) error {
	var q byte // the open quote, or 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case c == '\\':
			if i+1 == len(s) {
				return invalid(fmt.Sprintf("%q ends with a backslash", s))
			}
			i++
		default:
			f(i)
		}
	}
	if q != 0 {
		return invalid(fmt.Sprintf("unterminated %c quote in %q", q, s))
	}
	return nil
}

// unquote removes the quoting of s and decodes %XX escapes outside quotes.
func unquote(s string) (string, error) {
	if !strings.ContainsAny(s, `'"\%`) {
		return s, nil
	}
	var b strings.Builder
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			} else {
				b.WriteByte(c)
			}
		case c == '\'' || c == '"':
			q = c
		case c == '\\':
			if i+1 == len(s) {
				return "", invalid(fmt.Sprintf("%q ends with a backslash", s))
			}
			i++
			b.WriteByte(s[i])
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	if q != 0 {
		return "", invalid(fmt.Sprintf("unterminated %c quote in %q", q, s))
	}
	return b.String(), nil
}

// quote escapes with a backslash every byte of s that unquote or the URL syntax would interpret:
// quotes, backslash, '%', brackets, and the bytes in extra.
func quote(s, extra string) string {
	const special = `'"\%[]`
	if !strings.ContainsAny(s, special+extra) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 || strings.IndexByte(extra, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// splitParams splits "BASE[PARAMS]" at its trailing unquoted bracket pair. With strict, any other unquoted
// bracket is an error; without (qemu+tcp, whose host may be "[v6addr]"), only a final ']' whose '[' does not
// start s marks parameters.
func splitParams(s string, strict bool) (base, params string, has bool, err error) {
	var opens, closes []int
	err = scan(s, func(i int) {
		switch s[i] {
		case '[':
			opens = append(opens, i)
		case ']':
			closes = append(closes, i)
		}
	})
	if err != nil {
		return "", "", false, err
	}
	if len(opens) == 0 && len(closes) == 0 {
		return s, "", false, nil
	}
	last := len(s) - 1
	endsClose := len(closes) > 0 && closes[len(closes)-1] == last
	if strict {
		if len(opens) != 1 || len(closes) != 1 || !endsClose {
			return "", "", false, invalid(fmt.Sprintf("%q: parameters go in one trailing [...]", s))
		}
		return s[:opens[0]], s[opens[0]+1 : last], true, nil
	}
	if !endsClose || len(opens) == 0 || opens[len(opens)-1] == 0 {
		return s, "", false, nil
	}
	o := opens[len(opens)-1]
	return s[:o], s[o+1 : last], true, nil
}

// splitUnquoted splits s at every unquoted, unescaped sep; the pieces keep their quoting.
// s must already have passed scan.
func splitUnquoted(s string, sep byte) []string {
	var parts []string
	start := 0
	scan(s, func(i int) {
		if s[i] == sep {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	})
	return append(parts, s[start:])
}

// SplitCommand splits a cmd:// command line into arguments at unquoted blanks, honouring '…', "…" and \
// as a shell does (no variables, globs or %XX escapes).
func SplitCommand(s string) ([]string, error) {
	var args []string
	var b strings.Builder
	in := false // inside a word
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			} else {
				b.WriteByte(c)
			}
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				args = append(args, b.String())
				b.Reset()
				in = false
			}
		case c == '\'' || c == '"':
			q, in = c, true
		case c == '\\':
			if i+1 == len(s) {
				return nil, invalid(fmt.Sprintf("command %q ends with a backslash", s))
			}
			i++
			b.WriteByte(s[i])
			in = true
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if q != 0 {
		return nil, invalid(fmt.Sprintf("unterminated %c quote in command %q", q, s))
	}
	if in {
		args = append(args, b.String())
	}
	return args, nil
}
