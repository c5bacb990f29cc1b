// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"errors"
	"fmt"
	"syscall"
)

// An Error is a command failure that carries the errno reported on the result line ("1%03d %s").
type Error struct {
	Errno syscall.Errno
	Err   error // optional cause, for logs; not shown to the client
}

// Errorf returns an *Error with errno e and a formatted cause.
func Errorf(e syscall.Errno, format string, a ...any) error {
	return &Error{Errno: e, Err: fmt.Errorf(format, a...)}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return Strerror(e.Errno)
}

// Unwrap returns the cause and the errno, so that errors.Is(err, syscall.EINVAL) works.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Errno, e.Err}
	}
	return []error{e.Errno}
}

// ErrnoOf returns the errno a command error is reported with: the Errno of an *Error or a wrapped
// syscall.Errno, EINVAL for any other error, and 0 for nil.
func ErrnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var me *Error
	if errors.As(err, &me) {
		return me.Errno
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EINVAL
}

// glibcText holds glibc's strerror texts for the errnos a console may report. Go's syscall.Errno
// strings differ (lower case, other wording), and the console must match the reference byte for byte.
var glibcText = map[syscall.Errno]string{
	1: "Operation not permitted", 2: "No such file or directory", 3: "No such process",
	4: "Interrupted system call", 5: "Input/output error", 6: "No such device or address",
	7: "Argument list too long", 8: "Exec format error", 9: "Bad file descriptor", 10: "No child processes",
	11: "Resource temporarily unavailable", 12: "Cannot allocate memory", 13: "Permission denied",
	14: "Bad address", 15: "Block device required", 16: "Device or resource busy", 17: "File exists",
	18: "Invalid cross-device link", 19: "No such device", 20: "Not a directory", 21: "Is a directory",
	22: "Invalid argument", 23: "Too many open files in system", 24: "Too many open files",
	25: "Inappropriate ioctl for device", 26: "Text file busy", 27: "File too large",
	28: "No space left on device", 29: "Illegal seek", 30: "Read-only file system", 31: "Too many links",
	32: "Broken pipe", 33: "Numerical argument out of domain", 34: "Numerical result out of range",
	35: "Resource deadlock avoided", 36: "File name too long", 37: "No locks available",
	38: "Function not implemented", 39: "Directory not empty", 40: "Too many levels of symbolic links",
	61: "No data available", 71: "Protocol error", 75: "Value too large for defined data type",
	84: "Invalid or incomplete multibyte or wide character", 90: "Message too long",
	95: "Operation not supported", 98: "Address already in use", 99: "Cannot assign requested address",
	104: "Connection reset by peer", 110: "Connection timed out", 111: "Connection refused",
	125: "Operation canceled",
}

// Strerror returns glibc's strerror text for e ("Unknown error N" for errnos it does not know).
func Strerror(e syscall.Errno) string {
	if s, ok := glibcText[e]; ok {
		return s
	}
	return fmt.Sprintf("Unknown error %d", int(e))
}
