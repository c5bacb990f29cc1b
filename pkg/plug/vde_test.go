// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

// MgmtCommand runs one command on a vde_switch management socket and returns the output up to the prompt.
func mgmtCommand(t *testing.T, sock, cmd string) string {
	t.Helper()
	var c net.Conn
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err = net.DialTimeout("unix", sock, 5*time.Second); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("dial %s: %v", sock, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	readPrompt := func() string {
		var out []byte
		b := make([]byte, 4096)
		for !bytes.HasSuffix(out, []byte("vde$ ")) {
			n, err := c.Read(b)
			if err != nil {
				t.Fatalf("read %s: %v (got %q)", sock, err, out)
			}
			out = append(out, b[:n]...)
		}
		return string(out)
	}
	readPrompt()
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		t.Fatal(err)
	}
	return readPrompt()
}

func TestVDERealSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: starts the real vde_switch")
	}
	sw := testutil.RealTool(t, "vde_switch")
	dir := t.TempDir()
	swDir, mgmt := filepath.Join(dir, "sw"), filepath.Join(dir, "mgmt")
	proc := testutil.StartSwitch(t, sw, swDir, "-M", mgmt)
	testutil.WaitListening(t, mgmt, 5*time.Second)

	a := mustOpen(t, "vde://"+swDir+"[5]", Options{Descr: "plugtest-a: user=x pid=1"})
	b := mustOpen(t, swDir, Options{Descr: vde.Description("vplug:")})
	out := mgmtCommand(t, mgmt, "port/print")
	if !strings.Contains(out, "Port 0005") || !strings.Contains(out, ": plugtest-a: user=x pid=1\n") {
		t.Errorf("port/print does not show port 5 with our description:\n%s", out)
	}
	if !strings.Contains(out, ": "+vde.Description("vplug:")+"\n") {
		t.Errorf("port/print does not show %q:\n%s", vde.Description("vplug:"), out)
	}
	// Broadcast frames cross the switch byte for byte.
	f := testFrame(200, 7)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if err := a.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	if got := readWithin(t, b, 5*time.Second); !bytes.Equal(got, f) {
		t.Fatalf("b got % x..., want % x...", head(got), head(f))
	}
	// The switch going away ends ReadFrame with io.EOF.
	proc.Stop(5 * time.Second)
	done := make(chan error, 1)
	go func() { _, err := a.ReadFrame(make([]byte, frame.MaxLen)); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("ReadFrame after the switch stopped: %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFrame still blocked 5 s after the switch stopped")
	}
	if h, ok := a.(Hanger); !ok {
		t.Error("vde endpoint does not implement Hanger")
	} else {
		select {
		case <-h.Done():
		case <-time.After(time.Second):
			t.Error("Done not closed after the switch stopped")
		}
	}
}
