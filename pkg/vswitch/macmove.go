// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"sync/atomic"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// MACMoveInterval is the least time between two reports of MACs moving to one port.
//
// A MAC that appears on another port than the one it was learned on "moves" (min-persistence
// permitting). A host that really moved does this once; a loop does it for every frame. So moves
// are counted per port (PortInfo.MACMoves) and reported at most once per MACMoveInterval per port:
// a log line "MAC … moved from port A to port B", followed by " (N earlier moves to port B not
// logged)" when moves were suppressed since the previous report, and an EventMACMoved carrying the
// same count. Moves suppressed after the last report are only counted, until the next one.
const MACMoveInterval = time.Second

// moveCounter counts and rate-limits the MAC moves to one port. It is lock-free: the readers of
// all the port's endpoints update it.
type moveCounter struct {
	total   atomic.Uint64 // every move to the port
	pending atomic.Uint64 // moves not reported yet
	next    atomic.Int64  // switch clock before which no report is made
}

// macMoved counts a move of (mac, vlan) from port old to p at now (switch clock) and reports it
// unless a move to p was reported less than MACMoveInterval ago. It does not allocate unless it
// reports.
func (s *Switch) macMoved(p *port, mac frame.MAC, vlan, old int, now int64) {
	m := &p.moves
	m.total.Add(1)
	m.pending.Add(1)
	next := m.next.Load()
	if now < next || !m.next.CompareAndSwap(next, now+int64(MACMoveInterval)) {
		return
	}
	s.reportMove(p.num, mac, vlan, old, m.pending.Swap(0))
}

// reportMove logs and emits one rate-limited MAC move report; n counts the moves it covers.
func (s *Switch) reportMove(port int, mac frame.MAC, vlan, old int, n uint64) {
	if n > 1 {
		s.logf("MAC %s moved from port %d to port %d (%d earlier moves to port %d not logged)", mac, old, port, n-1, port)
	} else {
		s.logf("MAC %s moved from port %d to port %d", mac, old, port)
	}
	if s.subscribed() {
		s.emit(Event{Kind: EventMACMoved, Port: port, FromPort: old, MAC: mac, VLAN: vlan, Count: n})
	}
}
