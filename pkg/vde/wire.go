// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// Wire constants of the connection protocol. Integers travel in host byte order, which is little-endian on
// every platform govde supports.
const (
	Magic         = 0xfeedface // request magic; its absence means an unsupported "v0" request
	ReqNewControl = 0          // request type: a normal port (the port number rides in bits 8-31)
	ReqNewPort0   = 1          // request type: the management port 0

	SockaddrLen    = 110 // sizeof(struct sockaddr_un) on Linux: family(2) + path(108); also the reply size
	PathMax        = 107 // longest socket path that fits sun_path with its NUL
	RequestHeadLen = 12 + SockaddrLen
	MaxRequestLen  = 256                            // vde_switch reads a request with a single read(fd, buf, 256)
	MaxDescrLen    = MaxRequestLen - RequestHeadLen // longest description that fits that read (134)
	MaxDescrVDE    = 127                            // vdeplug4 truncates its description to 127 bytes
	v1HeadLen      = 4 + 4 + 6 + SockaddrLen        // magic, type, MAC, sockaddr
	afUnix         = 1
	maxPort        = 1<<24 - 1 // the port field is 24 bits wide
)

// ErrBadRequest is wrapped by every error ParseRequest returns; the switch closes the control socket of
// such a request without a reply.
var ErrBadRequest = errors.New("bad request")

// ErrBadReply is wrapped by every error ParseReply returns.
var ErrBadReply = errors.New("bad reply")

// A Message is the content of a connection request, as sent by a client and decoded by the switch.
type Message struct {
	// Version is 3 for the current format and 1 for the original one (which has no version field, no
	// port number and a 6-byte MAC address before the socket address).
	Version int
	// Port0 is set for a REQ_NEW_PORT0 request: the client wants the management port 0.
	Port0 bool
	// Port is the port number asked for; 0 means any free port.
	Port int
	// ClientPath is the path of the client's datagram socket. An abstract address is given as "@name".
	ClientPath string
	// Descr is the free-text description ("vdeplug: user=root pid=6524"), shown by port/print.
	Descr string
}

// ParseRequest decodes a request as vde_switch r586 reads it (one read of at most MaxRequestLen bytes). It
// never panics. Errors wrap ErrBadRequest and name the offending field: a wrong magic ("v0"), a version
// other than 1 or 3, an unknown request type, a truncated request or a socket address that is not AF_UNIX
// or is empty. The description ends at the first NUL or at the end of b.
func ParseRequest(b []byte) (Message, error) {
	var m Message
	if len(b) < 8 {
		return m, fmt.Errorf("%w: %d bytes, too short", ErrBadRequest, len(b))
	}
	if magic := binary.LittleEndian.Uint32(b); magic != Magic {
		return m, fmt.Errorf("%w: magic %#08x: V0 request not supported", ErrBadRequest, magic)
	}
	var typ uint32
	var sa, descr []byte
	switch v := binary.LittleEndian.Uint32(b[4:]); {
	case v == 3:
		if len(b) < RequestHeadLen {
			return m, fmt.Errorf("%w: v3 request of %d bytes, want at least %d", ErrBadRequest, len(b), RequestHeadLen)
		}
		m.Version = 3
		typ = binary.LittleEndian.Uint32(b[8:])
		sa, descr = b[12:RequestHeadLen], b[RequestHeadLen:]
	case v >= 2:
		return m, fmt.Errorf("%w: request for a version %d port, which this switch doesn't support", ErrBadRequest, v)
	default:
		// v1: the word after the magic is the type itself (0 or 1 here, so no port number).
		if len(b) < v1HeadLen {
			return m, fmt.Errorf("%w: v1 request of %d bytes, want at least %d", ErrBadRequest, len(b), v1HeadLen)
		}
		m.Version = 1
		typ = v
		sa, descr = b[14:v1HeadLen], b[v1HeadLen:]
	}
	switch typ & 0xff {
	case ReqNewControl:
		m.Port = int(typ >> 8)
	case ReqNewPort0:
		m.Port0 = true
	default:
		return m, fmt.Errorf("%w: bad request type %d", ErrBadRequest, typ&0xff)
	}
	path, err := parseSockaddr(sa)
	if err != nil {
		return m, fmt.Errorf("%w: client address: %v", ErrBadRequest, err)
	}
	m.ClientPath = path
	m.Descr = string(cstring(descr))
	return m, nil
}

