// SPDX-License-Identifier: GPL-2.0-or-later

package frame

import "syscall"

// The optional capabilities of an Endpoint. A user finds them with a type assertion on the Endpoint
// (ep.(frame.Hanger)); an Endpoint that lacks one simply does not implement it.

// A Hanger can tell that its peer hung up without a frame being read, as a VDE switch does by closing
// the control stream of a port (a *vde.Conn).
type Hanger interface {
	// Done returns a channel closed when the peer hangs up or the Endpoint is closed.
	Done() <-chan struct{}
	// HungUp reports whether Done was closed by the peer (rather than by Close).
	HungUp() bool
}

// An MTUer reports the MTU of the link behind the Endpoint (a TAP interface): it carries frames of up
// to MTU + HeaderLen bytes (+ TagLen when tagged).
type MTUer interface {
	MTU() (int, error)
}

// RawDesc describes the descriptors behind an Endpoint opened raw: plain descriptors, never registered
// with the Go runtime's poller, that a poll(2) loop may read and write itself (pkg/relay does).
type RawDesc struct {
	// Read and Write are the descriptors frames are read from and written to; they are the same for a
	// socket or a TAP, and differ for a pipe pair or stdin/stdout. Either may be blocking or non-blocking.
	Read, Write int
	// Cancel becomes readable (and stays so) once the Endpoint is closed.
	Cancel int
	// Stream says that the bytes carry VDE stream records (a 2-byte big-endian length, then the frame);
	// otherwise every read or write moves one whole frame (a TAP, a datagram socket).
	Stream bool
	// Framer, when not nil, moves the frames: the descriptors do not carry one plain frame per read(2)
	// and write(2) (a TAP with offloads), so a copy loop polls them but reads and writes through Framer.
	Framer RawFramer
}

// A RawFramer reads and writes the frames of a raw Endpoint whose descriptor carries something else
// than one plain frame per read(2) and write(2): a TAP with offloads reads and writes a virtio-net
// header and up to 64 KB (pkg/tap, pkg/offload). The copy loop passes the descriptor it polls (its
// duplicate of RawDesc.Read or Write). The methods never block (EAGAIN instead), return a bare errno (0
// for success), do not allocate, and must be called from one goroutine at a time.
type RawFramer interface {
	// ReadFrameFrom copies the next frame into b (at least MaxLen bytes): one left over from the last
	// read(2) of fd or, when none is, one from a new read(2). It returns 0, EAGAIN when fd has nothing.
	ReadFrameFrom(fd int, b []byte) (int, syscall.Errno)
	// Buffered reports whether frames from the last read(2) wait for ReadFrameFrom.
	Buffered() bool
	// WriteFrameTo writes f to fd, or keeps a copy of it to join with the frames that follow; a
	// failure may be that of an earlier frame kept. FlushTo writes what was kept: call it at the end
	// of every batch.
	WriteFrameTo(fd int, f []byte) syscall.Errno
	FlushTo(fd int) syscall.Errno
}

// A Raw Endpoint was opened raw (see RawDesc) and lends its descriptors to a copy loop. The loop must
// duplicate them (Close releases the originals), must be the Endpoint's only reader and writer while it
// runs, and must not change their modes. RawDesc reports false when the Endpoint has no raw descriptor
// (it was opened the ordinary way, or it is closed).
type Raw interface {
	RawDesc() (RawDesc, bool)
}
