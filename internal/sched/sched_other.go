// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package sched

const (
	policyOther = 0
	policyBatch = 3
)

// startedOther is false where SCHED_BATCH does not exist, so that Follow does nothing.
func startedOther() bool { return false }

// setAll does nothing where SCHED_BATCH does not exist.
func setAll(from, to uint32) (int, error) { return 0, nil }

// FragilePeer finds no peer where SCHED_BATCH does not exist.
func FragilePeer(fds []int) (p Peer, settled bool) { return Peer{}, true }
