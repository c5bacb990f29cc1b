// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/stream"
)

// A switchImpl is one row of every table: a switch binary.
type switchImpl struct {
	name string
	bin  func(t testing.TB) string
}

var (
	realSwitch = switchImpl{"vde_switch", func(t testing.TB) string { return testutil.RealTool(t, "vde_switch") }}
	ourSwitch  = switchImpl{"vswitch", func(t testing.TB) string { return testutil.BinIfBuilds(t, "vswitch") }}
	// switchImpls: the reference first, so that a broken test shows up on the row that must pass.
	switchImpls = []switchImpl{realSwitch, ourSwitch}
)

// skipIfShort skips the test under -short ("make unit"): every test here runs the real tools.
func skipIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: interop tests run the real VDE tools")
	}
}

// eachSwitch runs f as one subtest per switch implementation.
func eachSwitch(t *testing.T, f func(t *testing.T, impl switchImpl)) {
	skipIfShort(t)
	for _, impl := range switchImpls {
		t.Run(impl.name, func(t *testing.T) { f(t, impl) })
	}
}

// eachPair runs f as one subtest per pair of switches to cable together: both reference switches (which
// proves the test), ours with the reference on either side, and both ours. It needs root.
func eachPair(t *testing.T, f func(t *testing.T, sw1, sw2 switchImpl)) {
	skipIfShort(t)
	for _, pair := range [][2]switchImpl{{realSwitch, realSwitch}, {ourSwitch, realSwitch}, {realSwitch, ourSwitch}, {ourSwitch, ourSwitch}} {
		t.Run(pair[0].name+"-"+pair[1].name, func(t *testing.T) {
			testutil.SkipUnlessRoot(t)
			f(t, pair[0], pair[1])
		})
	}
}

// A runningSwitch is a switch started by a test, with a management session open on its -M socket.
type runningSwitch struct {
	impl switchImpl
	Dir  string // the -s directory (DIR/ctl is the control socket)
	Mgmt string // the -M socket
	Proc *testutil.Proc
	mc   *mgmt.Client
}

// startSwitch runs impl as "BIN -s DIR -M MGMT extra..." in the foreground (stdin a pipe held open), waits
// until both sockets accept connections and opens a management session. Everything stops when the test ends.
func startSwitch(t testing.TB, impl switchImpl, extra ...string) *runningSwitch {
	t.Helper()
	p := testutil.MgmtSwitch(t, impl.bin(t), extra...)
	testutil.WaitListening(t, filepath.Join(p.Ctl, "ctl"), 10*time.Second)
	c, err := mgmt.Dial(p.Mgmt, mgmt.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("%s: management session on %s: %v", impl.name, p.Mgmt, err)
	}
	t.Cleanup(func() { c.Close() })
	return &runningSwitch{impl: impl, Dir: p.Ctl, Mgmt: p.Mgmt, Proc: p.Proc, mc: c}
}

