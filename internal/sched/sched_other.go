// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package sched

// batchAll does nothing where SCHED_BATCH does not exist.
func batchAll() (int, error) { return 0, nil }

// FragilePeer finds no peer where SCHED_BATCH does not exist.
func FragilePeer() (name string, settled bool) { return "", true }
