// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/govde/govde/internal/sockfile"
)

// ErrInUse reports that a live server already listens on the management socket path.
var ErrInUse = errors.New("address in use by a running server")

// ErrNotSocket reports that the management socket path names an existing file that is not a socket:
// Listen leaves it alone (vde_switch deletes it).
var ErrNotSocket = errors.New("exists and is not a socket: refusing to replace it")

// A Listener is a listening management socket. Close removes the socket file, unless it was replaced
// meanwhile or SetUnlinkOnClose(false) was called. Its methods are safe for concurrent use.
type Listener struct {
	*net.UnixListener
	path   string
	node   sockfile.Node
	mu     sync.Mutex
	unlink bool
	once   sync.Once
}

// Listen binds the management socket at path with permissions mode and group gid (-1: unchanged), which
// the socket file has from the moment it exists (internal/sockfile: nothing is chmodded or chowned
// through a path someone else could have swapped). A stale socket file (nobody accepts on it) is
// replaced; a live one gives an error wrapping ErrInUse; any other file an error wrapping ErrNotSocket.
// Errors name path.
func Listen(path string, mode os.FileMode, gid int) (*Listener, error) {
	l, err := listen(path, mode, gid)
	if errors.Is(err, syscall.EEXIST) {
		l, err = listen(path, mode, gid) // created meanwhile: say what it is now
	}
	return l, err
}

func listen(path string, mode os.FileMode, gid int) (*Listener, error) {
	fail := func(err error) (*Listener, error) { return nil, fmt.Errorf("mgmt socket %s: %w", path, err) }
	replace := sockfile.NoReplace
	switch _, isSock, err := sockfile.Lstat(path); {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fail(err)
	case !isSock:
		return fail(ErrNotSocket)
	default:
		c, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			c.Close()
			return fail(ErrInUse)
		}
		if !errors.Is(derr, syscall.ECONNREFUSED) {
			return fail(derr)
		}
		replace = sockfile.ReplaceAny // stale
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fail(err)
	}
	defer dir.Close()
	perm := sockfile.Perm{Mode: uint32(mode.Perm()), UID: -1, GID: gid}
	if gid < 0 {
		perm.GID = -1
	}
	ln, n, err := sockfile.Listen(dir, filepath.Base(path), perm, replace)
	if err != nil {
		return fail(err)
	}
	return &Listener{UnixListener: ln, path: path, node: n, unlink: true}, nil
}

// Path returns the path of the socket file.
func (l *Listener) Path() string { return l.path }

// SetUnlinkOnClose sets whether Close removes the socket file (by default it does).
func (l *Listener) SetUnlinkOnClose(unlink bool) {
	l.mu.Lock()
	l.unlink = unlink
	l.mu.Unlock()
}

// Close stops listening and removes the socket file if it is still the one Listen made. It is
// idempotent.
func (l *Listener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		l.mu.Lock()
		unlink := l.unlink
		l.mu.Unlock()
		if unlink {
			sockfile.Remove(l.path, l.node)
		}
	})
	return err
}
