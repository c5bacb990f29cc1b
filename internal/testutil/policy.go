// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"os"
	"strconv"
	"strings"
)

// ThreadPolicies returns the scheduling policy of every thread of pid, as field 41 of its stat file
// gives it ("0" SCHED_OTHER, "3" SCHED_BATCH); nothing where there is no /proc.
func ThreadPolicies(pid int) []string {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, _ := os.ReadDir(dir)
	var ps []string
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		// The fields after the command name, which is in parentheses and may hold spaces.
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) >= 39 {
			ps = append(ps, f[38])
		}
	}
	return ps
}

// AllAre reports whether ps is not empty and every element is p.
func AllAre(ps []string, p string) bool {
	for _, x := range ps {
		if x != p {
			return false
		}
	}
	return len(ps) > 0
}
