// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
	"github.com/govde/govde/pkg/vde"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// These tests build hosts in network namespaces: each host's TAP is made and served by a plug2tap
// (ours unless said otherwise) run inside the namespace, and the hosts meet on a switch. The switch is
// a parameter: the real vde_switch, plus our vswitch when cmd/vswitch exists, plus $GOVDE_SWITCH.

// switches returns the switch binaries to run the tests against, by name.
func switches(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{"vde_switch": testutil.RealTool(t, "vde_switch")}
	if _, err := os.Stat(filepath.Join(testutil.ModuleRoot(t), "cmd", "vswitch", "main.go")); err == nil {
		m["vswitch"] = testutil.Bin(t, "vswitch")
	}
	if p := os.Getenv("GOVDE_SWITCH"); p != "" {
		m["GOVDE_SWITCH"] = p
	}
	return m
}

// expEther is the IEEE local experimental ethertype; the kernel ignores it, so test frames arrive intact.
const expEther = 0x88b5

// testFrame returns a broadcast frame of ethertype expEther from src with a recognisable payload.
func testFrame(src frame.MAC, seed byte, n int) []byte {
	f := make([]byte, n)
	copy(f[0:6], frame.Broadcast[:])
	copy(f[6:12], src[:])
	binary.BigEndian.PutUint16(f[12:], expEther)
	for i := frame.HeaderLen; i < n; i++ {
		f[i] = seed + byte(i*13)
	}
	return f
}

// packetSocket opens an AF_PACKET socket for expEther on ifname inside ns (sockets stay in the
// namespace they were made in). It is closed when the test ends.
func packetSocket(t *testing.T, ns, ifname string) *os.File {
	t.Helper()
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		h, err := netns.GetFromName(ns)
		if err != nil {
			done <- result{-1, err}
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			done <- result{-1, err}
			return
		}
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			done <- result{-1, err}
			return
		}
		proto := uint16(expEther<<8&0xff00 | expEther>>8) // htons
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(proto))
		if err != nil {
			done <- result{-1, err}
			return
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			done <- result{-1, err}
			return
		}
		done <- result{fd, nil}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("AF_PACKET socket on %s in %s: %v", ifname, ns, r.err)
	}
	f := os.NewFile(uintptr(r.fd), "packet:"+ifname)
	t.Cleanup(func() { f.Close() })
	return f
}

// readWithin reads one frame from f within d.
func readWithin(t *testing.T, f *os.File, d time.Duration) []byte {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, frame.MaxLen)
	n, err := f.Read(b)
	if err != nil {
		t.Fatalf("read from %s: %v", f.Name(), err)
	}
	return b[:n]
}

