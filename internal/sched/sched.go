// SPDX-License-Identifier: GPL-2.0-or-later

// Package sched sets the Linux scheduling policy of a tool's threads to follow its load.
//
// A relay in the middle of a TCP flow (vplug in a cable between two vde_switches) is woken for
// nearly every frame. Under the default policy (SCHED_OTHER) a woken relay preempts the process
// that woke it, so on a busy machine every frame costs two context switches and nothing is ever
// batched. Under SCHED_BATCH a woken thread waits for the running one to sleep or use up its
// slice: the sender writes several frames first and the relay takes them in one go. Measured on a
// 2-core VM (README, "Performance"): TCP through "dpipe vplug = vplug" between two vde_switches
// went from 0.64 to 1.05-1.40 times vde_plug's. But a thread that does not preempt may wait a whole
// slice for a busy CPU: under SCHED_BATCH, 2 % of the pings through that cable took 4-6 ms. So
// Follow switches to SCHED_BATCH only while the relay carries a bulk flow, and back when it is
// light again.
//
// The policy is a hint: the nice value stays, a policy chosen by the user (chrt) is kept, and a
// kernel or sandbox that refuses the change leaves the default in place.
package sched

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// EnvVar names the environment variable that chooses the policy: "batch" (the default) or
// "normal" (leave the threads alone).
const EnvVar = "GOVDE_SCHED"

// A Mode is what a tool does with its threads' policy.
type Mode int

const (
	// Batch moves the threads that run under SCHED_OTHER to SCHED_BATCH (with Follow: while the
	// load is high).
	Batch Mode = iota
	// Normal leaves every thread as it is (Apply: moves them back to SCHED_OTHER).
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

// Apply moves every thread of the process from SCHED_OTHER to SCHED_BATCH (m is Batch) or back
// (m is Normal), keeping nice values, and returns how many it changed. Threads the process starts
// later inherit the policy of the thread that starts them; child processes started before keep
// theirs.
func Apply(m Mode) (int, error) {
	if m == Normal {
		return setAll(policyBatch, policyOther)
	}
	return setAll(policyOther, policyBatch)
}

// The load thresholds of Follow, in frames per second over a window: a TCP bulk flow through a
// cable is 20,000-30,000 frames/s with its ACKs; pings and interactive traffic are far below.
const (
	batchAbove  = 10000
	normalBelow = 4000
	window      = 250 * time.Millisecond
)

// Follow runs until ctx ends (or returns at once when mode is Normal, or when the process does not
// run under SCHED_OTHER): it puts the process under SCHED_BATCH while frames() grows by more than
// batchAbove per second, and back under SCHED_OTHER when it grows by less than normalBelow. Before
// the first switch it looks at the peers on the pipes among fds (the relay's descriptors): beside
// one that bunched records break (FragilePeer) it returns, leaving the policy alone. It looks only
// then, once a bulk flow passes, because by that time the peers run their own programs (a dpipe
// child or a command's shell has run what it was told to); while one has not, it asks again at the
// next window.
func Follow(ctx context.Context, mode Mode, frames func() uint64, fds []int) {
	if mode == Normal || !startedOther() {
		return
	}
	checked := false
	t := time.NewTicker(window)
	defer t.Stop()
	batched := false
	last, lastT := frames(), time.Now()
	for {
		select {
		case <-ctx.Done():
			if batched {
				_, _ = Apply(Normal)
			}
			return
		case now := <-t.C:
			n := frames()
			rate := float64(n-last) / now.Sub(lastT).Seconds()
			last, lastT = n, now
			switch {
			case !batched && rate > batchAbove:
				if !checked {
					name, settled := FragilePeer(fds)
					if name != "" {
						return
					}
					if checked = settled; !checked {
						continue
					}
				}
				_, _ = Apply(Batch)
				batched = true
			case batched && rate < normalBelow:
				_, _ = Apply(Normal)
				batched = false
			}
		}
	}
}
