// SPDX-License-Identifier: GPL-2.0-or-later

package netnode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
	"github.com/govde/govde/pkg/vde"
)

const wait = 10 * time.Second

func mac(b byte) frame.MAC { return frame.MAC{0x02, 0, 0, 0, 0, b} }

var bcast = frame.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// mkframe builds a 60-byte frame from src to dst whose payload starts with tag.
func mkframe(dst, src frame.MAC, tag string) []byte {
	b := make([]byte, 60)
	copy(b, dst[:])
	copy(b[6:], src[:])
	binary.BigEndian.PutUint16(b[12:], 0x88b5)
	copy(b[14:], tag)
	return b
}

func tagOf(b []byte) string { return strings.TrimRight(string(b[14:]), "\x00") }

func listen(t *testing.T, kind Kind) (*Node, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "node")
	n, err := Listen(dir, Config{Kind: kind, Group: vde.NoGroup})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n, dir
}

func dial(t *testing.T, dir string) *vde.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := vde.Dial(ctx, dir, vde.DialOptions{Descr: "test", Timeout: wait})
	if err != nil {
		t.Fatalf("Dial %s: %v", dir, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// expect reads frames from ep until one with tag arrives; a frame with another tag first is an error.
func expect(t *testing.T, who string, ep frame.Endpoint, tag string) {
	t.Helper()
	b, err := frametest.ReadWithin(ep, wait)
	if err != nil {
		t.Fatalf("%s: waiting for %q: %v", who, tag, err)
	}
	if got := tagOf(b); got != tag {
		t.Fatalf("%s got %q, want %q", who, got, tag)
	}
}

// waitPorts waits until the node has n clients.
func waitPorts(t *testing.T, nd *Node, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for nd.Stats().Ports != n {
		if time.Now().After(deadline) {
			t.Fatalf("node has %d clients, want %d", nd.Stats().Ports, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLayout(t *testing.T) {
	nd, dir := listen(t, Hub)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeSetgid); got != os.ModeSetgid|0o700 {
		t.Errorf("dir mode %v, want setgid 0700 (02700)", got)
	}
	fi, err = os.Stat(filepath.Join(dir, "ctl"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("ctl mode %v, want 0600", got)
	}
	c := dial(t, dir)
	base := filepath.Base(c.ReplyPath())
	if !strings.HasPrefix(base, "fd") || filepath.Dir(c.ReplyPath()) != nd.Dir() {
		t.Fatalf("data socket %s, want %s/fd<N>", c.ReplyPath(), nd.Dir())
	}
	if _, err := os.Stat(c.ReplyPath()); err != nil {
		t.Fatalf("data socket: %v", err)
	}
	c.Close()
	deadline := time.Now().Add(wait)
	for {
		if _, err := os.Stat(c.ReplyPath()); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there after the client left", c.ReplyPath())
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitPorts(t, nd, 0)
	dial(t, dir)
	nd.Close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Close: stat %s: %v, want it removed", dir, err)
	}
}

func TestModes(t *testing.T) {
	u := func(v uint32) *uint32 { return &v }
	for _, tc := range []struct {
		mode, dirmode *uint32
		m, d          uint32
	}{
		{nil, nil, 0o600, 0o2700},
		{u(0o666), nil, 0o666, 0o2777},
		{u(0o660), nil, 0o660, 0o2770},
		{u(0o777), nil, 0o666, 0o2777},
		{u(0o640), nil, 0o640, 0o2750},
		{nil, u(0o750), 0o600, 0o750},
		{u(0o644), u(0o711), 0o644, 0o711},
	} {
		m, d := Modes(tc.mode, tc.dirmode)
		if m != tc.m || d != tc.d {
			t.Errorf("Modes(%v, %v) = %#o, %#o; want %#o, %#o", tc.mode, tc.dirmode, m, d, tc.m, tc.d)
		}
	}
}

func TestHub(t *testing.T) {
	nd, dir := listen(t, Hub)
	a, b, c := dial(t, dir), dial(t, dir), dial(t, dir)
	waitPorts(t, nd, 3)
	// Unicast to a known-looking address is still flooded by a hub.
	if err := a.WriteFrame(mkframe(mac(2), mac(1), "a1")); err != nil {
		t.Fatal(err)
	}
	expect(t, "b", b, "a1")
	expect(t, "c", c, "a1")
	expect(t, "host", nd, "a1")
	if err := nd.WriteFrame(mkframe(mac(1), mac(9), "h1")); err != nil {
		t.Fatal(err)
	}
	expect(t, "a", a, "h1") // a never got its own a1
	expect(t, "b", b, "h1")
	expect(t, "c", c, "h1")
	// A runt is dropped.
	nd.WriteFrame(make([]byte, 13))
	b.WriteFrame(mkframe(bcast, mac(2), "b1"))
	expect(t, "a", a, "b1")
	expect(t, "host", nd, "b1")
}

func TestSwitchLearns(t *testing.T) {
	nd, dir := listen(t, Switch)
	a, b, c := dial(t, dir), dial(t, dir), dial(t, dir)
	waitPorts(t, nd, 3)
	// Unknown destination: flooded; a is learned.
	a.WriteFrame(mkframe(mac(2), mac(1), "a-unknown"))
	expect(t, "b", b, "a-unknown")
	expect(t, "c", c, "a-unknown")
	expect(t, "host", nd, "a-unknown")
	// b answers a: only a gets it. The broadcast marker that follows reaches c and the host first.
	b.WriteFrame(mkframe(mac(1), mac(2), "b-to-a"))
	expect(t, "a", a, "b-to-a")
	b.WriteFrame(mkframe(bcast, mac(2), "b-marker"))
	expect(t, "c", c, "b-marker")
	expect(t, "host", nd, "b-marker")
	expect(t, "a", a, "b-marker")
	// The host (mac 9) talks to b: only b; b answers the host: only the host.
	nd.WriteFrame(mkframe(mac(2), mac(9), "h-to-b"))
	expect(t, "b", b, "h-to-b")
	b.WriteFrame(mkframe(mac(9), mac(2), "b-to-h"))
	expect(t, "host", nd, "b-to-h")
	nd.WriteFrame(mkframe(bcast, mac(9), "h-marker"))
	expect(t, "a", a, "h-marker")
	expect(t, "c", c, "h-marker")
	expect(t, "b", b, "h-marker")
	// A frame to an address learned on the port it comes from is dropped.
	a.WriteFrame(mkframe(mac(1), mac(1), "a-self"))
	a.WriteFrame(mkframe(bcast, mac(1), "a-marker"))
	expect(t, "b", b, "a-marker")
	expect(t, "c", c, "a-marker")
	expect(t, "host", nd, "a-marker")
	// Another VLAN is another table: b's MAC on VLAN 5 is unknown, so flooded.
	tagged := mkframe(mac(2), mac(1), "")
	tagged = append(tagged[:12], append([]byte{0x81, 0x00, 0x00, 0x05, 0x88, 0xb5}, "a-vlan5"...)...)
	for len(tagged) < 60 {
		tagged = append(tagged, 0)
	}
	a.WriteFrame(tagged)
	for _, ep := range []struct {
		name string
		ep   frame.Endpoint
	}{{"b", b}, {"c", c}, {"host", nd}} {
		got, err := frametest.ReadWithin(ep.ep, wait)
		if err != nil || !bytes.Equal(got, tagged) {
			t.Fatalf("%s: got % x, %v; want the tagged frame flooded", ep.name, got, err)
		}
	}
	// When a client leaves, its addresses are forgotten: frames to them are flooded again.
	a.Close()
	waitPorts(t, nd, 2)
	b.WriteFrame(mkframe(mac(1), mac(2), "b-to-gone-a"))
	expect(t, "c", c, "b-to-gone-a")
	expect(t, "host", nd, "b-to-gone-a")
}

func TestMultiBonding(t *testing.T) {
	t.Run("multi", func(t *testing.T) {
		nd, dir := listen(t, Multi)
		a, b := dial(t, dir), dial(t, dir)
		waitPorts(t, nd, 2)
		a.WriteFrame(mkframe(bcast, mac(1), "a1"))
		expect(t, "host", nd, "a1")
		nd.WriteFrame(mkframe(mac(1), mac(9), "h1"))
		expect(t, "a", a, "h1")
		expect(t, "b", b, "h1") // b did not get a1
	})
	t.Run("bonding", func(t *testing.T) {
		nd, dir := listen(t, Bonding)
		a, b := dial(t, dir), dial(t, dir)
		waitPorts(t, nd, 2)
		a.WriteFrame(mkframe(bcast, mac(1), "a1"))
		expect(t, "host", nd, "a1")
		b.WriteFrame(mkframe(bcast, mac(2), "b1"))
		expect(t, "host", nd, "b1")
		// Four frames from the host: two for each client, in turn.
		for _, tag := range []string{"h1", "h2", "h3", "h4"} {
			nd.WriteFrame(mkframe(bcast, mac(9), tag))
		}
		ga, _ := frametest.ReadWithin(a, wait)
		gb, _ := frametest.ReadWithin(b, wait)
		ga2, _ := frametest.ReadWithin(a, wait)
		gb2, _ := frametest.ReadWithin(b, wait)
		got := []string{tagOf(ga), tagOf(ga2), tagOf(gb), tagOf(gb2)}
		if !(got[0] == "h1" && got[1] == "h3" && got[2] == "h2" && got[3] == "h4" ||
			got[0] == "h2" && got[1] == "h4" && got[2] == "h1" && got[3] == "h3") {
			t.Fatalf("a got %q, b got %q: want h1,h3 and h2,h4 (round robin)", got[:2], got[2:])
		}
	})
}

// TestGarbage: malformed, unsupported or truncated requests are refused by closing their connection,
// and the node keeps serving.
func TestGarbage(t *testing.T) {
	nd, dir := listen(t, Switch)
	ctl := filepath.Join(dir, "ctl")
	good, err := vde.AppendRequest(nil, vde.Message{ClientPath: "/nonexistent/x", Descr: "x"})
	if err != nil {
		t.Fatal(err)
	}
	v2 := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(v2[4:], 2)
	for name, msg := range map[string][]byte{
		"junk":       []byte("GET / HTTP/1.0\r\n\r\n"),
		"short":      good[:20],
		"v2":         v2,
		"no-client":  good,
		"zeros":      make([]byte, 256),
		"bad-magic":  append([]byte{1, 2, 3, 4}, good[4:]...),
		"type-5":     append(append([]byte(nil), good[:8]...), append([]byte{5, 0, 0, 0}, good[12:]...)...),
		"long-junk":  bytes.Repeat([]byte{0xff}, 4096),
		"port0-real": nil, // filled below with a real client socket
	} {
		if name == "port0-real" {
			cl := filepath.Join(t.TempDir(), "cl")
			uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: cl, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer uc.Close()
			msg, _ = vde.AppendRequest(nil, vde.Message{ClientPath: cl, Port0: true, Descr: "p0"})
		}
		c, err := net.Dial("unix", ctl)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c.Write(msg)
		c.SetReadDeadline(time.Now().Add(wait))
		var buf [512]byte
		n, err := c.Read(buf[:])
		c.Close()
		if n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: read %d bytes, %v; want the connection closed without a reply", name, n, err)
		}
	}
	// A client that connects and says nothing, then one that hangs up at once: neither blocks others.
	idle, err := net.Dial("unix", ctl)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if c, err := net.Dial("unix", ctl); err == nil {
		c.Close()
	}
	a, b := dial(t, dir), dial(t, dir)
	a.WriteFrame(mkframe(bcast, mac(1), "after-garbage"))
	expect(t, "b", b, "after-garbage")
	expect(t, "host", nd, "after-garbage")
	if nd.Stats().Refused == 0 {
		t.Errorf("Refused = 0 after bad requests")
	}
}

func TestInUse(t *testing.T) {
	_, dir := listen(t, Hub)
	if _, err := Listen(dir, Config{Group: vde.NoGroup}); err == nil {
		t.Fatal("second Listen on a live node succeeded")
	}
}

func TestCloseUnblocks(t *testing.T) {
	nd, dir := listen(t, Hub)
	c := dial(t, dir)
	done := make(chan error, 1)
	go func() {
		var b [frame.MaxLen]byte
		_, err := nd.ReadFrame(b[:])
		done <- err
	}()
	nd.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadFrame after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("ReadFrame still blocked after Close")
	}
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("client not told the node closed")
	}
	if err := nd.WriteFrame(mkframe(bcast, mac(1), "x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteFrame after Close: %v", err)
	}
}
