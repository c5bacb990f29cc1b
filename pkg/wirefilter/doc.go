// SPDX-License-Identifier: GPL-2.0-or-later

// Package wirefilter is the engine of the wirefilter tool: it drives pkg/impair from a pkg/relay
// hook, one direction per relay direction (Join's a is the left side L, b the right side R), and
// serves wirefilter's management console on pkg/mgmt.
//
// A Filter is the glue. Its Hook gives every frame to the impairment engine, which copies it, and
// sends the copies that are due through the relay's Emitter. The others are sent when they fall
// due: on the relay's poll(2) fast path by the relay's own loop, which calls the Filter's Timer at
// each delivery deadline (no hand-off between threads, so no added lateness); on the goroutine path
// by one reused timer (impair.Waker), which also draws the Markov transitions in both cases. Its Gate tells the relay when a
// direction's sender may send again (the interface speed throttles the sender, as in the
// reference). A direction with no impairment set and nothing waiting is a plain wire: the Hook
// hands its frames back to the relay untouched (impair.Engine.Pass: no copy, no lock), and a
// parameter set from the console applies from the next frame. Blink datagrams ("ID LR|RL|-- SIZE\n") go to the --blink socket for each frame sent.
//
// Console returns the mgmt.Config of wirefilter's console (vde-protocol.md 10.5): the banner, the
// "VDEwf$ " prompt, the commands in the reference's prefix order, and showinfo, showedges and
// showcurrent formatted byte for byte as vde2's wirefilter prints them. Unlike the reference, a value
// it cannot parse is refused with "1022 Invalid argument", and logout ends the session with
// "9999 END OF SESSION" rather than "1-01 Unknown error -1".
package wirefilter
