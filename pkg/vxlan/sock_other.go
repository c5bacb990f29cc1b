// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package vxlan

import (
	"errors"
	"net"
	"net/netip"
)

// BUG(vxlan): Open works on Linux only.

var errUnsupported = errors.New("vxlan: not supported on this platform")

func openVXLAN(cfg Config) (*net.UDPConn, error) { return nil, errUnsupported }

func openVXVDE(cfg Config) (multi, uni *net.UDPConn, err error) { return nil, nil, errUnsupported }

func isTransient(err error) bool { return false }

type poller struct{}

func newPoller(conns ...*net.UDPConn) (*poller, error) { return nil, errUnsupported }

func (p *poller) read(b []byte) (int, netip.AddrPort, int, error) {
	return 0, netip.AddrPort{}, 0, errUnsupported
}

func (p *poller) close() error { return nil }
