// SPDX-License-Identifier: GPL-2.0-or-later

package main

import "testing"

// TestDiedOf: the statuses of a death by SIGHUP, SIGINT or SIGTERM (dpipe's own signals) give the
// signal its grace; others do not.
func TestDiedOf(t *testing.T) {
	cases := map[int]bool{129: true, 130: true, 143: true, 137: false, 141: false, 0: false, 1: false, 255: false}
	for code, want := range cases {
		if got := diedOf(code, termSignals); got != want {
			t.Errorf("diedOf(%d) = %v, want %v", code, got, want)
		}
	}
}
