// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

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
