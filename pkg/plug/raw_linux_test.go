// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/relay"
	"github.com/govde/govde/pkg/stream"
)

// TestCmdTerminatedRaw: a raw cmd:// relayed on the fast path (which never calls its ReadFrame) still
// prints "VDE terminated" once the command ends its output.
func TestCmdTerminatedRaw(t *testing.T) {
	var stderr testutil.SyncBuffer
	url := `cmd://printf '\000\016AAAAAAAAAAAAAA'`
	ep := mustOpen(t, url, Options{Stderr: &stderr, Raw: true})
	if _, ok := ep.(frame.Raw); !ok {
		t.Fatalf("%T opened raw is not a frame.Raw", ep)
	}
	var in, out [2]int
	if err := unix.Pipe2(in[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if err := unix.Pipe2(out[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	other, err := NewRawStream(in[0], out[1], true)
	if err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(out[0]), "r"), os.NewFile(uintptr(in[1]), "w")
	defer r.Close()
	defer w.Close()
	var st relay.Stats
	errc := make(chan error, 1)
	go func() { errc <- relay.Join(context.Background(), ep, other, &relay.Config{Stats: &st}) }()
	if got := readWithin(t, stream.NewConn(r, w, nil), 5*time.Second); !bytes.Equal(got, []byte("AAAAAAAAAAAAAA")) {
		t.Fatalf("got %q, want 14 A", got)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Join = %v, want nil at the command's end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Join did not end with the command")
	}
	if !st.FastPath.Load() {
		t.Error("the fast path was not taken")
	}
	if got, want := stderr.String(), "VDE terminated: "+url+"\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}
