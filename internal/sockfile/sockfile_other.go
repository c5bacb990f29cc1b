// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package sockfile

import (
	"errors"
	"net"
	"os"
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

// Replace values.
const (
	NoReplace Replace = iota
	ReplaceAny
)

// OpenDir is not supported on this system.
func OpenDir(path string) (*os.File, error) { return nil, errors.ErrUnsupported }

// RealPath is not supported on this system.
func RealPath(dir *os.File) (string, error) { return "", errors.ErrUnsupported }

// Bind is not supported on this system.
func Bind(fd int, dir *os.File, name string, perm Perm, replace Replace) (Node, error) {
	return Node{}, errors.ErrUnsupported
}

// Lstat is not supported on this system.
func Lstat(path string) (Node, bool, error) { return Node{}, false, errors.ErrUnsupported }

// Remove is not supported on this system.
func Remove(path string, n Node) error { return errors.ErrUnsupported }

// Listen is not supported on this system.
func Listen(dir *os.File, name string, perm Perm, replace Replace) (*net.UnixListener, Node, error) {
	return nil, Node{}, errors.ErrUnsupported
}
