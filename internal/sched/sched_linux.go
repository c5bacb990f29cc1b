// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const (
	policyOther = unix.SCHED_NORMAL
	policyBatch = unix.SCHED_BATCH
)

// startedOther reports whether the process's main thread runs under SCHED_OTHER, the policy the
// process gets unless its user chose another.
func startedOther() bool {
	a, err := unix.SchedGetAttr(os.Getpid(), 0)
	return err == nil && a.Policy == policyOther
}

// setAll moves every thread under policy from to policy to, keeping its nice value. Two passes: a
// thread started during the first by one not yet moved is caught by the second.
func setAll(from, to uint32) (int, error) {
	n := 0
	var first error
	for range 2 {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return n, err
		}
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			changed, err := set(tid, from, to)
			if changed {
				n++
			}
			if err != nil && first == nil {
				first = err
			}
		}
	}
	return n, first
}

// set moves thread tid to policy to if it runs under policy from; a thread that has exited
// meanwhile is no error.
func set(tid int, from, to uint32) (bool, error) {
	cur, err := unix.SchedGetAttr(tid, 0)
	if err == unix.ESRCH {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if cur.Policy != from {
		return false, nil
	}
	// The nice value stays. The slice is left to the kernel (Runtime 0): getattr reports the default
	// slice as if it had been set, and setting it back would pin it. (SCHED_FLAG_KEEP_PARAMS would
	// keep both, but it keeps the policy too.)
	attr := unix.SchedAttr{Policy: to, Nice: cur.Nice}
	err = unix.SchedSetAttr(tid, &attr, 0)
	if err == unix.ESRCH {
		return false, nil
	}
	return err == nil, err
}
