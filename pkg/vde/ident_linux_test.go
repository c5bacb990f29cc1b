// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

const (
	attackerID = 65534 // nobody/nogroup
	victimID   = 1     // daemon
)

// sendRequest connects to ctl and sends a request naming client, as the current thread's user. When bind
// is set it first binds a datagram socket at client (owned by that user), which the caller closes.
func sendRequest(t *testing.T, ctl, client string, port int, bind bool) (net.Conn, *net.UnixConn) {
	t.Helper()
	var uc *net.UnixConn
	if bind {
		var err error
		if uc, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: client, Net: "unixgram"}); err != nil {
			t.Fatalf("bind %s: %v", client, err)
		}
	}
	c, err := net.Dial("unix", ctl)
	if err != nil {
		t.Fatalf("connect %s: %v", ctl, err)
	}
	req, err := AppendRequest(nil, Message{ClientPath: client, Port: port, Descr: "ident test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	return c, uc
}

// refused reports whether the switch closed c without a reply (within 5 s).
func refused(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [SockaddrLen]byte
	n, err := io.ReadFull(c, b[:])
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return true
	case err != nil:
		t.Fatalf("reading the reply: %d bytes, %v", n, err)
	}
	return false
}

// TestRequesterIdentity: the requester is the control connection's peer, and a request naming a client
// socket its requester does not own (directly, through a symbolic link, or through a link it does not
// own) is refused, counted and reported. vde_switch (and vswitch before) took the owner of the named
// file as the requester, so any user could aim the root switch at another user's private socket and
// pass port access control as that user.
func TestRequesterIdentity(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	bad := make(chan error, 16)
	l, reqs := listen(t, ListenOptions{Mode: 0o666, OnBadRequest: func(err error) { bad <- err }})
	base := filepath.Dir(l.Dir())
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil { // t.TempDir is 0700: let nobody in
			t.Fatal(err)
		}
	}
	// The victim: a 0600 socket of uid 1 in its 0700 directory, which nobody may not even search.
	vdir := filepath.Join(base, "victim")
	mkdirOwned(t, vdir, victimID)
	victim := filepath.Join(vdir, "sock")
	vc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: victim, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	if err := os.Chown(victim, victimID, victimID); err != nil {
		t.Fatal(err)
	}
	os.Chmod(victim, 0o600)
	// The attacker's own directory, socket and links.
	adir := filepath.Join(base, "attacker")
	mkdirOwned(t, adir, attackerID)
	own, link, ownLink := filepath.Join(adir, "own"), filepath.Join(adir, "link"), filepath.Join(adir, "ownlink")
	rootLink := filepath.Join(base, "rootlink")
	if err := os.Symlink(own, rootLink); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(adir, "file")

	var ownConn *net.UnixConn
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	testutil.AsUser(t, attackerID, attackerID, func() {
		if err := os.Symlink(victim, link); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(own, ownLink); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(regular, nil, 0o600); err != nil {
			t.Error(err)
		}
		var c net.Conn
		c, ownConn = sendRequest(t, l.CtlPath(), own, 0, true)
		conns = append(conns, c)
		for _, p := range []string{victim, link, rootLink, regular, filepath.Join(adir, "missing"), ownLink} {
			c, _ := sendRequest(t, l.CtlPath(), p, 0, false)
			conns = append(conns, c)
		}
	})
	defer ownConn.Close()
	want := []struct {
		path    string
		refused bool
		foreign bool // the error wraps ErrForeignSocket
	}{
		{own, false, false},
		{victim, true, true},
		{link, true, true},
		{rootLink, true, true},
		{regular, true, false},
		{filepath.Join(adir, "missing"), true, false},
		{ownLink, false, false},
	}
	for i, w := range want {
		if w.refused && !refused(t, conns[i]) {
			t.Errorf("request naming %s: got a reply, want the connection closed", w.path)
		}
	}
	for range 2 {
		r := nextRequest(t, reqs)
		if r.UID != attackerID || r.Cred.UID != attackerID || r.Cred.GID != attackerID || r.Cred.PID != os.Getpid() {
			t.Errorf("request naming %s: UID %d Cred %+v, want uid and gid %d, pid %d", r.ClientPath, r.UID, r.Cred, attackerID, os.Getpid())
		}
		if r.ClientPath != own && r.ClientPath != ownLink {
			t.Errorf("accepted a request naming %s", r.ClientPath)
		}
		sc, err := r.Accept(0)
		if err != nil {
			t.Fatalf("Accept %s: %v", r.ClientPath, err)
		}
		sc.Close()
	}
	nrefused := 0
	for _, w := range want {
		if w.refused {
			nrefused++
		}
	}
	var foreign int
	for range nrefused {
		select {
		case err := <-bad:
			if errors.Is(err, ErrForeignSocket) {
				foreign++
			}
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "uid 65534") {
				t.Errorf("OnBadRequest(%v): want ErrBadRequest naming the requesting uid", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("OnBadRequest not called within 5s")
		}
	}
	if foreign != 3 {
		t.Errorf("%d refusals wrap ErrForeignSocket, want 3", foreign)
	}
	if got := l.Refused(); got != uint64(nrefused) {
		t.Errorf("Refused() = %d, want %d", got, nrefused)
	}
	// Root may name any socket.
	c, _ := sendRequest(t, l.CtlPath(), victim, 0, false)
	defer c.Close()
	r := nextRequest(t, reqs)
	if r.UID != 0 {
		t.Errorf("root's request: UID %d, want 0", r.UID)
	}
	r.Reject()
}

