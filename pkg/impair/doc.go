// SPDX-License-Identifier: GPL-2.0-or-later

// Package impair is wirefilter's impairment engine: MTU, loss (plain and Gilbert bursts), duplication,
// channel buffer size, interface speed, bandwidth, delay with jitter, noise and the Markov mode of
// vde2's wirefilter, applied per direction (LR, RL) in the reference's order (vde-protocol.md 10.3).
//
// The engine is pure: it never reads a clock, sleeps or starts goroutines. Every call takes the
// current time, and the engine answers with exact deadlines (nanosecond precision) that the caller
// schedules: when the next queued frame is due (Engine.Next) and when a throttled sender may send
// again (Verdict.NextSend). Randomness comes from an injected math/rand/v2 Source, so a seeded source
// makes every decision reproducible. A relay hook drives it like this, per direction:
//
//	v := e.Process(impair.LR, frame, now) // copies frame into pooled buffers; never keeps frame
//	for { p, ok := e.Pop(impair.LR, now); if !ok { break }; write(p.Bytes()); e.Release(p) }
//	waker.Arm(e.Next(impair.LR)) // a Waker (one reused timer) pops again when the next copy is due
//	// with a speed set, do not read LR input again before v.NextSend
//
// With Markov nodes, the driver calls e.Tick(now, nil) once at start (the chain's clock starts at
// the first time the engine sees), arms the waker at e.MarkovNext() too, and on each wake-up calls
// Tick and sends e.TransitionLine(t) for each transition returned to the markov-debug sessions.
//
// Values use wirefilter's syntax, [LR|RL]<value>[+<plus>][K|M|G][U|N][[node]] (ParseValue), and are
// shown with C's %g (FormatG), so that a console can be byte-identical to the reference.
package impair
