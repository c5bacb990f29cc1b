// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"fmt"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/pkg/impair"
)

// A Blink sends wirefilter's blink datagrams, "ID LR|RL|-- SIZE\n" (SIZE counts the 2-byte stream
// header, "--" for a monodirectional filter), to a unix datagram socket, one for each frame sent.
// A socket that is missing or full loses the datagram, as in the reference. Safe for concurrent use.
type Blink struct {
	Path string // the socket datagrams are sent to
	ID   string // the first word of each datagram

	fd   int
	addr *unix.SockaddrUnix
	mu   sync.Mutex // guards buf
	buf  []byte
}

// NewBlink opens an unbound datagram socket for sending to path; id "" means the reference's
// default, the process id as "%06d".
func NewBlink(path, id string, pid int) (*Blink, error) {
	if id == "" {
		id = fmt.Sprintf("%06d", pid)
	}
	syscall.ForkLock.RLock() // no exec may inherit it before it is close-on-exec
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("blink socket: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("blink socket: %w", err)
	}
	return &Blink{Path: path, ID: id, fd: fd, addr: &unix.SockaddrUnix{Name: path}, buf: make([]byte, 0, 64+len(id))}, nil
}

func (b *Blink) send(bidir bool, d impair.Dir, size int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := append(b.buf[:0], b.ID...)
	switch {
	case !bidir:
		m = append(m, " -- "...)
	case d == impair.RL:
		m = append(m, " RL "...)
	default:
		m = append(m, " LR "...)
	}
	m = strconv.AppendInt(m, int64(size), 10)
	m = append(m, '\n')
	b.buf = m
	unix.Sendto(b.fd, m, unix.MSG_DONTWAIT, b.addr)
}

// Close closes the socket.
func (b *Blink) Close() error {
	if b == nil {
		return nil
	}
	return unix.Close(b.fd)
}
