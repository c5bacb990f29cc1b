// SPDX-License-Identifier: GPL-2.0-or-later

package tap

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/govde/govde/pkg/frame"
)

// JoinStats counts what Join moved. All fields are safe to read while Join runs.
type JoinStats struct {
	// AtoB and BtoA count frames written to the other side.
	AtoB, BtoA atomic.Uint64
	// DropsAtoB and DropsBtoA count frames the other side refused with a transient error
	// (a TAP that is down answers EIO, for instance).
	DropsAtoB, DropsBtoA atomic.Uint64
}

// Join copies frames both ways between a and b (plug2tap's TAP device and switch plug) with one
// goroutine per direction and one frame.MaxLen buffer each, so that it does not allocate per frame.
// It takes ownership of a and b and closes both before it returns.
//
// On Linux, when one side is a *Device and the other a VDE datagram connection (a *vde.Conn: it has
// RawData, Done and HungUp), Join instead runs one loop, on its own locked thread, that waits in
// poll(2) on both descriptors and moves frames with non-blocking reads and writes, as vde_plug2tap
// does: no frame then costs a wake-up of another thread. That loop takes the two descriptors out of
// the runtime poller, so the endpoints must not be read or written by anyone else while Join runs;
// closing either of them ends it. A frame the switch has no room for waits (the TAP is not read
// meanwhile) instead of being dropped, as WriteFrame would block.
//
// Join returns when either side's ReadFrame fails or ctx ends. It returns nil when the ending was
// orderly (io.EOF: the switch hung up or the stream ended; net.ErrClosed; ctx done), and the read
// error otherwise. A write error that means the other side is gone (net.ErrClosed, EPIPE) ends the
// join too; other write errors drop that one frame and are counted in st, which may be nil.
func Join(ctx context.Context, a, b frame.Endpoint, st *JoinStats) error {
	if st == nil {
		st = new(JoinStats)
	}
	if ok, err := joinFast(ctx, a, b, st); ok {
		return err
	}
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	stop := func(err error) {
		once.Do(func() {
			firstErr = err
			a.Close()
			b.Close()
		})
	}
	wg.Go(func() { stop(pump(a, b, &st.AtoB, &st.DropsAtoB)) })
	wg.Go(func() { stop(pump(b, a, &st.BtoA, &st.DropsBtoA)) })
	unwatch := context.AfterFunc(ctx, func() { stop(nil) })
	wg.Wait()
	unwatch()
	if orderly(firstErr) {
		return nil
	}
	return firstErr
}

// pump copies frames from src to dst until a read fails or dst is gone, and returns why it stopped.
func pump(src, dst frame.Endpoint, sent, drops *atomic.Uint64) error {
	buf := make([]byte, frame.MaxLen)
	for {
		n, err := src.ReadFrame(buf)
		if err != nil {
			return err
		}
		if err := dst.WriteFrame(buf[:n]); err != nil {
			if gone(err) {
				return err
			}
			drops.Add(1)
			continue
		}
		sent.Add(1)
	}
}

// orderly reports whether err is a normal way for a join to end.
func orderly(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || gone(err)
}

// gone reports whether a write error means the endpoint will never accept frames again.
func gone(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTCONN)
}
