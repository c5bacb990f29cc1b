// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"os"
	"syscall"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// stdinCloser makes a blocked read of the non-blocking stdin return (by a deadline in the past)
// without closing descriptor 0, which stays usable for the rest of the process.
type stdinCloser struct{ f *os.File }

func (s stdinCloser) Close() error {
	s.f.SetReadDeadline(time.Unix(1, 0))
	return nil
}

// openStdio returns the 2-byte VDE stream on stdin/stdout, and a function that puts stdin back in
// blocking mode. Stdin is made non-blocking when it is a pipe or a socket (never a terminal, whose
// mode the shell shares) so that the runtime poller can interrupt a pending read when the TAP side ends.
func openStdio() (frame.Endpoint, func()) {
	in := os.Stdin
	restore := func() {}
	var st syscall.Stat_t
	if syscall.Fstat(0, &st) != nil {
		return stream.NewConn(in, os.Stdout, nil), restore
	}
	if t := st.Mode & syscall.S_IFMT; (t == syscall.S_IFIFO || t == syscall.S_IFSOCK) && syscall.SetNonblock(0, true) == nil {
		in = os.NewFile(0, "stdin")
		restore = func() { syscall.SetNonblock(0, false) }
	}
	return stream.NewConn(in, os.Stdout, stdinCloser{in}), restore
}
