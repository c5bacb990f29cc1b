// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// ErrInUse reports that a live server already listens on the management socket path.
var ErrInUse = errors.New("address in use by a running server")

// Listen binds the management socket at path with permissions mode and group gid (-1: unchanged).
// A stale socket file (nobody accepts on it) is replaced; a live one gives an error wrapping ErrInUse.
// Closing the listener removes the socket file.
func Listen(path string, mode os.FileMode, gid int) (*net.UnixListener, error) {
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	ln, err := net.ListenUnix("unix", addr)
	if err != nil && errors.Is(err, syscall.EADDRINUSE) {
		if c, derr := net.DialTimeout("unix", path, time.Second); derr == nil {
			c.Close()
			return nil, fmt.Errorf("mgmt socket %s: %w", path, ErrInUse)
		}
		if rerr := os.Remove(path); rerr != nil {
			return nil, fmt.Errorf("mgmt socket %s: %w", path, rerr)
		}
		ln, err = net.ListenUnix("unix", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("mgmt socket %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("mgmt socket %s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("mgmt socket %s: %w", path, err)
		}
	}
	return ln, nil
}
