// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// openQEMU opens qemu+unix:// or qemu+tcp://: QEMU's -netdev stream framing (4-byte big-endian length)
// as a client, or as a server that QEMU's "-netdev stream,server=off" connects to.
func openQEMU(ctx context.Context, u *URL, gid int, timeout time.Duration) (frame.Endpoint, error) {
	network := "unix"
	if u.Scheme == "qemu+tcp" {
		network = "tcp"
	}
	if !u.Server {
		d := net.Dialer{Timeout: timeout}
		c, err := d.DialContext(ctx, network, u.Addr)
		if err != nil {
			return nil, err
		}
		return stream.NewQEMUConn(c, c, c), nil
	}
	if network == "unix" {
		if err := removeStaleStream(u.Addr); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen(network, u.Addr)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if err := setPerm(u.Addr, u.Mode, gid); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return &QEMUServer{ln: ln}, nil
}

// removeStaleStream removes a stream socket at path that nobody listens on, and fails with EADDRINUSE
// when somebody does.
func removeStaleStream(path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return nil
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("listen %s: %w", path, syscall.EADDRINUSE)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		os.Remove(path)
	}
	return nil
}

// A QEMUServer listens for QEMU -netdev stream clients and serves one at a time, as QEMU's own server
// mode does: while a client is connected further ones wait in the listen backlog, and when it goes away
// the server takes the next. ReadFrame blocks until a client connects and sends a frame; frames written
// while no client is connected are dropped. ReadFrame must not be called concurrently with itself;
// WriteFrame is safe for concurrent use. Close closes the listener and the current client (a unix
// socket file is removed).
type QEMUServer struct {
	ln       net.Listener
	mu       sync.Mutex
	cur      *stream.Conn // guarded by mu
	closed   atomic.Bool
	dropped  atomic.Uint64
	oversize atomic.Uint64 // of the clients gone (the current one counts its own)
	once     sync.Once
}

var _ frame.Endpoint = (*QEMUServer)(nil)

// Addr returns the listening address.
func (s *QEMUServer) Addr() net.Addr { return s.ln.Addr() }

func (s *QEMUServer) current() *stream.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// ReadFrame implements frame.Endpoint.
func (s *QEMUServer) ReadFrame(b []byte) (int, error) {
	for {
		c := s.current()
		if c == nil {
			nc, err := s.ln.Accept()
			if err != nil {
				if s.closed.Load() || errors.Is(err, net.ErrClosed) {
					return 0, fmt.Errorf("qemu server: %w", net.ErrClosed)
				}
				return 0, err
			}
			c = stream.NewQEMUConn(nc, nc, nc)
			s.mu.Lock()
			if s.closed.Load() {
				s.mu.Unlock()
				c.Close()
				return 0, fmt.Errorf("qemu server: %w", net.ErrClosed)
			}
			s.cur = c
			s.mu.Unlock()
		}
		n, err := c.ReadFrame(b)
		if err == nil {
			return n, nil
		}
		s.mu.Lock()
		if s.cur == c {
			s.cur = nil
		}
		// A record over stream.QEMUMaxRecord ends the client, as in QEMU; it is counted too.
		s.oversize.Add(c.Oversize())
		if errors.Is(err, stream.ErrOversize) {
			s.oversize.Add(1)
		}
		s.mu.Unlock()
		c.Close()
		if s.closed.Load() {
			return 0, fmt.Errorf("qemu server: %w", net.ErrClosed)
		}
	}
}

// WriteFrame implements frame.Endpoint. Without a client the frame is dropped and counted.
func (s *QEMUServer) WriteFrame(b []byte) error {
	if s.closed.Load() {
		return fmt.Errorf("qemu server: %w", net.ErrClosed)
	}
	c := s.current()
	if c == nil || c.WriteFrame(b) != nil {
		s.dropped.Add(1)
	}
	return nil
}

// Dropped returns the number of frames written while no client could take them.
func (s *QEMUServer) Dropped() uint64 { return s.dropped.Load() }

// Oversize returns the number of records from clients that were longer than frame.MaxLen: those up to
// stream.QEMUMaxRecord are skipped and the next record delivered; a longer one ends that client, as it
// does in QEMU, and the server takes the next.
func (s *QEMUServer) Oversize() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.oversize.Load()
	if s.cur != nil {
		n += s.cur.Oversize()
	}
	return n
}

// Close implements frame.Endpoint.
func (s *QEMUServer) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		err = s.ln.Close()
		s.mu.Lock()
		if s.cur != nil {
			s.cur.Close()
		}
		s.mu.Unlock()
	})
	return err
}
