// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// TestSchedBatch: a plug2tap carrying a bulk flow (stream records from a firehose on its standard input,
// written to its TAP) runs its threads under SCHED_BATCH (3); with GOVDE_SCHED=normal, or beside vde2's
// wirefilter on its pipes, they stay under SCHED_OTHER (0); a bad value is a one-line error.
func TestSchedBatch(t *testing.T) {
	bin := testutil.Bin(t, "plug2tap")
	out, err := exec.Command("env", "GOVDE_SCHED=fifo", bin, "tap0").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.TrimSpace(string(out)) != `plug2tap: GOVDE_SCHED="fifo": want batch or normal` {
		t.Errorf("GOVDE_SCHED=fifo: %v, output %q; want exit status 1 and the one-line error", err, out)
	}

	testutil.SkipUnlessRoot(t)
	var recs bytes.Buffer
	w := stream.NewWriter(&recs)
	for i := range 1000 {
		if err := w.WriteFrame(testFrame(frame.MAC{0x02, 0x47, 0x56, 0, 0, 1}, byte(i), 60)); err != nil {
			t.Fatal(err)
		}
	}
	// start runs plug2tap -s - on a new TAP in a namespace of its own, with the environment setting
	// env, and, once the TAP is up, a firehose called name writing its standard input; it returns
	// plug2tap's pid.
	start := func(t *testing.T, env, name string) int {
		ns := testutil.Netns(t)
		const dev = "gvtsched0"
		in, inW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		p := testutil.Start(t, func(c *exec.Cmd) {
			c.Env = append(os.Environ(), "GOVDE_SCHED="+env)
			c.Stdin = in
		}, "ip", "netns", "exec", ns, bin, "-s", "-", dev) // ip execs plug2tap: the pid is plug2tap's
		in.Close()
		t.Cleanup(func() { inW.Close(); p.Stop(5 * time.Second) })
		testutil.Eventually(t, 10*time.Second, "TAP "+dev, func() bool { return linkExists(ns, dev) || p.Exited() })
		testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+dev+".disable_ipv6=1")
		testutil.Run(t, "ip", "-n", ns, "link", "set", dev, "up")
		hose := testutil.Start(t, func(c *exec.Cmd) { c.Stdout = inW }, testutil.Firehose(t, name, recs.Bytes()))
		t.Cleanup(func() { hose.Stop(5 * time.Second) })
		return p.Cmd.Process.Pid
	}

	pid := start(t, "", "bulk")
	testutil.Eventually(t, 10*time.Second, "plug2tap's threads under SCHED_BATCH", func() bool {
		return testutil.AllAre(testutil.ThreadPolicies(pid), "3")
	})
	normal := start(t, "normal", "bulk")
	beside := start(t, "", "wirefilter")
	time.Sleep(2 * time.Second) // above, the policy changed within a second
	for what, pid := range map[string]int{"GOVDE_SCHED=normal": normal, "beside a wirefilter": beside} {
		if ps := testutil.ThreadPolicies(pid); !testutil.AllAre(ps, "0") {
			t.Errorf("%s: plug2tap's threads have policies %v, want SCHED_OTHER (0)", what, ps)
		}
	}
}
