// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// batchAll moves every thread under SCHED_OTHER to SCHED_BATCH, keeping its nice value.
// Two passes: a thread started during the first by one not yet moved is caught by the second.
func batchAll() (int, error) {
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
			changed, err := batch(tid)
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

// batch moves thread tid to SCHED_BATCH if it runs under SCHED_OTHER; a thread that has exited
// meanwhile is no error.
func batch(tid int) (bool, error) {
	cur, err := unix.SchedGetAttr(tid, 0)
	if err == unix.ESRCH {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if cur.Policy != unix.SCHED_NORMAL {
		return false, nil
	}
	// The nice value stays. The slice is left to the kernel (Runtime 0): getattr reports the default
	// slice as if it had been set, and setting it back would pin it. (SCHED_FLAG_KEEP_PARAMS would
	// keep both, but it keeps the policy too.)
	attr := unix.SchedAttr{Policy: unix.SCHED_BATCH, Nice: cur.Nice}
	err = unix.SchedSetAttr(tid, &attr, 0)
	if err == unix.ESRCH {
		return false, nil
	}
	return err == nil, err
}
