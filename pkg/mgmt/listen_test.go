// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenNotSocket: a path naming a regular file, a symbolic link (even to a socket) or a directory is
// refused with ErrNotSocket naming it, and left as it was (vde_switch -M deletes a regular file).
func TestListenNotSocket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep\n"), 0o644)
	sub := filepath.Join(dir, "dir")
	os.Mkdir(sub, 0o755)
	live, err := Listen(filepath.Join(dir, "live"), 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	link := filepath.Join(dir, "link")
	os.Symlink(live.Path(), link)
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nowhere"), dangling)
	for _, p := range []string{file, sub, link, dangling} {
		before, _ := os.Lstat(p)
		_, err := Listen(p, 0o600, -1)
		if !errors.Is(err, ErrNotSocket) || !strings.Contains(err.Error(), p) {
			t.Errorf("Listen(%s) = %v, want ErrNotSocket naming it", p, err)
		}
		if after, err := os.Lstat(p); err != nil || after.Mode() != before.Mode() || after.ModTime() != before.ModTime() {
			t.Errorf("%s changed: %v, %v", p, after, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dangling link's target was created: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep\n" {
		t.Errorf("regular file now holds %q", b)
	}
}

// TestListenCloseKeepsSuccessor: Close removes the socket file only while it is the one Listen made.
func TestListenCloseKeepsSuccessor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m")
	ln, err := Listen(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	other, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ln.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("the successor's socket was removed: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".sock-") {
			t.Errorf("private directory %s left behind", e.Name())
		}
	}
}
