// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/mgmt"
)

// A wfImpl is a wirefilter implementation: the reference or ours.
type wfImpl struct {
	name string
	bin  func(t testing.TB) string
}

var wfImpls = []wfImpl{
	{"wirefilter", func(t testing.TB) string { return testutil.RealTool(t, "wirefilter") }},
	{"ours", func(t testing.TB) string { return testutil.BinIfBuilds(t, "wirefilter") }},
}

// eachWirefilter runs f for each wirefilter implementation and each pair of switches.
func eachWirefilter(t *testing.T, f func(t *testing.T, wf string, impl1, impl2 switchImpl)) {
	for _, w := range wfImpls {
		t.Run(w.name, func(t *testing.T) {
			eachPair(t, func(t *testing.T, impl1, impl2 switchImpl) { f(t, w.bin(t), impl1, impl2) })
		})
	}
}

// TestWirefilterCable: "wirefilter -v SW1:SW2" is the only cable between two switches, each with a
// namespaced host; the hosts ping each other across it. Then the cable's management console sets 100 %
// loss and the pings stop (so the frames really went through wirefilter), and with loss 0 they resume.
// Rows: the real wirefilter and ours; both reference switches, ours with the reference on either
// side, and both ours.
func TestWirefilterCable(t *testing.T) {
	eachWirefilter(t, func(t *testing.T, wfBin string, impl1, impl2 switchImpl) {
		sw1 := startSwitch(t, impl1)
		sw2 := startSwitch(t, impl2)
		a := newHost(t, sw1.Dir, 0, "198.18.3.1/24")
		b := newHost(t, sw2.Dir, 0, "198.18.3.2/24")

		wfMgmt := filepath.Join(t.TempDir(), "wf.mgmt")
		stdin, hold, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { hold.Close() }) // its console: EOF would end it
		wf := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = stdin }, wfBin, "-M", wfMgmt, "-v", sw1.Dir+":"+sw2.Dir)
		stdin.Close()
		testutil.WaitListening(t, wfMgmt, 10*time.Second)
		d := descr(t, "vde_crosscable", wf.Cmd.Process.Pid)
		sw1.waitEndpoint(t, d)
		sw2.waitEndpoint(t, d)

		a.Ping(t, b.IP)
		b.Ping(t, a.IP)

		wc, err := mgmt.Dial(wfMgmt, mgmt.ClientOptions{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("wirefilter management session: %v", err)
		}
		defer wc.Close()
		setLoss := func(v string) {
			t.Helper()
			if r, err := wc.Do("loss " + v); err != nil || !r.OK() {
				t.Fatalf("wirefilter: loss %s: %d %s %v", v, r.Code, r.Text, err)
			}
		}
		setLoss("100")
		expectNoPing(t, a, b.IP)
		setLoss("0")
		a.Ping(t, b.IP)
	})
}

