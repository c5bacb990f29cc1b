// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// WaitListening waits until a Unix stream socket at path accepts connections. A real vde_switch creates
// DIR/ctl a moment before it listens, so the file existing is not enough.
func WaitListening(t testing.TB, path string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, "a listener on "+path, func() bool {
		c, err := net.DialTimeout("unix", path, 100*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// MgmtCommand opens a session on the management socket sock of a switch (vde_switch or vswitch; the
// socket may still be coming up: it retries for 5 s), runs one command and returns its reply up to the
// prompt, which is stripped ("0000 DATA END WITH '.'\n…\n.\n1000 Success\n"). Every read is bounded.
func MgmtCommand(t testing.TB, sock, cmd string) string {
	t.Helper()
	var c net.Conn
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err = net.DialTimeout("unix", sock, time.Second); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("dial %s: %v", sock, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	const prompt = "\nvde$ "
	readReply := func() string {
		var b []byte
		buf := make([]byte, 4096)
		for !bytes.HasSuffix(b, []byte(prompt)) {
			n, err := c.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				t.Fatalf("%s: %q: %v after %q", sock, cmd, err, b)
			}
		}
		return strings.TrimSuffix(string(b), prompt)
	}
	readReply() // banner
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		t.Fatalf("%s: %q: %v", sock, cmd, err)
	}
	return readReply()
}
