// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
)

// testFrame returns a recognisable frame of n bytes (n >= 14) tagged with seq.
func testFrame(n int, seq byte) []byte {
	b := make([]byte, n)
	copy(b, []byte{0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5})
	for i := frame.HeaderLen; i < n; i++ {
		b[i] = byte(i*7) ^ seq
	}
	return b
}

// readWithin reads one frame from ep, failing the test if none arrives within d.
func readWithin(t *testing.T, ep frame.Endpoint, d time.Duration) []byte {
	t.Helper()
	b, err := frametest.ReadWithin(ep, d)
	if err != nil {
		t.Fatalf("ReadFrame: %v", err)
	}
	return b
}

func mustOpen(t *testing.T, url string, opt Options) frame.Endpoint {
	t.Helper()
	ep, err := Open(context.Background(), url, opt)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

// exchange sends a known frame each way and checks it arrives byte for byte.
func exchange(t *testing.T, a, b frame.Endpoint, size int) {
	t.Helper()
	f1, f2 := testFrame(size, 1), testFrame(size, 2)
	if err := a.WriteFrame(f1); err != nil {
		t.Fatalf("a.WriteFrame: %v", err)
	}
	if got := readWithin(t, b, 5*time.Second); !bytes.Equal(got, f1) {
		t.Fatalf("b got % x..., want % x...", head(got), head(f1))
	}
	if err := b.WriteFrame(f2); err != nil {
		t.Fatalf("b.WriteFrame: %v", err)
	}
	if got := readWithin(t, a, 5*time.Second); !bytes.Equal(got, f2) {
		t.Fatalf("a got % x..., want % x...", head(got), head(f2))
	}
}

func head(b []byte) []byte { return b[:min(len(b), 20)] }

func TestPTP(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ptp")
	a := mustOpen(t, "ptp://"+p, Options{})
	b := mustOpen(t, "ptp://"+p+"[mode=0660]", Options{})
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("first end %s: %v, mode %v, want 0700", p, err, fi.Mode())
	}
	if fi, err := os.Stat(p + "+"); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("second end %s+: %v, mode %v, want 0660", p, err, fi.Mode())
	}
	exchange(t, a, b, 60)
	exchange(t, a, b, 9000)
	if _, err := Open(context.Background(), "ptp://"+p, Options{}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("third opener: %v, want EADDRINUSE", err)
	}
	b.Close()
	a.Close()
	for _, f := range []string{p, p + "+"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s left behind after Close: %v", f, err)
		}
	}
}

func TestPTPStale(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ptp")
	// A socket file whose owner has gone: bound, then closed without removal.
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := os.Stat(p); err != nil {
		t.Skipf("stale socket not left behind: %v", err)
	}
	a := mustOpen(t, "ptp://"+p, Options{})
	b := mustOpen(t, "ptp://"+p, Options{})
	exchange(t, a, b, 100)
}

func TestUDP(t *testing.T) {
	la, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	peerPort := la.LocalAddr().(*net.UDPAddr).Port
	ep := mustOpen(t, "udp://127.0.0.1:0->127.0.0.1:"+strconv.Itoa(peerPort), Options{})
	myAddr := ep.(*Dgram).LocalAddr().(*net.UDPAddr)
	f := testFrame(1400, 3)
	if err := ep.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	la.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2000)
	n, from, err := la.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], f) || from.Port != myAddr.Port {
		t.Fatalf("peer got %d bytes from %v, want the %d-byte frame from %v", n, from, len(f), myAddr)
	}
	g := testFrame(64, 4)
	if _, err := la.WriteToUDP(g, myAddr); err != nil {
		t.Fatal(err)
	}
	if got := readWithin(t, ep, 5*time.Second); !bytes.Equal(got, g) {
		t.Fatalf("got % x, want % x", got, g)
	}
	la.Close()
	// With the peer gone, sends are dropped, not fatal.
	for range 3 {
		if err := ep.WriteFrame(f); err != nil {
			t.Fatalf("WriteFrame to a vanished peer: %v", err)
		}
	}
}

