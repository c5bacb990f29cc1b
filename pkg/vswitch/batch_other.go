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
}

func (g *txGroup) reset() { *g = txGroup{} }

func (g *txGroup) add(b []byte, mode uint8, tag *frame.Tag) { g.drops++ }

func (r *rx) send(fd uintptr) bool { return true }

func (s *Switch) rawReadLoop(e *endpoint) { s.readLoop(e) }
