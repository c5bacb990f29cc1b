// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package tap_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/offload"
	"github.com/govde/govde/pkg/relay"
	"github.com/govde/govde/pkg/tap"
	"golang.org/x/sys/unix"
)

const (
	iffPersist  = 0x0800
	iffVnetHdr  = 0x4000
	allOffloads = offload.TunCsum | offload.TunTSO4 | offload.TunTSO6 | offload.TunTSOECN | offload.TunUSO4 | offload.TunUSO6
)

// tunFlags reads /sys/class/net/NAME/tun_flags inside ns.
func tunFlags(t *testing.T, ns, name string) int {
	t.Helper()
	s := strings.TrimSpace(testutil.Run(t, "ip", "netns", "exec", ns, "cat", "/sys/class/net/"+name+"/tun_flags"))
	v, err := strconv.ParseInt(s, 0, 32)
	if err != nil {
		t.Fatalf("tun_flags of %s = %q: %v", name, s, err)
	}
	return int(v)
}

// refuse makes the kernel refuse any TUNSETOFFLOAD flag set that has one of the bits in mask.
func refuse(t *testing.T, mask int) {
	restore := tap.SetOffloadHook(func(fd, flags int, real func(int, int) error) error {
		if flags&mask != 0 {
			return syscall.EINVAL
		}
		return real(fd, flags)
	})
	t.Cleanup(restore)
}

func TestOffloadFlags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse int
		want   int
	}{
		{"all granted", 0, allOffloads},
		{"no USO (before Linux 6.2)", offload.TunUSO4, allOffloads &^ (offload.TunUSO4 | offload.TunUSO6)},
		{"no TSO", offload.TunTSO4, offload.TunCsum},
		{"none: plain frames", ^0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refuse(t, tc.refuse)
			ns := testutil.Netns(t)
			for _, raw := range []bool{false, true} {
				d := openIn(t, ns, tap.Config{Name: "goff0", Offload: true, Raw: raw})
				if got := d.Offloads(); got != tc.want {
					t.Errorf("raw=%v: Offloads() = %#x, want %#x", raw, got, tc.want)
				}
				fl := tunFlags(t, ns, "goff0")
				if (fl&iffVnetHdr != 0) != (tc.want != 0) {
					t.Errorf("raw=%v: tun_flags %#x: IFF_VNET_HDR set = %v, want %v", raw, fl, fl&iffVnetHdr != 0, tc.want != 0)
				}
				rd, _ := d.RawDesc()
				if raw && (rd.Framer != nil) != (tc.want != 0) {
					t.Errorf("raw=%v: RawDesc().Framer = %v with offloads %#x", raw, rd.Framer, tc.want)
				}
				d.Close()
			}
		})
	}
}

// TestOffloadPersistentTAP: a TAP made persistent without IFF_VNET_HDR (as tunctl makes it) takes an
// attach with it and offloads, stays persistent, and after that carries plain frames to a plain user
// again (the offloads are reset when the offloading user leaves).
func TestOffloadPersistentTAP(t *testing.T) {
	ns := testutil.Netns(t)
	d := openIn(t, ns, tap.Config{Name: "gpoff0"})
	if err := d.SetPersist(true); err != nil {
		t.Fatal(err)
	}
	d.Close()
	t.Cleanup(func() { exec.Command("ip", "-n", ns, "link", "del", "gpoff0").Run() })
	d = openIn(t, ns, tap.Config{Name: "gpoff0", Offload: true, Raw: true})
	if d.Offloads()&offload.TunTSO4 == 0 {
		t.Fatalf("Offloads() = %#x on a persistent TAP, want TSO4", d.Offloads())
	}
	if fl := tunFlags(t, ns, "gpoff0"); fl&(iffPersist|iffVnetHdr) != iffPersist|iffVnetHdr {
		t.Fatalf("tun_flags = %#x with the offloading user attached, want IFF_PERSIST and IFF_VNET_HDR", fl)
	}
	d.Close()
	if fl := tunFlags(t, ns, "gpoff0"); fl != 0x1802 {
		t.Fatalf("tun_flags = %#x after the offloading user left, want 0x1802 (TAP|NO_PI|PERSIST) as before", fl)
	}
	// A plain user now: the frames it reads must be plain (no 64 KB segment).
	pairTransfer(t, pairCase{persistentA: "gpoff0", nsA: ns, offA: false, offB: true, mtu: 1500})
}

