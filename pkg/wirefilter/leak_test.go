// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"bytes"
	"net"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/mgmt"
)

// TestConnectsLeakNothing: 1,000 console sessions, a quarter of which ask for markov-debug and
// vanish, leave no goroutine behind and no session in the markov-debug table.
func TestConnectsLeakNothing(t *testing.T) {
	f := New(Config{Engine: impair.New(impair.Config{Rand: impair.NewSource(1)})})
	defer f.Close()
	con := NewConsole(f)
	srv := mgmt.New(con.Config(nil))
	sock := filepath.Join(t.TempDir(), "mgmt")
	ln, err := mgmt.Listen(sock, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	base := runtime.NumGoroutine()
	read := func(c net.Conn) string {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var b []byte
		buf := make([]byte, 4096)
		for !bytes.HasSuffix(b, []byte(Prompt)) {
			n, err := c.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				t.Fatalf("read: %v after %q", err, b)
			}
		}
		return string(b)
	}
	for i := range 1000 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			read(c)
			c.Write([]byte("markov-debug 1\n"))
			if r := read(c); r != "1000 Success\n"+Prompt {
				t.Fatalf("markov-debug: %q", r)
			}
		}
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines after 1000 sessions, baseline %d", n, base)
	}
	con.mu.Lock()
	con.prune()
	left := len(con.debug)
	con.mu.Unlock()
	if left != 0 {
		t.Errorf("%d ended sessions still in the markov-debug table", left)
	}
}
