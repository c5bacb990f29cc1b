// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/pkg/frame"
)

// parseFD parses the descriptor number of seqpacket://FD: decimal, 0x hexadecimal or 0 octal, as
// strtol(…, 0) reads it, and not negative.
func parseFD(s string) (int, error) {
	n, err := strconv.ParseInt(s, 0, 32)
	if err != nil || n < 0 {
		return 0, invalid(fmt.Sprintf("seqpacket://%s: want a file descriptor number", s))
	}
	return int(n), nil
}

// A Seqpacket is an Endpoint over an inherited SOCK_SEQPACKET socket (seqpacket://FD): one frame per
// packet, as vdeplug4's seqpacket module. Zero-length packets are never sent; one received is skipped.
// ReadFrame returns io.EOF once the peer has closed its end. ReadFrame must not be called concurrently
// with itself; WriteFrame is safe for concurrent use.
type Seqpacket struct {
	c       *net.UnixConn
	rc      syscall.RawConn
	dropped atomic.Uint64
}

var _ frame.Endpoint = (*Seqpacket)(nil)

// OpenSeqpacket takes over descriptor fd, which must be a connected SOCK_SEQPACKET (or SOCK_DGRAM)
// unix socket: the descriptor number is closed (the Endpoint works on a close-on-exec duplicate, so
// that commands started later do not inherit it).
func OpenSeqpacket(fd int) (*Seqpacket, error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		if errors.Is(err, unix.ENOTSOCK) || errors.Is(err, unix.EBADF) {
			return nil, &errnoError{err.(syscall.Errno), fmt.Sprintf("descriptor %d is not an open socket", fd)}
		}
		return nil, fmt.Errorf("descriptor %d: %w", fd, err)
	}
	if typ != unix.SOCK_SEQPACKET && typ != unix.SOCK_DGRAM {
		return nil, &errnoError{syscall.EPROTOTYPE, fmt.Sprintf("descriptor %d is a socket of type %d, want SOCK_SEQPACKET", fd, typ)}
	}
	f := os.NewFile(uintptr(fd), "seqpacket:"+strconv.Itoa(fd))
	fc, err := net.FileConn(f) // a close-on-exec duplicate
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("descriptor %d: %w", fd, err)
	}
	c, ok := fc.(*net.UnixConn)
	if !ok {
		fc.Close()
		return nil, &errnoError{syscall.EAFNOSUPPORT, fmt.Sprintf("descriptor %d is not a unix socket", fd)}
	}
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	return &Seqpacket{c: c, rc: rc}, nil
}

// ReadFrame implements frame.Endpoint. A packet longer than b is truncated.
func (s *Seqpacket) ReadFrame(b []byte) (int, error) {
	for {
		n, err := s.c.Read(b)
		switch {
		case err == nil && n > 0:
			return n, nil
		case err == nil || errors.Is(err, io.EOF):
			// recv(2) returns 0 for an empty packet and for the peer's close alike: tell them apart.
			if s.hungUp() {
				return 0, io.EOF
			}
		case errors.Is(err, net.ErrClosed):
			return 0, fmt.Errorf("seqpacket read: %w", net.ErrClosed)
		default:
			return 0, err
		}
	}
}

// hungUp reports whether the peer has closed its end.
func (s *Seqpacket) hungUp() bool {
	hup := true
	s.rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: pollRDHUP}}
		if n, err := unix.Poll(p, 0); err == nil {
			hup = n > 0 && p[0].Revents&(pollRDHUP|unix.POLLHUP|unix.POLLERR) != 0
		}
	})
	return hup
}

// WriteFrame implements frame.Endpoint: it sends b as one packet and waits while the socket's buffer
// is full. Empty frames are not sent. It fails once the Endpoint is closed or the peer has gone.
func (s *Seqpacket) WriteFrame(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := s.c.Write(b); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("seqpacket write: %w", net.ErrClosed)
		}
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			return err
		}
		s.dropped.Add(1)
	}
	return nil
}

// Dropped returns the number of frames that could not be sent (too long for the socket, say).
func (s *Seqpacket) Dropped() uint64 { return s.dropped.Load() }

// Close implements frame.Endpoint.
func (s *Seqpacket) Close() error { return s.c.Close() }
