// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// stormAnswerBound is how long a console answer may take during the storm: the requirement's 1 s
// (vde_switch answers port/print in 0.75 s under this storm). Measured with the test binary under -race
// on 2 cores shared with seven other jobs (load average 20, a storm of 7-25k frames/s per switch plus a
// busy loop per core): port/print, hash/print, port/create and port/remove answered in 1-12 ms,
// shutdown in 17 ms, so the bound leaves two orders of magnitude of room.
const stormAnswerBound = time.Second

// TestRootConsoleAnswersUnderStorm cables three switches in a loop (two dpipe cables of vplug pairs,
// one vplug URL URL cable), without FSTP, injects broadcasts so that the loop storms, keeps every core
// busy, and checks that port/print, hash/print, port/create+remove answer on a management socket within
// stormAnswerBound, and that shutdown ends the switch.
func TestRootConsoleAnswersUnderStorm(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	sw, plug, dpipe := testutil.Bin(t, "vswitch"), testutil.Bin(t, "vplug"), testutil.Bin(t, "dpipe")
	base := t.TempDir()
	sock := func(i int) string { return filepath.Join(base, "s"+strconv.Itoa(i)) }
	mgmt := func(i int) string { return filepath.Join(base, "m"+strconv.Itoa(i)) }
	var procs [4]*testutil.Proc
	for i := 1; i <= 3; i++ {
		inR, inW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { inR.Close(); inW.Close() })
		procs[i] = testutil.Start(t, func(c *exec.Cmd) { c.Stdin = inR }, sw, "-s", sock(i), "-M", mgmt(i))
	}
	for i := 1; i <= 3; i++ {
		testutil.WaitListening(t, mgmt(i), 10*time.Second)
	}
	testutil.Start(t, nil, dpipe, plug, sock(1), "=", plug, sock(2))
	testutil.Start(t, nil, dpipe, plug, sock(2), "=", plug, sock(3))
	testutil.Start(t, nil, plug, sock(3), sock(1))
	for i := 1; i <= 3; i++ {
		testutil.Eventually(t, 10*time.Second, "two cables on switch "+strconv.Itoa(i), func() bool {
			return strings.Count(testutil.MgmtCommand(t, mgmt(i), "port/print"), "ACTIVE") == 2
		})
	}
	// Inject broadcasts from a fourth plug on switch 1 (its stdin a stream of records).
	injR, injW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { injR.Close(); injW.Close() })
	testutil.Start(t, func(c *exec.Cmd) { c.Stdin = injR }, plug, sock(1))
	testutil.Eventually(t, 10*time.Second, "the injector's port", func() bool {
		return strings.Count(testutil.MgmtCommand(t, mgmt(1), "port/print"), "ACTIVE") == 3
	})
	f := make([]byte, 60)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06})
	var recs []byte
	for range 64 {
		recs = append(binary.BigEndian.AppendUint16(recs, uint16(len(f))), f...)
	}
	if _, err := injW.Write(recs); err != nil {
		t.Fatal(err)
	}
	// Every core busy besides the storm, for as long as the test measures.
	stop := make(chan struct{})
	var hogs sync.WaitGroup
	for range runtime.NumCPU() {
		hogs.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 1e6; i++ {
				}
			}
		})
	}
	defer func() { close(stop); hogs.Wait() }()

	inPkts := regexp.MustCompile(`IN:  pkts +(\d+)`)
	storming := func() uint64 {
		var n uint64
		for _, m := range inPkts.FindAllStringSubmatch(testutil.MgmtCommand(t, mgmt(2), "port/print"), -1) {
			v, _ := strconv.ParseUint(m[1], 10, 64)
			n += v
		}
		return n
	}
	before := storming()
	time.Sleep(time.Second)
	if after := storming(); after-before < 1000 {
		t.Fatalf("no storm: switch 2 received %d frames in a second", after-before)
	} else {
		t.Logf("storm: switch 2 receives %d frames/s", after-before)
	}

	c := dialConsole(t, mgmt(1))
	defer c.Close()
	for round := range 3 {
		for _, tc := range []struct{ cmd, want string }{
			{"port/print", "1000 Success\n"},
			{"hash/print", "02:00:00:00:00:01"},
			{"port/create 20", "1000 Success\n"},
			{"port/remove 20", "1000 Success\n"},
		} {
			got, took := c.timed(tc.cmd)
			t.Logf("round %d: %s answered in %v", round, tc.cmd, took.Round(time.Millisecond))
			if !strings.Contains(got, tc.want) {
				t.Errorf("%s: %q, want %q in it", tc.cmd, got, tc.want)
			}
			if took > stormAnswerBound {
				t.Errorf("%s answered in %v during the storm, want at most %v", tc.cmd, took, stormAnswerBound)
			}
		}
	}
	if after := storming(); after == before {
		t.Error("the storm stopped while the console was used")
	}
	// shutdown works during the storm: the session ends and the switch exits.
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	c.c.Write([]byte("shutdown\n"))
	var b bytes.Buffer
	b.ReadFrom(c.c)
	if !strings.HasSuffix(b.String(), "9999 END OF SESSION") {
		t.Errorf("shutdown: %q, want the end of the session", b.String())
	}
	if err := procs[1].Wait(10 * time.Second); err != nil {
		t.Errorf("switch 1 after shutdown: %v", err)
	}
	t.Logf("shutdown took %v", time.Since(start).Round(time.Millisecond))
}

type stormConsole struct {
	t *testing.T
	c net.Conn
}

func dialConsole(t *testing.T, sock string) *stormConsole {
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	cn := &stormConsole{t: t, c: c}
	cn.read()
	return cn
}

func (c *stormConsole) Close() error { return c.c.Close() }

// read reads up to the prompt, for at most 10 s.
func (c *stormConsole) read() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b []byte
	buf := make([]byte, 64<<10)
	for !bytes.HasSuffix(b, []byte("\nvde$ ")) {
		n, err := c.c.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			c.t.Fatalf("console: %v after %q", err, b)
		}
	}
	return string(b)
}

// timed runs one command and returns its reply and how long it took to arrive whole.
func (c *stormConsole) timed(cmd string) (string, time.Duration) {
	c.t.Helper()
	start := time.Now()
	if _, err := fmt.Fprintf(c.c, "%s\n", cmd); err != nil {
		c.t.Fatal(err)
	}
	got := c.read()
	return got, time.Since(start)
}
