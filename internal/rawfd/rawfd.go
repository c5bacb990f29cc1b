// SPDX-License-Identifier: GPL-2.0-or-later

// Package rawfd is a descriptor kept out of the Go runtime's poller, for endpoints opened raw (see
// frame.RawDesc): a blocked Read or Write waits in poll(2) on the descriptor and on a pipe that Close
// signals, as wireguard-go's rwcancel does, so that Close unblocks it without the runtime.
package rawfd

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned by I/O after Close (or Shutdown); it wraps net.ErrClosed.
var ErrClosed = fmt.Errorf("raw fd: %w", net.ErrClosed)

// An FD is a descriptor read and written with plain system calls. Read must not be called concurrently
// with itself; Write is safe for concurrent use; Close unblocks both and is idempotent.
type FD struct {
	fd    int
	efd   int  // read end of the cancel pipe: readable once Close or Shutdown was called
	cw    int  // its write end
	nb    bool // fd is non-blocking: try the call first, poll on EAGAIN
	own   bool // Close closes fd
	dgram bool // one packet per read: a 0-byte read is an empty packet, not the end

	mu     sync.RWMutex // read-held by I/O, held by Close while it releases the descriptors
	wmu    sync.Mutex   // serialises writes
	closed atomic.Bool
	once   sync.Once
	rpoll  [2]unix.PollFd
	wpoll  [2]unix.PollFd
}

// New wraps fd, which may be blocking or not (its mode is left alone). When own is true Close closes
// fd; otherwise (stdin, stdout) fd stays open. dgram says fd moves packets (a datagram socket, a TAP):
// Read then returns 0, nil for an empty packet instead of io.EOF.
func New(fd int, own, dgram bool) (*FD, error) {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, err
	}
	var p [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("cancel pipe: %w", err)
	}
	f := &FD{fd: fd, efd: p[0], cw: p[1], own: own, dgram: dgram, nb: fl&unix.O_NONBLOCK != 0}
	f.rpoll = [2]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(f.efd), Events: unix.POLLIN}}
	f.wpoll = [2]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}, {Fd: int32(f.efd), Events: unix.POLLIN}}
	return f, nil
}

// Fd returns the descriptor. It stays valid until Close returns.
func (f *FD) Fd() int { return f.fd }

// CancelFd returns a descriptor that becomes readable (and stays so) once Close or Shutdown is called.
func (f *FD) CancelFd() int { return f.efd }

// Closed reports whether Close or Shutdown was called.
func (f *FD) Closed() bool { return f.closed.Load() }

// Read reads into b, waiting for data; it returns 0, io.EOF at the end of a stream. It does not allocate.
func (f *FD) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for {
		if f.closed.Load() {
			return 0, ErrClosed
		}
		if !f.nb {
			if err := f.wait(&f.rpoll); err != nil {
				return 0, err
			}
		}
		n, _, e := syscall.Syscall(syscall.SYS_READ, uintptr(f.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			if n == 0 && !f.dgram {
				return 0, io.EOF
			}
			return int(n), nil
		case syscall.EINTR:
		case syscall.EAGAIN:
			if err := f.wait(&f.rpoll); err != nil {
				return 0, err
			}
		default:
			return 0, f.mapErr(e)
		}
	}
}

// Write writes all of b (for a datagram or TAP descriptor, one packet), waiting for room.
func (f *FD) Write(b []byte) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	f.wmu.Lock()
	defer f.wmu.Unlock()
	done := 0
	for done < len(b) || len(b) == 0 {
		if f.closed.Load() {
			return done, ErrClosed
		}
		if !f.nb {
			if err := f.wait(&f.wpoll); err != nil {
				return done, err
			}
		}
		p := b[done:]
		var ptr unsafe.Pointer
		if len(p) > 0 {
			ptr = unsafe.Pointer(&p[0])
		}
		n, _, e := syscall.Syscall(syscall.SYS_WRITE, uintptr(f.fd), uintptr(ptr), uintptr(len(p)))
		switch e {
		case 0:
			done += int(n)
			if len(b) == 0 {
				return 0, nil
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			if err := f.wait(&f.wpoll); err != nil {
				return done, err
			}
		default:
			return done, f.mapErr(e)
		}
	}
	return done, nil
}

// wait blocks in poll(2) until the descriptor is ready or Close signals the eventfd. The poll set is
// the caller's own (rpoll for the reader, wpoll under wmu for writers).
func (f *FD) wait(p *[2]unix.PollFd) error {
	for {
		p[0].Revents, p[1].Revents = 0, 0
		_, _, e := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&p[0])), 2, ^uintptr(0))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return f.mapErr(e)
		}
		if p[1].Revents != 0 || f.closed.Load() {
			return ErrClosed
		}
		return nil
	}
}

// mapErr maps EBADF and EBADFD (the descriptor or, for a TAP, the interface went away) to ErrClosed and
// returns other errnos bare, which does not allocate.
func (f *FD) mapErr(e syscall.Errno) error {
	if e == syscall.EBADF || e == ebadfd || f.closed.Load() {
		return ErrClosed
	}
	return e
}

// Control runs fn with the descriptor, which stays open until fn returns; it returns ErrClosed without
// running fn once Close or Shutdown was called. fn must not block for long: Close waits for it. It is for
// callers that do their own non-blocking system calls on the descriptor (recvmmsg, sendmmsg) from a poll
// loop of their own.
func (f *FD) Control(fn func(fd int)) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed.Load() {
		return ErrClosed
	}
	fn(f.fd)
	return nil
}

// Shutdown makes blocked and later I/O return ErrClosed, keeping the descriptors open.
func (f *FD) Shutdown() {
	if f.closed.Swap(true) {
		return
	}
	unix.Write(f.cw, []byte{1})
}

// Close shuts the FD down, waits for blocked I/O to return and releases the descriptors. It is
// idempotent.
func (f *FD) Close() error {
	var err error
	f.once.Do(func() {
		f.Shutdown()
		f.mu.Lock()
		if f.own {
			err = unix.Close(f.fd)
		}
		unix.Close(f.efd)
		unix.Close(f.cw)
		f.mu.Unlock()
	})
	return err
}
