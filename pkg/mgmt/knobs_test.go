// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestQuietShutdownAndBlankLoad: with QuietShutdown, shutdown closes the session without a word
// (wirefilter); with LoadSkipsBlank an empty script line is echoed but runs nothing (no 1038); and
// Session.Done is closed once a session has ended.
func TestQuietShutdownAndBlankLoad(t *testing.T) {
	rc := filepath.Join(t.TempDir(), "rc")
	os.WriteFile(rc, []byte("\n"), 0o600)
	var sessions = make(chan *Session, 4)
	cfg := Config{Banner: "B\n", Prompt: "\n$ ", QuietShutdown: true, LoadSkipsBlank: true, LoadEcho: "[%s] %s\n",
		Commands: []Command{
			{Path: "load", Session: true, Builtin: BuiltinLoad},
			{Path: "shutdown", Builtin: BuiltinShutdown},
			{Path: "who", Run: func(s *Session, _ io.Writer, _ string) error { sessions <- s; return nil }},
		}}
	s := New(cfg)
	sock := filepath.Join(t.TempDir(), "mgmt")
	ln, err := Listen(sock, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	readN(t, c, len("B\n\n$ "))
	c.Write([]byte("who\n"))
	readN(t, c, len("1000 Success\n\n$ "))
	sess := <-sessions
	c.Write([]byte("load " + rc + "\n"))
	want := "[" + rc + "] \n\n" + "1000 Success\n\n$ "
	if got := readN(t, c, len(want)); got != want {
		t.Errorf("load of a blank line: %q, want %q", got, want)
	}
	c.Write([]byte("shutdown\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 64)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("after a quiet shutdown: read %d, %v; want EOF and nothing", n, err)
	}
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Error("Done not closed by shutdown")
	}
	select {
	case <-sess.Done():
	case <-time.After(5 * time.Second):
		t.Error("Session.Done not closed after the session ended")
	}
}
