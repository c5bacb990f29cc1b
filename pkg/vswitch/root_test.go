// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package vswitch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/vde"
)

// hostPorts waits until exactly n active ports have an endpoint whose description starts with
// prefix, and returns them in ascending order.
func hostPorts(t *testing.T, s *Switch, prefix string, n int) []int {
	t.Helper()
	var ports []int
	testutil.Eventually(t, 10*time.Second, "plug2tap ports", func() bool {
		ports = ports[:0]
		for _, p := range s.Ports(false) {
			for _, e := range p.Endpoints {
				if strings.HasPrefix(e.Descr, prefix) {
					ports = append(ports, p.Num)
				}
			}
		}
		return len(ports) == n
	})
	return ports
}

// TestRootNamespacedPing: two namespaced hosts on our switch (through the real vde_plug2tap),
// plus a third on a TAP port of the switch itself (-t), ping each other.
func TestRootNamespacedPing(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	p2t := testutil.RealTool(t, "vde_plug2tap")
	s, dir := startServed(t, Config{})
	h1 := testutil.NewHost(t, p2t, dir, "198.18.1.1/24")
	h2 := testutil.NewHost(t, p2t, dir, "198.18.1.2/24")
	h1.Ping(t, "198.18.1.2")

	// A TAP port: the switch opens the TAP, which then moves into a namespace.
	ns := testutil.Netns(t)
	name := testutil.RandName("vst")
	port, err := s.AddTap(name)
	if err != nil {
		t.Fatalf("AddTap as root: %v", err) // SkipUnlessRoot skipped non-root runs; as root this is a bug
	}
	pi, _ := s.Port(port)
	if len(pi.Endpoints) != 1 || pi.Endpoints[0].Module != ModuleTap || pi.Endpoints[0].Descr != name {
		t.Errorf("tap port = %+v, want module tuntap, description %s", pi, name)
	}
	for _, args := range [][]string{
		{"link", "set", name, "netns", ns},
		{"-n", ns, "addr", "add", "198.18.1.3/24", "dev", name},
		{"-n", ns, "link", "set", name, "up"},
	} {
		testutil.Run(t, "ip", args...)
	}
	h2.Ping(t, "198.18.1.3")
	out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "2", "198.18.1.1").CombinedOutput()
	if err != nil {
		t.Fatalf("ping from the TAP host: %v\n%s", err, out)
	}
	if n := len(s.HashEntries()); n < 3 {
		t.Errorf("%d MAC table entries, want >= 3", n)
	}
	if p, _ := s.Port(port); p.In.Pkts == 0 || p.Out.Pkts == 0 {
		t.Errorf("tap port counters %+v %+v, want traffic both ways", p.In, p.Out)
	}
}

func mgmtOK(t *testing.T, path string, cmds ...string) {
	t.Helper()
	for _, cmd := range cmds {
		if out := testutil.MgmtCommand(t, path, cmd); !strings.Contains(out, "1000 Success") {
			t.Fatalf("vde_switch %s: %q", cmd, out)
		}
	}
}

