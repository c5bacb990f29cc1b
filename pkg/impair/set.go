// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import "fmt"

// Set parses arg with ParseValue and sets parameter p for the directions and Markov node it names,
// as the console commands loss, delay, … and the command-line options do. A parse error carries
// EINVAL and changes nothing.
func (e *Engine) Set(p Param, arg string) error {
	if p < 0 || p >= NumParams {
		return einval("parameter %d: no such parameter", int(p))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := ParseValue(arg, e.mk.n)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if st.LR {
		e.nodes[st.Node][p][LR] = st.Value
	}
	if st.RL {
		e.nodes[st.Node][p][RL] = st.Value
	}
	e.refresh()
	return nil
}

// SetValue sets parameter p of direction d in Markov node node to v.
func (e *Engine) SetValue(p Param, d Dir, node int, v Value) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p < 0 || p >= NumParams || node < 0 || node >= e.mk.n || !finite(v.Value) || !finite(v.Plus) {
		return einval("set %s node %d: invalid", p, node)
	}
	e.nodes[node][p][d&1] = v
	e.refresh()
	return nil
}

// Value returns parameter p of direction d in Markov node node (the zero Value if out of range).
func (e *Engine) Value(p Param, d Dir, node int) Value {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p < 0 || p >= NumParams || node < 0 || node >= e.mk.n {
		return Value{}
	}
	return e.nodes[node][p][d&1]
}
