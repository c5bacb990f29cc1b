// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

// A plugImpl is a vde_plug binary: the real one or our vplug.
type plugImpl struct {
	name string
	bin  func(t testing.TB) string
}

var (
	realPlug = plugImpl{"vde_plug", func(t testing.TB) string { return testutil.RealTool(t, "vde_plug") }}
	ourPlug  = plugImpl{"vplug", func(t testing.TB) string { return testutil.BinIfBuilds(t, "vplug") }}
	// plugImpls: the reference first, so that a broken test shows up on the row that must pass.
	plugImpls = []plugImpl{realPlug, ourPlug}
)

// startNode starts "PLUG scheme://DIR" (a netnode whose host side is the test's pipe) and waits for DIR/ctl.
func startNode(t *testing.T, impl plugImpl, scheme string) (*stdioPlug, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "node")
	n := startPlugCmd(t, impl.bin(t), scheme+"://"+dir)
	testutil.Eventually(t, 10*time.Second, impl.name+" "+scheme+"://"+dir+" listening", func() bool {
		if n.Proc.Exited() {
			t.Fatalf("%s %s://%s exited: %v\n%s", impl.name, scheme, dir, n.Proc.Wait(0), n.Proc.Stderr.String())
		}
		c, err := net.Dial("unix", filepath.Join(dir, "ctl"))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return n, dir
}

// dataSockets lists the fd<N> data sockets in a node's directory.
func dataSockets(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "fd") {
			s = append(s, e.Name())
		}
	}
	return s
}

// settled reports whether no client is half-way through its handshake in dir: vdeplug4 clients chmod the
// data socket and then remove their own .PID-N socket.
func settled(t *testing.T, dir string) bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			return false
		}
	}
	return true
}

// joinNode starts client plugs on the node at dir, one per implementation given, and waits until the
// node has a data socket for each.
func joinNode(t *testing.T, dir string, impls ...plugImpl) []*stdioPlug {
	t.Helper()
	var ps []*stdioPlug
	for i, impl := range impls {
		ps = append(ps, startPlugCmd(t, impl.bin(t), "vde://"+dir))
		testutil.Eventually(t, 10*time.Second, "client "+impl.name+" on "+dir, func() bool {
			for _, p := range ps {
				if p.Proc.Exited() {
					t.Fatalf("client exited: %v\n%s", p.Proc.Wait(0), p.Proc.Stderr.String())
				}
			}
			return len(dataSockets(t, dir)) == i+1 && settled(t, dir)
		})
	}
	return ps
}

// expectFrame reads the next frame of p and checks it is want.
func expectFrame(t *testing.T, who string, p *stdioPlug, want []byte) {
	t.Helper()
	got := p.recv(t, 10*time.Second)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s received %d bytes\n% x\nwant %d bytes\n% x", who, len(got), got, len(want), want)
	}
}

var (
	nnA   = frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x0d, 0x0a}
	nnB   = frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x0d, 0x0b}
	nnC   = frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x0d, 0x0c}
	nnH   = frame.MAC{0x02, 0x00, 0xc6, 0x12, 0x0d, 0x01}
	bcast = frame.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// TestNetnodeLayout: "PLUG hub://DIR" makes the same directory with either plug: DIR (02700), DIR/ctl
// (0600), and for a client DIR/fd<N> (left 0700 by the client's chmod), which goes when the client does;
// at exit DIR is removed.
func TestNetnodeLayout(t *testing.T) {
	skipIfShort(t)
	for _, impl := range plugImpls {
		t.Run(impl.name, func(t *testing.T) {
			n, dir := startNode(t, impl, "hub")
			c := joinNode(t, dir, realPlug)[0]
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range ents {
				fi, err := e.Info()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, regexp.MustCompile(`^fd[0-9]+$`).ReplaceAllString(e.Name(), "fdN")+" "+fi.Mode().String())
			}
			sort.Strings(got)
			fi, _ := os.Stat(dir)
			got = append(got, ". "+fi.Mode().String())
			want := []string{"ctl Srw-------", "fdN Srwx------", ". dgrwx------"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("%s: directory\n%s\nwant\n%s", impl.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			c.Proc.Stop(5 * time.Second)
			testutil.Eventually(t, 10*time.Second, "data socket removed", func() bool { return len(dataSockets(t, dir)) == 0 })
			n.Proc.Stop(5 * time.Second)
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("%s: after exit, stat %s: %v; want it removed", impl.name, dir, err)
			}
		})
	}
}

