// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"fmt"
	"strings"
)

// LineDiff lists, in order, the lines of got missing from want ("-") and added ("+"), each after the
// last common line for which isCmd is true (the command that produced it), at most 60 of them; it
// returns "(identical)" when there is no difference. It is a longest-common-subsequence diff, meant
// for the small outputs of differential console tests.
func LineDiff(want, got string, isCmd func(line string) bool) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] = length of the LCS of w[i:] and g[j:].
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	last := ""
	shown := 0
	for i, j := 0, 0; (i < len(w) || j < len(g)) && shown < 60; {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			if isCmd(w[i]) {
				last = w[i]
			}
			i, j = i+1, j+1
			continue
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&b, "after %q: + %q\n", last, g[j])
			j++
		default:
			fmt.Fprintf(&b, "after %q: - %q\n", last, w[i])
			i++
		}
		shown++
	}
	if b.Len() == 0 {
		return "(identical)"
	}
	return b.String()
}