// dialSwitch connects a pkg/vde client to the switch in dir.
func dialSwitch(t *testing.T, dir string) *vde.Conn {
	t.Helper()
	c, err := vde.Dial(context.Background(), dir, vde.DialOptions{Descr: vde.Description("plug2tap-test:")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readSwitchFrame reads frames from c until one of ethertype expEther arrives (within 5 s).
func readSwitchFrame(t *testing.T, c *vde.Conn) []byte {
	t.Helper()
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b := make([]byte, frame.MaxLen)
		for {
			n, err := c.ReadFrame(b)
			if err != nil {
				ch <- res{nil, err}
				return
			}
			if n >= frame.HeaderLen && binary.BigEndian.Uint16(b[12:]) == expEther {
				ch <- res{b[:n], nil}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("read from switch: %v", r.err)
		}
		return r.b
	case <-time.After(5 * time.Second):
		c.Close()
		t.Fatal("no test frame from the switch within 5s")
	}
	return nil
}

// mgmtCommand runs one command on a switch management socket and returns the output up to the
// result line ("1000 Success").
func mgmtCommand(t *testing.T, path, cmd string) string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("mgmt %s: %v", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var buf bytes.Buffer
	readUntil := func(marker string) {
		b := make([]byte, 4096)
		for !strings.Contains(buf.String(), marker) {
			n, err := c.Read(b)
			if err != nil {
				t.Fatalf("mgmt %s: waiting for %q: %v; got %q", path, marker, err, buf.String())
			}
			buf.Write(b[:n])
		}
	}
	readUntil("$ ")
	buf.Reset()
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		t.Fatal(err)
	}
	readUntil("\n1000 ")
	return buf.String()
}

func sysAttr(t *testing.T, ns, dev, attr string) string {
	t.Helper()
	return strings.TrimSpace(testutil.Run(t, "ip", "netns", "exec", ns, "cat", "/sys/class/net/"+dev+"/"+attr))
}

func linkExists(ns, dev string) bool {
	return exec.Command("ip", "-n", ns, "link", "show", "dev", dev).Run() == nil
}

// Requirement 3: two hosts with plug2tap-made TAPs ping each other through the switch; a frame with a
// known payload crosses both ways unchanged; the switch shows our description; plug2tap exits when the
// switch goes away.
func TestHostsThroughSwitch(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ours := testutil.Bin(t, "plug2tap")
	for name, sw := range switches(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sw")
			mgmt := filepath.Join(t.TempDir(), "mgmt")
			swp := testutil.StartSwitch(t, sw, dir, "-M", mgmt)
			h1 := testutil.NewHost(t, ours, dir, "198.18.0.1/24")
			h2 := testutil.NewHost(t, ours, dir, "198.18.0.2/24")
			h1.Ping(t, h2.IP)
			h2.Ping(t, h1.IP)

			// TAP → switch, byte for byte.
			c := dialSwitch(t, dir)
			pk := packetSocket(t, h1.NS, h1.Tap)
			mac, _ := frame.ParseMAC(h1.MAC)
			out := testFrame(mac, 1, 1000)
			if _, err := pk.Write(out); err != nil {
				t.Fatal(err)
			}
			if got := readSwitchFrame(t, c); !bytes.Equal(got, out) {
				t.Fatalf("frame from the TAP arrived as\n% x\nwant\n% x", got, out)
			}
			// switch → TAP, byte for byte.
			in := testFrame(frame.MAC{0x02, 0x47, 0x56, 0, 0, 9}, 2, 333)
			if err := c.WriteFrame(in); err != nil {
				t.Fatal(err)
			}
			if got := readWithin(t, pk, 5*time.Second); !bytes.Equal(got, in) {
				t.Fatalf("frame from the switch arrived as\n% x\nwant\n% x", got, in)
			}

			ports := mgmtCommand(t, mgmt, "port/print")
			want := "plug2tap: user=root pid=" + strconv.Itoa(h1.Plug.Cmd.Process.Pid)
			if !strings.Contains(ports, want) {
				t.Errorf("port/print lacks %q:\n%s", want, ports)
			}

			// The switch goes away: plug2tap must exit (status 0) and its TAP with it.
			swp.Stop(5 * time.Second)
			for _, h := range []*testutil.Host{h1, h2} {
				if err := h.Plug.Wait(5 * time.Second); err != nil {
					t.Errorf("plug2tap after the switch stopped: %v", err)
				}
				if linkExists(h.NS, h.Tap) {
					t.Errorf("non-persistent TAP %s survived plug2tap", h.Tap)
				}
			}
		})
	}
}

