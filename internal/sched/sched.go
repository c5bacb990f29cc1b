// SPDX-License-Identifier: GPL-2.0-or-later

// Package sched lets a relay tool follow its load: it sets the Linux scheduling policy of the tool's
// threads, and tells the relay when its pipe writes may carry records bunched.
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
//
// Bunched writes are the other half. A relay writes at most 2048 bytes of records to a pipe at a
// time, for vde2's wirefilter's sake (see FragilePeer): on a busy cable that is a system call per
// full-size frame, and a wake-up of the reader per frame. Once a bulk flow passes and no such
// wirefilter holds the relay's pipes, Follow lets it write all it holds at once. On the 2-core VM
// (scripts/bench-wirefilter.sh, cost section, hosts on our switches; medians of 5 runs before and
// after), TCP through "dpipe vplug = vplug" went from 992 to 1,235 Mbit/s, and through
// "dpipe vplug = wirefilter = vplug" from 747 to 1,206 (0.75 to 0.98 of the cable without it).
package sched

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/govde/govde/pkg/frame"
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
	// idleWindow is Follow's window once no frame has passed for quietAfter windows in a row: a flow
	// that starts is seen within it, and an idle tool on one P, parked, is not woken four times a
	// second for nothing (each of Follow's ticks woke an idle vplug's runtime and its sysmon).
	idleWindow = 2 * time.Second
	quietAfter = 4
)

// A Flow is the relay that Follow watches.
type Flow struct {
	// Frames returns how many frames the relay has moved so far.
	Frames func() uint64
	// FDs are the relay's stream descriptors: the pipes among them are where a peer may read its
	// records (see FragilePeer).
	FDs []int
	// Bunch, when not nil, is called once, from Follow's goroutine, the first time a bulk flow passes
	// with no fragile peer on those pipes: the relay may then write its records bunched, as many as
	// it holds to a write (relay.Config.Bunched), rather than at most 2048 bytes of them.
	Bunch func()
	// Allow, when not nil, is asked at every window whether SCHED_BATCH may be used now: while it
	// says no, the process stays under (or goes back to) SCHED_OTHER. A wirefilter allows it only
	// while transparent, since its delays need their wake-ups to preempt.
	Allow func() bool
	// NoFragile, when not nil, is called once, from Follow's goroutine, as soon as the peers on the
	// pipes run their own programs and none is fragile: from the first window on, bulk flow or not.
	// vplug then runs on one P (OneProc), which a peer such as vde2's wirefilter does not stand
	// (a vplug that fast beside it made it stall in 4 of 5 TCP runs).
	NoFragile func()
	// MaxRecord, when not nil, is called once, from Follow's goroutine, when the fragile peer
	// found writes into one of the pipes among FDs that the relay reads, with the longest record it
	// ever writes (Peer.MaxRecord): a longer header read there means that its output lost step.
	MaxRecord func(n int)
}

// A Peer is the fragile peer FragilePeer found, if any.
type Peer struct {
	Name string // its program's name; "" when there is none
	// MaxRecord, when not 0, is the longest record it writes into a pipe among those looked at
	// that we read (1521 for vde2's wirefilter).
	MaxRecord int
}

// Follow runs until ctx ends (or returns at once when it has nothing to do: mode is Normal or the
// process does not run under SCHED_OTHER, and fl.Bunch and fl.NoFragile are nil). It puts the
// process under SCHED_BATCH while fl.Frames() grows by more than batchAbove per second and fl.Allow
// allows it, and back under SCHED_OTHER when it grows by less than normalBelow or fl.Allow says no.
// When a bulk flow first passes (with fl.NoFragile, at the first window already) it looks at the
// peers on the pipes among fl.FDs: beside one that bunched records break (FragilePeer) it returns,
// leaving the policy alone and never calling fl.Bunch or fl.NoFragile; otherwise it calls
// fl.NoFragile, and fl.Bunch once the flow is a bulk one. It looks only then because by that time
// the peers run their own programs (a dpipe child or a command's shell has run what it was told
// to); while one has not, it asks again at the next window. Its windows are 250 ms long, and
// idleWindow long once no frame has passed for a second, until frames pass again.
func Follow(ctx context.Context, mode Mode, fl Flow) {
	policy := mode == Batch && startedOther()
	if !policy && fl.Bunch == nil && fl.NoFragile == nil && fl.MaxRecord == nil {
		return
	}
	// checked: the peers are known (fragile or not); bunched: fl.Bunch has been called.
	checked, fragile, bunched := false, false, false
	check := func() bool {
		if !checked {
			peer, settled := FragilePeer(fl.FDs)
			if !settled {
				return false
			}
			checked, fragile = true, peer.Name != ""
			if !fragile && fl.NoFragile != nil {
				fl.NoFragile()
			}
			if peer.MaxRecord > 0 && fl.MaxRecord != nil {
				fl.MaxRecord(peer.MaxRecord)
			}
		}
		return true
	}
	t := time.NewTicker(window)
	defer t.Stop()
	batched := false
	last, lastT := fl.Frames(), time.Now()
	// quiet counts the windows in a row without a frame; period is the ticker's.
	quiet, period := 0, window
	for {
		select {
		case <-ctx.Done():
			if batched {
				_, _ = Apply(Normal)
			}
			return
		case now := <-t.C:
			n := fl.Frames()
			rate := float64(n-last) / now.Sub(lastT).Seconds()
			if n == last {
				quiet++
			} else {
				quiet = 0
			}
			last, lastT = n, now
			switch {
			case quiet >= quietAfter && period != idleWindow:
				period = idleWindow
				t.Reset(period)
			case quiet == 0 && period != window:
				period = window
				t.Reset(period)
			}
			if fl.NoFragile != nil && check() && fragile {
				return
			}
			bulk := rate > batchAbove
			if bulk && !bunched {
				if !check() {
					continue
				}
				if fragile {
					return
				}
				bunched = true
				if fl.Bunch != nil {
					fl.Bunch()
				}
				if !policy {
					return
				}
			}
			allowed := fl.Allow == nil || fl.Allow()
			switch {
			case !batched && bulk && allowed:
				_, _ = Apply(Batch)
				batched = true
			case batched && (rate < normalBelow || !allowed):
				_, _ = Apply(Normal)
				batched = false
			}
		}
	}
}

