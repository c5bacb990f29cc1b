// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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

// Firehose writes a script called name that writes recs (VDE stream records, say) to its standard
// output over and over without end, and returns its path. A script's process is named after it, so
// a name such as "wirefilter" makes it look like that program to a tool that looks at its peers.
func Firehose(t testing.TB, name string, recs []byte) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "recs")
	if err := os.WriteFile(data, recs, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, name)
	// Its standard error goes nowhere: a process that outlives the tool holding the test's stderr
	// pipe would keep Proc.Wait from returning.
	body := "#!/bin/sh\nexec 2>/dev/null\nwhile :; do cat " + data + " || exit; done\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}
