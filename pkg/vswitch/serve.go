// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"errors"
	"fmt"
	"net"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/tap"
	"github.com/govde/govde/pkg/vde"
)

// Serve accepts connection requests on ln until ln or the switch is closed, applying port
// allocation and access control: a request for a port it may not have (out of range, none free,
// access denied, in use by another user) is refused by closing its control connection. Each
// accepted connection becomes an endpoint ("unix prog" module). Close closes ln. Serve returns
// nil after Close.
func (s *Switch) Serve(ln *vde.Listener) error {
	s.lnMu.Lock()
	select {
	case <-s.done:
		s.lnMu.Unlock()
		ln.Close()
		return nil
	default:
	}
	s.lns = append(s.lns, ln)
	s.lnMu.Unlock()
	for {
		req, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.handleRequest(req)
	}
}

// handleRequest picks the port for a request, accepts it there and attaches the connection.
func (s *Switch) handleRequest(req *vde.Request) {
	// The requester is who the kernel says connected, not the owner of the socket file it named.
	gids := append([]int{req.Cred.GID}, req.Cred.Groups...)
	sp := epSpec{module: ModuleUnix, descr: req.Descr, uid: req.UID, gids: gids, port: req.Port, port0: req.Port0}
	// Choose (and allocate) the port first: the data socket's name carries the port number.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		req.Reject()
		return
	}
	p, err := s.choosePortLocked(&sp)
	s.mu.Unlock()
	if err != nil {
		s.logf("refused %q (uid %d) on port %d: %v", req.Descr, req.UID, req.Port, err)
		req.Reject()
		return
	}
	// The endpoint joins the switch before the reply goes out, so that nothing sent to the client
	// after it has connected is lost.
	req.Raw = batched // read by the plane
	_, err = req.AcceptWith(p.num, func(sc *vde.ServerConn) error {
		sp.ep, sp.id, sp.port, sp.port0, sp.done = sc, sc.ID(), p.num, p.num == 0, sc.Done()
		if rf := sc.RawFD(); rf != nil {
			sp.rfd = rf
		} else if rc, err := sc.RawData(); err == nil && batched {
			sp.raw = rc
		}
		_, err := s.attach(sp) // fails if the port was taken meanwhile by another user, or on Close
		return err
	})
	if err != nil {
		s.logf("refused %q (uid %d) on port %d: %v", req.Descr, req.UID, p.num, err)
	}
}

// rawTap is a TAP opened raw (tap.Device on Linux).
type rawTap interface {
	frame.Raw
	RawFD() *rawfd.FD
}

// AddTap opens (creating it if needed) the TAP interface name and attaches it to the lowest free
// port, module "tuntap", description the interface name. An existing persistent TAP stays
// persistent. The TAP has offloads where the kernel grants them (tap.Config.Offload): the kernel
// hands over and takes 64 KB TCP segments, the switch still forwards frames within the MTU. Where the
// data plane runs (Linux), the TAP is opened raw and read by it, with the data sockets. It returns the
// port number.
func (s *Switch) AddTap(name string) (int, error) {
	d, err := tap.OpenConfig(tap.Config{Name: name, Offload: true, Raw: batched})
	if err != nil {
		return 0, err
	}
	sp := epSpec{ep: d, id: -1, module: ModuleTap, descr: d.Name(), uid: -1, direct: true}
	if r, ok := any(d).(rawTap); ok {
		if rd, ok := r.RawDesc(); ok {
			sp.tapfd, sp.framer = r.RawFD(), rd.Framer
		}
	}
	e, err := s.attach(sp)
	if err != nil {
		d.Close()
		return 0, fmt.Errorf("tap %s: %w", name, err)
	}
	return e.port.num, nil
}
