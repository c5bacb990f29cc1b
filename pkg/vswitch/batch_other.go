// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package vswitch

import "github.com/govde/govde/pkg/frame"

// BUG(vswitch): recvmmsg/sendmmsg batching is Linux-only; elsewhere every endpoint goes through
// the generic path (one frame per read, a bounded out-queue per endpoint).

// batched reports whether endpoints may use batched datagram I/O.
const batched = false

type txGroup struct {
	e       *endpoint
	n, sent int
	drops   uint64
	wait    bool
}

func (g *txGroup) reset() { *g = txGroup{} }

func (g *txGroup) add(b []byte, mode uint8, tag *frame.Tag) { g.drops++ }

func (r *rx) send(fd uintptr) bool { return true }

func (r *rx) sendWait(fd uintptr) bool { return true }

func (r *rx) waitDrain(g *txGroup) {}

func (s *Switch) rawReadLoop(e *endpoint) { s.readLoop(e) }

// plane is the Linux data plane (plane_linux.go); endpoints are never opened raw elsewhere.
type plane struct{}

func newPlane(*Switch) (*plane, error) { return &plane{}, nil }
func (*plane) add(*endpoint) bool      { return false }
func (*plane) remove(*endpoint)        {}
func (*plane) stop()                   {}
func (*plane) close()                  {}
