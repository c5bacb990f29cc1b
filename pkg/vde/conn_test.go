// SPDX-License-Identifier: GPL-2.0-or-later

package vde

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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
)

// listen starts a Listener in a fresh directory; requests arrive on the returned channel.
func listen(t testing.TB, opt ListenOptions) (*Listener, <-chan *Request) {
	t.Helper()
	if opt.Group == 0 {
		opt.Group = NoGroup
	}
	if opt.MgmtGroup == 0 {
		opt.MgmtGroup = NoGroup
	}
	dir := filepath.Join(t.TempDir(), "sw")
	l, err := Listen(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	reqs := make(chan *Request, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			r, err := l.Accept()
			if err != nil {
				return
			}
			reqs <- r
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l, reqs
}

func nextRequest(t testing.TB, reqs <-chan *Request) *Request {
	t.Helper()
	select {
	case r := <-reqs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request accepted within 5s")
		return nil
	}
}

// pair connects a client to l and accepts it on port; it returns both ends.
func pair(t testing.TB, l *Listener, reqs <-chan *Request, opt DialOptions, port int) (*Conn, *ServerConn, *Request) {
	t.Helper()
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := Dial(context.Background(), l.Dir(), opt)
		ch <- res{c, err}
	}()
	r := nextRequest(t, reqs)
	sc, err := r.Accept(port)
	if err != nil {
		t.Fatalf("Accept(%d): %v", port, err)
	}
	t.Cleanup(func() { sc.Close() })
	cr := <-ch
	if cr.err != nil {
		t.Fatalf("Dial: %v", cr.err)
	}
	t.Cleanup(func() { cr.c.Close() })
	return cr.c, sc, r
}

func testFrame(n int, seed byte) []byte {
	b := make([]byte, n)
	copy(b, []byte{0x02, 0, 0, 0, 0, seed, 0x02, 0, 0, 0, 1, seed, 0x08, 0x00})
	for i := frame.HeaderLen; i < n; i++ {
		b[i] = byte(i) ^ seed
	}
	return b
}

func readWithin(t testing.TB, ep frame.Endpoint, d time.Duration) ([]byte, error) {
	t.Helper()
	b, err := frametest.ReadWithin(ep, d)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrame blocked for %v", d)
	}
	return b, err
}

func TestDialListenExchange(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	c, sc, r := pair(t, l, reqs, DialOptions{Port: 3, Descr: "test: user=x pid=1"}, 3)

	if r.Version != 3 || r.Port != 3 || r.Port0 || r.Descr != "test: user=x pid=1" {
		t.Errorf("request = %+v", r.Message)
	}
	wantClient := fmt.Sprintf("%s/.%05d-00000", l.Dir(), os.Getpid())
	if r.ClientPath != wantClient {
		t.Errorf("client path = %q, want %q", r.ClientPath, wantClient)
	}
	if r.UID != os.Geteuid() {
		t.Errorf("UID = %d, want %d", r.UID, os.Geteuid())
	}
	if _, err := os.Lstat(wantClient); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("client socket %s still exists (%v); vdeplug4 unlinks it", wantClient, err)
	}
	if c.Port() != 3 || sc.Port() != 3 || c.ReplyPath() != sc.Path() || !strings.HasPrefix(sc.Path(), l.Dir()+"/003.") {
		t.Errorf("client port %d path %q, server port %d path %q", c.Port(), c.ReplyPath(), sc.Port(), sc.Path())
	}
	if sc.ID() <= 0 || sc.Descr() != r.Descr || sc.UID() != r.UID {
		t.Errorf("ServerConn ID %d Descr %q UID %d", sc.ID(), sc.Descr(), sc.UID())
	}
	if st, err := os.Stat(sc.Path()); err != nil || st.Mode().Type() != os.ModeSocket {
		t.Errorf("data socket %s: %v %v", sc.Path(), st, err)
	}

	for i, n := range []int{14, 60, 1518, frame.MaxLen} {
		up, down := testFrame(n, byte(i)), testFrame(n, byte(i+100))
		if err := c.WriteFrame(up); err != nil {
			t.Fatal(err)
		}
		got, err := readWithin(t, sc, 5*time.Second)
		if err != nil || !bytes.Equal(got, up) {
			t.Fatalf("server read %d bytes %v, want the %d-byte frame sent", len(got), err, n)
		}
		if err := sc.WriteFrame(down); err != nil {
			t.Fatal(err)
		}
		got, err = readWithin(t, c, 5*time.Second)
		if err != nil || !bytes.Equal(got, down) {
			t.Fatalf("client read %d bytes %v, want the %d-byte frame sent", len(got), err, n)
		}
	}
}

