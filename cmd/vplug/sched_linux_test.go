// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// threadPolicies returns the scheduling policy (field 41 of stat) of every thread of pid.
func threadPolicies(pid int) []string {
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

// allAre reports whether ps is not empty and every element is p.
func allAre(ps []string, p string) bool {
	for _, x := range ps {
		if x != p {
			return false
		}
	}
	return len(ps) > 0
}

// TestSchedBatch: a running vplug's threads are under SCHED_BATCH (3) and the command it started is
// not; GOVDE_SCHED=normal, or vde2's wirefilter on a pipe, leaves them under SCHED_OTHER (0); a bad
// value is a one-line error.
func TestSchedBatch(t *testing.T) {
	skipShort(t)
	bin := testutil.Bin(t, "vplug")
	for _, tc := range []struct{ env, want string }{{"", "3"}, {"normal", "0"}} {
		p := testutil.Start(t, func(c *exec.Cmd) {
			c.Env = append(os.Environ(), "GOVDE_SCHED="+tc.env)
		}, bin, "null://", "=", "sh", "-c", "exec sleep 30")
		pid := p.Cmd.Process.Pid
		testutil.Eventually(t, 5*time.Second, "vplug's threads under policy "+tc.want, func() bool {
			return allAre(threadPolicies(pid), tc.want)
		})
		var child int
		testutil.Eventually(t, 5*time.Second, "vplug's command", func() bool {
			// Any of vplug's threads may have started it.
			kids, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
			for _, k := range kids {
				b, _ := os.ReadFile(k)
				if f := strings.Fields(string(b)); len(f) > 0 {
					child, _ = strconv.Atoi(f[0])
					return true
				}
			}
			return false
		})
		if ps := threadPolicies(child); !allAre(ps, "0") {
			t.Errorf("GOVDE_SCHED=%q: the command's threads have policies %v, want SCHED_OTHER (0)", tc.env, ps)
		}
		p.Stop(5 * time.Second)
	}

	// Beside vde2's wirefilter (here a C program of that name), vplug keeps SCHED_OTHER: the real
	// wirefilter loses step more often when records come bunched (package sched).
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	prog, _ := os.ReadFile(sleep)
	fake := filepath.Join(t.TempDir(), "wirefilter")
	if err := os.WriteFile(fake, prog, 0o755); err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, nil, bin, "null://", "=", fake, "30")
	testutil.Eventually(t, 5*time.Second, "vplug's threads", func() bool { return len(threadPolicies(p.Cmd.Process.Pid)) > 0 })
	time.Sleep(time.Second) // beside anything else, the policy changes within milliseconds (above)
	if ps := threadPolicies(p.Cmd.Process.Pid); !allAre(ps, "0") {
		t.Errorf("beside a wirefilter, vplug's threads have policies %v, want SCHED_OTHER (0)", ps)
	}
	p.Stop(5 * time.Second)

	out, err := exec.Command("env", "GOVDE_SCHED=fifo", bin, "null://").CombinedOutput()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if code != 1 || strings.TrimSpace(string(out)) != `vplug: GOVDE_SCHED="fifo": want batch or normal` {
		t.Errorf("GOVDE_SCHED=fifo: exit %d, output %q", code, out)
	}
}
