// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

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
	out := testutil.MgmtCommand(t, mgmt, "port/print")
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
	if h, ok := a.(frame.Hanger); !ok {
		t.Error("vde endpoint does not implement frame.Hanger")
	} else {
		select {
		case <-h.Done():
		case <-time.After(time.Second):
			t.Error("Done not closed after the switch stopped")
		}
	}
}
