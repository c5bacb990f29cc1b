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
	"testing"
	"time"
)

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
	// An abstract socket has no owner: the requester is who connected.
	if r.ClientPath != name || r.UID != os.Getuid() || r.Cred.PID != os.Getpid() {
		t.Errorf("request %+v UID %d PID %d; want path %q UID %d PID %d", r.Message, r.UID, r.Cred.PID, name, os.Getuid(), os.Getpid())
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
