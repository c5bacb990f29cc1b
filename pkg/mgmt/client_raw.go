// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"errors"
	"io"
	"net"
)

// Relay copies in to conn and conn to out, unchanged, like unixterm, until either side ends. It returns nil
// when in or conn reaches EOF (or conn is hung up), and the error otherwise. It closes conn before returning.
// The goroutine copying in is left blocked in in.Read if in never returns (a terminal): Relay's caller is
// expected to exit.
func Relay(conn net.Conn, in io.Reader, out io.Writer) error {
	errc := make(chan error, 2)
	go func() { errc <- relayCopy(conn, in) }()
	go func() { errc <- relayCopy(out, conn) }()
	err := <-errc
	conn.Close()
	return err
}

func relayCopy(dst io.Writer, src io.Reader) error {
	buf := make([]byte, 1024) // unixterm's buffer: output arrives in the same chunks
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				if errors.Is(werr, net.ErrClosed) {
					return nil
				}
				return werr
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			return nil
		default:
			return err
		}
	}
}
