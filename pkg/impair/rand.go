// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"math"
	"math/rand/v2"
)

// NewSource returns a seeded PCG source: the same seed gives the same draws, hence the same frames
// dropped, duplicated, delayed and damaged for the same input.
func NewSource(seed uint64) rand.Source { return rand.NewPCG(seed, seed^0x9e3779b97f4a7c15) }

// draws wraps the injected source with the two distributions wirefilter uses.
type draws struct {
	r        *rand.Rand
	spare    float64 // Marsaglia's polar method makes two normals; the second is kept
	hasSpare bool
}

// uniform returns a float in [0, 1), as drand48 does.
func (d *draws) uniform() float64 { return d.r.Float64() }

// gauss returns a standard normal deviate (Marsaglia polar method).
func (d *draws) gauss() float64 {
	if d.hasSpare {
		d.hasSpare = false
		return d.spare
	}
	for {
		u, v := 2*d.r.Float64()-1, 2*d.r.Float64()-1
		s := u*u + v*v
		if s > 0 && s < 1 {
			m := math.Sqrt(-2 * math.Log(s) / s)
			d.spare, d.hasSpare = v*m, true
			return u * m
		}
	}
}

// value draws one instance of v (compute_wirevalue): v.Value when Plus is 0, else uniform in
// [Value−Plus, Value+Plus], or normal with mean Value and σ = Plus/3.
func (d *draws) value(v Value) float64 {
	if v.Plus == 0 {
		return v.Value
	}
	if v.Alg == Normal {
		return v.Value + v.Plus/3*d.gauss()
	}
	return v.Value + v.Plus*(2*d.uniform()-1)
}