// startSwitchIn is startSwitch for a switch running inside network namespace ns (ip netns exec NS BIN ...),
// so that the TAP interfaces it makes with -t appear there. Its sockets are in the test's temporary directory.
func startSwitchIn(t testing.TB, ns string, impl switchImpl, extra ...string) *runningSwitch {
	t.Helper()
	bin := impl.bin(t)
	dir := t.TempDir()
	s := &runningSwitch{impl: impl, Dir: filepath.Join(dir, "ctl"), Mgmt: filepath.Join(dir, "mgmt")}
	stdin, hold, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Close() }) // a foreground switch stops at EOF on its console
	// ip netns exec execs the switch after setns, so the PID recorded is the switch's own.
	args := append([]string{"netns", "exec", ns, bin, "-s", s.Dir, "-M", s.Mgmt}, extra...)
	s.Proc = testutil.Start(t, func(c *exec.Cmd) { c.Stdin = stdin }, "ip", args...)
	stdin.Close()
	for _, p := range []string{s.Mgmt, filepath.Join(s.Dir, "ctl")} {
		testutil.Eventually(t, 10*time.Second, impl.name+" listening on "+p, func() bool {
			if s.Proc.Exited() {
				t.Fatalf("%s in netns %s exited early: %v\n%s", impl.name, ns, s.Proc.Wait(0), s.Proc.Stderr.String())
			}
			c, err := net.Dial("unix", p)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	c, err := mgmt.Dial(s.Mgmt, mgmt.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("%s: management session on %s: %v", impl.name, s.Mgmt, err)
	}
	t.Cleanup(func() { c.Close() })
	s.mc = c
	return s
}

// do runs a management command and fails the test unless it answers 1000 Success. It returns the data lines.
func (s *runningSwitch) do(t testing.TB, cmd string) []string {
	t.Helper()
	r, err := s.mc.Do(cmd)
	if err != nil {
		t.Fatalf("%s: %s: %v", s.impl.name, cmd, err)
	}
	if !r.OK() {
		t.Fatalf("%s: %s: got %d %s, want 1000 Success (data %q)", s.impl.name, cmd, r.Code, r.Text, r.Data)
	}
	return r.Data
}

// port/print lines: "Port 0001 untagged_vlan=..." and "  -- endpoint ID 0003 module unix prog   : DESCR".
var (
	portLineRE     = regexp.MustCompile(`^Port (\d{4}) `)
	endpointLineRE = regexp.MustCompile(`^  -- endpoint ID \d{4} module .{12}: (.*)$`)
)

// endpoints runs port/print and returns each endpoint description with its port number.
func (s *runningSwitch) endpoints(t testing.TB) map[string]int {
	t.Helper()
	eps := map[string]int{}
	port := -1
	for _, l := range s.do(t, "port/print") {
		if m := portLineRE.FindStringSubmatch(l); m != nil {
			port, _ = strconv.Atoi(m[1])
		} else if m := endpointLineRE.FindStringSubmatch(l); m != nil {
			eps[m[1]] = port
		}
	}
	return eps
}

// waitEndpoint waits (at most 10 s) until port/print lists an endpoint described exactly want and returns its port.
func (s *runningSwitch) waitEndpoint(t testing.TB, want string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		eps := s.endpoints(t)
		if p, ok := eps[want]; ok {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: port/print does not list an endpoint %q within 10s; it lists %v", s.impl.name, want, eps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// descr returns the description vdeplug4 sends for prefix ("vdeplug:", "QEMU", ...) from process pid.
func descr(t testing.TB, prefix string, pid int) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	return fmt.Sprintf("%s user=%s pid=%d", prefix, u.Username, pid)
}

// fdCount returns the number of open file descriptors of process pid.
func fdCount(t testing.TB, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("open fds of %d: %v", pid, err)
	}
	return len(ents)
}

// A stdioPlug is a real vde_plug in stream mode: frames go in on its stdin and come out of its stdout with
// the 2-byte big-endian VDE stream framing.
type stdioPlug struct {
	Proc *testutil.Proc
	in   *os.File // our end of its stdin
	out  *os.File // our end of its stdout
	conn *stream.Conn
}

// startPlug starts "vde_plug args..." with its stdin and stdout connected to the test.
func startPlug(t testing.TB, args ...string) *stdioPlug {
	t.Helper()
	return startPlugCmd(t, testutil.RealTool(t, "vde_plug"), args...)
}

// startPlugCmd is startPlug for a command that runs vde_plug (such as setpriv ... vde_plug).
func startPlugCmd(t testing.TB, bin string, args ...string) *stdioPlug {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inW.Close(); outR.Close() })
	p := &stdioPlug{in: inW, out: outR, conn: stream.NewConn(outR, inW, nil)}
	p.Proc = testutil.Start(t, func(c *exec.Cmd) { c.Stdin, c.Stdout = inR, outW }, bin, args...)
	inR.Close()
	outW.Close()
	return p
}

// Pid is the vde_plug's process id.
func (p *stdioPlug) Pid() int { return p.Proc.Cmd.Process.Pid }

// send writes one frame to the plug's stdin.
func (p *stdioPlug) send(t testing.TB, f []byte) {
	t.Helper()
	if err := p.conn.WriteFrame(f); err != nil {
		t.Fatalf("write a %d-byte frame to vde_plug %d: %v", len(f), p.Pid(), err)
	}
}

// recv reads the next frame from the plug's stdout, waiting at most d.
func (p *stdioPlug) recv(t testing.TB, d time.Duration) []byte {
	t.Helper()
	b, err := p.tryRecv(d)
	if err != nil {
		t.Fatalf("read a frame from vde_plug %d: %v", p.Pid(), err)
	}
	return b
}

