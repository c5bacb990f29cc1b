// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/mgmt"
)

// TestRealClientChurn (requirement 10, from outside): a real vde_plug blasting frames is killed with SIGKILL
// mid-traffic, then 200 real vde_plugs connect and close one after the other; afterwards port/print lists
// only the two namespaced hosts, they still ping each other across the switch, a new management session is
// served, and the switch's open file descriptors are back to what they were before (so every data socket,
// ctl stream and endpoint was released).
//
// The reference row checks only that the switch still forwards and answers: vde_switch r586 often keeps a
// few endpoints of clients that are gone (the killed blaster and some of the first cycles stay in port/print,
// with their fds), so for it the leftover endpoints are logged, not failed.
func TestRealClientChurn(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) { testChurn(t, impl, 1) })
}

// TestRealClientChurnConcurrent is TestRealClientChurn with the 200 vde_plugs run by 4 concurrent loops. It
// has no reference row: vde_switch r586 breaks for good under this load (after a few cycles its replies name
// data sockets that do not exist, and from then on every vde_plug, even alone, fails with "vde_open DIR: No
// such file or directory").
func TestRealClientChurnConcurrent(t *testing.T) {
	skipIfShort(t)
	t.Run(ourSwitch.name, func(t *testing.T) { testChurn(t, ourSwitch, 4) })
}

func testChurn(t *testing.T, impl switchImpl, workers int) {
	const cycles = 200
	testutil.SkipUnlessRoot(t)
	plugBin := testutil.RealTool(t, "vde_plug")
	sw := startSwitch(t, impl)
	a := newHost(t, sw.Dir, 0, "198.18.7.1/24")
	b := newHost(t, sw.Dir, 0, "198.18.7.2/24")
	hosts := map[string]bool{hostDescr(t, a): true, hostDescr(t, b): true}
	for d := range hosts {
		sw.waitEndpoint(t, d)
	}
	a.Ping(t, b.IP)
	pid := sw.Proc.Cmd.Process.Pid
	baseline := fdCount(t, pid)

	// A blaster: broadcast frames as fast as its stdin takes them, until it is SIGKILLed.
	blaster := startPlug(t, "vde://"+sw.Dir)
	blasterPort := sw.waitEndpoint(t, descr(t, "vdeplug:", blaster.Pid()))
	f := testFrame(frame.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x07, 0x01}, 1000, 9)
	var sent int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for blaster.conn.WriteFrame(f) == nil {
			sent++
		}
	}()
	time.Sleep(500 * time.Millisecond)
	if err := blaster.Proc.Cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL vde_plug %d: %v", blaster.Pid(), err)
	}
	blaster.Proc.Wait(5 * time.Second)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("writing to the killed vde_plug's stdin did not fail within 5s")
	}
	if sent < 100 {
		t.Fatalf("the blaster took only %d frames in 500 ms before it was killed, want a real blast (>= 100)", sent)
	}
	// The switch really took them: the counters of the blaster's (now inactive) port.
	testutil.Eventually(t, 5*time.Second, fmt.Sprintf("port/allprint %d counting >= 100 frames in", blasterPort), func() bool {
		for _, l := range sw.do(t, fmt.Sprintf("port/allprint %d", blasterPort)) {
			var pkts, bytes int64
			if n, _ := fmt.Sscanf(l, " IN:  pkts %d bytes %d", &pkts, &bytes); n == 2 {
				return pkts >= 100 && bytes >= pkts*int64(len(f))
			}
		}
		return false
	})

	// Connect/close cycles: vde_plug with stdin at EOF connects, then exits 0 at once.
	var wg sync.WaitGroup
	errs := make(chan error, cycles)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < cycles; i += workers {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				out, err := exec.CommandContext(ctx, plugBin, "vde://"+sw.Dir).CombinedOutput()
				cancel()
				if err != nil {
					errs <- fmt.Errorf("cycle %d: vde_plug: %v: %s", i, err, strings.TrimSpace(string(out)))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("%s: %v", impl.name, err)
	}
	if t.Failed() {
		t.FailNow()
	}

	onlyHosts := func(eps map[string]int) bool {
		for d := range eps {
			if !hosts[d] {
				return false
			}
		}
		return len(eps) == len(hosts)
	}
	// The reference leaks some endpoints of closed clients under this churn (see the test's doc): for it the
	// leak is only logged, and its fds are not compared.
	strict, wait := impl.name != realSwitch.name, 10*time.Second
	if !strict {
		wait = 2 * time.Second
	}
	for deadline := time.Now().Add(wait); ; {
		eps := sw.endpoints(t)
		if onlyHosts(eps) {
			break
		}
		if time.Now().After(deadline) {
			if strict {
				t.Fatalf("%s: port/print lists %v %v after the churn, want only the two hosts", impl.name, eps, wait)
			}
			t.Logf("%s (reference bug, tolerated): port/print lists %v %v after the churn, want only the two hosts", impl.name, eps, wait)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.Ping(t, b.IP)
	b.Ping(t, a.IP)
	// A new management session is served too (and is closed before the fds are counted).
	mc, err := mgmt.Dial(sw.Mgmt, mgmt.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("%s: new management session after the churn: %v", impl.name, err)
	}
	r, err := mc.Do("port/showinfo")
	mc.Close()
	if err != nil || !r.OK() {
		t.Fatalf("%s: port/showinfo on a new session after the churn: %d %s %v", impl.name, r.Code, r.Text, err)
	}
	if !strict {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for n := fdCount(t, pid); n != baseline; n = fdCount(t, pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d open fds after the churn, want the baseline %d", impl.name, n, baseline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
