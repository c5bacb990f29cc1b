// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"fmt"
	"math"
	"strconv"
	"syscall"
	"time"

	"github.com/govde/govde/pkg/mgmt"
)

// maxPending bounds the transitions kept until Tick collects them; older ones are discarded.
const maxPending = 64

// A Transition is a change of Markov node, drawn at At.
type Transition struct {
	At       time.Time
	From, To int
}

// markov is the Markov chain over nodes: every period a next node is drawn from the current node's
// edge weights (percent; the self-loop takes what the others leave of 100).
type markov struct {
	n       int
	cur     int
	names   []string
	w       []float64 // n×n edge weights, row = from
	period  time.Duration
	next    time.Time // next draw; zero until the first call with a time
	pending []Transition
	skipped uint64 // transitions discarded because pending was full
}

func (m *markov) init() {
	m.n, m.names, m.w, m.period = 1, []string{""}, []float64{0}, DefaultMarkovTime
	m.pending = make([]Transition, 0, maxPending)
}

// advance draws the transitions due at now. The first call with more than one node starts the clock.
func (m *markov) advance(now time.Time, r *draws) {
	if m.n <= 1 {
		return
	}
	if m.next.IsZero() {
		m.next = now.Add(m.period)
		return
	}
	for !now.Before(m.next) {
		to := m.cur
		x := r.uniform() * 100
		for j := 0; j < m.n; j++ {
			if j == m.cur {
				continue
			}
			if x -= m.w[m.cur*m.n+j]; x < 0 {
				to = j
				break
			}
		}
		if to != m.cur {
			if len(m.pending) < maxPending {
				m.pending = append(m.pending, Transition{At: m.next, From: m.cur, To: to})
			} else {
				m.skipped++
			}
			m.cur = to
		}
		m.next = m.next.Add(m.period)
	}
}

func (m *markov) resize(n int) {
	w := make([]float64, n*n)
	for i := 0; i < min(n, m.n); i++ {
		copy(w[i*n:i*n+min(n, m.n)], m.w[i*m.n:i*m.n+min(n, m.n)])
	}
	names := make([]string, n)
	copy(names, m.names)
	m.n, m.w, m.names = n, w, names
	if m.cur >= n {
		m.cur = 0
	}
	if n <= 1 {
		m.next = time.Time{}
	}
}

func einval(format string, a ...any) error { return mgmt.Errorf(syscall.EINVAL, format, a...) }

// Tick draws the Markov transitions due at now and appends to dst every transition drawn since the
// last Tick (by Tick, Process or Pop), oldest first. Call it when MarkovNext is reached.
func (e *Engine) Tick(now time.Time, dst []Transition) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mk.advance(now, &e.rnd)
	dst = append(dst, e.mk.pending...)
	e.mk.pending = e.mk.pending[:0]
	return dst
}

// MarkovNext returns when Tick should next be called: the next transition draw, or the time of a
// transition drawn but not collected yet (already past). Zero with one node, or before the first
// call given a time.
func (e *Engine) MarkovNext() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.mk.pending) > 0 {
		return e.mk.pending[0].At
	}
	if e.mk.n <= 1 {
		return time.Time{}
	}
	return e.mk.next
}

// TransitionLine formats t as the reference prints it to sessions with markov-debug > 0:
// "%04d Node %d \"%s\" -> %d \"%s\"\n" with code 3800+t.To, with the nodes' current names.
func (e *Engine) TransitionLine(t Transition) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprintf("%04d Node %d \"%s\" -> %d \"%s\"\n", 3800+t.To, t.From, e.name(t.From), t.To, e.name(t.To))
}

func (e *Engine) name(n int) string {
	if n < 0 || n >= e.mk.n {
		return ""
	}
	return e.mk.names[n]
}

// SetNumNodes sets the number of Markov nodes (markov-numnodes), n ≥ 1. Values, names and edges of
// the nodes kept are kept; new nodes start at 0 (feature off) with no edges. The current node
// becomes 0 if it no longer exists.
func (e *Engine) SetNumNodes(n int) error {
	if n < 1 {
		return einval("markov-numnodes %d: want at least 1", n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	nodes := make([]nodeValues, n)
	copy(nodes, e.nodes)
	e.nodes = nodes
	e.mk.resize(n)
	e.refresh()
	return nil
}

// NumNodes returns the number of Markov nodes.
func (e *Engine) NumNodes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mk.n
}

// SetNode makes n the current Markov node (markov-setnode).
func (e *Engine) SetNode(n int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n < 0 || n >= e.mk.n {
		return einval("markov-setnode %d: no such node", n)
	}
	e.mk.cur = n
	return nil
}

// Current returns the current Markov node.
func (e *Engine) Current() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mk.cur
}

// SetName names Markov node n (markov-name).
func (e *Engine) SetName(n int, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n < 0 || n >= e.mk.n {
		return einval("markov-name %d: no such node", n)
	}
	e.mk.names[n] = name
	return nil
}

// Name returns Markov node n's name ("" when unnamed or out of range).
func (e *Engine) Name(n int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.name(n)
}

// SetMarkovTime sets the transition period in milliseconds (markov-time). Deviation: the reference
// accepts 0 or less (a busy timer); here the period must be positive and at least 1 µs.
func (e *Engine) SetMarkovTime(ms float64) error {
	d := seconds(ms / 1000)
	if !(ms > 0) || d < time.Microsecond {
		return einval("markov-time %s: want a positive period", strconv.FormatFloat(ms, 'g', -1, 64))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.mk.next.IsZero() {
		e.mk.next = e.mk.next.Add(d - e.mk.period)
	}
	e.mk.period = d
	return nil
}

// MarkovTime returns the transition period in milliseconds, for showinfo's "Markov-time %lg".
func (e *Engine) MarkovTime() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return float64(e.mk.period) / float64(time.Millisecond)
}

// SetEdge sets the weight, in percent, of the edge from node n1 to node n2 (setedge). The self-loop
// is not set: it is what the other edges leave of 100.
func (e *Engine) SetEdge(n1, n2 int, w float64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n1 < 0 || n1 >= e.mk.n || n2 < 0 || n2 >= e.mk.n || math.IsNaN(w) || math.IsInf(w, 0) {
		return einval("setedge %d,%d,%g: no such edge", n1, n2, w)
	}
	if n1 != n2 {
		e.mk.w[n1*e.mk.n+n2] = w
	}
	return nil
}

// Edge returns the weight of the edge from n1 to n2; for n1 == n2, 100 minus the other edges of n1.
func (e *Engine) Edge(n1, n2 int) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n1 < 0 || n1 >= e.mk.n || n2 < 0 || n2 >= e.mk.n {
		return 0
	}
	if n1 != n2 {
		return e.mk.w[n1*e.mk.n+n2]
	}
	self := 100.0
	for j := 0; j < e.mk.n; j++ {
		if j != n1 {
			self -= e.mk.w[n1*e.mk.n+j]
		}
	}
	return self
}
