// SPDX-License-Identifier: GPL-2.0-or-later

package frame

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
}

// A Raw Endpoint was opened raw (see RawDesc) and lends its descriptors to a copy loop. The loop must
// duplicate them (Close releases the originals), must be the Endpoint's only reader and writer while it
// runs, and must not change their modes. RawDesc reports false when the Endpoint has no raw descriptor
// (it was opened the ordinary way, or it is closed).
type Raw interface {
	RawDesc() (RawDesc, bool)
}