// tryRecv reads the next frame from the plug's stdout, waiting at most d (the error then wraps os.ErrDeadlineExceeded).
func (p *stdioPlug) tryRecv(d time.Duration) ([]byte, error) {
	p.out.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, frame.MaxLen)
	n, err := p.conn.ReadFrame(b)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// expectSilence fails the test if the plug delivers a frame within d.
func (p *stdioPlug) expectSilence(t testing.TB, d time.Duration) {
	t.Helper()
	b, err := p.tryRecv(d)
	if err == nil {
		t.Fatalf("vde_plug %d received an unexpected %d-byte frame: % x", p.Pid(), len(b), b)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from vde_plug %d: %v", p.Pid(), err)
	}
}

// newHost makes a host: a fresh namespace with a TAP created by the real vde_plug2tap (on switch port port
// when port > 0, else any free port), addressed addrCIDR and up. It is testutil.NewHost plus the port.
func newHost(t testing.TB, dir string, port int, addrCIDR string) *testutil.Host {
	t.Helper()
	if port == 0 {
		return testutil.NewHost(t, testutil.RealTool(t, "vde_plug2tap"), dir, addrCIDR)
	}
	testutil.SkipUnlessRoot(t)
	bin := testutil.RealTool(t, "vde_plug2tap")
	ip, _, _ := strings.Cut(addrCIDR, "/")
	h := &testutil.Host{NS: testutil.Netns(t), Tap: testutil.RandName("gvi"), Addr: addrCIDR, IP: ip}
	// ip netns exec execs vde_plug2tap after setns, so the PID recorded is vde_plug2tap's own.
	h.Plug = testutil.Start(t, nil, "ip", "netns", "exec", h.NS, bin, "-p", strconv.Itoa(port), "-s", dir, h.Tap)
	testutil.Eventually(t, 10*time.Second, "TAP "+h.Tap+" in netns "+h.NS, func() bool {
		if h.Plug.Exited() {
			t.Fatalf("vde_plug2tap -p %d -s %s %s exited early: %v\nstderr: %s", port, dir, h.Tap, h.Plug.Wait(0), h.Plug.Stderr.String())
		}
		return exec.Command("ip", "-n", h.NS, "link", "show", "dev", h.Tap).Run() == nil
	})
	f := strings.Fields(testutil.Run(t, "ip", "-n", h.NS, "-o", "link", "show", "dev", h.Tap))
	if i := slices.Index(f, "link/ether"); i >= 0 && i+1 < len(f) {
		h.MAC = f[i+1]
	}
	testutil.Run(t, "ip", "-n", h.NS, "addr", "add", addrCIDR, "dev", h.Tap)
	testutil.Run(t, "ip", "-n", h.NS, "link", "set", h.Tap, "up")
	return h
}

// hostDescr is the description a host's vde_plug2tap gives the switch.
func hostDescr(t testing.TB, h *testutil.Host) string {
	return descr(t, "vde_plug2tap:", h.Plug.Cmd.Process.Pid)
}

// expectNoPing fails the test if addr answers any of three pings from h (sent 0.3 s apart, the last waited for 1 s).
func expectNoPing(t testing.TB, h *testutil.Host, addr string) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", h.NS, "ping", "-n", "-c", "3", "-i", "0.3", "-W", "1", addr).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Fatalf("%s reached %s from netns %s: want no path between them\n%s", h.IP, addr, h.NS, out)
	case !errors.As(err, &ee) || ee.ExitCode() != 1: // ping exits 1 when no reply came, 2 on other errors
		t.Fatalf("ping %s from netns %s: %v\n%s", addr, h.NS, err, out)
	}
}

// testFrame returns an Ethernet frame from src to dst with the local experimental EtherType 0x88b5 and a
// payload of n bytes following a pattern seeded by seed, so that every byte is checked.
func testFrame(dst, src frame.MAC, n int, seed byte) []byte {
	f := make([]byte, frame.HeaderLen+n)
	copy(f[0:6], dst[:])
	copy(f[6:12], src[:])
	f[12], f[13] = 0x88, 0xb5
	for i := range n {
		f[frame.HeaderLen+i] = seed + byte(i*7)
	}
	return f
}
