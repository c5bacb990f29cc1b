// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/internal/sockfile"
	"github.com/govde/govde/pkg/frame"
)

// Cred is the identity of a connected client process as the kernel recorded it when the process
// connected to the control socket (SO_PEERCRED, SO_PEERGROUPS): what it could not have forged.
type Cred struct {
	PID, UID, GID int
	Groups        []int // supplementary groups
}

// InGroup reports whether gid is the primary or a supplementary group of the client.
func (c Cred) InGroup(gid int) bool { return c.GID == gid || slices.Contains(c.Groups, gid) }

// A Request is a well-formed connection request waiting for the switch's decision: Accept it on a port,
// or Reject it. Exactly one of the two must be called.
//
// The requesting user is the client process's user from the kernel (Cred), not, as for vde_switch, the
// owner of the socket file named in the request: before a request reaches Accept, the listener has
// checked that the client socket it names is a socket owned by that user (root may name any), reached
// without a symbolic link in its last component that the user does not own, and connected the switch's
// data socket to that very file. Other requests are refused like malformed ones (OnBadRequest, Refused).
type Request struct {
	Message
	// Cred is the requesting process's identity.
	Cred Cred
	// UID is Cred.UID, the requesting user, used for port access control and as the owner of the data
	// socket when the switch runs as root.
	UID int
	// Raw, set before Accept, keeps the data socket out of the Go runtime's poller, as DialOptions.Raw
	// does for a client: the ServerConn is then a frame.Raw, RawFD gives its descriptor and RawData fails.
	// A switch that polls its ports itself uses it.
	Raw bool

	data    *net.UnixConn // connected to the client socket, bound by Accept
	ctl     *net.UnixConn
	l       *Listener
	decided atomic.Bool
}

// errDecided is returned by Accept or Reject on a Request already decided.
var errDecided = errors.New("request already accepted or rejected")

// Reject refuses the request by closing its control connection, which the client sees at once (vde_switch
// r586 leaves it open instead, so real clients hang; we do not copy that).
func (r *Request) Reject() error {
	if !r.decided.CompareAndSwap(false, true) {
		return errDecided
	}
	r.data.Close()
	return r.ctl.Close()
}

// Accept grants the request on port: it binds the datagram socket already connected to the client at
// DIR/NNN.FD (NNN the port, FD its descriptor number) with its final permissions from the start (the
// listener's mode, only 0700 of it when running as root; owner the requesting user when root; the group;
// for a port 0 request the management mode and group instead), and replies with its address. On error
// the request is rejected. The caller owns the returned ServerConn.
func (r *Request) Accept(port int) (*ServerConn, error) { return r.AcceptWith(port, nil) }

// AcceptWith is Accept with a hook: attach, when not nil, runs once the data socket is ready and before
// the reply is sent, so that a switch can forward to the new endpoint from the moment the client learns it
// is connected (vde_switch, too, sets the port up before it replies). If attach fails the connection is
// closed, the request rejected, and the error returned. The ServerConn stays valid while attach runs.
func (r *Request) AcceptWith(port int, attach func(*ServerConn) error) (*ServerConn, error) {
	if !r.decided.CompareAndSwap(false, true) {
		return nil, errDecided
	}
	sc, err := r.accept(port, attach)
	if err != nil {
		r.data.Close()
		r.ctl.Close()
		return nil, fmt.Errorf("accept %q on port %d: %w", r.Descr, port, err)
	}
	return sc, nil
}