// HotFor is how long a data-plane loop on one P stays hot after its last frame (see Waiter) in the
// tools (plug2tap, vplug, vswitch, wirefilter), unless HotEnvVar says otherwise: long enough for the
// frames of a ping every second (ping's default) to find it hot.
const HotFor = 1500 * time.Millisecond

// shortHot is the hot window of the Waiters made before SetHot (tests, other users of the packages):
// the window of every loop until 2026-12-06.
const shortHot = 10 * time.Millisecond

// HotEnvVar names the environment variable that sets how long a data-plane loop stays hot after its
// last frame: a duration such as "1.5s" or "10ms" ("0": never hot, every idle wait parks).
const HotEnvVar = "GOVDE_HOT"

// hotWindow is the hot window of new Waiters, in nanoseconds: shortHot until SetHot.
var hotWindow atomic.Int64

func init() { hotWindow.Store(int64(shortHot)) }

// SetHot sets the hot window of the Waiters made from now on from v, the value of HotEnvVar ("" is
// HotFor).
func SetHot(v string) error {
	d := HotFor
	if v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 0 {
			return fmt.Errorf("%s=%q: want a duration such as 1.5s or 10ms, or 0", HotEnvVar, v)
		}
	}
	hotWindow.Store(int64(d))
	return nil
}

// yielders counts the goroutines inside Yield.
var yielders atomic.Int32

// Yield is runtime.Gosched for a goroutine that shares the process's only P with a hot data-plane
// loop (see Waiter) and gives it up between steps of a long task (vswitch's MAC table scans): the
// loop gives it back at its next wait instead of keeping it until its own yield is due (10 to 20 ms
// when no frame comes, every YieldEvery while frames flow).
func Yield() {
	yielders.Add(1)
	runtime.Gosched()
	yielders.Add(-1)
}

// watchPoller says that the Waiters made from now on watch the runtime's poller (WatchPoller).
var watchPoller atomic.Bool

// WatchPoller makes the Waiters made from now on watch the Go runtime's network poller while they are
// hot, for a tool whose other goroutines wait there (vswitch's console, control socket and clients'
// control connections, wirefilter's console): they then run as soon as their descriptors are ready. Otherwise a
// hot loop, which keeps the process's only P, leaves them to sysmon's poll (every 10 ms) and to the
// loop's next yield after it: each step of a joining client's handshake took up to some 20 ms,
// hundreds in all, and vswitch kept its loop's window at 10 ms for that. Linux only.
func WatchPoller() { watchPoller.Store(true) }

// OneProc makes the Go runtime run the process's goroutines on one P (GOMAXPROCS 1), unless the
// GOMAXPROCS environment variable chooses, and reports whether it runs on one now. A tool whose
// work is one data-plane loop (see Waiter) calls it before the loop starts or while it runs: its
// Waiter can then go hot. The threads of system calls and of the runtime are not limited by it.
func OneProc() bool {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
		procsChanged.Add(1)
	}
	return runtime.GOMAXPROCS(0) == 1
}

// procsChanged counts OneProc's changes of GOMAXPROCS, after which a Waiter looks at it again.
var procsChanged atomic.Uint64

// StreamFDs returns the descriptors of the endpoints that carry a VDE stream (stdin/stdout, a
// command's pipes): where a peer may read the relay's records (Flow.FDs).
func StreamFDs(eps ...frame.Endpoint) []int {
	var fds []int
	for _, ep := range eps {
		if r, ok := ep.(frame.Raw); ok {
			if d, ok := r.RawDesc(); ok && d.Stream {
				fds = append(fds, d.Read, d.Write)
			}
		}
	}
	return fds
}