// pairCase is a TCP transfer between two namespaces whose TAPs are joined by relay.Join.
type pairCase struct {
	offA, offB  bool
	noFast      bool
	mtu         int
	persistentA string // use this existing TAP in nsA
	nsA         string
	refused     bool // the kernel refuses every offload
	v6          bool // TCP over IPv6 (ULA addresses inside the namespaces)
	udp         bool // UDP with UDP_SEGMENT (USO) instead of TCP
}

// pairTransfer joins a TAP in each of two namespaces with relay.Join, moves 10 MB each way over TCP and
// checks that no frame in between exceeded the MTU and that the offloading ends cut and joined segments.
func pairTransfer(t *testing.T, c pairCase) {
	t.Helper()
	nsA, nsB := c.nsA, testutil.Netns(t)
	if nsA == "" {
		nsA = testutil.Netns(t)
	}
	nameA := c.persistentA
	if nameA == "" {
		nameA = "gpa0"
	}
	a := openIn(t, nsA, tap.Config{Name: nameA, Offload: c.offA, Raw: true})
	b := openIn(t, nsB, tap.Config{Name: "gpb0", Offload: c.offB, Raw: true})
	for _, x := range []struct{ ns, dev, addr, addr6 string }{{nsA, nameA, "198.18.9.1/24", "fd00:c612:9::1/64"}, {nsB, "gpb0", "198.18.9.2/24", "fd00:c612:9::2/64"}} {
		testutil.Run(t, "ip", "-n", x.ns, "link", "set", "dev", x.dev, "mtu", strconv.Itoa(c.mtu), "up")
		testutil.Run(t, "ip", "-n", x.ns, "addr", "add", x.addr, "dev", x.dev)
		testutil.Run(t, "ip", "-n", x.ns, "addr", "add", x.addr6, "dev", x.dev, "nodad")
	}
	var maxLen atomic.Int64
	hook := func(_ relay.Dir, f []byte, _ relay.Emitter) relay.Verdict {
		if n := int64(len(f)); n > maxLen.Load() {
			maxLen.Store(n)
		}
		return relay.Pass
	}
	var st relay.Stats
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Join(ctx, a, b, &relay.Config{Stats: &st, Hook: hook, NoFastPath: c.noFast}) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Join: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Join did not return within 10s of its context's end")
		}
	}()
	dst := "198.18.9.2"
	if c.v6 {
		dst = "fd00:c612:9::2"
	}
	if c.udp {
		udpSegments(t, nsA, nsB, dst)
	} else {
		testutil.TransferBoth(t, nsA, nsB, dst, 10<<20, 60*time.Second)
	}
	if m := maxLen.Load(); m > int64(c.mtu+frame.HeaderLen) {
		t.Errorf("a frame of %d bytes crossed the relay; MTU %d allows %d", m, c.mtu, c.mtu+frame.HeaderLen)
	}
	if st.FastPath.Load() == c.noFast {
		t.Errorf("FastPath = %v, want %v", st.FastPath.Load(), !c.noFast)
	}
	for _, x := range []struct {
		d   *tap.Device
		off bool
	}{{a, c.offA}, {b, c.offB}} {
		if x.off && c.refused && x.d.Offloads() != 0 {
			t.Errorf("%s: Offloads() = %#x though the kernel refused them", x.d.Name(), x.d.Offloads())
		}
		if x.off && !c.refused && x.d.Offloads()&offload.TunTSO4 == 0 {
			t.Errorf("%s: Offloads() = %#x, want TSO4", x.d.Name(), x.d.Offloads())
		}
		st := x.d.OffloadStats()
		if st.Drops != 0 {
			t.Errorf("%s: %d packets could not be segmented", x.d.Name(), st.Drops)
		}
		if x.off && !c.refused && x.d == a && (c.udp && st.USO == 0 || !c.udp && st.TSO == 0) {
			t.Errorf("%s: offload stats %+v: the kernel handed over no GSO packet of the kind sent", x.d.Name(), st)
		}
		// The fast path coalesces what it writes to an offloading TAP; the general path writes frames.
		if x.off && !c.refused && !c.noFast && !c.udp && x.d.CoalesceStats().Packets == 0 {
			t.Errorf("%s: no coalesced packet written in 10 MB", x.d.Name())
		}
	}
	t.Logf("max frame %d bytes; a->b %d frames, b->a %d frames; coalesced packets: %d, %d", maxLen.Load(),
		st.Dir[relay.AtoB].Frames.Load(), st.Dir[relay.BtoA].Frames.Load(), a.CoalesceStats().Packets, b.CoalesceStats().Packets)
}