func TestShortFramesDropped(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	c, sc, _ := pair(t, l, reqs, DialOptions{}, 1)
	for _, ep := range []struct {
		name     string
		from, to interface {
			frame.Endpoint
			Short() uint64
		}
	}{{"client to server", c, sc}, {"server to client", sc, c}} {
		for _, n := range []int{0, 1, 13} {
			if err := ep.from.WriteFrame(make([]byte, n)); err != nil {
				t.Fatal(err)
			}
		}
		want := testFrame(14, 7)
		ep.from.WriteFrame(want)
		got, err := readWithin(t, ep.to, 5*time.Second)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: read %x, %v; want %x", ep.name, got, err, want)
		}
		if s := ep.to.Short(); s != 3 {
			t.Errorf("%s: Short() = %d, want 3", ep.name, s)
		}
	}
}

func TestClientCloseEndsServer(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	c, sc, _ := pair(t, l, reqs, DialOptions{}, 2)
	go func() { time.Sleep(50 * time.Millisecond); c.Close() }()
	if _, err := readWithin(t, sc, 5*time.Second); err != io.EOF {
		t.Errorf("server ReadFrame after client Close = %v, want io.EOF", err)
	}
	select {
	case <-sc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("ServerConn.Done not closed after the client closed")
	}
	if !sc.HungUp() {
		t.Error("HungUp() = false")
	}
	path := sc.Path()
	if err := sc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := sc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Close: %v", path, err)
	}
	if _, err := c.ReadFrame(make([]byte, frame.MaxLen)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrame after Close = %v, want net.ErrClosed", err)
	}
	if err := c.WriteFrame(testFrame(20, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteFrame after Close = %v, want net.ErrClosed", err)
	}
}

func TestServerCloseEndsClient(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	c, sc, _ := pair(t, l, reqs, DialOptions{}, 2)
	go func() { time.Sleep(50 * time.Millisecond); sc.Close() }()
	if _, err := readWithin(t, c, 5*time.Second); err != io.EOF {
		t.Errorf("client ReadFrame after server Close = %v, want io.EOF", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Conn.Done not closed after the server closed")
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	c, _, _ := pair(t, l, reqs, DialOptions{}, 2)
	go func() { time.Sleep(50 * time.Millisecond); c.Close() }()
	if _, err := readWithin(t, c, 5*time.Second); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrame during Close = %v, want net.ErrClosed", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Error("Done not closed after Close")
	}
	if c.HungUp() {
		t.Error("HungUp() = true after our own Close")
	}
}

func TestRejectIsQuick(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := Dial(context.Background(), l.Dir(), DialOptions{Port: 9, Timeout: 10 * time.Second})
		errc <- err
	}()
	r := nextRequest(t, reqs)
	if r.Port != 9 {
		t.Errorf("Port = %d, want 9", r.Port)
	}
	if err := r.Reject(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Accept(9); err == nil {
		t.Error("Accept after Reject succeeded")
	}
	err := <-errc
	if !errors.Is(err, ErrRefused) || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Dial after Reject = %v, want ErrRefused without timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refusal took %v", d)
	}
	// The client's socket file is gone, refused or not.
	if m, _ := filepath.Glob(filepath.Join(l.Dir(), ".*")); len(m) != 0 {
		t.Errorf("leftover client sockets: %v", m)
	}
}

func TestNoReplyTimeout(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	start := time.Now()
	_, err := Dial(context.Background(), l.Dir(), DialOptions{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrRefused) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Dial with no reply = %v, want ErrRefused and a deadline error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}
	nextRequest(t, reqs).Reject()
}

func TestDialContextCancel(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := Dial(ctx, l.Dir(), DialOptions{Timeout: 10 * time.Second})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with cancelled ctx = %v, want context.Canceled", err)
	}
	nextRequest(t, reqs).Reject()
}

func TestDialErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Dial(context.Background(), filepath.Join(dir, "nope"), DialOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dial(missing dir) = %v, want ErrNotExist", err)
	}
	if _, err := Dial(context.Background(), dir, DialOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dial(dir without ctl) = %v, want ErrNotExist", err)
	}
	if _, err := Dial(context.Background(), dir, DialOptions{Port: -1}); !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), "-1") {
		t.Errorf("Dial(port -1) = %v, want ErrInvalid naming -1", err)
	}
	if _, err := Dial(context.Background(), dir, DialOptions{Group: "no-such-group-xyz"}); !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), "no-such-group-xyz") {
		t.Errorf("Dial(bad group) = %v", err)
	}
}

// rawRequest connects to l's ctl, writes b and reports whether the switch closed the connection without
// a reply.
func rawRequest(t *testing.T, l *Listener, b []byte) {
	t.Helper()
	c, err := net.Dial("unix", l.CtlPath())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(b) > 0 {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 200))
	if err != io.EOF {
		t.Errorf("request %.32x...: read %d bytes, %v; want EOF (ctl closed)", b, n, err)
	}
}

func TestBadRequestsClosed(t *testing.T) {
	var mu sync.Mutex
	var bad []string
	l, reqs := listen(t, ListenOptions{Timeout: 300 * time.Millisecond, OnBadRequest: func(err error) {
		mu.Lock()
		bad = append(bad, err.Error())
		mu.Unlock()
	}})
	dir := l.Dir()
	// A real datagram socket for the well-formed-but-denied cases.
	cli := filepath.Join(dir, ".client")
	uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: cli, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	good, _ := AppendRequest(nil, Message{ClientPath: cli, Descr: "ok"})
	set := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	missing, _ := AppendRequest(nil, Message{ClientPath: filepath.Join(dir, ".gone")})
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"garbage", []byte("GET / HTTP/1.0\r\n\r\n"), "V0 request"},
		{"truncated", good[:40], "v3 request of 40 bytes"},
		{"wrong magic", set(0, 0x12345678), "V0 request"},
		{"v2", set(4, 2), "version 2"},
		{"v4", set(4, 4), "version 4"},
		{"bad type", set(8, 7), "bad request type 7"},
		{"missing client socket", missing, ".gone"},
		{"silent client", nil, "no request within"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { rawRequest(t, l, tc.in) })
	}
	mu.Lock()
	got := strings.Join(bad, "\n")
	mu.Unlock()
	for _, tc := range cases {
		if !strings.Contains(got, tc.want) {
			t.Errorf("OnBadRequest reports lack %q for %s:\n%s", tc.want, tc.name, got)
		}
	}
	// The listener still serves.
	c, sc, _ := pair(t, l, reqs, DialOptions{}, 1)
	want := testFrame(64, 9)
	c.WriteFrame(want)
	if got, err := readWithin(t, sc, 5*time.Second); err != nil || !bytes.Equal(got, want) {
		t.Errorf("after bad requests: read %x, %v", got, err)
	}
}