// AppendRequest appends the v3 encoding of m to b (m.Version is ignored) and returns the result, which
// must be sent with a single write. It fails, wrapping os.ErrInvalid, when the client path is empty or
// longer than PathMax, the port is out of range, or the description does not fit MaxDescrLen.
func AppendRequest(b []byte, m Message) ([]byte, error) {
	if m.Port < 0 || m.Port > maxPort {
		return b, fmt.Errorf("request port %d: want 0..%d: %w", m.Port, maxPort, os.ErrInvalid)
	}
	if len(m.Descr) > MaxDescrLen {
		return b, fmt.Errorf("request description of %d bytes: want at most %d: %w", len(m.Descr), MaxDescrLen, os.ErrInvalid)
	}
	typ := uint32(ReqNewControl) | uint32(m.Port)<<8
	if m.Port0 {
		typ = ReqNewPort0
	}
	b = binary.LittleEndian.AppendUint32(b, Magic)
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = binary.LittleEndian.AppendUint32(b, typ)
	b, err := appendSockaddr(b, m.ClientPath)
	if err != nil {
		return b, err
	}
	return append(b, m.Descr...), nil
}

// AppendReply appends the switch's reply, the 110-byte struct sockaddr_un of path, to b.
// It fails, wrapping os.ErrInvalid, when path is empty or longer than PathMax.
func AppendReply(b []byte, path string) ([]byte, error) { return appendSockaddr(b, path) }

// ParseReply decodes the switch's reply, a struct sockaddr_un, and returns the path of the data socket
// to connect to. It never panics; errors wrap ErrBadReply.
func ParseReply(b []byte) (string, error) {
	if len(b) != SockaddrLen {
		return "", fmt.Errorf("%w: %d bytes, want %d", ErrBadReply, len(b), SockaddrLen)
	}
	p, err := parseSockaddr(b)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	return p, nil
}

func appendSockaddr(b []byte, path string) ([]byte, error) {
	name := path
	abstract := len(path) > 0 && path[0] == '@'
	if abstract {
		name = path[1:]
	}
	if len(name) == 0 || len(name) > PathMax {
		return b, fmt.Errorf("socket path %q: want 1..%d bytes: %w", path, PathMax, os.ErrInvalid)
	}
	b = binary.LittleEndian.AppendUint16(b, afUnix)
	start := len(b)
	if abstract {
		b = append(b, 0)
	}
	b = append(b, name...)
	for len(b)-start < SockaddrLen-2 {
		b = append(b, 0)
	}
	return b, nil
}

// parseSockaddr decodes a 110-byte struct sockaddr_un. A path starting with NUL is abstract and returned
// as "@name" (trailing NULs trimmed).
func parseSockaddr(b []byte) (string, error) {
	if len(b) < SockaddrLen {
		return "", fmt.Errorf("sockaddr of %d bytes, want %d", len(b), SockaddrLen)
	}
	if fam := binary.LittleEndian.Uint16(b); fam != afUnix {
		return "", fmt.Errorf("address family %d, want AF_UNIX (1)", fam)
	}
	p := b[2:SockaddrLen]
	if p[0] == 0 {
		name := trimNUL(p[1:])
		if len(name) == 0 {
			return "", errors.New("empty socket path")
		}
		return "@" + string(name), nil
	}
	path := cstring(p)
	if len(path) == len(p) {
		return "", fmt.Errorf("socket path %.20q... fills sun_path without a NUL", p)
	}
	return string(path), nil
}

// cstring returns b up to its first NUL.
func cstring(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
