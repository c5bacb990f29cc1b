// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// TestRawConn: a Conn dialled with Raw moves frames through its own descriptor (lent by RawDesc, not
// by RawData), drops runts, still sees the switch hang up, and Close unblocks a read.
func TestRawConn(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	c, sc, _ := pair(t, l, reqs, DialOptions{Raw: true}, 2)
	d, ok := c.RawDesc()
	if !ok || d.Read < 0 || d.Read != d.Write || d.Stream {
		t.Fatalf("RawDesc = %+v, %v; want one datagram descriptor", d, ok)
	}
	if _, err := c.RawData(); err == nil {
		t.Error("RawData of a raw Conn succeeded")
	}
	f := testFrame(200, 1)
	if err := c.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	if got, err := readWithin(t, sc, 5*time.Second); err != nil || !bytes.Equal(got, f) {
		t.Fatalf("client→switch: %d bytes, %v", len(got), err)
	}
	sc.WriteFrame(f[:frame.HeaderLen-1])
	g := testFrame(60, 2)
	sc.WriteFrame(g)
	if got, err := readWithin(t, c, 5*time.Second); err != nil || !bytes.Equal(got, g) {
		t.Fatalf("switch→client: %d bytes, %v", len(got), err)
	}
	if c.Short() != 1 {
		t.Errorf("Short = %d, want 1", c.Short())
	}
	sc.Close() // the switch closes the port
	if _, err := readWithin(t, c, 5*time.Second); !errors.Is(err, io.EOF) || !c.HungUp() {
		t.Fatalf("ReadFrame after hang-up = %v, HungUp %v; want io.EOF, true", err, c.HungUp())
	}
	if _, ok := c.RawDesc(); ok {
		t.Error("RawDesc still lends the descriptor after the hang-up")
	}

	c2, _, _ := pair(t, l, reqs, DialOptions{Raw: true}, 3)
	errc := make(chan error, 1)
	go func() { _, err := c2.ReadFrame(make([]byte, frame.MaxLen)); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	c2.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadFrame after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrame")
	}
}
