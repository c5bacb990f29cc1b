// SPDX-License-Identifier: GPL-2.0-or-later

package vnetctl

import (
	"fmt"
	"io"
	"runtime"
)

// A logger prints the original's diagnostic lines on stderr:
//
//	NAME:USER@HOST:PID:LINE:INFO:LEVEL:message
//	NAME:USER@HOST:PID:WARNING:LEVEL:message
//	NAME:USER@HOST:ERROR:CODE:message
//
// Only INFO and WARNING lines of level 0 and 1 are printed, as the original does by default; CODE is the
// status the original passes along (0 or 1). LINE is the
// line in this package that printed it (the original gives its script line).
type logger struct {
	w    io.Writer
	name string // program name as invoked
	user string // the invoking user ($USER)
	host string
	pid  int
}

func (l *logger) info(level, code int, msg string, a ...any) {
	if level > 1 {
		return
	}
	_, _, line, _ := runtime.Caller(1)
	fmt.Fprintf(l.w, "%s:%s@%s:%d:%d:INFO:%d:%s\n", l.name, l.user, l.host, l.pid, line, code, fmt.Sprintf(msg, a...))
}

func (l *logger) warn(level, code int, msg string, a ...any) {
	if level > 1 {
		return
	}
	fmt.Fprintf(l.w, "%s:%s@%s:%d:WARNING:%d:%s\n", l.name, l.user, l.host, l.pid, code, fmt.Sprintf(msg, a...))
}

func (l *logger) err(code int, msg string, a ...any) {
	fmt.Fprintf(l.w, "%s:%s@%s:ERROR:%d:%s\n", l.name, l.user, l.host, code, fmt.Sprintf(msg, a...))
}
