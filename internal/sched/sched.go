// SPDX-License-Identifier: GPL-2.0-or-later

// Package sched sets the Linux scheduling policy of a tool's threads.
//
// A relay in the middle of a TCP flow (vplug in a cable between two vde_switches) is woken for
// nearly every frame. Under the default policy (SCHED_OTHER) a woken relay preempts the process
// that woke it, so on a busy machine every frame costs two context switches and nothing is ever
// batched. Under SCHED_BATCH a woken thread waits for the running one to sleep or use up its
// slice: the sender writes several frames first and the relay takes them in one go. Measured on a
// 2-core VM (README, "Performance"): TCP through "dpipe vplug = vplug" between two vde_switches
// went from 0.64 to 1.25 times vde_plug's, with no loss in ping time.
//
// The policy is a hint: the nice value stays, other policies chosen by the user (chrt) are kept,
// and a kernel or sandbox that refuses the change leaves the default in place.
package sched

import (
	"fmt"
	"strings"
)

// EnvVar names the environment variable that chooses the policy: "batch" (the default) or
// "normal" (leave the threads alone).
const EnvVar = "GOVDE_SCHED"

// A Mode is what a tool does with its threads' policy.
type Mode int

const (
	// Batch moves the threads that run under SCHED_OTHER to SCHED_BATCH.
	Batch Mode = iota
	// Normal leaves every thread as it is.
	Normal
)

// ParseMode parses the value of EnvVar; "" is Batch.
func ParseMode(v string) (Mode, error) {
	switch strings.ToLower(v) {
	case "", "batch":
		return Batch, nil
	case "normal", "other":
		return Normal, nil
	}
	return 0, fmt.Errorf("%s=%q: want batch or normal", EnvVar, v)
}

// Apply applies m to every thread of the process and returns how many it changed. Threads the
// process starts later inherit the policy of the thread that starts them; child processes
// started before Apply keep theirs.
func Apply(m Mode) (int, error) {
	if m == Normal {
		return 0, nil
	}
	return batchAll()
}
