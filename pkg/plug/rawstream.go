// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// A rawStream is the VDE 2-byte stream over two raw descriptors (a pipe pair, stdin/stdout): a
// frame.Raw for pkg/relay's poll(2) loop, and an ordinary frame.Endpoint through stream.Conn otherwise.
type rawStream struct {
	*stream.Conn
	in, out *rawfd.FD
	restore func() // puts back the descriptors' modes after Close; may be nil
	once    sync.Once
}

var (
	_ frame.Endpoint = (*rawStream)(nil)
	_ frame.Raw      = (*rawStream)(nil)
)

// newRawStream wraps rfd and wfd; own says Close closes them.
func newRawStream(rfd, wfd int, own bool) (*rawStream, error) {
	in, err := rawfd.New(rfd, own, false)
	if err != nil {
		return nil, err
	}
	out, err := rawfd.New(wfd, own && wfd != rfd, false) // one descriptor is closed once
	if err != nil {
		in.Close()
		return nil, err
	}
	s := &rawStream{in: in, out: out}
	s.Conn = stream.NewConn(in, out, nil)
	return s, nil
}

// NewRawStream returns the VDE 2-byte stream read from rfd and written to wfd (the two ends of a socket,
// the same descriptor twice, or a pipe pair) as a raw Endpoint: a frame.Raw for pkg/relay's poll(2)
// loop that also works as an ordinary Endpoint. The descriptors' modes are left alone and they must not
// be registered with the Go runtime's poller (take them from unix.Pipe2, unix.Socketpair, or a dup).
// When own is true Close closes them.
func NewRawStream(rfd, wfd int, own bool) (frame.Endpoint, error) {
	s, err := newRawStream(rfd, wfd, own)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// RawDesc implements frame.Raw.
func (s *rawStream) RawDesc() (frame.RawDesc, bool) {
	if s.in.Closed() {
		return frame.RawDesc{}, false
	}
	return frame.RawDesc{Read: s.in.Fd(), Write: s.out.Fd(), Cancel: s.in.CancelFd(), Stream: true}, true
}

// Close implements frame.Endpoint; it is idempotent.
func (s *rawStream) Close() error {
	s.once.Do(func() {
		s.Conn.Close()
		s.in.Shutdown()
		s.out.Shutdown()
		s.out.Close() // waits for a blocked write, then the reader, before the descriptor goes
		s.in.Close()
		if s.restore != nil {
			s.restore()
		}
	})
	return nil
}

// OpenStdio returns the VDE 2-byte stream on stdin (fd 0) and stdout (fd 1) as a raw Endpoint (a
// frame.Raw, see Options.Raw). A pipe or socket is switched to non-blocking mode until Close, which puts
// the modes back (they are shared with the processes that gave us these descriptors); a terminal is left
// alone. Close leaves both descriptors open.
func OpenStdio() (frame.Endpoint, error) {
	var undo []int
	for _, fd := range []int{0, 1} {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			continue
		}
		if t := st.Mode & syscall.S_IFMT; t != syscall.S_IFIFO && t != syscall.S_IFSOCK {
			continue
		}
		if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil && fl&unix.O_NONBLOCK == 0 &&
			unix.SetNonblock(fd, true) == nil {
			undo = append(undo, fd)
		}
	}
	restore := func() {
		for _, fd := range undo {
			unix.SetNonblock(fd, false)
		}
	}
	s, err := newRawStream(0, 1, false)
	if err != nil {
		restore()
		return nil, err
	}
	s.restore = restore
	return s, nil
}