func TestOffloadTCPThroughRelay(t *testing.T) {
	for _, c := range []pairCase{
		{offA: true, offB: true, mtu: 1500},
		{offA: true, offB: true, mtu: 9000},
		{offA: true, offB: false, mtu: 1500},
		{offA: true, offB: true, mtu: 1500, noFast: true},
		{offA: true, offB: true, mtu: 1500, v6: true},
		{offA: true, offB: true, mtu: 9000, v6: true},
	} {
		t.Run(fmt.Sprintf("offload %v-%v mtu %d nofast %v v6 %v", c.offA, c.offB, c.mtu, c.noFast, c.v6), func(t *testing.T) {
			pairTransfer(t, c)
		})
	}
	t.Run("kernel refuses offloads", func(t *testing.T) {
		refuse(t, ^0)
		pairTransfer(t, pairCase{offA: true, offB: true, mtu: 1500, refused: true})
	})
}

// TestOffloadUSO: a UDP socket with UDP_SEGMENT hands the kernel one large send, which the TAP passes
// on whole (USO); it arrives on the other side as the datagrams it was made of.
func TestOffloadUSO(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v6 %v", v6), func(t *testing.T) {
			pairTransfer(t, pairCase{offA: true, offB: true, mtu: 1500, v6: v6, udp: true})
		})
	}
}

// udpSegments sends, from nsA to dst in nsB, batches of 1200-byte datagrams as single sends with
// UDP_SEGMENT, and checks that every datagram arrives whole and in its place.
func udpSegments(t *testing.T, nsA, nsB, dst string) {
	t.Helper()
	const size, per, sends = 1200, 20, 50
	var rc, sc *net.UDPConn
	var err error
	testutil.InNetns(t, nsB, func() { rc, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(dst)}) })
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rc.SetReadBuffer(4 << 20)
	testutil.InNetns(t, nsA, func() { sc, err = net.DialUDP("udp", nil, rc.LocalAddr().(*net.UDPAddr)) })
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	raw, _ := sc.SyscallConn()
	raw.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, size) })
	if err != nil {
		t.Skipf("UDP_SEGMENT: %v", err)
	}
	buf := make([]byte, size*per)
	got := 0
	rbuf := make([]byte, 65536)
	for i := 0; i < sends; i++ {
		for j := 0; j < per; j++ {
			for k := 0; k < size; k++ {
				buf[j*size+k] = byte(i*per + j + k)
			}
		}
		if _, err := sc.Write(buf); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		// Read this send's datagrams before the next (no loss on an idle pair of namespaces).
		for j := 0; j < per; j++ {
			rc.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := rc.Read(rbuf)
			if err != nil {
				t.Fatalf("send %d: datagram %d: %v (got %d datagrams in all)", i, j, err, got)
			}
			if n != size {
				t.Fatalf("send %d: datagram of %d bytes, want %d", i, n, size)
			}
			seq := int(rbuf[0])
			for k := 1; k < n; k++ {
				if rbuf[k] != byte(seq+k) {
					t.Fatalf("send %d: datagram %d corrupt at byte %d", i, j, k)
				}
			}
			got++
		}
	}
}