// Requirement 3: a TAP made by tunctl for user nobody is attached by plug2tap, carries traffic,
// survives plug2tap's exit and is removed by tunctl -d; and the same across our tools and the real
// ones, both ways.
func TestTunctlTAPWithPlug2tap(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ourTunctl, ourPlug := testutil.Bin(t, "tunctl"), testutil.Bin(t, "plug2tap")
	tests := []struct {
		name                  string
		maker, plug2tap, user string
	}{
		{"ours", ourTunctl, ourPlug, ourTunctl},
		{"our-tunctl+real-plug2tap+real-delete", ourTunctl, "vde_plug2tap", "vde_tunctl"},
		{"real-tunctl+our-plug2tap+our-delete", "vde_tunctl", ourPlug, ourTunctl},
	}
	sw := testutil.RealTool(t, "vde_switch")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range []*string{&tc.maker, &tc.plug2tap, &tc.user} {
				if !filepath.IsAbs(*p) {
					*p = testutil.RealTool(t, *p)
				}
			}
			dir := filepath.Join(t.TempDir(), "sw")
			testutil.StartSwitch(t, sw, dir)
			peer := testutil.NewHost(t, ourPlug, dir, "198.18.0.2/24")
			ns := testutil.Netns(t)
			const dev = "gvtper0"
			got := testutil.Run(t, "ip", "netns", "exec", ns, tc.maker, "-u", "nobody", "-t", dev)
			if want := "Set '" + dev + "' persistent and owned by uid 65534\n"; got != want {
				t.Fatalf("tunctl printed %q, want %q", got, want)
			}
			t.Cleanup(func() {
				if linkExists(ns, dev) {
					exec.Command("ip", "-n", ns, "link", "del", dev).Run()
				}
			})
			if o := sysAttr(t, ns, dev, "owner"); o != "65534" {
				t.Errorf("owner = %s, want 65534", o)
			}
			p := testutil.Start(t, nil, "ip", "netns", "exec", ns, tc.plug2tap, "-s", dir, dev)
			testutil.Run(t, "ip", "-n", ns, "addr", "add", "198.18.0.1/24", "dev", dev)
			testutil.Run(t, "ip", "-n", ns, "link", "set", dev, "up")
			peer.Ping(t, "198.18.0.1")

			p.Stop(5 * time.Second)
			if !linkExists(ns, dev) {
				t.Fatal("persistent TAP vanished when plug2tap exited")
			}
			if fl := sysAttr(t, ns, dev, "tun_flags"); fl != "0x1802" {
				t.Errorf("tun_flags after plug2tap = %s, want 0x1802 (TAP|NO_PI|PERSIST)", fl)
			}
			got = testutil.Run(t, "ip", "netns", "exec", ns, tc.user, "-d", dev)
			if want := "Set '" + dev + "' nonpersistent\n"; got != want {
				t.Errorf("tunctl -d printed %q, want %q", got, want)
			}
			if linkExists(ns, dev) {
				t.Error("TAP still exists after tunctl -d")
			}
		})
	}
}