func (r *Request) accept(port int, attach func(*ServerConn) error) (*ServerConn, error) {
	if port < 0 {
		return nil, fmt.Errorf("port %d: %w", port, os.ErrInvalid)
	}
	opt := &r.l.opt
	user := r.UID
	if os.Geteuid() != 0 {
		user = -1
	}
	// vde_switch chmods to the mode (0700 of it for a known user when root), chowns to the user and the
	// group, and for a port 0 request chmods to the management mode and chowns to the management group
	// just after its reply. The file gets the result of all that from the start, before the reply, so
	// that the client's own chmod (vdeplug4 does one) reliably comes last.
	perm := sockfile.Perm{Mode: opt.Mode, UID: user, GID: opt.Group}
	if user != -1 {
		perm.Mode &= 0o700
	}
	if r.Port0 {
		perm.Mode = opt.MgmtMode
		if opt.MgmtGroup != NoGroup {
			perm.GID = opt.MgmtGroup
		}
	}
	// The data socket is named after its descriptor number, unique while the connection lives: for a raw
	// one, the number of the duplicate kept out of the poller.
	var raw *rawfd.FD
	var control func(func(fd uintptr)) error
	if r.Raw {
		var err error
		if raw, err = rawData(r.data); err != nil {
			return nil, fmt.Errorf("data socket: %w", err)
		}
		control = func(f func(fd uintptr)) error { return raw.Control(func(fd int) { f(uintptr(fd)) }) }
	} else {
		rc, err := r.data.SyscallConn()
		if err != nil {
			return nil, err
		}
		control = rc.Control
	}
	id := -1
	if crc, err := r.ctl.SyscallConn(); err == nil {
		crc.Control(func(fd uintptr) { id = int(fd) })
	}
	var path string
	var node sockfile.Node
	var berr error
	cerr := control(func(fd uintptr) {
		name := fmt.Sprintf("%03d.%d", port, fd)
		if opt.DataName != nil {
			name = opt.DataName(port, int(fd), id)
		}
		path = filepath.Join(r.l.dir, name)
		d, err := r.l.openDir()
		if err != nil {
			berr = err
			return
		}
		defer d.Close()
		node, berr = sockfile.Bind(int(fd), d, name, perm, sockfile.ReplaceAny)
	})
	if err := errors.Join(cerr, berr); err != nil {
		if raw != nil {
			raw.Close()
		}
		return nil, fmt.Errorf("bind data socket %s: %w", path, err)
	}
	fail := func(err error) (*ServerConn, error) {
		sockfile.Remove(path, node)
		if raw != nil {
			raw.Close()
		}
		return nil, err
	}
	var reply [SockaddrLen]byte
	b, err := AppendReply(reply[:0], path)
	if err != nil {
		return fail(err)
	}
	var l *link
	if raw != nil {
		l = newRawLink(raw, r.ctl)
	} else {
		l = newLink(r.data, r.ctl)
	}
	sc := &ServerConn{link: l, path: path, node: node, port: port, id: id, msg: r.Message, cred: r.Cred}
	sc.cleanup = sc.unlink
	if attach != nil {
		if err := attach(sc); err != nil {
			sc.Close()
			return nil, err
		}
	}
	r.ctl.SetWriteDeadline(time.Now().Add(opt.Timeout))
	if _, err := r.ctl.Write(b); err != nil {
		sc.Close()
		return nil, fmt.Errorf("send reply: %w", err)
	}
	r.ctl.SetWriteDeadline(time.Time{})
	return sc, nil
}

// A ServerConn is the switch's end of an accepted connection: a frame.Endpoint over the port's datagram
// socket, plus Done, closed when the client closes its control stream (then the switch closes the
// endpoint). ReadFrame drops datagrams shorter than an Ethernet header and returns io.EOF after the client
// hung up. WriteFrame blocks while the client's receive queue is full; use RawData for non-blocking or
// batched sends.
type ServerConn struct {
	*link
	path string
	node sockfile.Node
	port int
	id   int
	msg  Message
	cred Cred
}

var _ frame.Endpoint = (*ServerConn)(nil)

func (s *ServerConn) unlink() { sockfile.Remove(s.path, s.node) }

// Path returns the path of the port's data socket, DIR/NNN.FD. Close removes it.
func (s *ServerConn) Path() string { return s.path }

// Port returns the port number the connection was accepted on.
func (s *ServerConn) Port() int { return s.port }

// ID returns the descriptor number of the control connection, which vde_switch shows as the endpoint
// number in port/print.
func (s *ServerConn) ID() int { return s.id }

// Descr returns the client's description.
func (s *ServerConn) Descr() string { return s.msg.Descr }

// UID returns the requesting user (see Request.UID).
func (s *ServerConn) UID() int { return s.cred.UID }

// Cred returns the requesting process's identity (see Request.Cred).
func (s *ServerConn) Cred() Cred { return s.cred }

// Request returns the request the connection was accepted from.
func (s *ServerConn) Request() Message { return s.msg }
