// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/pkg/frame"
)

// A link is what both ends hold once the handshake is done: a connected datagram socket carrying one frame
// per datagram, and the silent control stream whose readability or EOF ends the connection.
type link struct {
	data *net.UnixConn
	raw  *rawfd.FD // the data socket instead of data, for a client opened raw (DialOptions.Raw)
	ctl  *net.UnixConn

	done    chan struct{} // closed when the control stream ends (peer hang-up or our Close)
	closing chan struct{} // closed by Close
	hup     atomic.Bool   // the peer ended the control stream
	short   atomic.Uint64 // received datagrams shorter than an Ethernet header

	closeOnce sync.Once
	wg        sync.WaitGroup
	cleanup   func() // run by Close after the sockets are closed; may be nil
}

func newLink(data, ctl *net.UnixConn) *link {
	l := &link{data: data, ctl: ctl, done: make(chan struct{}), closing: make(chan struct{})}
	l.wg.Go(l.ctlLoop)
	return l
}

// newRawLink is newLink for a data socket kept out of the runtime poller.
func newRawLink(raw *rawfd.FD, ctl *net.UnixConn) *link {
	l := &link{raw: raw, ctl: ctl, done: make(chan struct{}), closing: make(chan struct{})}
	l.wg.Go(l.ctlLoop)
	return l
}

// ctlLoop waits for the control stream to become readable: nobody writes on it after the handshake, so
// any byte, EOF or error means the connection is over.
func (l *link) ctlLoop() {
	var b [64]byte
	l.ctl.Read(b[:])
	select {
	case <-l.closing:
	default:
		l.hup.Store(true)
		// Wake a blocked ReadFrame: datagram sockets have no EOF of their own.
		if l.raw != nil {
			l.raw.Shutdown()
		} else {
			l.data.SetReadDeadline(time.Unix(1, 0))
		}
	}
	close(l.done)
}

// ReadFrame reads one frame (one datagram) into b and returns its length. Datagrams shorter than an
// Ethernet header are dropped, as vdeplug4 and vde_switch do; a datagram longer than b is truncated.
// It returns io.EOF once the peer has closed the control stream, and an error wrapping net.ErrClosed
// after Close. It does not allocate.
func (l *link) ReadFrame(b []byte) (int, error) {
	for {
		var (
			n   int
			err error
		)
		if l.raw != nil {
			n, err = l.raw.Read(b)
		} else {
			n, err = l.data.Read(b)
		}
		if err != nil {
			if l.hup.Load() && (errors.Is(err, os.ErrDeadlineExceeded) || l.raw != nil && errors.Is(err, rawfd.ErrClosed)) {
				return 0, io.EOF
			}
			return 0, err
		}
		if n >= frame.HeaderLen {
			return n, nil
		}
		l.short.Add(1)
	}
}

// WriteFrame sends b as one datagram. It blocks while the peer's receive queue is full, and is safe for
// concurrent use. After Close it returns an error wrapping net.ErrClosed.
func (l *link) WriteFrame(b []byte) error {
	if l.raw != nil {
		_, err := l.raw.Write(b)
		return err
	}
	_, err := l.data.Write(b)
	return err
}

// SetWriteDeadline sets the deadline of writes on the data socket, including a batched write
// through RawData that waits for the socket to drain (a switch bounds its congestion waits so). A
// connection opened raw has no deadlines: it returns os.ErrNoDeadline.
func (l *link) SetWriteDeadline(t time.Time) error {
	if l.raw != nil {
		return os.ErrNoDeadline
	}
	return l.data.SetWriteDeadline(t)
}

// Close closes the data socket and the control stream, which tells the peer the connection is over. It
// unblocks ReadFrame and WriteFrame, waits for the internal goroutine and is idempotent.
func (l *link) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closing)
		if l.cleanup != nil {
			l.cleanup()
		}
		if l.raw != nil {
			err = l.raw.Close()
		} else {
			err = l.data.Close()
		}
		if e := l.ctl.Close(); err == nil {
			err = e
		}
		l.wg.Wait()
	})
	return err
}

// Done returns a channel that is closed when the control stream ends: the peer hung up, or Close was
// called.
func (l *link) Done() <-chan struct{} { return l.done }

// HungUp reports whether the peer ended the connection by closing (or writing on) the control stream.
func (l *link) HungUp() bool { return l.hup.Load() }

// Short returns the number of received datagrams dropped for being shorter than an Ethernet header.
func (l *link) Short() uint64 { return l.short.Load() }

// RawData returns the raw data socket, for batched I/O (recvmmsg/sendmmsg). The caller must not close it
// or change its blocking mode. It fails for a connection opened raw: see RawDesc.
func (l *link) RawData() (syscall.RawConn, error) {
	if l.raw != nil {
		return nil, errOpenedRaw
	}
	return l.data.SyscallConn()
}

// RawFD returns the data socket of a connection opened raw (DialOptions.Raw, Request.Raw), or nil. Its
// Control method gives the descriptor for the caller's own non-blocking system calls; the caller must
// not close it or change its mode.
func (l *link) RawFD() *rawfd.FD { return l.raw }

// errOpenedRaw is RawData's error for a connection opened raw.
var errOpenedRaw = errors.New("vde: connection opened raw: use RawDesc")

// RawDesc implements frame.Raw for a connection opened raw (DialOptions.Raw): the connected data socket
// (non-blocking, never registered with the runtime poller). The end of the control stream is reported by
// Done and HungUp.
func (l *link) RawDesc() (frame.RawDesc, bool) {
	if l.raw == nil || l.raw.Closed() {
		return frame.RawDesc{}, false
	}
	return frame.RawDesc{Read: l.raw.Fd(), Write: l.raw.Fd(), Cancel: l.raw.CancelFd()}, true
}
