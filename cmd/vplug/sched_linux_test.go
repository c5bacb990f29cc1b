// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/stream"
)

// firehose writes a script called name that writes stream records of 60-byte frames to its
// standard output without end (testutil.Firehose), and returns its path.
func firehose(t *testing.T, name string) string {
	t.Helper()
	var recs bytes.Buffer
	w := stream.NewWriter(&recs)
	for i := range 1000 {
		if err := w.WriteFrame(testFrame(60, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	return testutil.Firehose(t, name, recs.Bytes())
}

// childOf returns a child process of pid (any of its threads may have started it).
func childOf(t *testing.T, pid int) int {
	t.Helper()
	var child int
	testutil.Eventually(t, 5*time.Second, "a child of "+strconv.Itoa(pid), func() bool {
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
	return child
}

// TestSchedBatch: a vplug carrying a bulk flow runs its threads under SCHED_BATCH (3) and the command it
// started does not; GOVDE_SCHED=normal, or vde2's wirefilter on a pipe, leaves them under SCHED_OTHER
// (0), as does a light flow; a bad value is a one-line error.
func TestSchedBatch(t *testing.T) {
	skipShort(t)
	bin := testutil.Bin(t, "vplug")
	start := func(t *testing.T, env string, argv ...string) int {
		p := testutil.Start(t, func(c *exec.Cmd) {
			c.Env = append(os.Environ(), "GOVDE_SCHED="+env)
		}, bin, append([]string{"null://", "="}, argv...)...)
		t.Cleanup(func() { p.Stop(5 * time.Second) })
		return p.Cmd.Process.Pid
	}

	pid := start(t, "", firehose(t, "bulk"))
	testutil.Eventually(t, 10*time.Second, "vplug's threads under SCHED_BATCH", func() bool {
		return testutil.AllAre(testutil.ThreadPolicies(pid), "3")
	})
	if ps := testutil.ThreadPolicies(childOf(t, pid)); !testutil.AllAre(ps, "0") {
		t.Errorf("the command's threads have policies %v, want SCHED_OTHER (0)", ps)
	}

	// The cases that stay under SCHED_OTHER, side by side for a while: above, the policy changed
	// within a second.
	normal := start(t, "normal", firehose(t, "bulk"))
	beside := start(t, "", firehose(t, "wirefilter")) // a script's process is named after it
	light := start(t, "", "cat")
	time.Sleep(2 * time.Second)
	for what, pid := range map[string]int{"GOVDE_SCHED=normal": normal, "beside a wirefilter": beside, "no traffic": light} {
		if ps := testutil.ThreadPolicies(pid); !testutil.AllAre(ps, "0") {
			t.Errorf("%s: vplug's threads have policies %v, want SCHED_OTHER (0)", what, ps)
		}
	}

	// The real peer: the same bulk flow through vde2's wirefilter leaves vplug under SCHED_OTHER, and
	// through ours (which reassembles each direction apart) it does not.
	t.Run("real wirefilter", func(t *testing.T) {
		real := testutil.RealTool(t, "wirefilter")
		hose := firehose(t, "bulk")
		viaOurs := start(t, "", "sh", "-c", "exec 2>/dev/null; "+hose+" | exec "+testutil.Bin(t, "wirefilter"))
		viaReal := start(t, "", "sh", "-c", "exec 2>/dev/null; "+hose+" | exec "+real)
		testutil.Eventually(t, 10*time.Second, "vplug behind our wirefilter under SCHED_BATCH", func() bool {
			return testutil.AllAre(testutil.ThreadPolicies(viaOurs), "3")
		})
		time.Sleep(time.Second) // the flow through ours was fast enough; give the real one as long again
		if ps := testutil.ThreadPolicies(viaReal); !testutil.AllAre(ps, "0") {
			t.Errorf("behind vde2's wirefilter, vplug's threads have policies %v, want SCHED_OTHER (0)", ps)
		}
	})

	out, err := exec.Command("env", "GOVDE_SCHED=fifo", bin, "null://").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.TrimSpace(string(out)) != `vplug: GOVDE_SCHED="fifo": want batch or normal` {
		t.Errorf("GOVDE_SCHED=fifo: %v, output %q; want exit status 1 and the one-line error", err, out)
	}
}

// TestBunchedWrites: a vplug carrying a bulk flow to a pipe writes its records bunched, more than
// 2048 bytes to a write (a packet-mode pipe shows each write as packets of up to 4096 bytes), unless
// vde2's wirefilter holds that pipe: then every write stays whole records of at most 2048 bytes.
func TestBunchedWrites(t *testing.T) {
	skipShort(t)
	bin := testutil.Bin(t, "vplug")
	dir := filepath.Join(t.TempDir(), "sw")
	testutil.StartSwitch(t, testutil.Bin(t, "vswitch"), dir)
	testutil.Start(t, nil, bin, dir, "=", firehose(t, "bulk"))

	// receiver starts a vplug writing what the switch sends to a packet-mode pipe, after holder (when
	// not nil) has given the read end to another process too, and returns the read end.
	receiver := func(t *testing.T, holder func(rd *os.File)) *os.File {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_DIRECT|unix.O_CLOEXEC); err != nil {
			t.Skipf("no packet-mode pipes here: %v", err)
		}
		unix.SetNonblock(p[0], true) // for the read deadline
		rd, wr := os.NewFile(uintptr(p[0]), "pipe-r"), os.NewFile(uintptr(p[1]), "pipe-w")
		t.Cleanup(func() { rd.Close() })
		if holder != nil {
			holder(rd)
		}
		in, inW, err := os.Pipe() // its stdin: open, and silent
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { inW.Close() })
		testutil.Start(t, func(c *exec.Cmd) { c.Stdin, c.Stdout = in, wr }, bin, dir)
		in.Close()
		wr.Close()
		return rd
	}
	buf := make([]byte, 1<<16)
	read := func(t *testing.T, rd *os.File) int {
		if err := rd.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := rd.Read(buf)
		if err != nil {
			t.Fatalf("read from vplug's output: %v", err)
		}
		return n
	}

	t.Run("bunched", func(t *testing.T) {
		rd := receiver(t, nil)
		deadline := time.Now().Add(10 * time.Second)
		for read(t, rd) <= 2048 {
			if time.Now().After(deadline) {
				t.Fatal("after 10 s of a bulk flow, vplug still writes at most 2048 bytes at a time")
			}
		}
	})
	t.Run("beside the real wirefilter", func(t *testing.T) {
		real := testutil.RealTool(t, "wirefilter")
		rd := receiver(t, func(rd *os.File) {
			in, inW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { inW.Close() })
			// The pipe is its descriptor 5, which it never reads: holding it is enough.
			testutil.Start(t, func(c *exec.Cmd) { c.Stdin, c.ExtraFiles = in, []*os.File{nil, nil, rd} }, real)
			in.Close()
		})
		// Until vplug has carried a bulk flow (over 10,000 frames/s, the threshold of sched.Follow)
		// for 4 quarter-seconds, which a loaded machine may take a while to give.
		const bulkWindows, window = 4, 250 * time.Millisecond
		bulk, frames, longest := 0, 0, 0
		deadline := time.Now().Add(20 * time.Second)
		for start := time.Now(); bulk < bulkWindows && time.Now().Before(deadline); {
			n := read(t, rd)
			frames += n / 62
			longest = max(longest, n)
			if time.Since(start) >= window {
				if frames > 10000*int(window/time.Millisecond)/1000 {
					bulk++
				}
				frames, start = 0, time.Now()
			}
		}
		if longest > 2048 {
			t.Errorf("beside vde2's wirefilter, vplug wrote %d bytes at once; want at most 2048", longest)
		}
		if bulk < bulkWindows {
			t.Errorf("in 20 s, only %d quarter-seconds of a bulk flow: the test proves nothing", bulk)
		}
	})
}

// TestOneProcOnStreams: a vplug whose plugs it polls itself, one a stream (a command's pipes), runs
// on one P once it knows the command is no fragile peer (sched.Flow.NoFragile), and stays on the
// runtime's choice beside a wirefilter that is not ours or when GOMAXPROCS is set. The runtime's
// scheduler trace (GODEBUG=schedtrace) shows its gomaxprocs.
func TestOneProcOnStreams(t *testing.T) {
	skipShort(t)
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: the runtime's choice is one P anyway")
	}
	bin := testutil.Bin(t, "vplug")
	dir := filepath.Join(t.TempDir(), "sw") // a switch port: a plug vplug polls itself (null:// is not)
	testutil.StartSwitch(t, testutil.Bin(t, "vswitch"), dir)
	start := func(t *testing.T, env string, argv ...string) *testutil.Proc {
		p := testutil.Start(t, func(c *exec.Cmd) {
			c.Env = append(os.Environ(), "GODEBUG=schedtrace=100")
			if env != "" {
				c.Env = append(c.Env, env)
			}
		}, bin, append([]string{dir, "="}, argv...)...)
		t.Cleanup(func() { p.Stop(5 * time.Second) })
		return p
	}
	procs := func(p *testutil.Proc) []string {
		var got []string
		for _, f := range strings.Fields(p.Stderr.String()) {
			if v, ok := strings.CutPrefix(f, "gomaxprocs="); ok {
				got = append(got, v)
			}
		}
		return got
	}
	one := start(t, "", "cat")
	testutil.Eventually(t, 10*time.Second, "vplug = cat on one P", func() bool {
		got := procs(one)
		return len(got) > 0 && got[len(got)-1] == "1"
	})
	beside := start(t, "", firehose(t, "wirefilter")) // a script's process is named after it
	set := start(t, "GOMAXPROCS=2", "cat")
	time.Sleep(2 * time.Second)
	for what, p := range map[string]*testutil.Proc{"beside a wirefilter": beside, "with GOMAXPROCS=2": set} {
		got := procs(p)
		if len(got) == 0 || slices.Contains(got, "1") {
			t.Errorf("%s: the scheduler trace's gomaxprocs %v; want never 1", what, got)
		}
	}
}

// TestMaxRecordBesideWirefilter: once vplug sees that vde2's wirefilter writes its standard input
// (here cat, copied to a file of that name, passing on what the test writes), a record longer than
// that wirefilter ever writes (1521 bytes) means the stream lost step: vplug drops it with what was
// read with it, and delivers the record of the next write. Beside the same cat named vde_plug, every
// 1600-byte record passes.
func TestMaxRecordBesideWirefilter(t *testing.T) {
	skipShort(t)
	for _, c := range []struct {
		name    string
		limited bool
	}{{"wirefilter", true}, {"vde_plug", false}} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sw")
			testutil.StartSwitch(t, testutil.Bin(t, "vswitch"), dir)
			inR, inW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			midR, midW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { inW.Close() })
			testutil.Start(t, func(c *exec.Cmd) { c.Stdin, c.Stdout = inR, midW }, testutil.Renamed(t, "cat", c.name))
			testutil.Start(t, func(c *exec.Cmd) { c.Stdin = midR }, testutil.Bin(t, "vplug"), "vde://"+dir)
			inR.Close()
			midR.Close()
			midW.Close()
			_, bs := startPlug(t, "vde://"+dir)
			waitPorts(t, dir, 2)

			rec := func(f []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(f))), f...) }
			// The ports' data sockets exist a moment before the switch joins their endpoints, and a frame
			// flooded meanwhile misses the port: a marker through the whole path first (make test saw
			// round 0 lose both frames of its first write once).
			probe := testFrame(60, 0xf0)
			testutil.Eventually(t, 10*time.Second, "a marker through cat, vplug, the switch and the other vplug", func() bool {
				if _, err := inW.Write(rec(probe)); err != nil {
					t.Fatal(err)
				}
				f, err := bs.tryRead(200 * time.Millisecond)
				return err == nil && bytes.Equal(f, probe)
			})
			long := testFrame(1600, 0)
			// round writes the long record and a marker in one write, then another marker in the next,
			// and reports what arrived before the second marker (false: it did not, as when both writes
			// were read at once and dropped together).
			round := func(i int) (gotLong, gotFirst, ok bool) {
				first, second := testFrame(60, byte(2*i+1)), testFrame(60, byte(2*i+2))
				if _, err := inW.Write(append(rec(long), rec(first)...)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
				if _, err := inW.Write(rec(second)); err != nil {
					t.Fatal(err)
				}
				for {
					f, err := bs.tryRead(time.Second)
					if err != nil {
						return gotLong, gotFirst, false
					}
					switch {
					case bytes.Equal(f, long):
						gotLong = true
					case bytes.Equal(f, first):
						gotFirst = true
					case bytes.Equal(f, second):
						return gotLong, gotFirst, true
					}
				}
			}
			start := time.Now()
			for i := 0; ; i++ {
				gotLong, gotFirst, ok := round(i)
				switch {
				case c.limited && ok && !gotLong && !gotFirst:
					return // the 1600-byte header dropped its read; the next write came through
				case c.limited && time.Since(start) > 5*time.Second:
					t.Fatalf("beside a wirefilter, 1600-byte records still pass after %v (round %d: long %v, marker %v, next %v)",
						time.Since(start).Round(time.Millisecond), i, gotLong, gotFirst, ok)
				case !c.limited && (!ok || !gotLong || !gotFirst):
					t.Fatalf("beside %s, round %d: long %v, marker %v, next %v; want all three", c.name, i, gotLong, gotFirst, ok)
				case !c.limited && time.Since(start) > 2*time.Second:
					return // Follow has looked at its peers several times by now
				}
			}
		})
	}
}
