// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/sockfile"
)

// peerCred returns the credentials the kernel recorded for the peer of c when it connected
// (SO_PEERCRED, SO_PEERGROUPS).
func peerCred(c *net.UnixConn) (Cred, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var cr Cred
	var gerr error
	cerr := rc.Control(func(fd uintptr) {
		var uc *unix.Ucred
		uc, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if gerr != nil {
			return
		}
		cr = Cred{PID: int(uc.Pid), UID: int(uc.Uid), GID: int(uc.Gid)}
		cr.Groups, gerr = peerGroups(int(fd))
	})
	if err := errors.Join(cerr, gerr); err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	return cr, nil
}

// peerGroups returns the supplementary groups of a stream socket's peer (SO_PEERGROUPS, Linux 4.13).
func peerGroups(fd int) ([]int, error) {
	buf := make([]byte, 64*4)
	for {
		n := uint32(len(buf))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		switch {
		case e == unix.ERANGE && int(n) > len(buf):
			buf = make([]byte, n)
			continue
		case e == unix.ENOPROTOOPT:
			return nil, nil // an old kernel: the primary group only
		case e != 0:
			return nil, e
		}
		gs := make([]int, n/4)
		for i := range gs {
			gs[i] = int(binary.NativeEndian.Uint32(buf[4*i:]))
		}
		return gs, nil
	}
}

// ErrForeignSocket is wrapped by the error for a request naming a client socket that its requester does
// not own (or a symbolic link to it the requester does not own): another user's socket.
var ErrForeignSocket = errors.New("client socket not owned by the requesting user")

// dialClient connects a new datagram socket to the client socket path named by a request from cred. A
// path in the file system must name a socket owned by the requester, reached without a symbolic link in
// its last component that the requester does not own; root may name any. The socket file is opened
// once (O_PATH) and connected through that descriptor, so the file checked is the file connected to.
func dialClient(path string, cred Cred) (*net.UnixConn, error) {
	target := path
	if path[0] != '@' {
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return nil, &os.PathError{Op: "lstat", Path: path, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK && cred.UID != 0 && int(st.Uid) != cred.UID {
			return nil, fmt.Errorf("%s: a symbolic link owned by uid %d, request from uid %d: %w", path, st.Uid, cred.UID, ErrForeignSocket)
		}
		pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		defer unix.Close(pfd)
		if err := unix.Fstat(pfd, &st); err != nil {
			return nil, &os.PathError{Op: "stat", Path: path, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
			return nil, fmt.Errorf("%s: not a socket: %w", path, os.ErrInvalid)
		}
		if cred.UID != 0 && int(st.Uid) != cred.UID {
			return nil, fmt.Errorf("%s: owned by uid %d, request from uid %d: %w", path, st.Uid, cred.UID, ErrForeignSocket)
		}
		target = fmt.Sprintf("/proc/self/fd/%d", pfd)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: target}); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "connect", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}

// openDir creates (if needed) and opens the switch directory without following a symbolic link in its
// last component, and returns it with its real path.
func openDir(dir string) (*os.File, string, error) {
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, "", err
	}
	d, err := sockfile.OpenDir(dir)
	if err != nil {
		if fi, lerr := os.Lstat(dir); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			to, _ := os.Readlink(dir)
			return nil, "", fmt.Errorf("switch directory %s is a symbolic link (to %s): refusing to follow it, give the directory itself: %w", dir, to, os.ErrInvalid)
		}
		return nil, "", err
	}
	real, err := sockfile.RealPath(d)
	if err != nil {
		d.Close()
		return nil, "", err
	}
	return d, real, nil
}

// chmodDir sets the group and mode of the open switch directory (fchown, fchmod).
func chmodDir(d *os.File, group int, mode uint32) error {
	if group != NoGroup {
		if err := unix.Fchown(int(d.Fd()), -1, group); err != nil {
			return &os.PathError{Op: "chown", Path: d.Name(), Err: err}
		}
	}
	if err := unix.Fchmod(int(d.Fd()), mode); err != nil {
		return &os.PathError{Op: "chmod", Path: d.Name(), Err: err}
	}
	return nil
}

// sameDir reports whether d is the directory node n.
func sameDir(d *os.File, n sockfile.Node) bool {
	var st unix.Stat_t
	return unix.Fstat(int(d.Fd()), &st) == nil && st.Dev == n.Dev && st.Ino == n.Ino
}

// dirNode returns the node of the open directory d.
func dirNode(d *os.File) (sockfile.Node, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		return sockfile.Node{}, err
	}
	return sockfile.Node{Dev: st.Dev, Ino: st.Ino}, nil
}