// TestDpipeCable: the cable is a real dpipe chain, "dpipe vde_plug vde://SW1 = wirefilter -d 20 = vde_plug
// vde://SW2", so frames cross two vde_plugs in stream mode and a bidirectional wirefilter on dpipe's
// alternate descriptors; the hosts on each side ping each other across it, and the round trip takes at
// least the two delays (a lower bound only: the machine may be slow, never faster than the cable). The
// original wirefilter lets a frame go up to a millisecond early now and then (a round trip of 39.8 ms
// was seen), so its bound is 2 ms lower; ours never lets one go early.
func TestDpipeCable(t *testing.T) {
	eachWirefilter(t, func(t *testing.T, wf string, impl1, impl2 switchImpl) {
		least := 40.0
		if wf != testutil.Bin(t, "wirefilter") {
			least = 38 // the original's
		}
		dpipe := testutil.RealTool(t, "dpipe")
		plug := testutil.RealTool(t, "vde_plug")
		sw1 := startSwitch(t, impl1)
		sw2 := startSwitch(t, impl2)
		a := newHost(t, sw1.Dir, 0, "198.18.4.1/24")
		b := newHost(t, sw2.Dir, 0, "198.18.4.2/24")
		// dpipe puts its children in its own process group; stopping it (SIGTERM by PID) makes it stop the last
		// command, and the chain then collapses on EOF.
		testutil.Start(t, nil, dpipe, plug, "vde://"+sw1.Dir, "=", wf, "-d", "20", "=", plug, "vde://"+sw2.Dir)
		for _, s := range []struct {
			sw   *runningSwitch
			host string
		}{{sw1, hostDescr(t, a)}, {sw2, hostDescr(t, b)}} {
			deadline := time.Now().Add(10 * time.Second)
			for {
				eps := s.sw.endpoints(t)
				if _, ok := eps[s.host]; ok && len(eps) == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: port/print lists %v, want the host and the dpipe cable's vde_plug", s.sw.impl.name, eps)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		a.Ping(t, b.IP)
		b.Ping(t, a.IP)
		out, err := exec.Command("ip", "netns", "exec", a.NS, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", b.IP).CombinedOutput()
		if err != nil {
			t.Fatalf("ping: %v\n%s", err, out)
		}
		for _, m := range rttRe.FindAllStringSubmatch(string(out), -1) {
			if ms, _ := strconv.ParseFloat(m[1], 64); ms < least {
				t.Errorf("round trip %s ms through a 20 ms cable each way: want ≥ %g ms\n%s", m[1], least, out)
			}
		}
	})
}

var rttRe = regexp.MustCompile(`time=([0-9.]+) ms`)

// TestRealWirefilterCable: the real wirefilter in the middle of a cable of our dpipe and vplugs,
// "dpipe vplug vde://SW1 = wirefilter = vplug vde://SW2", carries a TCP payload one way, the other,
// and both at once, intact.
//
// The original reads its pipes 2048 bytes at a time and has two bugs in putting back together a record
// that such a read cut. When a read ends one byte into a record header, it takes the second byte from
// stale memory. And its two reassembly buffers overlap: it declares them fragment[2048][2], so the
// buffer of the right-to-left direction starts two bytes into the left-to-right one's. When both
// directions have a cut record pending at once, each overwrites the other: the left-to-right frame
// gets bytes of the other record, and the right-to-left record goes out with the first two bytes of the
// left-to-right frame, its destination MAC, as its length header. A reader that sees an impossible
// length drops what it read and starts again at the next read, which is in step; but when those two
// MAC bytes read as a possible length, it takes that many bytes as a record and loses step, and on a
// flow of small ACKs it can stay out of step for good: the TCP flow stalls until the cable is started
// again. So the hosts' MACs decide whether a busy cable of the original stalls. vde_plug takes any
// length up to 9234 as possible: the MACs here, 0a:00:… and 06:00:… (2560 and 1536), stalled vde2's
// own dpipe and vde_plug in 6 of 20 runs of 8 MB each way, and our vplugs in 7 of 20 while they did the
// same. Ours now know vde2's wirefilter never writes a record over 1521 bytes (sched.FragilePeer) and
// take a longer header as lost step: with the same MACs, 0 of 22 (the kernel's random MACs: 9 first
// bytes in 64 read as a length under 9234, 1 in 64 under 1521; QEMU's 52:54 never). A failed CI run
// had three cables in a row stall with the same two hosts before that. Built from vde2's source with
// the two buffers apart, the cable stalled in 0 of 38 runs of 1-3 s of iperf3; built as it is, in 6
// of 38. TestMaxRecordBesideWirefilter (cmd/vplug) is the exact guard of the 1521-byte limit.
//
// Our plugs stay out of the first bug (they write whole records of at most 2048 bytes to a pipe, so a
// wirefilter that keeps up never cuts a header; their reader drops what it read with an impossible
// header and starts again at the next read, as vde_plug does), but a busy wirefilter still cuts
// headers now and then, so the test gives the original three cables: a stall is logged and the cable
// started again; what fails is a cable that never carries the payload. On a slower machine this test
// also caught plugs that wrote more than 2048 bytes per write; on a faster one it passes without the
// cap too, so the cap's own guard is pkg/relay's TestPipeWritesWholeRecords. Both switches are the real
// vde_switch, so only the cable's ends are ours.
func TestRealWirefilterCable(t *testing.T) {
	skipIfShort(t)
	testutil.SkipUnlessRoot(t)
	testutil.NeedPing(t)
	dpipe, plug := testutil.BinIfBuilds(t, "dpipe"), testutil.BinIfBuilds(t, "vplug")
	wf := testutil.RealTool(t, "wirefilter")
	sw1 := startSwitch(t, realSwitch)
	sw2 := startSwitch(t, realSwitch)
	a := newHost(t, sw1.Dir, 0, "198.18.5.1/24")
	b := newHost(t, sw2.Dir, 0, "198.18.5.2/24")
	a.SetMAC(t, "0a:00:00:5e:05:01")
	b.SetMAC(t, "06:00:00:5e:05:02")
	const attempts = 3
	for i := 1; ; i++ {
		cable := testutil.Start(t, nil, dpipe, plug, "vde://"+sw1.Dir, "=", wf, "=", plug, "vde://"+sw2.Dir)
		err := a.PingWithin(b.IP, 10*time.Second)
		if err == nil {
			err = b.PingWithin(a.IP, 10*time.Second)
		}
		if err == nil {
			err = testutil.TryTransfer(t, a.NS, b.NS, b.IP, 8<<20, 30*time.Second)
		}
		if err == nil {
			err = testutil.TryTransfer(t, b.NS, a.NS, a.IP, 8<<20, 30*time.Second)
		}
		if err == nil {
			err = testutil.TryTransferBoth(t, a.NS, b.NS, b.IP, 8<<20, 30*time.Second)
		}
		if err == nil {
			return
		}
		if i == attempts {
			t.Fatalf("cable %d of %d: %v", i, attempts, err)
		}
		t.Logf("cable %d of %d stalled (the original's reassembly, see above): %v", i, attempts, err)
		cable.Stop(5 * time.Second)
	}
}
