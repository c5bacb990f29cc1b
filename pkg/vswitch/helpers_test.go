// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
)

// host is an in-memory client of the switch that collects what it receives.
type host struct {
	t    *testing.T
	ep   *frametest.Endpoint
	port int
	id   int
	rx   chan []byte
}

func newSwitch(t *testing.T, cfg Config) *Switch {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addHost(t *testing.T, s *Switch, port int) *host {
	t.Helper()
	a, b := frametest.Pipe(4096)
	n, id, err := s.AddEndpoint(a, port, ModuleUnix, fmt.Sprintf("host%d", port))
	if err != nil {
		t.Fatal(err)
	}
	h := &host{t: t, ep: b, port: n, id: id, rx: make(chan []byte, 4096)}
	go func() {
		buf := make([]byte, frame.MaxLen+frame.TagLen)
		for {
			n, err := b.ReadFrame(buf)
			if err != nil {
				close(h.rx)
				return
			}
			h.rx <- bytes.Clone(buf[:n])
		}
	}()
	t.Cleanup(func() { b.Close() })
	return h
}

func (h *host) send(f []byte) {
	h.t.Helper()
	if err := h.ep.WriteFrame(f); err != nil {
		h.t.Fatal(err)
	}
}

// expect waits for the next frame and checks it byte for byte.
func (h *host) expect(want []byte) {
	h.t.Helper()
	select {
	case got, ok := <-h.rx:
		if !ok {
			h.t.Fatalf("port %d: closed, want frame %x", h.port, want)
		}
		if !bytes.Equal(got, want) {
			h.t.Fatalf("port %d got\n%x\nwant\n%x", h.port, got, want)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatalf("port %d: no frame, want %x", h.port, want)
	}
}

// expectNone checks that nothing arrives (after a sync barrier frame has gone through elsewhere).
func (h *host) expectNone() {
	h.t.Helper()
	select {
	case got := <-h.rx:
		h.t.Fatalf("port %d got unexpected frame %x", h.port, got)
	case <-time.After(50 * time.Millisecond):
	}
}

func mac(b byte) frame.MAC { return frame.MAC{0x02, 0, 0, 0, 0, b} }

// eth builds an untagged frame dst<-src with a recognisable payload of n bytes total.
func eth(dst, src frame.MAC, n int) []byte {
	b := make([]byte, n)
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	if n >= 14 {
		binary.BigEndian.PutUint16(b[12:14], 0x0800)
	}
	for i := 14; i < n; i++ {
		b[i] = byte(i * 7)
	}
	return b
}

func tag(f []byte, tci uint16) []byte {
	out := append([]byte{}, f[:12]...)
	out = append(out, 0x81, 0x00, byte(tci>>8), byte(tci))
	return append(out, f[12:]...)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Eventually polls cond for up to 5 s.
func Eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}