// TestDataSocketOwner: as root, the data socket belongs to the requesting user (the peer), with the
// listener's mode cut to 0700 of it, from the moment it exists.
func TestDataSocketOwner(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	l, reqs := listen(t, ListenOptions{Mode: 0o666, Group: 65534})
	base := filepath.Dir(l.Dir())
	for _, d := range []string{base, filepath.Dir(base)} {
		os.Chmod(d, 0o755)
	}
	adir := filepath.Join(base, "attacker")
	mkdirOwned(t, adir, attackerID)
	var c net.Conn
	var uc *net.UnixConn
	testutil.AsUser(t, attackerID, attackerID, func() {
		c, uc = sendRequest(t, l.CtlPath(), filepath.Join(adir, "c"), 0, true)
	})
	defer c.Close()
	defer uc.Close()
	r := nextRequest(t, reqs)
	sc, err := r.Accept(2)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var st syscall.Stat_t
	if err := syscall.Lstat(sc.Path(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != attackerID || st.Gid != 65534 || st.Mode&0o7777 != 0o600 || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		t.Errorf("data socket %s: uid %d gid %d mode %o, want a socket of uid %d gid 65534 mode 0600", sc.Path(), st.Uid, st.Gid, st.Mode, attackerID)
	}
	if refused(t, c) {
		t.Fatal("accepted request got no reply")
	}
	ents, _ := os.ReadDir(l.Dir())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".sock-") {
			t.Errorf("private directory %s left in the switch directory", e.Name())
		}
	}
}

func mkdirOwned(t *testing.T, dir string, id int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, id, id); err != nil {
		t.Fatal(err)
	}
}

// TestListenSymlinkDir: a switch directory given as a symbolic link is refused, naming it; the link's
// target is neither chmodded nor used. (vde_switch chmods the target to 02700 and removes it at exit.)
func TestListenSymlinkDir(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(target, 0o755)
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(link, ListenOptions{Group: NoGroup})
	if err == nil || !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Listen(symlink) = %v, want an error naming %s as a symbolic link", err, link)
	}
	if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o755 || st.Mode()&os.ModeSetgid != 0 {
		t.Errorf("link target mode %v (%v), want 0755 untouched", st.Mode(), err)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("link target has %d entries, want none", len(ents))
	}
	// A symbolic link in a leading component is followed (/var/run -> /run).
	l, err := Listen(filepath.Join(link, "sw"), ListenOptions{Group: NoGroup})
	if err != nil {
		t.Fatalf("Listen(link/sw): %v", err)
	}
	defer l.Close()
	if l.Dir() != filepath.Join(target, "sw") {
		t.Errorf("Dir() = %s, want the real path %s", l.Dir(), filepath.Join(target, "sw"))
	}
}

// TestListenCtlNotSocket: a file named ctl that is not a socket is reported and left alone (vde_switch
// deletes it).
func TestListenCtlNotSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sw")
	os.Mkdir(dir, 0o700)
	ctl := filepath.Join(dir, "ctl")
	if err := os.WriteFile(ctl, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(dir, ListenOptions{Group: NoGroup})
	if err == nil || !strings.Contains(err.Error(), ctl) || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular ctl = %v, want an error naming %s", err, ctl)
	}
	if b, err := os.ReadFile(ctl); err != nil || string(b) != "keep" {
		t.Errorf("ctl after Listen: %q, %v; want it untouched", b, err)
	}
}
