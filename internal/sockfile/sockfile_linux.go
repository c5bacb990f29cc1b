// SPDX-License-Identifier: GPL-2.0-or-later

package sockfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Perm is the final mode and ownership of a socket file; -1 leaves an id unchanged.
type Perm struct {
	Mode     uint32
	UID, GID int
}

// A Node identifies the file Bind made, by device and inode number.
type Node struct{ Dev, Ino uint64 }

// Replace tells Bind what to do with an existing file at the final name.
type Replace int

const (
	// NoReplace fails with an error wrapping unix.EEXIST if the name exists.
	NoReplace Replace = iota
	// ReplaceAny replaces whatever is at the name (vde_switch unlinks a data socket's name before binding).
	ReplaceAny
)

// OpenDir opens the directory path for Bind without following a symbolic link in its last component.
// The caller closes it.
func OpenDir(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// RealPath returns the path of the directory open as dir, every symbolic link resolved (the kernel's
// name for it, as realpath(3) would give).
func RealPath(dir *os.File) (string, error) {
	p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", dir.Fd()))
	if err != nil {
		return "", fmt.Errorf("real path of %s: %w", dir.Name(), err)
	}
	return p, nil
}

// Bind binds the AF_UNIX socket fd at name in dir with the final permissions perm, which the file has
// from the moment name exists (see the package doc). name is a single path element.
func Bind(fd int, dir *os.File, name string, perm Perm, replace Replace) (Node, error) {
	return bind(fd, dir, name, perm, replace, nil)
}

// bind is Bind; ready, when not nil, runs on fd once it is bound in the private directory, before the
// name appears (Listen's listen(2), so that a client never finds the name refusing connections).
func bind(fd int, dir *os.File, name string, perm Perm, replace Replace, ready func() error) (Node, error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return Node{}, fmt.Errorf("socket name %q: %w", name, os.ErrInvalid)
	}
	dfd := int(dir.Fd())
	priv, pfd, err := privateDir(dfd)
	if err != nil {
		return Node{}, fmt.Errorf("bind %s: %w", filepath.Join(dir.Name(), name), err)
	}
	defer func() {
		unix.Close(pfd)
		unix.Unlinkat(dfd, priv, unix.AT_REMOVEDIR)
	}()
	n, err := bindIn(fd, pfd, name, perm)
	if err != nil {
		return Node{}, fmt.Errorf("bind %s: %w", filepath.Join(dir.Name(), name), err)
	}
	if ready != nil {
		if err := ready(); err != nil {
			unix.Unlinkat(pfd, name, 0)
			return Node{}, err
		}
	}
	flags := uint(0)
	if replace == NoReplace {
		flags = unix.RENAME_NOREPLACE
	}
	if err := unix.Renameat2(pfd, name, dfd, name, flags); err != nil {
		unix.Unlinkat(pfd, name, 0)
		return Node{}, fmt.Errorf("bind %s: %w", filepath.Join(dir.Name(), name), err)
	}
	return n, nil
}

// privateDir makes a directory only we can enter, next to the final name, and opens it.
func privateDir(dfd int) (string, int, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	name := ".sock-" + hex.EncodeToString(rnd[:])
	if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
		return "", -1, err
	}
	pfd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
		return "", -1, err
	}
	// Someone who may write the directory could have swapped in a directory of their own.
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil || int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		unix.Close(pfd)
		return "", -1, fmt.Errorf("private directory %s was replaced: %w", name, unix.EPERM)
	}
	return name, pfd, nil
}

// bindIn binds fd at name inside the private directory pfd and sets its owner and mode there.
func bindIn(fd, pfd int, name string, perm Perm) (Node, error) {
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: fmt.Sprintf("/proc/self/fd/%d/%s", pfd, name)}); err != nil {
		return Node{}, err
	}
	fail := func(err error) (Node, error) {
		unix.Unlinkat(pfd, name, 0)
		return Node{}, err
	}
	if perm.UID != -1 || perm.GID != -1 {
		if err := unix.Fchownat(pfd, name, perm.UID, perm.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fail(&os.PathError{Op: "chown", Path: name, Err: err})
		}
	}
	if err := unix.Fchmodat(pfd, name, perm.Mode&0o7777, 0); err != nil {
		return fail(&os.PathError{Op: "chmod", Path: name, Err: err})
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail(err)
	}
	return Node{Dev: st.Dev, Ino: st.Ino}, nil
}

// Lstat returns the node at path without following a final symbolic link, and whether it is a socket.
func Lstat(path string) (Node, bool, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return Node{}, false, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return Node{Dev: st.Dev, Ino: st.Ino}, st.Mode&unix.S_IFMT == unix.S_IFSOCK, nil
}

// Remove removes path if it still names the file n (made by Bind); otherwise it leaves it alone and
// returns an error wrapping os.ErrNotExist.
func Remove(path string, n Node) error {
	got, _, err := Lstat(path)
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("remove %s: replaced by another file: %w", path, os.ErrNotExist)
	}
	if err := unix.Unlink(path); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}

// Listen makes a listening AF_UNIX stream socket at name in dir with Bind, listening before the name
// appears. The returned listener does not remove anything when closed: the caller removes the name with
// Remove.
func Listen(dir *os.File, name string, perm Perm, replace Replace) (*net.UnixListener, Node, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, Node{}, os.NewSyscallError("socket", err)
	}
	// It listens before its name appears: vde_switch binds, then listens, and a client that finds the
	// name in between is refused.
	n, err := bind(fd, dir, name, perm, replace, func() error {
		return os.NewSyscallError("listen", unix.Listen(fd, unix.SOMAXCONN))
	})
	if err != nil {
		unix.Close(fd)
		return nil, Node{}, err
	}
	path := filepath.Join(dir.Name(), name)
	f := os.NewFile(uintptr(fd), path)
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		Remove(path, n)
		return nil, Node{}, err
	}
	return ln.(*net.UnixListener), n, nil
}
