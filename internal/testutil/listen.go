// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"net"
	"testing"
	"time"
)

// WaitListening waits until a Unix stream socket at path accepts connections. A real vde_switch creates
// DIR/ctl a moment before it listens, so the file existing is not enough.
func WaitListening(t testing.TB, path string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, "a listener on "+path, func() bool {
		c, err := net.DialTimeout("unix", path, 100*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}