// TestNetnodeHub: a hub node (the real vde_plug's and our vplug's) with a real and one of our clients:
// every frame reaches everyone but its sender (the host included), unicast too, byte for byte.
func TestNetnodeHub(t *testing.T) {
	skipIfShort(t)
	for _, impl := range plugImpls {
		t.Run(impl.name, func(t *testing.T) {
			h, dir := startNode(t, impl, "hub")
			cs := joinNode(t, dir, realPlug, ourPlug)
			a, b := cs[0], cs[1]
			fa := testFrame(nnB, nnA, 100, 1) // unicast: a hub floods it anyway
			a.send(t, fa)
			expectFrame(t, "b", b, fa)
			expectFrame(t, "host", h, fa)
			fb := testFrame(nnA, nnB, 1500, 2)
			b.send(t, fb)
			expectFrame(t, "a", a, fb) // a got nothing of its own first
			expectFrame(t, "host", h, fb)
			fh := testFrame(bcast, nnH, 46, 3)
			h.send(t, fh)
			expectFrame(t, "a", a, fh)
			expectFrame(t, "b", b, fh) // b got nothing of its own first
			a.send(t, testFrame(bcast, nnA, 0, 4))
			expectFrame(t, "host", h, testFrame(bcast, nnA, 0, 4)) // the host got nothing of its own
		})
	}
}

// TestNetnodeSwitch: a switch node (real and ours) with three clients of both kinds learns: a frame to an
// unknown address is flooded, the answer goes only to the port that address was learned on (a broadcast
// sent after it reaches the others first), and the host is a port like the others.
func TestNetnodeSwitch(t *testing.T) {
	skipIfShort(t)
	for _, impl := range plugImpls {
		t.Run(impl.name, func(t *testing.T) {
			h, dir := startNode(t, impl, "switch")
			if impl.name == ourPlug.name {
				garbage(t, dir)
			}
			cs := joinNode(t, dir, realPlug, ourPlug, realPlug)
			a, b, c := cs[0], cs[1], cs[2]
			f1 := testFrame(nnB, nnA, 60, 1) // to b, still unknown: flooded
			a.send(t, f1)
			expectFrame(t, "b", b, f1)
			expectFrame(t, "c", c, f1)
			expectFrame(t, "host", h, f1)
			f2 := testFrame(nnA, nnB, 60, 2) // b answers a: a only
			b.send(t, f2)
			expectFrame(t, "a", a, f2)
			m2 := testFrame(bcast, nnB, 10, 3)
			b.send(t, m2)
			expectFrame(t, "c", c, m2)
			expectFrame(t, "host", h, m2)
			expectFrame(t, "a", a, m2)
			f3 := testFrame(nnC, nnH, 60, 4) // host to c, unknown: flooded
			h.send(t, f3)
			expectFrame(t, "a", a, f3)
			expectFrame(t, "b", b, f3)
			expectFrame(t, "c", c, f3)
			f4 := testFrame(nnH, nnC, 60, 5) // c answers the host: host only
			c.send(t, f4)
			expectFrame(t, "host", h, f4)
			f5 := testFrame(nnC, nnA, 60, 6) // a to c, learned: c only
			a.send(t, f5)
			expectFrame(t, "c", c, f5)
			m5 := testFrame(bcast, nnC, 10, 7)
			c.send(t, m5)
			expectFrame(t, "a", a, m5)
			expectFrame(t, "b", b, m5)
			expectFrame(t, "host", h, m5)
		})
	}
}

// garbage sends malformed and unsupported requests to a node's control socket; each must be closed
// without a reply, and the node must go on serving.
func garbage(t *testing.T, dir string) {
	t.Helper()
	cl := filepath.Join(t.TempDir(), "cl")
	uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: cl, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	port0, _ := vde.AppendRequest(nil, vde.Message{ClientPath: cl, Port0: true, Descr: "port0"})
	good, _ := vde.AppendRequest(nil, vde.Message{ClientPath: cl, Descr: "v1"})
	v1 := append(append([]byte(nil), good[:4]...), good[8:]...)
	for _, msg := range [][]byte{[]byte("hello\n"), bytes.Repeat([]byte{0xce}, 300), port0, v1, good[:40], make([]byte, 122)} {
		c, err := net.Dial("unix", filepath.Join(dir, "ctl"))
		if err != nil {
			t.Fatal(err)
		}
		c.Write(msg)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var b [256]byte
		n, err := c.Read(b[:])
		c.Close()
		if n != 0 || err == nil {
			t.Fatalf("request % x: got %d bytes (%v), want the connection closed without a reply", msg[:min(len(msg), 16)], n, err)
		}
	}
}