func TestCmdLoopback(t *testing.T) {
	var stderr testutil.SyncBuffer
	ep := mustOpen(t, "cmd://cat", Options{Stderr: &stderr})
	for i, size := range []int{60, 1514, 9000, frame.MaxLen} {
		f := testFrame(size, byte(i))
		if err := ep.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if got := readWithin(t, ep, 5*time.Second); !bytes.Equal(got, f) {
			t.Fatalf("size %d: looped back %d bytes, not the same frame", size, len(got))
		}
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCmdTerminated(t *testing.T) {
	var stderr testutil.SyncBuffer
	// The command writes one record (2-byte header + 14-byte frame) and exits.
	url := `cmd://printf '\000\016AAAAAAAAAAAAAA'`
	ep := mustOpen(t, url, Options{Stderr: &stderr})
	if got := readWithin(t, ep, 5*time.Second); string(got) != "AAAAAAAAAAAAAA" {
		t.Fatalf("got %q, want 14 A", got)
	}
	b := make([]byte, frame.MaxLen)
	if _, err := ep.ReadFrame(b); !errors.Is(err, io.EOF) {
		t.Fatalf("ReadFrame after the command exited: %v, want io.EOF", err)
	}
	want := "VDE terminated: " + url + "\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

func TestCmdNotFound(t *testing.T) {
	_, err := Open(context.Background(), "cmd://govde-no-such-command-xyz", Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "vde_open cmd://govde-no-such-command-xyz: ") {
		t.Fatalf("Open: %v, want a vde_open error", err)
	}
}

// qemuPeer is a hand-written QEMU -netdev stream peer: 4-byte big-endian length, then the frame.
type qemuPeer struct{ c net.Conn }

func (p qemuPeer) send(t *testing.T, f []byte) {
	t.Helper()
	b := binary.BigEndian.AppendUint32(nil, uint32(len(f)))
	if _, err := p.c.Write(append(b, f...)); err != nil {
		t.Fatal(err)
	}
}

func (p qemuPeer) recv(t *testing.T) []byte {
	t.Helper()
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h [4]byte
	if _, err := io.ReadFull(p.c, h[:]); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(h[:]))
	if _, err := io.ReadFull(p.c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestQEMUUnixServer(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.sock")
	ep := mustOpen(t, "qemu+unix://"+p+"[server]", Options{})
	// Frames written with no client are dropped.
	if err := ep.WriteFrame(testFrame(60, 9)); err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // the second round checks the server takes a new client after the first leaves
		c, err := net.Dial("unix", p)
		if err != nil {
			t.Fatal(err)
		}
		peer := qemuPeer{c}
		f := testFrame(1000+round, byte(round))
		peer.send(t, f)
		if got := readWithin(t, ep, 5*time.Second); !bytes.Equal(got, f) {
			t.Fatalf("round %d: server got % x..., want % x...", round, head(got), head(f))
		}
		g := testFrame(9000, byte(round+10))
		if err := ep.WriteFrame(g); err != nil {
			t.Fatal(err)
		}
		if got := peer.recv(t); !bytes.Equal(got, g) {
			t.Fatalf("round %d: client got %d bytes, not the frame", round, len(got))
		}
		c.Close()
	}
	ep.Close()
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("%s left behind after Close: %v", p, err)
	}
}

func TestQEMUTCPClientServer(t *testing.T) {
	srv := mustOpen(t, "qemu+tcp://127.0.0.1:0[server]", Options{})
	addr := srv.(*QEMUServer).Addr().String()
	cli := mustOpen(t, "qemu+tcp://"+addr, Options{})
	exchange(t, cli, srv, 60)
	exchange(t, cli, srv, 9000)
}

func TestQEMUUnixClient(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.sock")
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	ep := mustOpen(t, "qemu+unix://"+p, Options{})
	var c net.Conn
	select {
	case c = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection")
	}
	defer c.Close()
	peer := qemuPeer{c}
	f := testFrame(442, 5)
	if err := ep.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	if got := peer.recv(t); !bytes.Equal(got, f) {
		t.Fatalf("peer got % x..., want % x...", head(got), head(f))
	}
	peer.send(t, f)
	if got := readWithin(t, ep, 5*time.Second); !bytes.Equal(got, f) {
		t.Fatalf("plug got % x..., want % x...", head(got), head(f))
	}
}

func TestQEMUUnixServerInUse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.sock")
	mustOpen(t, "qemu+unix://"+p+"[server]", Options{})
	if _, err := Open(context.Background(), "qemu+unix://"+p+"[server]", Options{}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second server on %s: %v, want EADDRINUSE", p, err)
	}
}

func TestNull(t *testing.T) {
	ep := mustOpen(t, "null://", Options{})
	if err := ep.WriteFrame(testFrame(60, 0)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ep.ReadFrame(make([]byte, frame.MaxLen)); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("null ReadFrame returned early: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	ep.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrame after Close: %v, want net.ErrClosed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ url, want string }{
		{"nosuchmod://x", "vde_open nosuchmod://x: Protocol not supported"},
		{dir + "/nonexist", "vde_open " + dir + "/nonexist: No such file or directory"},
		{"vde://" + dir + "[foo=1]", "vde_open vde://" + dir + `[foo=1]: Invalid argument: unknown key "foo"`},
		{"ptp://" + dir + "/p[group=govde-no-such-group]", `Invalid argument: group "govde-no-such-group"`},
	}
	for _, tt := range tests {
		_, err := Open(context.Background(), tt.url, Options{Timeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, want an error containing %q", tt.url, err, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	if got, err := Resolve(""); err != nil || got != "" {
		t.Fatalf("Resolve(\"\") with no default files = %q, %v; want \"\"", got, err)
	}
	f := filepath.Join(dir, "urlfile")
	if err := os.WriteFile(f, []byte("ptp:///tmp/x\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := Resolve(f); got != "ptp:///tmp/x" {
		t.Errorf("Resolve(url file) = %q, want ptp:///tmp/x", got)
	}
	if got, _ := Resolve("vde:///tmp/sw"); got != "vde:///tmp/sw" {
		t.Errorf("Resolve(vde:///tmp/sw) = %q", got)
	}
	// ~/.vde2/default.switch as a symbolic link to the switch directory.
	os.MkdirAll(filepath.Join(dir, ".vde2"), 0o700)
	if err := os.Symlink("/run/sw1", filepath.Join(dir, ".vde2", "default.switch")); err != nil {
		t.Fatal(err)
	}
	if got, _ := Resolve(""); got != "/run/sw1" {
		t.Errorf("Resolve(\"\") via ~/.vde2/default.switch = %q, want /run/sw1", got)
	}
	// ~/.vdeplug/default, a regular file, takes precedence.
	os.MkdirAll(filepath.Join(dir, ".vdeplug"), 0o700)
	if err := os.WriteFile(filepath.Join(dir, ".vdeplug", "default"), []byte("vde:///run/sw2[4]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := Resolve(""); got != "vde:///run/sw2[4]" {
		t.Errorf("Resolve(\"\") via ~/.vdeplug/default = %q, want vde:///run/sw2[4]", got)
	}
}

// TestQEMUServerGarbage: a client announcing an impossible record length is dropped, and the server
// goes back to listening for the next one.
func TestQEMUServerGarbage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.sock")
	ep := mustOpen(t, "qemu+unix://"+p+"[server]", Options{})
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, frame.MaxLen)
		n, err := ep.ReadFrame(b)
		if err != nil {
			got <- nil
			return
		}
		got <- b[:n]
	}()
	bad, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.Write([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3})
	bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("bad client: %v, want EOF (dropped by the server)", err)
	}
	good, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	f := testFrame(300, 8)
	qemuPeer{good}.send(t, f)
	select {
	case g := <-got:
		if !bytes.Equal(g, f) {
			t.Fatalf("after a bad client, got % x..., want % x...", head(g), head(f))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no frame from the good client")
	}
}

// TestCmdOversizeResync: a command writes a 60-byte record and a 9235-byte one, then (another write,
// after a pause) a second 60-byte record: both valid records arrive, the oversize one is counted, on
// the goroutine path (vplug's fast path parses its own records: pkg/relay tests those).
func TestCmdOversizeResync(t *testing.T) {
	dir := t.TempDir()
	data := append([]byte{0x00, 0x3c}, testFrame(60, 1)...)
	data = append(append(data, 0x24, 0x13), make([]byte, 9235)...)
	next := append([]byte{0x00, 0x3c}, testFrame(60, 2)...)
	for i, b := range [][]byte{data, next} {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The command writes the second record only once the test has seen the first (go on, a FIFO).
	goOn := filepath.Join(dir, "go")
	if err := unix.Mkfifo(goOn, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr testutil.SyncBuffer
	ep := mustOpen(t, fmt.Sprintf("cmd://sh -c 'cat %[1]s/0; read x < %[1]s/go; cat %[1]s/1'", dir), Options{Stderr: &stderr})
	if got := readWithin(t, ep, 5*time.Second); !bytes.Equal(got, testFrame(60, 1)) {
		t.Fatalf("record 1: got % x..., want the 60-byte frame 1", head(got))
	}
	second := make(chan []byte, 1)
	go func() { b, _ := frametest.ReadWithin(ep, 10*time.Second); second <- b }() // parses the oversize header
	testutil.Eventually(t, 5*time.Second, "the oversize header counted", func() bool { return ep.(*Command).Oversize() == 1 })
	if err := os.WriteFile(goOn, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := <-second; !bytes.Equal(got, testFrame(60, 2)) {
		t.Fatalf("record 2: got % x..., want the 60-byte frame 2", head(got))
	}
}

// TestQEMUServerOversizeSkipped: a QEMU client sends a 60-byte record, a 20000-byte one (within QEMU's
// own buffer) and a 60-byte one: both valid ones arrive and the oversize one is counted; one longer
// than QEMU's buffer ends that client (as in QEMU) and is counted too.
func TestQEMUServerOversizeSkipped(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.sock")
	ep := mustOpen(t, "qemu+unix://"+p+"[server]", Options{})
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var w []byte
	for _, f := range [][]byte{testFrame(60, 1), make([]byte, 20000), testFrame(60, 2)} {
		w = append(binary.BigEndian.AppendUint32(w, uint32(len(f))), f...)
	}
	if _, err := c.Write(w); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got := readWithin(t, ep, 5*time.Second); !bytes.Equal(got, testFrame(60, byte(i+1))) {
			t.Fatalf("record %d: got % x..., want the 60-byte frame %d", i, head(got), i+1)
		}
	}
	srv := ep.(*QEMUServer)
	if n := srv.Oversize(); n != 1 {
		t.Errorf("Oversize = %d, want 1", n)
	}
	c.Write([]byte{0x00, 0x02, 0x00, 0x00})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	go frametest.ReadWithin(ep, 5*time.Second) // ReadFrame drops the client and waits for the next
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("client after a record over QEMU's buffer: %v, want EOF", err)
	}
	testutil.Eventually(t, 5*time.Second, "oversize 2", func() bool { return srv.Oversize() == 2 })
}
