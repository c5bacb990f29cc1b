// SPDX-License-Identifier: GPL-2.0-or-later

package frame

// An Endpoint moves whole Ethernet frames: a switch port, a stream, a TAP, a datagram socket.
//
// ReadFrame blocks until one frame arrives and copies it into b, which must be at least MaxLen bytes
// (a shorter b may truncate the frame); it returns the frame length. WriteFrame sends one frame; the
// caller keeps ownership of b, which the Endpoint does not retain. ReadFrame must not be called
// concurrently with itself; WriteFrame is safe for concurrent use. After Close both return an error
// that wraps net.ErrClosed; Close unblocks them and is idempotent.
type Endpoint interface {
	ReadFrame(b []byte) (int, error)
	WriteFrame(b []byte) error
	Close() error
}