// TestNetnodeQEMU: a diskless QEMU VM joins a hub node with -netdev vde,sock=DIR (QEMU's libvdeplug is
// vdeplug4's); the DHCP discover of its iPXE ROM comes out of the node's host side. Skipped without QEMU.
func TestNetnodeQEMU(t *testing.T) {
	skipIfShort(t)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("skipped: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	const rom = "/usr/lib/ipxe/qemu/pxe-e1000.rom"
	if _, err := os.Stat(rom); err != nil {
		t.Skipf("skipped: QEMU's iPXE ROM %s not installed (apt-get install ipxe-qemu): %v", rom, err)
	}
	for _, scheme := range []string{"hub", "switch"} {
		t.Run(scheme, func(t *testing.T) {
			h, dir := startNode(t, ourPlug, scheme)
			vm := testutil.Start(t, nil, qemu, "-nodefaults", "-display", "none", "-serial", "none", "-monitor", "none",
				"-m", "64", "-accel", "tcg", "-boot", "n",
				"-device", "e1000,netdev=n0,mac="+qemuMAC+",romfile="+rom,
				"-netdev", "vde,id=n0,sock="+dir)
			mac, _ := net.ParseMAC(qemuMAC)
			deadline := time.Now().Add(90 * time.Second)
			for {
				if time.Now().After(deadline) {
					t.Fatalf("no DHCP discover from %s within 90s\nqemu: %s", qemuMAC, vm.Stderr.String())
				}
				f, err := h.tryRecv(time.Until(deadline))
				if err != nil {
					t.Fatalf("no DHCP discover from %s: %v\nqemu: %s", qemuMAC, err, vm.Stderr.String())
				}
				// IPv4, UDP, destination port 67, from the guest's MAC to broadcast.
				if len(f) >= 14+20+8 && bytes.Equal(f[6:12], mac) && bytes.Equal(f[0:6], bcast[:]) &&
					f[12] == 0x08 && f[13] == 0x00 && f[14+9] == 17 && f[14+20+2] == 0 && f[14+20+3] == 67 {
					return
				}
			}
		})
	}
}

// TestNetnodeMultiBonding: multi:// sends the host's frames to every client and the clients' frames to
// the host only; bonding:// sends each host frame to one client, in turn, and the clients' frames to
// the host only. Real vde_plug and ours, with real and our clients.
func TestNetnodeMultiBonding(t *testing.T) {
	skipIfShort(t)
	for _, impl := range plugImpls {
		t.Run(impl.name+"/multi", func(t *testing.T) {
			h, dir := startNode(t, impl, "multi")
			cs := joinNode(t, dir, realPlug, ourPlug)
			a, b := cs[0], cs[1]
			fa := testFrame(bcast, nnA, 60, 1)
			a.send(t, fa)
			expectFrame(t, "host", h, fa)
			fh := testFrame(nnA, nnH, 60, 2)
			h.send(t, fh)
			expectFrame(t, "a", a, fh)
			expectFrame(t, "b", b, fh) // and not a's broadcast before it
		})
		t.Run(impl.name+"/bonding", func(t *testing.T) {
			h, dir := startNode(t, impl, "bonding")
			cs := joinNode(t, dir, realPlug, ourPlug)
			a, b := cs[0], cs[1]
			fb := testFrame(bcast, nnB, 60, 1)
			b.send(t, fb)
			expectFrame(t, "host", h, fb)
			f1, f2, f3 := testFrame(bcast, nnH, 60, 2), testFrame(bcast, nnH, 60, 3), testFrame(bcast, nnH, 60, 4)
			h.send(t, f1)
			h.send(t, f2)
			h.send(t, f3)
			ga, gb := a.recv(t, 10*time.Second), b.recv(t, 10*time.Second)
			first := a
			if bytes.Equal(gb, f1) {
				ga, gb, first = gb, ga, b
			}
			if !bytes.Equal(ga, f1) || !bytes.Equal(gb, f2) {
				t.Fatalf("the clients got\n% x\n% x\nwant the first and the second host frame, one each", ga, gb)
			}
			expectFrame(t, "the first client again", first, f3)
		})
	}
}
