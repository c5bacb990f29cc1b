// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
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
