// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package vxlan

import (
	"errors"
	"net"
)

// BUG(vxlan): Open works on Linux only.

var errUnsupported = errors.New("vxlan: not supported on this platform")

func openVXLAN(cfg Config) (*net.UDPConn, error) { return nil, errUnsupported }

func openVXVDE(cfg Config) (multi, uni *net.UDPConn, err error) { return nil, nil, errUnsupported }

func isTransient(err error) bool { return false }
