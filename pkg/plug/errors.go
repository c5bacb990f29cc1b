// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"errors"
	"strings"
	"syscall"
)

// An Error reports a URL that could not be opened. Its text has vdeplug4's shape,
// "vde_open URL: Strerror text", followed by what exactly was wrong when we know more than the errno.
// errors.Is(err, syscall.EINVAL) and the like work through Unwrap.
type Error struct {
	URL string // the URL as given ("" is shown as "default switch")
	Err error
}

func (e *Error) Error() string {
	u := e.URL
	if u == "" {
		u = "default switch"
	}
	return "vde_open " + u + ": " + Describe(e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// An errnoError is an errno with a detail: errors.Is(err, errno) holds.
type errnoError struct {
	errno  syscall.Errno
	detail string
}

func (e *errnoError) Error() string { return e.errno.Error() + ": " + e.detail }
func (e *errnoError) Unwrap() error { return e.errno }

// invalid returns an EINVAL error with a detail naming the offending value.
func invalid(detail string) error { return &errnoError{syscall.EINVAL, detail} }

// Strerror returns the C library text for errno, capitalised as strerror(3) writes it
// ("No such file or directory"), where Go's Errno.Error is lower-case.
func Strerror(errno syscall.Errno) string {
	s := errno.Error()
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// Describe returns the text that follows "vde_open URL: " for err: strerror of the errno it carries, then
// the rest of the message in parentheses (or after a colon, for our own details).
func Describe(err error) string {
	var ee *errnoError
	if errors.As(err, &ee) {
		return Strerror(ee.errno) + ": " + ee.detail
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := err.Error()
	ctx := strings.TrimSuffix(strings.TrimSuffix(s, errno.Error()), ": ")
	if ctx == "" || ctx == s {
		return Strerror(errno)
	}
	return Strerror(errno) + " (" + ctx + ")"
}
