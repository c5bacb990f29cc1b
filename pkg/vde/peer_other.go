// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package vde

import (
	"errors"
	"net"
	"os"

	"github.com/govde/govde/internal/sockfile"
)

// ErrForeignSocket is wrapped by the error for a request naming a client socket that its requester does
// not own.
var ErrForeignSocket = errors.New("client socket not owned by the requesting user")

func peerCred(c *net.UnixConn) (Cred, error) { return Cred{}, errors.ErrUnsupported }

func dialClient(path string, cred Cred) (*net.UnixConn, error) { return nil, errors.ErrUnsupported }

func openDir(dir string) (*os.File, string, error) { return nil, "", errors.ErrUnsupported }

func chmodDir(d *os.File, group int, mode uint32) error { return errors.ErrUnsupported }

func sameDir(d *os.File, n sockfile.Node) bool { return false }

func dirNode(d *os.File) (sockfile.Node, error) { return sockfile.Node{}, errors.ErrUnsupported }
