// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/plug"
)

// ErrNotPipe is returned by OpenStdio when stdin or stdout is not a pipe (or a socket): the
// reference's "Error on stdin: it is not a pipe".
var ErrNotPipe = errors.New("Error on stdin: it is not a pipe")

// Stdio is the pair of sides of the stdin/stdout modes, opened by OpenStdio.
type Stdio struct {
	L, R          frame.Endpoint // Join's a and b: frames from L go LR
	Bidirectional bool
	undo          []func()
}

// OpenStdio opens the sides of wirefilter's stdin/stdout modes (vde-protocol.md 10.4). When the
// environment variable ALTERNATE_STDIN names an open descriptor (a dpipe middle command), the
// filter is bidirectional: L reads stdin and writes stdout, R reads ALTERNATE_STDIN and writes
// ALTERNATE_STDOUT. Otherwise it is monodirectional: L reads stdin, R writes stdout. Both stdin and
// stdout must be pipes or sockets (ErrNotPipe). The sides are raw VDE streams for pkg/relay's
// poll(2) loop; Close puts the descriptors' modes back.
func OpenStdio(getenv func(string) string) (*Stdio, error) {
	for _, fd := range []int{0, 1} {
		if !pipeLike(fd) {
			return nil, ErrNotPipe
		}
	}
	s := &Stdio{}
	altIn, okIn := fdEnv(getenv("ALTERNATE_STDIN"))
	altOut, okOut := fdEnv(getenv("ALTERNATE_STDOUT"))
	var err error
	if okIn && okOut {
		s.Bidirectional = true
		if s.L, err = s.stream(0, 1); err == nil {
			s.R, err = s.stream(altIn, altOut)
		}
	} else {
		var null int
		var p [2]int
		if null, err = unix.Open(os.DevNull, unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
			return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		s.undo = append(s.undo, func() { unix.Close(null) })
		if err = unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			s.Close()
			return nil, fmt.Errorf("pipe: %w", err)
		}
		// R's input is a pipe nobody writes to: the right side never sends.
		s.undo = append(s.undo, func() { unix.Close(p[0]); unix.Close(p[1]) })
		if s.L, err = s.stream(0, null); err == nil {
			s.R, err = s.stream(p[0], 1)
		}
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// pipeLike reports whether fd is a pipe or a socket.
func pipeLike(fd int) bool {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return false
	}
	t := st.Mode & syscall.S_IFMT
	return t == syscall.S_IFIFO || t == syscall.S_IFSOCK
}

// fdEnv parses a descriptor number from the environment and checks that it is open.
func fdEnv(v string) (int, bool) {
	if v == "" {
		return 0, false
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return 0, false
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return fd, err == nil
}

// stream returns the VDE stream read from rfd and written to wfd, on non-blocking duplicates.
func (s *Stdio) stream(rfd, wfd int) (frame.Endpoint, error) {
	dr, err := unix.FcntlInt(uintptr(rfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup %d: %w", rfd, err)
	}
	dw, err := unix.FcntlInt(uintptr(wfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(dr)
		return nil, fmt.Errorf("dup %d: %w", wfd, err)
	}
	// The mode belongs to the open file description, shared with the originals (and with whoever
	// gave them to us): it is put back through the originals, which stay open.
	for _, fd := range []int{rfd, wfd} {
		if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil && fl&unix.O_NONBLOCK == 0 &&
			unix.SetNonblock(fd, true) == nil {
			s.undo = append(s.undo, func() { unix.SetNonblock(fd, false) })
		}
	}
	ep, err := plug.NewRawStream(dr, dw, true)
	if err != nil {
		unix.Close(dr)
		unix.Close(dw)
		return nil, err
	}
	return ep, nil
}

// Close closes both sides (relay.Join has usually done so) and restores the descriptors' modes.
func (s *Stdio) Close() error {
	if s.L != nil {
		s.L.Close()
	}
	if s.R != nil {
		s.R.Close()
	}
	for i := len(s.undo) - 1; i >= 0; i-- {
		s.undo[i]()
	}
	s.undo = nil
	return nil
}
