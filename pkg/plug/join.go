// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/govde/govde/pkg/frame"
)

// Join copies frames both ways between a and b until one side ends (its ReadFrame or WriteFrame fails)
// or ctx is done, then closes both and waits for the copies to stop. Frames shorter than an Ethernet
// header (frame.HeaderLen) are dropped in both directions, as vde_plug drops them from the network.
//
// It returns nil when the end was an orderly one: end of stream (io.EOF, even inside a record), a peer
// hang-up (EPIPE, ECONNRESET), a switch closing the control stream, or ctx. Any other error is returned.
func Join(ctx context.Context, a, b frame.Endpoint) error {
	errc := make(chan error, 2)
	go func() { errc <- pump(b, a) }()
	go func() { errc <- pump(a, b) }()
	var err error
	got := 0
	select {
	case err = <-errc:
		got = 1
	case <-ctx.Done():
	}
	a.Close()
	b.Close()
	for ; got < 2; got++ {
		if e := <-errc; err == nil && got == 0 {
			err = e
		}
	}
	if orderly(err) {
		return nil
	}
	return err
}

// pump copies frames from src to dst with its own buffer, until an error.
func pump(dst, src frame.Endpoint) error {
	buf := make([]byte, frame.MaxLen)
	for {
		n, err := src.ReadFrame(buf)
		if err != nil {
			return err
		}
		if n < frame.HeaderLen {
			continue
		}
		if err := dst.WriteFrame(buf[:n]); err != nil {
			return err
		}
	}
}

// orderly reports whether err is a normal way for a plug to end.
func orderly(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