func TestPort0AndModes(t *testing.T) {
	l, reqs := listen(t, ListenOptions{Mode: 0o660, MgmtMode: 0o640})
	dst, err := os.Stat(l.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got := dst.Mode() & (os.ModePerm | os.ModeSetgid); got != os.ModeSetgid|0o770 {
		t.Errorf("dir mode %v, want setgid 0770", got)
	}
	if st, _ := os.Stat(l.CtlPath()); st.Mode().Perm() != 0o660 {
		t.Errorf("ctl mode %v, want 0660", st.Mode().Perm())
	}
	c, sc, r := pair(t, l, reqs, DialOptions{Port0: true}, 0)
	if !r.Port0 || r.Port != 0 {
		t.Errorf("request %+v, want Port0", r.Message)
	}
	if !strings.HasPrefix(sc.Path(), l.Dir()+"/000.") || c.Port() != 0 {
		t.Errorf("port 0 path %q", sc.Path())
	}
	// vdeplug4 chmods the data socket to its own mode (0700) after connecting, after the management
	// mode was applied: the client's chmod is the last one (TestServerDataSocketMode checks the switch's).
	if st, _ := os.Stat(sc.Path()); st.Mode().Perm() != 0o700 {
		t.Errorf("port 0 data socket mode %v, want 0700 (client's chmod last)", st.Mode().Perm())
	}
	_, sc2, _ := pair(t, l, reqs, DialOptions{Mode: 0o666}, 4)
	if st, _ := os.Stat(sc2.Path()); st.Mode().Perm() != 0o666 {
		t.Errorf("data socket mode %v, want 0666 from the client", st.Mode().Perm())
	}
}

func TestServerDataSocketMode(t *testing.T) {
	// Accept without a client chmod: drive the handshake by hand and look at the mode before connecting.
	for _, tc := range []struct {
		opt    ListenOptions
		port0  bool
		want   os.FileMode
		asRoot os.FileMode
	}{
		{ListenOptions{Mode: 0o660}, false, 0o660, 0o600},
		{ListenOptions{Mode: 0o666, MgmtMode: 0o640}, true, 0o640, 0o640},
	} {
		l, reqs := listen(t, tc.opt)
		cli := filepath.Join(l.Dir(), ".manual")
		uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: cli, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer uc.Close()
		ctl, err := net.Dial("unix", l.CtlPath())
		if err != nil {
			t.Fatal(err)
		}
		defer ctl.Close()
		req, _ := AppendRequest(nil, Message{ClientPath: cli, Port0: tc.port0, Port: 5 * boolInt(!tc.port0)})
		ctl.Write(req)
		r := nextRequest(t, reqs)
		sc, err := r.Accept(r.Port)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		var reply [SockaddrLen]byte
		ctl.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(ctl, reply[:]); err != nil {
			t.Fatal(err)
		}
		if p, err := ParseReply(reply[:]); err != nil || p != sc.Path() {
			t.Errorf("reply %q, %v; want %q", p, err, sc.Path())
		}
		want := tc.want
		if os.Geteuid() == 0 {
			want = tc.asRoot
		}
		if st, _ := os.Stat(sc.Path()); st.Mode().Perm() != want {
			t.Errorf("%+v: data socket mode %v, want %v", tc.opt, st.Mode().Perm(), want)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestBindCounter(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	taken := fmt.Sprintf("%s/.%05d-00000", l.Dir(), os.Getpid())
	uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: taken, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	_, _, r := pair(t, l, reqs, DialOptions{}, 1)
	if want := fmt.Sprintf("%s/.%05d-00001", l.Dir(), os.Getpid()); r.ClientPath != want {
		t.Errorf("client path %q, want %q (counter after EADDRINUSE)", r.ClientPath, want)
	}
}

func TestPortGroup(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	// No such portgroup socket: DIR/ctl is used.
	_, _, r := pair(t, l, reqs, DialOptions{PortGroup: "blue"}, 1)
	if r.Port != 0 || r.Port0 {
		t.Errorf("request %+v", r.Message)
	}
	// A portgroup socket: the request goes there, without a port number.
	pg, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(l.Dir(), "blue"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := pg.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b := make([]byte, MaxRequestLen)
		n, _ := c.Read(b)
		got <- b[:n]
	}()
	_, err = Dial(context.Background(), l.Dir(), DialOptions{PortGroup: "blue", Timeout: 2 * time.Second})
	if !errors.Is(err, ErrRefused) {
		t.Errorf("Dial via a portgroup that closes = %v, want ErrRefused", err)
	}
	m, err := ParseRequest(<-got)
	if err != nil || m.Port != 0 || m.Port0 {
		t.Errorf("portgroup request %+v, %v", m, err)
	}
}

func TestListenTakeover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sw")
	os.Mkdir(dir, 0o700)
	ctl := filepath.Join(dir, "ctl")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: ctl, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	l, err := Listen(dir, ListenOptions{Group: NoGroup})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	_, err = Listen(dir, ListenOptions{Group: NoGroup})
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), ctl) {
		t.Errorf("Listen over a live socket = %v, want EADDRINUSE naming %s", err, ctl)
	}
	if err := l.RemoveDir(); err == nil {
		t.Error("RemoveDir succeeded while listening")
	}
	l.Close()
	if _, err := os.Lstat(ctl); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ctl left after Close: %v", err)
	}
	if err := l.RemoveDir(); err != nil {
		t.Errorf("RemoveDir: %v", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v", err)
	}
}

func TestDescription(t *testing.T) {
	t.Setenv("SSH_CLIENT", "192.0.2.7 51000 22")
	d := Description("vdeplug:")
	want := fmt.Sprintf(" pid=%d SSH=192.0.2.7", os.Getpid())
	if !strings.HasPrefix(d, "vdeplug: user=") || !strings.HasSuffix(d, want) {
		t.Errorf("Description = %q, want vdeplug: user=NAME%s", d, want)
	}
	if d := Description(strings.Repeat("x", 200)); len(d) != MaxDescrVDE {
		t.Errorf("long description has %d bytes, want %d", len(d), MaxDescrVDE)
	}
}

func TestZeroAllocs(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	c, sc, _ := pair(t, l, reqs, DialOptions{}, 1)
	f := testFrame(1514, 3)
	buf := make([]byte, frame.MaxLen)
	a := testing.AllocsPerRun(1000, func() {
		c.WriteFrame(f)
		sc.ReadFrame(buf)
		sc.WriteFrame(f)
		c.ReadFrame(buf)
	})
	if a != 0 {
		t.Errorf("allocs per round trip = %v, want 0", a)
	}
}

func BenchmarkConnReadWrite(b *testing.B) {
	l, reqs := listen(b, ListenOptions{})
	c, sc, _ := pair(b, l, reqs, DialOptions{}, 1)
	f := testFrame(1514, 3)
	buf := make([]byte, frame.MaxLen)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
		if _, err := sc.ReadFrame(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// statClient returns the mode and gid of the client's socket while the request waits.
func statClient(t *testing.T, r *Request) (os.FileMode, uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(r.ClientPath, &st); err != nil {
		t.Fatalf("stat client socket: %v", err)
	}
	return os.FileMode(st.Mode).Perm(), st.Gid
}

// dialAsync dials l and returns the pending request plus a function that accepts it on port and returns
// the client.
func dialAsync(t *testing.T, l *Listener, reqs <-chan *Request, opt DialOptions) (*Request, func(port int) *Conn) {
	t.Helper()
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := Dial(context.Background(), l.Dir(), opt)
		ch <- res{c, err}
	}()
	r := nextRequest(t, reqs)
	return r, func(port int) *Conn {
		sc, err := r.Accept(port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sc.Close() })
		cr := <-ch
		if cr.err != nil {
			t.Fatal(cr.err)
		}
		t.Cleanup(func() { cr.c.Close() })
		return cr.c
	}
}

func TestClientSocketPermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to chown sockets")
	}
	l, reqs := listen(t, ListenOptions{})
	// Default: 0700, group unchanged.
	r, acc := dialAsync(t, l, reqs, DialOptions{})
	if m, g := statClient(t, r); m != 0o700 || g != 0 {
		t.Errorf("default client socket mode %v gid %d, want 0700 gid 0", m, g)
	}
	acc(1)
	// An explicit group and mode.
	r, acc = dialAsync(t, l, reqs, DialOptions{Group: "nogroup", Mode: 0o660})
	if m, g := statClient(t, r); m != 0o660 || g != 65534 {
		t.Errorf("group nogroup mode 0660: client socket mode %v gid %d", m, g)
	}
	acc(2)
	// A switch owned by another user: the client socket takes the ctl's group and g+rwx.
	if err := os.Chown(l.CtlPath(), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r, acc = dialAsync(t, l, reqs, DialOptions{})
	if m, g := statClient(t, r); m != 0o770 || g != 65534 {
		t.Errorf("foreign switch: client socket mode %v gid %d, want 0770 gid 65534", m, g)
	}
	acc(3)
}