// TestRootTrunkToRealSwitch: our switch and a real vde_switch joined by a cable that is a tagged
// member of VLAN 10 on both; a host on each switch, untagged in VLAN 10, ping each other. Each
// switch learns the other's host in VLAN 10 on its trunk port, which it only can from tagged frames.
func TestRootTrunkToRealSwitch(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ref := testutil.RealTool(t, "vde_switch")
	p2t := testutil.RealTool(t, "vde_plug2tap")
	refDir := filepath.Join(t.TempDir(), "ref")
	mgmt := filepath.Join(t.TempDir(), "ref.mgmt")
	testutil.StartSwitch(t, ref, refDir, "-M", mgmt)
	testutil.WaitListening(t, mgmt, 10*time.Second)

	s, dir := startServed(t, Config{})
	// The cable: a pkg/vde client of the real switch, attached as an endpoint of ours.
	cable, err := vde.Dial(context.Background(), refDir, vde.DialOptions{Descr: "cable", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ourTrunk, _, err := s.AddEndpoint(cable, 0, ModuleUnix, "cable to vde_switch")
	if err != nil {
		t.Fatal(err)
	}
	refTrunk := cable.Port()

	h1 := testutil.NewHost(t, p2t, dir, "198.18.2.1/24")
	h2 := testutil.NewHost(t, p2t, refDir, "198.18.2.2/24")
	h1Port := hostPorts(t, s, "vde_plug2tap", 1)[0]

	must(t, s.CreateVLAN(10))
	must(t, s.SetPortVLAN(h1Port, 10))
	must(t, s.AddVLANPort(10, ourTrunk))
	// On the real switch the host took the next port after the cable.
	mgmtOK(t, mgmt, "vlan/create 10", fmt.Sprintf("port/setvlan %d 10", refTrunk+1), fmt.Sprintf("vlan/addport 10 %d", refTrunk))
	// Before the VLANs were set up on both switches, h2's first frames (IPv6 neighbour discovery when
	// its TAP came up) crossed the trunk untagged and were rightly learned in VLAN 0; under load they
	// can come after our own configuration's flush. Forget them: from here on nothing may be.
	s.flushHash(func(fdbKey, int) bool { return true })

	h1.Ping(t, "198.18.2.2")
	h2.Ping(t, "198.18.2.1")

	// Ours learned h2's MAC in VLAN 10 on the trunk: the frames came in tagged with VID 10.
	var learned bool
	for _, e := range s.HashEntries() {
		if e.Port == ourTrunk && e.VLAN == 10 {
			learned = true
		}
		if e.Port == ourTrunk && e.VLAN == 0 {
			t.Errorf("entry %v learned untagged on the trunk", e)
		}
	}
	if !learned {
		t.Errorf("no VLAN 10 entry on trunk port %d: %+v", ourTrunk, s.HashEntries())
	}
	// The real switch learned h1's MAC in VLAN 10 on its trunk port: our frames went out tagged.
	out := testutil.MgmtCommand(t, mgmt, "hash/print")
	want := fmt.Sprintf("VLAN 0010 to port: %03d", refTrunk)
	if !strings.Contains(out, want) {
		t.Errorf("vde_switch hash/print lacks %q:\n%s", want, out)
	}
}

// TestRootAccessControlByOwner: access control uses the owner of the client's socket file. A
// real vde_plug running as nobody gets the port restricted to nobody; one running as another
// unprivileged uid is refused (its control connection closed), and root may use any port.
func TestRootAccessControlByOwner(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	plugPath := testutil.RealTool(t, "vde_plug")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	base, err := os.MkdirTemp("", "vswitch-ac")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A killed client may still be unlinking its socket: retry.
		for i := 0; i < 50 && os.RemoveAll(base) != nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	must(t, os.Chmod(base, 0o755))
	dir := filepath.Join(base, "sw")
	ln, err := vde.Listen(dir, vde.ListenOptions{Mode: 0o666, DirMode: 0o777, Group: vde.NoGroup, MgmtGroup: vde.NoGroup})
	if err != nil {
		t.Fatal(err)
	}
	var logs testutil.SyncBuffer
	s := newSwitch(t, Config{Logf: func(f string, a ...any) { fmt.Fprintf(&logs, f+"\n", a...) }})
	go s.Serve(ln)
	must(t, s.CreatePort(1))
	must(t, s.SetPortUser(1, uid))
	must(t, s.CreatePort(2))
	must(t, s.SetPortUser(2, 4242))

	// plug starts vde_plug as uid:gid on port n, its stdin held open (it exits on stdin EOF).
	plug := func(u, g, n int) *testutil.Proc {
		return testutil.Start(t, func(c *exec.Cmd) {
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u), Gid: uint32(g)}}
			r, w, _ := os.Pipe()
			c.Stdin = r
			t.Cleanup(func() { w.Close(); r.Close() })
		}, plugPath, fmt.Sprintf("vde://%s[%d]", dir, n))
	}
	refused := func(what string) {
		t.Helper()
		testutil.Eventually(t, 5*time.Second, what, func() bool { return strings.Contains(logs.String(), what) })
	}
	ok := plug(uid, gid, 1)
	testutil.Eventually(t, 10*time.Second, "nobody on port 1", func() bool {
		p, _ := s.Port(1)
		return p.Active
	})
	if p, _ := s.Port(1); p.CurUser != uid {
		t.Errorf("port 1 current user %d, want %d", p.CurUser, uid)
	}
	// nobody on port 2, restricted to uid 4242: refused, and vde_plug fails.
	if err := plug(uid, gid, 2).Wait(10 * time.Second); err == nil {
		t.Error("vde_plug as nobody on a port restricted to uid 4242 succeeded")
	}
	refused(`(uid 65534) on port 2: operation not permitted`)
	// uid 4242 on port 1, restricted to nobody: refused.
	if err := plug(4242, 4242, 1).Wait(10 * time.Second); err == nil {
		t.Error("vde_plug as uid 4242 on nobody's port succeeded")
	}
	refused(`(uid 4242) on port 1: operation not permitted`)
	// An unrestricted port in use by nobody: refused to uid 4242 (another user).
	nob3 := plug(uid, gid, 3)
	testutil.Eventually(t, 10*time.Second, "nobody on port 3", func() bool { p, _ := s.Port(3); return p.Active })
	if err := plug(4242, 4242, 3).Wait(10 * time.Second); err == nil {
		t.Error("vde_plug as uid 4242 on a port in use by nobody succeeded")
	}
	refused(`(uid 4242) on port 3: address already in use`)
	if p, _ := s.Port(1); len(p.Endpoints) != 1 || ok.Exited() || nob3.Exited() {
		t.Errorf("port 1 endpoints %+v, want only nobody's", p.Endpoints)
	}
}

// TestRootTapOffloadTransfer: hosts on two TAP ports of the switch (-t, opened with offloads) and one
// behind our plug2tap (with offloads too) move 10 MB each way over TCP, intact.
func TestRootTapOffloadTransfer(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	s, dir := startServed(t, Config{})
	var ns [2]string
	for i := range ns {
		ns[i] = testutil.Netns(t)
		name := testutil.RandName("vso")
		if _, err := s.AddTap(name); err != nil {
			t.Fatalf("AddTap: %v", err)
		}
		for _, args := range [][]string{
			{"link", "set", name, "netns", ns[i]},
			{"-n", ns[i], "addr", "add", fmt.Sprintf("198.18.2.%d/24", i+1), "dev", name},
			{"-n", ns[i], "link", "set", name, "up"},
		} {
			testutil.Run(t, "ip", args...)
		}
	}
	h := testutil.NewHost(t, testutil.Bin(t, "plug2tap"), dir, "198.18.2.3/24")
	h.Ping(t, "198.18.2.1")
	testutil.TransferBoth(t, ns[0], ns[1], "198.18.2.2", 10<<20, 60*time.Second)
	testutil.TransferBoth(t, h.NS, ns[0], "198.18.2.1", 10<<20, 60*time.Second)
}
