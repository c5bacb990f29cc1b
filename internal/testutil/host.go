// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartSwitch starts a switch (the real vde_switch, or ours: switchPath is a parameter) as
// "switchPath -s dir extra..." in the foreground and waits at most 10 s for dir/ctl to appear.
// Its stdin is a pipe held open until the test ends, because a foreground vde_switch exits on stdin EOF.
// The process is stopped by PID when the test ends. It does not need root.
func StartSwitch(t testing.TB, switchPath, dir string, extra ...string) *Proc {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe for %s stdin: %v", switchPath, err)
	}
	// Registered before Start, so it runs after the process is stopped.
	t.Cleanup(func() { w.Close() })
	args := append([]string{"-s", dir}, extra...)
	p := Start(t, func(c *exec.Cmd) { c.Stdin = r }, switchPath, args...)
	r.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// vde_switch binds its ctl socket before it listens: a client that connects in between is
		// refused (seen in CI), so the file is not enough. Neither switch logs a connection closed
		// before its request.
		if c, err := net.DialTimeout("unix", filepath.Join(dir, "ctl"), time.Second); err == nil {
			c.Close()
			return p
		}
		if p.Exited() {
			t.Fatalf("%s -s %s exited early: %v\nstderr: %s", switchPath, dir, p.Wait(0), p.Stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s -s %s: %s/ctl did not appear within 10s", switchPath, dir, dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A Host is a network namespace attached to a switch through a TAP interface that a plug2tap
// program (the real vde_plug2tap, or ours) creates and serves from inside the namespace.
type Host struct {
	NS   string // network namespace name (ip netns)
	Tap  string // TAP interface name inside NS
	Addr string // address with prefix, as given to NewHost, e.g. "198.18.0.1/24"
	IP   string // Addr without the prefix length
	MAC  string // the TAP's MAC address, e.g. "aa:bb:cc:dd:ee:ff"
	Plug *Proc  // the plug2tap process
}

// NewHost creates a namespace (Netns), runs "ip netns exec NS plug2tapPath -s sockDir TAP" so that the
// TAP appears inside it, then gives the TAP addrCIDR and brings it up. Use addresses from 198.18.0.0/15
// only. Everything is removed when the test ends: the plug2tap process is stopped by PID (its
// non-persistent TAP goes with it), then the namespace is deleted. It needs root and skips otherwise.
func NewHost(t testing.TB, plug2tapPath, sockDir, addrCIDR string) *Host {
	t.Helper()
	SkipUnlessRoot(t)
	ip, _, ok := strings.Cut(addrCIDR, "/")
	if !ok {
		t.Fatalf("NewHost: address %q has no prefix length (want e.g. 198.18.0.1/24)", addrCIDR)
	}
	h := &Host{NS: Netns(t), Tap: RandName("gvt"), Addr: addrCIDR, IP: ip}
	// ip netns exec execs the command after setns, so the PID Start records is plug2tap's own.
	h.Plug = Start(t, nil, "ip", "netns", "exec", h.NS, plug2tapPath, "-s", sockDir, h.Tap)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command("ip", "-n", h.NS, "-o", "link", "show", "dev", h.Tap).Output()
		if err == nil {
			if f := strings.Fields(string(out)); len(f) > 0 {
				for i, w := range f {
					if w == "link/ether" && i+1 < len(f) {
						h.MAC = f[i+1]
					}
				}
			}
			break
		}
		if h.Plug.Exited() {
			t.Fatalf("%s -s %s %s in netns %s exited early: %v\nstderr: %s",
				plug2tapPath, sockDir, h.Tap, h.NS, h.Plug.Wait(0), h.Plug.Stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not create TAP %s in netns %s within 10s\nstderr: %s",
				plug2tapPath, h.Tap, h.NS, h.Plug.Stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	Run(t, "ip", "-n", h.NS, "addr", "add", addrCIDR, "dev", h.Tap)
	Run(t, "ip", "-n", h.NS, "link", "set", h.Tap, "up")
	return h
}

// Exec runs a command inside the host's namespace (at most 30 s), fails the test if it fails,
// and returns its stdout.
func (h *Host) Exec(t testing.TB, name string, args ...string) string {
	t.Helper()
	return Run(t, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// SetMAC gives the host's TAP the MAC address mac (it may be up) and records it in h.MAC.
func (h *Host) SetMAC(t testing.TB, mac string) {
	t.Helper()
	Run(t, "ip", "-n", h.NS, "link", "set", "dev", h.Tap, "address", mac)
	h.MAC = mac
}

// PingOnce sends one ICMP echo request from the host to addr and waits at most 1 s for the reply.
func (h *Host) PingOnce(addr string) error {
	out, err := exec.Command("ip", "netns", "exec", h.NS, "ping", "-n", "-c", "1", "-W", "1", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from netns %s: %v: %s", addr, h.NS, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Ping fails the test unless addr answers a ping from the host within 10 s (ARP and the
// switches learning may cost the first tries). It skips when ping is not installed (iputils-ping).
func (h *Host) Ping(t testing.TB, addr string) {
	t.Helper()
	NeedPing(t)
	if err := h.PingWithin(addr, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// NeedPing skips the test when ping is not installed (iputils-ping), and fails it in CI.
func NeedPing(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		if InCI() {
			t.Fatalf("ping not installed (apt-get install iputils-ping): %v", err)
		}
		t.Skipf("skipped: ping not installed (apt-get install iputils-ping)")
	}
}

// PingWithin pings addr from the host once a second until it answers, for at most d, and reports the
// last failure when it did not.
func (h *Host) PingWithin(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := h.PingOnce(addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no ping reply within %v: %w", d, err)
		}
	}
}