func TestBindFallback(t *testing.T) {
	// A switch directory too long for the client's socket name (but not for the switch's data sockets)
	// makes the bind fail with EINVAL; the client then tries the fallback directories, with a counter that
	// restarts at 0 and carries on from one directory to the next.
	base := t.TempDir()
	pad := 98 - len(base) - 1
	if pad < 1 {
		t.Skipf("temp dir %s too long for this test", base)
	}
	dir := filepath.Join(base, strings.Repeat("d", pad))
	l, err := Listen(dir, ListenOptions{Group: NoGroup, MgmtGroup: NoGroup})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	reqs := make(chan *Request, 1)
	go func() {
		if r, err := l.Accept(); err == nil {
			reqs <- r
		}
	}()
	fb := t.TempDir()
	saved := fallbackDataDirs
	fallbackDataDirs = []string{filepath.Join(fb, "missing"), fb}
	defer func() { fallbackDataDirs = saved }()
	r, acc := dialAsync(t, l, reqs, DialOptions{})
	if want := fmt.Sprintf("%s/vde.%05d-00001", fb, os.Getpid()); r.ClientPath != want {
		t.Errorf("client path %q, want %q", r.ClientPath, want)
	}
	c := acc(1)
	if _, err := os.Lstat(r.ClientPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fallback client socket left behind: %v", err)
	}
	if !strings.HasPrefix(c.ReplyPath(), l.Dir()+"/001.") {
		t.Errorf("reply path %q", c.ReplyPath())
	}
}

func TestListenGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to chown sockets")
	}
	l, reqs := listen(t, ListenOptions{Group: 65534, MgmtGroup: 65534, Mode: 0o660})
	_, sc, r := pair(t, l, reqs, DialOptions{Mode: 0o660}, 1)
	_, sc0, _ := pair(t, l, reqs, DialOptions{Port0: true, Mode: 0o660}, 0)
	for _, p := range []string{l.Dir(), l.CtlPath(), sc.Path(), sc0.Path()} {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Gid != 65534 {
			t.Errorf("%s gid %d, want 65534", p, st.Gid)
		}
		if p == sc.Path() && int(st.Uid) != r.UID {
			t.Errorf("%s uid %d, want the requesting user %d", p, st.Uid, r.UID)
		}
	}
}

func TestAbstractClient(t *testing.T) {
	l, reqs := listen(t, ListenOptions{})
	name := fmt.Sprintf("@govde-vde-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	ctl, err := net.Dial("unix", l.CtlPath())
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	req, _ := AppendRequest(nil, Message{ClientPath: name, Descr: "abstract"})
	ctl.Write(req)
	r := nextRequest(t, reqs)
	if r.ClientPath != name || r.UID != -1 {
		t.Errorf("request %+v UID %d; want path %q UID -1", r.Message, r.UID, name)
	}
	sc, err := r.Accept(1)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	want := testFrame(64, 1)
	sc.WriteFrame(want)
	uc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2000)
	n, err := uc.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], want) {
		t.Errorf("abstract client read %x, %v; want %x", buf[:n], err, want)
	}
}

// TestAcceptWithAttachFirst: what the attach hook sends reaches the client, since the hook runs before the
// reply; an attach error rejects the request and the client's Dial fails instead of hanging.
func TestAcceptWithAttachFirst(t *testing.T) {
	l, reqs := listen(t, ListenOptions{Group: NoGroup})
	ch := make(chan *Conn, 1)
	go func() {
		c, err := Dial(context.Background(), l.Dir(), DialOptions{})
		if err != nil {
			t.Error(err)
		}
		ch <- c
	}()
	want := testFrame(60, 7)
	sc, err := nextRequest(t, reqs).AcceptWith(2, func(sc *ServerConn) error {
		if _, err := os.Stat(sc.Path()); err != nil {
			t.Errorf("data socket not there in attach: %v", err)
		}
		// The client cannot have its reply yet: Dial must not return while the hook runs.
		select {
		case c := <-ch:
			t.Errorf("Dial returned (%v) before the attach hook finished", c)
			ch <- c
		case <-time.After(200 * time.Millisecond):
		}
		return sc.WriteFrame(want)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	c := <-ch
	if c == nil {
		t.FailNow()
	}
	defer c.Close()
	got, err := readWithin(t, c, 5*time.Second)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("frame sent in attach: got %x, %v; want %x", got, err, want)
	}

	errAttach := errors.New("port taken")
	go func() {
		_, err := Dial(context.Background(), l.Dir(), DialOptions{Timeout: 5 * time.Second})
		if err == nil {
			t.Error("Dial succeeded after the attach hook failed")
		}
		ch <- nil
	}()
	r := nextRequest(t, reqs)
	var path string
	if _, err := r.AcceptWith(3, func(sc *ServerConn) error { path = sc.Path(); return errAttach }); !errors.Is(err, errAttach) {
		t.Fatalf("AcceptWith with a failing hook: %v, want %v", err, errAttach)
	}
	<-ch
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("data socket %s left behind after a failed attach: %v", path, err)
	}
}
