// SPDX-License-Identifier: GPL-2.0-or-later

package rawfd

import "testing"

// TestAnswers: reads go on while they find something; after two misses in a row only one round in
// AnswerProbe reads, and a probe that finds something turns the reads back on.
func TestAnswers(t *testing.T) {
	var a Answers
	for i := range 3 {
		if !a.Try() {
			t.Fatalf("round %d while reads find answers: no read", i)
		}
		a.Got(true)
	}
	for i := range 2 {
		if !a.Try() {
			t.Fatalf("miss %d: no read, want a read until the second miss", i)
		}
		a.Got(false)
	}
	if a.Misses() != 2 {
		t.Fatalf("two misses: Misses %d, want 2", a.Misses())
	}
	for probe := range 2 {
		for i := 1; i < AnswerProbe; i++ {
			if a.Try() {
				t.Fatalf("probe %d, round %d after the misses: a read, want none before the probe", probe, i)
			}
		}
		if !a.Try() {
			t.Fatalf("probe %d: round %d after the misses did not read", probe, AnswerProbe)
		}
		a.Got(false) // a probe that misses: the reads stay off
	}
	if a.Misses() != 2 {
		t.Fatalf("probes that missed: Misses %d, want 2", a.Misses())
	}
	for i := 1; i < AnswerProbe; i++ {
		if a.Try() {
			t.Fatalf("round %d after a probe that missed: a read", i)
		}
	}
	if !a.Try() {
		t.Fatal("the third probe did not read")
	}
	a.Got(true)
	if a.Misses() != 0 || !a.Try() {
		t.Fatalf("a probe that found an answer: Misses %d, reads on %v; want 0, true", a.Misses(), a.Try())
	}
}