// "-s -": the 2-byte VDE stream on stdin/stdout; a known frame crosses both ways unchanged and
// plug2tap exits at the end of the stream.
func TestStreamMode(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ours := testutil.Bin(t, "plug2tap")
	ns := testutil.Netns(t)
	const dev = "gvtstr0"
	stdin, toPlug := io.Pipe()
	fromPlug, stdout := io.Pipe()
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin, c.Stdout = stdin, stdout }, "ip", "netns", "exec", ns, ours, "-s", "-", dev)
	t.Cleanup(func() { toPlug.Close(); fromPlug.Close() })
	testutil.Eventually(t, 10*time.Second, "TAP "+dev, func() bool { return linkExists(ns, dev) || p.Exited() })
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+dev+".disable_ipv6=1")
	testutil.Run(t, "ip", "-n", ns, "link", "set", dev, "up")
	pk := packetSocket(t, ns, dev)

	w := stream.NewWriter(toPlug)
	in := testFrame(frame.MAC{0x02, 0x47, 0x56, 0, 0, 7}, 3, 1514)
	go w.WriteFrame(in)
	if got := readWithin(t, pk, 5*time.Second); !bytes.Equal(got, in) {
		t.Fatalf("stream→TAP frame arrived as\n% x\nwant\n% x", got, in)
	}

	out := testFrame(frame.MAC{0x02, 0x47, 0x56, 0, 0, 8}, 4, 77)
	if _, err := pk.Write(out); err != nil {
		t.Fatal(err)
	}
	r := stream.NewReader(fromPlug)
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, frame.MaxLen)
		for {
			n, err := r.ReadFrame(b)
			if err != nil {
				close(got)
				return
			}
			if binary.BigEndian.Uint16(b[12:]) == expEther {
				got <- b[:n]
				return
			}
		}
	}()
	select {
	case b := <-got:
		if !bytes.Equal(b, out) {
			t.Fatalf("TAP→stream frame arrived as\n% x\nwant\n% x", b, out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no frame on plug2tap's stdout within 5s")
	}

	toPlug.Close() // end of stream
	go io.Copy(io.Discard, fromPlug)
	if err := p.Wait(5 * time.Second); err != nil {
		t.Fatalf("plug2tap at end of stream: %v", err)
	}
	if linkExists(ns, dev) {
		t.Error("TAP survived plug2tap")
	}
}

// -d and -P: the daemon reports ready, writes its pid, runs detached, and removes the pidfile and
// its TAP on SIGTERM; a second instance with the same pidfile fails and names it.
func TestDaemonPidfile(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ours := testutil.Bin(t, "plug2tap")
	dir := filepath.Join(t.TempDir(), "sw")
	testutil.StartSwitch(t, testutil.RealTool(t, "vde_switch"), dir)
	ns := testutil.Netns(t)
	pidfile := filepath.Join(t.TempDir(), "p2t.pid")
	const dev = "gvtdmn0"
	testutil.Run(t, "ip", "netns", "exec", ns, ours, "-d", "-P", pidfile, "-s", dir, dev)
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("pidfile after plug2tap -d returned: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSuffix(string(b), "\n"))
	if err != nil || !strings.HasSuffix(string(b), "\n") {
		t.Fatalf("pidfile holds %q, want a pid and a newline", b)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // the daemon we started, by PID
	if sid, _ := unix.Getsid(pid); sid != pid {
		t.Errorf("daemon session = %d, want its own (%d)", sid, pid)
	}
	if !linkExists(ns, dev) {
		t.Fatal("daemon's TAP does not exist")
	}
	if cwd, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd"); cwd != "/" {
		t.Errorf("daemon cwd = %q, want /", cwd)
	}

	cmd := exec.Command("ip", "netns", "exec", ns, ours, "-d", "-P", pidfile, "-s", dir, "gvtdmn1")
	msg, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(msg), pidfile) {
		t.Errorf("second daemon with the same pidfile: %v, %q; want exit 1 naming %s", err, msg, pidfile)
	}

	syscall.Kill(pid, syscall.SIGTERM)
	testutil.Eventually(t, 5*time.Second, "pidfile removal", func() bool { _, err := os.Stat(pidfile); return err != nil })
	testutil.Eventually(t, 5*time.Second, "TAP removal", func() bool { return !linkExists(ns, dev) })
}

// A TAP of the wrong kind (a TUN) or a bad name gives a one-line error and exit 1.
func TestTAPErrors(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ours, tunctl := testutil.Bin(t, "plug2tap"), testutil.Bin(t, "tunctl")
	dir := filepath.Join(t.TempDir(), "sw")
	testutil.StartSwitch(t, testutil.RealTool(t, "vde_switch"), dir)
	ns := testutil.Netns(t)
	testutil.Run(t, "ip", "netns", "exec", ns, tunctl, "-t", "tun7")
	out, err := exec.Command("ip", "netns", "exec", ns, ours, "-s", dir, "tun7").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), "plug2tap: ") || !strings.Contains(string(out), "tun7") ||
		strings.Count(string(out), "\n") != 1 {
		t.Errorf("plug2tap on a TUN: %v, %q; want exit 1 and one line naming tun7", err, out)
	}
}

// -p asks for a given switch port; deleting the TAP under plug2tap ends it (status 0).
func TestPortAndTAPDeleted(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ours := testutil.Bin(t, "plug2tap")
	for name, sw := range switches(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sw")
			mgmt := filepath.Join(t.TempDir(), "mgmt")
			testutil.StartSwitch(t, sw, dir, "-M", mgmt)
			ns := testutil.Netns(t)
			const dev = "gvtport0"
			p := testutil.Start(t, nil, "ip", "netns", "exec", ns, ours, "-p", "5", "-s", dir, dev)
			testutil.Eventually(t, 10*time.Second, "TAP "+dev, func() bool { return linkExists(ns, dev) || p.Exited() })
			ports := mgmtCommand(t, mgmt, "port/print")
			want := "Port 0005 "
			if i := strings.Index(ports, want); i < 0 || !strings.Contains(ports[i:], "plug2tap: user=root pid="+strconv.Itoa(p.Cmd.Process.Pid)) {
				t.Errorf("port/print does not show plug2tap on port 5:\n%s", ports)
			}
			testutil.Run(t, "ip", "-n", ns, "link", "del", dev)
			if err := p.Wait(5 * time.Second); err != nil {
				t.Errorf("plug2tap after its TAP was deleted: %v", err)
			}
		})
	}
}
