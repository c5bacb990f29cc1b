// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package sockfile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func openDir(t *testing.T) *os.File {
	t.Helper()
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func noPrivateDirs(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".sock-") {
			t.Errorf("private directory %s left behind", e.Name())
		}
	}
}

func TestListenModeOwnerReplace(t *testing.T) {
	d := openDir(t)
	perm := Perm{Mode: 0o640, UID: -1, GID: -1}
	if os.Geteuid() == 0 {
		perm.UID, perm.GID = 65534, 65534
	}
	ln, n, err := Listen(d, "s", perm, NoReplace)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	path := filepath.Join(d.Name(), "s")
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFSOCK || st.Mode&0o7777 != 0o640 || (perm.UID != -1 && (int(st.Uid) != perm.UID || int(st.Gid) != perm.GID)) {
		t.Errorf("socket mode %o uid %d gid %d, want a socket, 0640, %+v", st.Mode, st.Uid, st.Gid, perm)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("connect to the final name: %v", err)
	}
	c.Close()
	noPrivateDirs(t, d.Name())

	// NoReplace keeps an existing file; ReplaceAny replaces it.
	if _, _, err := Listen(d, "s", perm, NoReplace); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("Listen over an existing name with NoReplace = %v, want EEXIST", err)
	}
	if got, _, _ := Lstat(path); got != n {
		t.Error("NoReplace replaced the file")
	}
	noPrivateDirs(t, d.Name())
	ln2, n2, err := Listen(d, "s", perm, ReplaceAny)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if n2 == n {
		t.Error("ReplaceAny: same node")
	}
	// Remove leaves a file that is not ours any more.
	if err := Remove(path, n); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove with a stale node = %v, want ErrNotExist", err)
	}
	if err := Remove(path, n2); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Remove: %v", err)
	}
}

func TestBindBadName(t *testing.T) {
	d := openDir(t)
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := Bind(-1, d, name, Perm{Mode: 0o600, UID: -1, GID: -1}, NoReplace); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("Bind(%q) = %v, want ErrInvalid", name, err)
		}
	}
}

func TestOpenDirSymlink(t *testing.T) {
	base := t.TempDir()
	link := filepath.Join(base, "link")
	os.Symlink(base, link)
	if d, err := OpenDir(link); err == nil {
		d.Close()
		t.Error("OpenDir followed a symbolic link")
	}
	d, err := OpenDir(link + "/.") // a leading component: followed
	if err != nil {
		t.Fatalf("OpenDir(link/.): %v", err)
	}
	defer d.Close()
	if p, err := RealPath(d); err != nil || p != base {
		t.Errorf("RealPath = %q, %v; want %q", p, err, base)
	}
}

// TestReadyBeforeName: bind runs ready (Listen's listen(2)) while the socket is still in its private
// directory, so the name never exists without a listener behind it (vde_switch's ctl does, between its
// bind and its listen, and a client connecting then is refused); a failing ready leaves no name.
func TestReadyBeforeName(t *testing.T) {
	d := openDir(t)
	path := filepath.Join(d.Name(), "ctl")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	ran := false
	if _, err := bind(fd, d, "ctl", Perm{Mode: 0o600, UID: -1, GID: -1}, NoReplace, func() error {
		ran = true
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists before ready returned (%v)", path, err)
		}
		return syscall.Listen(fd, 1)
	}); err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Fatal("ready did not run")
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c.Close()

	fd2, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd2)
	bad := errors.New("ready failed")
	if _, err := bind(fd2, d, "other", Perm{Mode: 0o600, UID: -1, GID: -1}, NoReplace, func() error { return bad }); !errors.Is(err, bad) {
		t.Errorf("bind with a failing ready: %v, want %v", err, bad)
	}
	if _, err := os.Lstat(filepath.Join(d.Name(), "other")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failing ready left the name behind (%v)", err)
	}
	noPrivateDirs(t, d.Name())
}
