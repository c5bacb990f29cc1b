// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// A Dgram is an Endpoint over a datagram socket, one raw frame per datagram (ptp://, udp://).
// A datagram that cannot be sent (no peer yet, peer gone, buffers full) is dropped and counted, not
// reported: a plug keeps running while its peer comes and goes. ReadFrame must not be called
// concurrently with itself; WriteFrame is safe for concurrent use.
type Dgram struct {
	conn    net.Conn
	pc      net.PacketConn // set when sending with WriteTo
	to      net.Addr       // destination for WriteTo; nil when conn is connected
	remove  []string       // socket files to remove at Close
	dropped atomic.Uint64
	once    sync.Once
	err     error
}

var _ frame.Endpoint = (*Dgram)(nil)

// ReadFrame implements frame.Endpoint. A datagram longer than b is truncated.
func (d *Dgram) ReadFrame(b []byte) (int, error) {
	for {
		n, err := d.conn.Read(b)
		if err == nil {
			return n, nil
		}
		if errors.Is(err, net.ErrClosed) {
			return 0, fmt.Errorf("dgram read: %w", net.ErrClosed)
		}
		// A connected UDP socket reports an ICMP port unreachable for an earlier send on the next read.
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue
		}
		return 0, err
	}
}

// WriteFrame implements frame.Endpoint. It only fails once the Dgram is closed.
func (d *Dgram) WriteFrame(b []byte) error {
	var err error
	if d.to != nil {
		_, err = d.pc.WriteTo(b, d.to)
	} else {
		_, err = d.conn.Write(b)
	}
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("dgram write: %w", net.ErrClosed)
		}
		d.dropped.Add(1)
	}
	return nil
}

// Dropped returns the number of frames that could not be sent.
func (d *Dgram) Dropped() uint64 { return d.dropped.Load() }

// Close implements frame.Endpoint: it closes the socket and removes the socket files it created.
func (d *Dgram) Close() error {
	d.once.Do(func() {
		d.err = d.conn.Close()
		for _, p := range d.remove {
			os.Remove(p)
		}
	})
	return d.err
}

// openPTP opens ptp://path as vdeplug4 does: the first opener binds path and sends to path+; when path is
// already served, the second connects to path and binds path+. Stale sockets are removed.
func openPTP(path string, mode os.FileMode, gid int) (*Dgram, error) {
	peer := path + "+"
	inUse, err := probeDgram(path)
	if err != nil {
		return nil, err
	}
	if !inUse {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err == nil {
			if err := setPerm(path, mode, gid); err != nil {
				c.Close()
				os.Remove(path)
				return nil, err
			}
			return &Dgram{conn: c, pc: c, to: &net.UnixAddr{Name: peer, Net: "unixgram"}, remove: []string{path}}, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
	}
	if busy, err := probeDgram(peer); err != nil {
		return nil, err
	} else if busy {
		return nil, fmt.Errorf("ptp %s: both ends already in use: %w", path, syscall.EADDRINUSE)
	}
	c, err := net.DialUnix("unixgram", &net.UnixAddr{Name: peer, Net: "unixgram"}, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	if err := setPerm(peer, mode, gid); err != nil {
		c.Close()
		os.Remove(peer)
		return nil, err
	}
	return &Dgram{conn: c, remove: []string{peer}}, nil
}

// probeDgram reports whether a datagram socket at path is bound by a live process, removing a stale one.
func probeDgram(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return false, nil
	}
	c, err := net.DialTimeout("unixgram", path, time.Second)
	if err == nil {
		c.Close()
		return true, nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return false, err
		}
	}
	return false, nil
}

// openUDP binds local and sends every frame to remote.
func openUDP(local, remote string) (*Dgram, error) {
	la, err := net.ResolveUDPAddr("udp", local)
	if err != nil {
		return nil, err
	}
	ra, err := net.ResolveUDPAddr("udp", remote)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, err
	}
	return &Dgram{conn: c, pc: c, to: ra}, nil
}

// LocalAddr returns the address the socket is bound to.
func (d *Dgram) LocalAddr() net.Addr { return d.conn.LocalAddr() }

// A null endpoint drops what it is given and never receives.
type null struct {
	done chan struct{}
	once sync.Once
}

func newNull() *null { return &null{done: make(chan struct{})} }

func (n *null) ReadFrame(b []byte) (int, error) {
	<-n.done
	return 0, fmt.Errorf("null read: %w", net.ErrClosed)
}

func (n *null) WriteFrame(b []byte) error {
	select {
	case <-n.done:
		return fmt.Errorf("null write: %w", net.ErrClosed)
	default:
		return nil
	}
}

func (n *null) Close() error {
	n.once.Do(func() { close(n.done) })
	return nil
}
