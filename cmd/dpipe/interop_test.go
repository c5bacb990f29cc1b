// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// Cross-tool interop (issue 2, requirement 8): dpipe and vplug, ours and the reference, joining two
// real vde_switches, each with a host (a network namespace whose TAP the real vde_plug2tap serves).

var (
	vplugOnce sync.Once
	vplugPath string
	vplugErr  error
)

// vplugBin returns our vplug: $GOVDE_BIN/vplug, or cmd/vplug built once for these tests. A build
// failure fails the test.
func vplugBin(t *testing.T) string {
	t.Helper()
	if os.Getenv("GOVDE_BIN") != "" {
		return testutil.Bin(t, "vplug")
	}
	vplugOnce.Do(func() {
		dir, err := os.MkdirTemp("", "govde-dpipe-vplug-")
		if err != nil {
			vplugErr = err
			return
		}
		p := filepath.Join(dir, "vplug")
		cmd := exec.Command("go", "build", "-o", p, "./cmd/vplug")
		cmd.Dir = testutil.ModuleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			vplugErr = fmt.Errorf("%v\n%s", err, out)
			return
		}
		vplugPath = p
	})
	if vplugErr != nil {
		t.Fatalf("go build ./cmd/vplug: %v", vplugErr)
	}
	return vplugPath
}

// A stdioPlug is a plug on a switch whose stdio carries 2-byte length-framed records: we write
// frames into the switch through it and read what the switch delivers to it.
type stdioPlug struct {
	p  *testutil.Proc
	in *os.File
}

func startStdioPlug(t *testing.T, bin, dir string) *stdioPlug {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = r }, bin, dir)
	r.Close()
	t.Cleanup(func() { w.Close() }) // runs before Start's cleanup: the plug sees EOF first
	return &stdioPlug{p: p, in: w}
}

func (s *stdioPlug) send(t *testing.T, f []byte) {
	t.Helper()
	rec := binary.BigEndian.AppendUint16(nil, uint16(len(f)))
	if _, err := s.in.Write(append(rec, f...)); err != nil {
		t.Fatalf("write record: %v", err)
	}
}

// records splits a captured stream into its records.
func records(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			break
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out
}

// testFrame returns a 1514-byte broadcast frame (the largest a vde_switch forwards without an FCS)
// of EtherType 0x88b5 (local experimental) with a random tag and a fixed pattern.
func testFrame(t *testing.T) (frame, tag []byte) {
	f := make([]byte, 1514)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 0x88, 0xb5})
	tag = f[14:30]
	rand.Read(tag)
	for i := 30; i < len(f); i++ {
		f[i] = byte(i * 7)
	}
	return f, bytes.Clone(tag)
}

// checkPayload sends a known frame into the switch at from and checks that it comes out of the
// switch at to byte for byte.
func checkPayload(t *testing.T, plugBin, from, to string) {
	t.Helper()
	inj := startStdioPlug(t, plugBin, from)
	capt := startStdioPlug(t, plugBin, to)
	f, tag := testFrame(t)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// Resent until the capture plug has connected and the frame shows up.
		inj.send(t, f)
		time.Sleep(100 * time.Millisecond)
		for _, r := range records(capt.p.Stdout.Bytes()) {
			if !bytes.Contains(r, tag) {
				continue
			}
			if !bytes.Equal(r, f) {
				t.Fatalf("frame from %s arrived at %s altered: got %d bytes % x..., want %d bytes % x...",
					from, to, len(r), r[:min(len(r), 40)], len(f), f[:40])
			}
			return
		}
	}
	t.Fatalf("known frame sent into %s never came out of %s (stderr: inj %q capt %q)",
		from, to, inj.p.Stderr.String(), capt.p.Stderr.String())
}

// plugChild returns the pid of dpipe's child (or, with -n, any process of its group) whose command
// line holds word.
func plugChild(t *testing.T, dpipePid int, word string) int {
	t.Helper()
	var pid int
	testutil.Eventually(t, 5*time.Second, "plug for "+word, func() bool {
		for _, k := range children(dpipePid) {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", k))
			if bytes.Contains(b, []byte(word)) {
				pid = k
				return true
			}
		}
		return false
	})
	return pid
}

func TestInteropJoinSwitches(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	sw := testutil.RealTool(t, "vde_switch")
	p2t := testutil.RealTool(t, "vde_plug2tap")
	realPlug := testutil.RealTool(t, "vde_plug")
	realDpipe := testutil.RealTool(t, "dpipe")
	ourDpipe := testutil.Bin(t, "dpipe")
	ourPlug := vplugBin(t)

	wirefilter := testutil.RealTool(t, "wirefilter")

	tests := []struct {
		name               string
		dpipe, left, right string
		mid                []string // a middle command on the alternate descriptors, if any
	}{
		{"dpipe vplug = vplug", ourDpipe, ourPlug, ourPlug, nil},
		{"real dpipe, vplug = vplug", realDpipe, ourPlug, ourPlug, nil},
		{"dpipe, real vde_plug = vde_plug", ourDpipe, realPlug, realPlug, nil},
		{"dpipe vplug = real vde_plug", ourDpipe, ourPlug, realPlug, nil},
		{"real dpipe, vde_plug = vplug", realDpipe, realPlug, ourPlug, nil},
		{"dpipe vplug = real wirefilter = vplug", ourDpipe, ourPlug, ourPlug, []string{wirefilter}},
	}
	for k, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			s1, s2 := filepath.Join(tmp, "s1"), filepath.Join(tmp, "s2")
			testutil.StartSwitch(t, sw, s1)
			testutil.StartSwitch(t, sw, s2)
			net := fmt.Sprintf("198.18.%d.", 10+k)
			h1 := testutil.NewHost(t, p2t, s1, net+"1/24")
			h2 := testutil.NewHost(t, p2t, s2, net+"2/24")

			args := []string{tc.left, s1, "="}
			if tc.mid != nil {
				args = append(append(args, tc.mid...), "=")
			}
			d := startDpipe(t, tc.dpipe, tmp, true, append(args, tc.right, s2)...)
			h1.Ping(t, h2.IP)
			h2.Ping(t, h1.IP)
			checkPayload(t, realPlug, s1, s2)
			checkPayload(t, realPlug, s2, s1)

			// One side dies: the chain collapses within 1 s.
			right := plugChild(t, d.Cmd.Process.Pid, s2)
			start := time.Now()
			syscall.Kill(right, syscall.SIGTERM)
			if err := d.Wait(5 * time.Second); err != nil && !d.Exited() {
				t.Fatalf("dpipe still running after its right plug was stopped: %v", err)
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("chain collapsed %v after the right plug was stopped, want < 1s", el)
			}
			if err := h1.PingOnce(h2.IP); err == nil {
				t.Errorf("hosts still reach each other after the link went down")
			}
		})
	}
}
