// SPDX-License-Identifier: GPL-2.0-or-later

package impair

// Pass reports whether a frame of direction d would leave the engine unchanged and at once: no
// parameter of d is on (with a single Markov node, whose values cannot change by themselves) and no
// copy of d is queued, so it could not overtake one. When it reports true the frame counts as given
// to Process and handed out by Pop (Stats' In and Out), and the caller sends it on itself: no copy,
// no lock, which is what makes a transparent wirefilter cost little. When it reports false the
// caller goes through Process. A parameter set (Set, SetValue, SetNumNodes) before Pass is called
// is seen by it. Pass is safe for concurrent use and never blocks.
func (e *Engine) Pass(d Dir) bool {
	d &= 1
	if !e.clear[d].Load() || e.pending[d].Load() != 0 {
		return false
	}
	e.passed[d].Add(1)
	return true
}

// Clear reports whether no parameter is on in either direction (with a single Markov node): the
// engine changes nothing and holds nothing back, and needs no timer. It is safe for concurrent use.
func (e *Engine) Clear() bool {
	return e.clear[0].Load() && e.clear[1].Load()
}

// refresh recomputes clear from the parameters; the caller holds e.mu and calls it after any change
// of the parameters or of the number of Markov nodes.
func (e *Engine) refresh() {
	for d := range e.clear {
		e.clear[d].Store(e.mk.n == 1 && allOff(&e.nodes[0], Dir(d)))
	}
}

// allOff reports whether every parameter of direction d in vals is off: no value and no jitter that
// could make one.
func allOff(vals *nodeValues, d Dir) bool {
	for p := range vals {
		if v := vals[p][d]; v.Value != 0 || v.Plus != 0 {
			return false
		}
	}
	return true
}
