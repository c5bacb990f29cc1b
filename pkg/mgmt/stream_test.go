// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hashLine is one line of a hash/print-like reply.
func hashLine(i int) string {
	return fmt.Sprintf("Hash: %04d Addr: 02:00:%02x:%02x:%02x:%02x VLAN 0000 to port: 001  age 3 secs\n",
		i%128, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// bigServer is newTestServer with a "big N" data command printing N hash lines, and a short stall
// timeout.
func bigServer(t *testing.T, stall time.Duration) (*Server, string) {
	s, sock := newTestServer(t, func(c *Config) { c.StallTimeout = stall; c.Logf = t.Logf })
	s.Add(Command{Path: "big", Syntax: "N", Help: "print N lines", Data: true,
		Run: func(_ *Session, w io.Writer, arg string) error {
			for i := range Atoi(arg) {
				if _, err := io.WriteString(w, hashLine(i)); err != nil {
					return err // the session is gone
				}
			}
			return nil
		}})
	return s, sock
}

// slowRead reads until the output ends with suffix, chunk bytes at a time with a pause after each,
// giving up after limit. It is a slow but steady reader: it always makes progress.
func (cl *client) slowRead(suffix string, chunk int, pause, limit time.Duration) string {
	cl.t.Helper()
	var b bytes.Buffer
	buf := make([]byte, chunk)
	end := time.Now().Add(limit)
	cl.c.SetReadDeadline(end)
	for !bytes.HasSuffix(b.Bytes(), []byte(suffix)) {
		n, err := cl.c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			cl.t.Fatalf("read after %d bytes: %v", b.Len(), err)
		}
		time.Sleep(pause)
	}
	return b.String()
}

// TestLargeReplyStreams: a 200k-line reply (15 MB, more than the old 8 MiB cap that dropped the
// session) reaches a slow but steady reader byte for byte, and the session goes on. (The stall timeout
// is the default: a loaded machine running -race can pause a reader for seconds.)
func TestLargeReplyStreams(t *testing.T) {
	_, sock := bigServer(t, DefaultStallTimeout)
	cl := dial(t, sock)
	const n = 200000
	var want strings.Builder
	want.WriteString(DataHeader + "\n")
	for i := range n {
		want.WriteString(hashLine(i))
	}
	want.WriteString(".\n1000 Success\n" + testPrompt)
	cl.c.Write([]byte(fmt.Sprintf("big %d\n", n)))
	got := cl.slowRead(testPrompt, 16<<10, time.Millisecond, 2*time.Minute)
	if got != want.String() {
		t.Fatalf("big reply: got %d bytes, want %d (first difference at %d)", len(got), want.Len(), firstDiff(got, want.String()))
	}
	if got := cl.cmd("echo x\n"); got != "0000 DATA END WITH '.'\n[x]\n.\n1000 Success\n" {
		t.Errorf("after the big reply: %q", got)
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestLoadLongScript: load of a 200k-line script (over the old 1 MiB limit) runs every line, its
// progressive output read slowly and completely.
func TestLoadLongScript(t *testing.T) {
	_, sock := bigServer(t, DefaultStallTimeout)
	cl := dial(t, sock)
	const n = 200000
	rc := filepath.Join(t.TempDir(), "long.rc")
	var script, want strings.Builder
	p := "vde[" + rc + "]: "
	for i := range n {
		fmt.Fprintf(&script, "echo %d\n", i)
		fmt.Fprintf(&want, "%secho %d\n0000 DATA END WITH '.'\n[%d]\n.\n1000 Success\n", p, i, i)
	}
	want.WriteString("1000 Success\n" + testPrompt)
	if err := os.WriteFile(rc, []byte(script.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if script.Len() <= 1<<20 {
		t.Fatalf("script of %d bytes is not over 1 MiB", script.Len())
	}
	cl.c.Write([]byte("load " + rc + "\n"))
	got := cl.slowRead(testPrompt, 16<<10, time.Millisecond, 2*time.Minute)
	if got != want.String() {
		t.Fatalf("load: got %d bytes, want %d (first difference at %d)", len(got), want.Len(), firstDiff(got, want.String()))
	}
}

// TestStalledSessionDropped: a client that asks for a big reply and reads nothing holds neither the
// other sessions (they are answered while it stalls) nor itself forever: it is dropped after the stall
// timeout.
func TestStalledSessionDropped(t *testing.T) {
	_, sock := bigServer(t, 500*time.Millisecond)
	stalled := dial(t, sock)
	stalled.c.Write([]byte("big 200000\n"))
	other := dial(t, sock)
	for i := range 20 {
		if got, want := other.cmd(fmt.Sprintf("echo %d\n", i)), fmt.Sprintf("0000 DATA END WITH '.'\n[%d]\n.\n1000 Success\n", i); got != want {
			t.Fatalf("other session while one stalls: %q, want %q", got, want)
		}
	}
	// The stalled client is disconnected: reading now finds the end of the connection after what the
	// server had written before giving up (bounded: the socket buffers).
	time.Sleep(time.Second)
	stalled.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	nread, err := io.Copy(io.Discard, stalled.c)
	if err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("stalled client: %v after %d bytes, want the end of the connection", err, nread)
	}
	if nread >= 200000*70 {
		t.Errorf("stalled client got the whole reply (%d bytes): not dropped", nread)
	}
	if got := other.cmd("echo end\n"); got != "0000 DATA END WITH '.'\n[end]\n.\n1000 Success\n" {
		t.Errorf("other session after the drop: %q", got)
	}
}

// TestScriptLongLines: a command line longer than MaxCommandLen is not run (vde_switch would cut it
// into several commands): load names its line number, returns E2BIG after running the rest; comment
// lines of any length are comments; a 127-byte line still runs.
func TestScriptLongLines(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	s, sock := newTestServer(t, func(c *Config) {
		c.Logf = func(f string, a ...any) {
			mu.Lock()
			logged = append(logged, fmt.Sprintf(f, a...))
			mu.Unlock()
		}
	})
	cl := dial(t, sock)
	rc := filepath.Join(t.TempDir(), "x.rc")
	arg127 := strings.Repeat("a", MaxCommandLen-len("echo "))
	long := "echo " + strings.Repeat("b", 200)
	comment := "# " + strings.Repeat("c", 300)
	os.WriteFile(rc, []byte(comment+"\necho "+arg127+"\n"+long+"\necho after\n"), 0o644)
	p := "vde[" + rc + "]: "
	want := p + comment[:MaxCommandLen] + "\n" +
		p + "echo " + arg127 + "\n0000 DATA END WITH '.'\n[" + arg127 + "]\n.\n1000 Success\n" +
		p + long[:MaxCommandLen] + "\n" + "line 3 of " + rc + ": longer than 127 bytes, not run\n1007 Argument list too long\n" +
		p + "echo after\n0000 DATA END WITH '.'\n[after]\n.\n1000 Success\n" +
		"1007 Argument list too long\n"
	if got := cl.cmd("load " + rc + "\n"); got != want {
		t.Errorf("load:\n got %q\nwant %q", got, want)
	}
	mu.Lock()
	logged = nil
	mu.Unlock()
	if err := s.RunScript(rc); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("RunScript = %v, want ErrLineTooLong", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || !strings.Contains(logged[0], "line 3 longer than 127 bytes") {
		t.Errorf("RunScript logged %q, want the line number", logged)
	}
}
