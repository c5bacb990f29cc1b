// SPDX-License-Identifier: GPL-2.0-or-later

// Package frametest provides in-memory frame.Endpoints for tests.
package frametest

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// Pipe returns two connected Endpoints: a frame written to one is read from the other. Each direction
// buffers up to depth frames; WriteFrame blocks when the buffer is full (use depth large enough, or read).
func Pipe(depth int) (a, b *Endpoint) {
	ab := make(chan []byte, depth)
	ba := make(chan []byte, depth)
	done := make(chan struct{})
	once := new(sync.Once)
	a = &Endpoint{in: ba, out: ab, done: done, once: once}
	b = &Endpoint{in: ab, out: ba, done: done, once: once}
	return a, b
}

// An Endpoint is one end of a Pipe. Closing either end closes both.
type Endpoint struct {
	in, out chan []byte
	done    chan struct{}
	once    *sync.Once
}

var _ frame.Endpoint = (*Endpoint)(nil)

// ReadFrame implements frame.Endpoint.
func (e *Endpoint) ReadFrame(b []byte) (int, error) {
	select {
	case p := <-e.in:
		return copy(b, p), nil
	case <-e.done:
		return 0, fmt.Errorf("frametest read: %w", net.ErrClosed)
	}
}

// WriteFrame implements frame.Endpoint. It copies b.
func (e *Endpoint) WriteFrame(b []byte) error {
	p := append([]byte(nil), b...)
	select {
	case <-e.done:
		return fmt.Errorf("frametest write: %w", net.ErrClosed)
	default:
	}
	select {
	case e.out <- p:
		return nil
	case <-e.done:
		return fmt.Errorf("frametest write: %w", net.ErrClosed)
	}
}

// Close implements frame.Endpoint; it closes both ends.
func (e *Endpoint) Close() error {
	e.once.Do(func() { close(e.done) })
	return nil
}

// ReadWithin reads one frame from ep, giving up after d with an error wrapping os.ErrDeadlineExceeded.
// The read buffer has room beyond frame.MaxLen (and a tag), so an oversized frame shows as such. On a
// time-out the read goroutine stays blocked until ep is closed or delivers a frame, which it discards.
func ReadWithin(ep frame.Endpoint, d time.Duration) ([]byte, error) {
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b := make([]byte, frame.MaxLen+frame.TagLen+1)
		n, err := ep.ReadFrame(b)
		ch <- res{b[:n], err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-time.After(d):
		return nil, fmt.Errorf("no frame within %v: %w", d, os.ErrDeadlineExceeded)
	}
}
