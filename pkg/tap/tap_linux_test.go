// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package tap_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/tap"
	"golang.org/x/sys/unix"
)

// inNetns runs fn on an OS thread that has entered the named namespace (testutil.InNetns).
func inNetns(t testing.TB, ns string, fn func()) { testutil.InNetns(t, ns, fn) }

// openIn opens a device inside ns and closes it at cleanup.
func openIn(t testing.TB, ns string, c tap.Config) *tap.Device {
	t.Helper()
	var d *tap.Device
	var err error
	inNetns(t, ns, func() { d, err = tap.OpenConfig(c) })
	if err != nil {
		t.Fatalf("OpenConfig(%+v): %v", c, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func linkExists(ns, name string) bool {
	return exec.Command("ip", "-n", ns, "link", "show", name).Run() == nil
}

// arpRequest builds a who-has tip tell sip request from mac.
func arpRequest(mac frame.MAC, sip, tip net.IP) []byte {
	b := make([]byte, 42)
	copy(b[0:6], frame.Broadcast[:])
	copy(b[6:12], mac[:])
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	copy(b[14:], []byte{0, 1, 8, 0, 6, 4, 0, 1})
	copy(b[22:28], mac[:])
	copy(b[28:32], sip.To4())
	copy(b[38:42], tip.To4())
	return b
}

var (
	hostMAC = frame.MAC{0x02, 0x47, 0x56, 0, 0, 0x02}
	tapIP   = net.IPv4(198, 18, 0, 1)
	hostIP  = net.IPv4(198, 18, 0, 2)
)

// upTAP brings name up in ns with 198.18.0.1/24 and no IPv6 chatter.
func upTAP(t testing.TB, ns, name string) {
	t.Helper()
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+name+".disable_ipv6=1")
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "198.18.0.1/24", "dev", name)
	testutil.Run(t, "ip", "-n", ns, "link", "set", name, "up")
}

// readARPReply reads frames from d until an ARP reply arrives.
func readARPReply(d *tap.Device, buf []byte) ([]byte, error) {
	for {
		n, err := d.ReadFrame(buf)
		if err != nil {
			return nil, err
		}
		f := buf[:n]
		if n >= 42 && binary.BigEndian.Uint16(f[12:]) == 0x0806 && binary.BigEndian.Uint16(f[20:]) == 2 {
			return f, nil
		}
	}
}

func TestARPThroughTAP(t *testing.T) {
	ns := testutil.Netns(t)
	d := openIn(t, ns, tap.Config{Name: "gtap0"})
	if d.Name() != "gtap0" {
		t.Fatalf("Name() = %q, want gtap0", d.Name())
	}
	upTAP(t, ns, "gtap0")
	timer := time.AfterFunc(10*time.Second, func() { d.Close() })
	defer timer.Stop()

	if err := d.WriteFrame(arpRequest(hostMAC, hostIP, tapIP)); err != nil {
		t.Fatalf("WriteFrame: %v", err)
	}
	buf := make([]byte, frame.MaxLen)
	f, err := readARPReply(d, buf)
	if err != nil {
		t.Fatalf("no ARP reply: %v", err)
	}
	if !bytes.Equal(f[0:6], hostMAC[:]) {
		t.Errorf("reply dst = % x, want % x", f[0:6], hostMAC[:])
	}
	if !bytes.Equal(f[6:12], f[22:28]) {
		t.Errorf("reply src % x != sender hw % x", f[6:12], f[22:28])
	}
	if !bytes.Equal(f[28:32], tapIP.To4()) || !bytes.Equal(f[32:38], hostMAC[:]) || !bytes.Equal(f[38:42], hostIP.To4()) {
		t.Errorf("reply body = % x", f[14:42])
	}
	out := testutil.Run(t, "ip", "netns", "exec", ns, "cat", "/sys/class/net/gtap0/address")
	if got := net.HardwareAddr(f[6:12]).String(); strings.TrimSpace(out) != got {
		t.Errorf("reply from %s, TAP address is %s", got, out)
	}
	mtu, err := 0, error(nil)
	inNetns(t, ns, func() { mtu, err = d.MTU() })
	if err != nil || mtu != 1500 {
		t.Errorf("MTU() = %d, %v; want 1500", mtu, err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	ns := testutil.Netns(t)
	d := openIn(t, ns, tap.Config{Name: "gtap0"})
	errc := make(chan error, 1)
	go func() {
		_, err := d.ReadFrame(make([]byte, frame.MaxLen))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadFrame after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrame")
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.ReadFrame(make([]byte, 64)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrame = %v, want net.ErrClosed", err)
	}
	if err := d.WriteFrame(make([]byte, 64)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteFrame = %v, want net.ErrClosed", err)
	}
	if linkExists(ns, "gtap0") {
		t.Error("non-persistent TAP still exists after Close")
	}
}

func TestPersistenceKept(t *testing.T) {
	ns := testutil.Netns(t)
	d := openIn(t, ns, tap.Config{Name: "gpers0"})
	if p, err := d.Persistent(); err != nil || p {
		t.Fatalf("new device Persistent() = %v, %v; want false", p, err)
	}
	if err := d.SetOwner(65534); err != nil {
		t.Fatal(err)
	}
	if err := d.SetGroup(65533); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPersist(true); err != nil {
		t.Fatal(err)
	}
	d.Close()
	t.Cleanup(func() {
		if linkExists(ns, "gpers0") {
			exec.Command("ip", "-n", ns, "link", "del", "gpers0").Run()
		}
	})
	if !linkExists(ns, "gpers0") {
		t.Fatal("persistent TAP vanished after Close")
	}
	for file, want := range map[string]string{"owner": "65534", "group": "65533", "tun_flags": "0x1802"} {
		got := strings.TrimSpace(testutil.Run(t, "ip", "netns", "exec", ns, "cat", "/sys/class/net/gpers0/"+file))
		if got != want {
			t.Errorf("/sys/class/net/gpers0/%s = %q, want %q", file, got, want)
		}
	}

	// Attach and detach: persistence must survive.
	d = openIn(t, ns, tap.Config{Name: "gpers0"})
	if p, err := d.Persistent(); err != nil || !p {
		t.Fatalf("reopened Persistent() = %v, %v; want true", p, err)
	}
	d.Close()
	if !linkExists(ns, "gpers0") {
		t.Fatal("persistent TAP vanished after an attach/detach")
	}

	d = openIn(t, ns, tap.Config{Name: "gpers0"})
	if err := d.SetPersist(false); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if linkExists(ns, "gpers0") {
		t.Fatal("TAP still exists after SetPersist(false) and Close")
	}
}

func TestKindMismatch(t *testing.T) {
	ns := testutil.Netns(t)
	d := openIn(t, ns, tap.Config{Name: "gtun0", Kind: tap.TUN})
	if fl, err := d.Flags(); err != nil || fl&0x1 == 0 {
		t.Fatalf("Flags() = %#x, %v; want IFF_TUN", fl, err)
	}
	var err error
	inNetns(t, ns, func() {
		var d2 *tap.Device
		if d2, err = tap.Open("gtun0"); err == nil {
			d2.Close()
		}
	})
	if !errors.Is(err, tap.ErrNotTAP) {
		t.Fatalf("Open(tun as tap) = %v, want ErrNotTAP", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := tap.OpenConfig(tap.Config{Name: "x", CloneDev: "/nonexistent"}); err == nil || !strings.Contains(err.Error(), "/nonexistent") {
		t.Errorf("OpenConfig(/nonexistent) = %v, want an error naming the path", err)
	}
	if _, err := tap.Open("a-name-longer-than-15"); err == nil || !strings.Contains(err.Error(), "a-name-longer-than-15") {
		t.Errorf("Open(long name) = %v, want an error naming it", err)
	}
}

func TestKernelName(t *testing.T) {
	ns := testutil.Netns(t)
	d := openIn(t, ns, tap.Config{})
	if !strings.HasPrefix(d.Name(), "tap") {
		t.Errorf("kernel-chosen name = %q, want tap%%d", d.Name())
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, c := range []tap.Config{{}, {Offload: true}, {Offload: true, Raw: true}} {
		t.Run(fmt.Sprintf("offload=%v raw=%v", c.Offload, c.Raw), func(t *testing.T) {
			ns := testutil.Netns(t)
			c.Name = "gtap0"
			d := openIn(t, ns, c)
			if c.Offload && d.Offloads() == 0 {
				t.Fatal("no offloads granted")
			}
			upTAP(t, ns, "gtap0")
			timer := time.AfterFunc(20*time.Second, func() { d.Close() })
			defer timer.Stop()
			req := arpRequest(hostMAC, hostIP, tapIP)
			buf := make([]byte, frame.MaxLen)
			var err error
			roundTrip := func() {
				if err == nil {
					err = d.WriteFrame(req)
				}
				if err == nil {
					_, err = readARPReply(d, buf)
				}
				if err == nil { // the batch writer (GRO) path
					err = d.QueueFrame(req)
				}
				if err == nil {
					err = d.Flush()
				}
				if err == nil {
					_, err = readARPReply(d, buf)
				}
			}
			roundTrip() // warm up the neighbour entry
			if a := testing.AllocsPerRun(200, roundTrip); a != 0 {
				t.Errorf("WriteFrame/QueueFrame+Flush+ReadFrame allocs = %v, want 0", a)
			}
			if err != nil {
				t.Fatal(err)
			}
			rd, ok := d.RawDesc()
			if !ok || rd.Framer == nil {
				return
			}
			// pkg/relay's poll loop: frame.RawFramer on the raw descriptor.
			fr := rd.Framer
			pfd := []unix.PollFd{{Fd: int32(rd.Read), Events: unix.POLLIN}}
			relayTrip := func() {
				if e := fr.WriteFrameTo(rd.Write, req); e != 0 {
					err = e
				}
				if e := fr.FlushTo(rd.Write); e != 0 {
					err = e
				}
				for err == nil {
					n, e := fr.ReadFrameFrom(rd.Read, buf)
					if e == syscall.EAGAIN {
						unix.Poll(pfd, 1000)
						continue
					}
					if e != 0 {
						err = e
					} else if n >= 42 && binary.BigEndian.Uint16(buf[12:]) == 0x0806 && binary.BigEndian.Uint16(buf[20:]) == 2 {
						return
					}
				}
			}
			relayTrip()
			if a := testing.AllocsPerRun(200, relayTrip); a != 0 {
				t.Errorf("RawFramer round trip allocs = %v, want 0", a)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func BenchmarkARPRoundTrip(b *testing.B) {
	ns := testutil.Netns(b)
	d := openIn(b, ns, tap.Config{Name: "gtap0"})
	upTAP(b, ns, "gtap0")
	req := arpRequest(hostMAC, hostIP, tapIP)
	buf := make([]byte, frame.MaxLen)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.WriteFrame(req); err != nil {
			b.Fatal(err)
		}
		if _, err := readARPReply(d, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// A TAP that is down refuses frames with EIO; that must not allocate per frame either.
func TestWriteDownNoAllocs(t *testing.T) {
	ns := testutil.Netns(t)
	d := openIn(t, ns, tap.Config{Name: "gtap0"})
	req := arpRequest(hostMAC, hostIP, tapIP)
	err := d.WriteFrame(req)
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("WriteFrame on a down TAP = %v, want EIO", err)
	}
	if a := testing.AllocsPerRun(100, func() { d.WriteFrame(req) }); a != 0 {
		t.Errorf("failing WriteFrame allocs = %v, want 0", a)
	}
}
