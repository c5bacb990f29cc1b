// SPDX-License-Identifier: GPL-2.0-or-later

package daemon

import (
	"fmt"
	"io"
	"log/syslog"
	"sync"
)

// SyslogPriority is the facility and level of every message a tool sends to syslog.
const SyslogPriority = syslog.LOG_USER | syslog.LOG_INFO

// A Logger writes one message per call: to syslog (SyslogPriority, with the tool's name as ident and
// the pid added by the syslog package), or to a writer as "name: message" and a newline. Its methods
// are safe for concurrent use; a nil *Logger discards.
type Logger struct {
	name string
	mu   sync.Mutex
	sys  *syslog.Writer // nil: w is used
	w    io.Writer      // nil: messages are discarded
}

// dialSyslog opens the syslog connection; tests replace it to simulate a host without syslog.
var dialSyslog = func(ident string) (*syslog.Writer, error) { return syslog.New(SyslogPriority, ident) }

// Syslog returns a Logger to syslog with ident name (as openlog(name, LOG_PID, LOG_USER) would set
// up). When syslog is unavailable, messages go to fallback as "name: message" instead, or are
// discarded when fallback is nil (as syslog(3) loses them).
func Syslog(name string, fallback io.Writer) *Logger {
	l := &Logger{name: name, w: fallback}
	if s, err := dialSyslog(name); err == nil {
		l.sys = s
	}
	return l
}

// NewLogger returns a Logger that writes "name: message" lines to w (nil discards).
func NewLogger(name string, w io.Writer) *Logger { return &Logger{name: name, w: w} }

// Syslogging reports whether messages go to syslog.
func (l *Logger) Syslogging() bool { return l != nil && l.sys != nil }

// Printf formats and writes one message (a trailing newline is not needed).
func (l *Logger) Printf(format string, args ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.sys != nil:
		l.sys.Info(msg)
	case l.w != nil:
		fmt.Fprintf(l.w, "%s: %s\n", l.name, msg)
	}
}

// Close closes the syslog connection. Later messages go to the fallback writer, if any.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sys == nil {
		return nil
	}
	err := l.sys.Close()
	l.sys = nil
	return err
}
