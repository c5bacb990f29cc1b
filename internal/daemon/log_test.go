// SPDX-License-Identifier: GPL-2.0-or-later

package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"log/syslog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestSyslog checks what a syslog Logger sends: priority <14> (LOG_USER|LOG_INFO), the ident with
// our pid, and the message.
func TestSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Skipf("unixgram: %v", err)
	}
	defer conn.Close()
	saved := dialSyslog
	defer func() { dialSyslog = saved }()
	dialSyslog = func(ident string) (*syslog.Writer, error) {
		return syslog.Dial("unixgram", sock, SyslogPriority, ident)
	}
	var fallback bytes.Buffer
	l := Syslog("vtool", &fallback)
	if !l.Syslogging() {
		t.Fatal("Syslogging() = false with a reachable syslog")
	}
	l.Printf("started %d", 1)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 512)
	n, err := conn.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(fmt.Sprintf(`^<14>.* vtool\[%d\]: started 1\n?$`, os.Getpid()))
	if !want.Match(b[:n]) {
		t.Errorf("syslog got %q, want match %v", b[:n], want)
	}
	l.Close()
	l.Printf("after close")
	if fallback.String() != "vtool: after close\n" {
		t.Errorf("fallback got %q", fallback.String())
	}
}

// TestSyslogUnavailable: without syslog, messages go to the fallback writer, or nowhere.
func TestSyslogUnavailable(t *testing.T) {
	saved := dialSyslog
	defer func() { dialSyslog = saved }()
	dialSyslog = func(string) (*syslog.Writer, error) { return nil, errors.New("no syslog") }
	var w bytes.Buffer
	l := Syslog("vtool", &w)
	l.Printf("hello %s", "there")
	if l.Syslogging() || w.String() != "vtool: hello there\n" {
		t.Errorf("fallback got %q (syslogging %v), want %q", w.String(), l.Syslogging(), "vtool: hello there\n")
	}
	Syslog("vtool", nil).Printf("discarded") // must not panic
	var nl *Logger
	nl.Printf("discarded")
	NewLogger("x", nil).Printf("discarded")
}
