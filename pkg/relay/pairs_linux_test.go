// SPDX-License-Identifier: GPL-2.0-or-later

package relay_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
	"github.com/govde/govde/pkg/plug"
	"github.com/govde/govde/pkg/relay"
	"github.com/govde/govde/pkg/stream"
	"github.com/govde/govde/pkg/tap"
	"github.com/govde/govde/pkg/vde"
)

// expEther is the IEEE local experimental ethertype: the kernel ignores it, and the tests ignore frames
// of any other type (a TAP's interface sends its own).
const expEther = 0x88b5

// testFrame returns a broadcast expEther frame of n bytes marked with seed.
func testFrame(seed byte, n int) []byte {
	f := make([]byte, n)
	copy(f, frame.Broadcast[:])
	copy(f[6:], []byte{0x02, 0, 0, 0, 0, seed})
	binary.BigEndian.PutUint16(f[12:], expEther)
	for i := frame.HeaderLen; i < n; i++ {
		f[i] = seed + byte(i*7)
	}
	return f
}

// end is a way for one side of a pair to end the relay, and what Join must return.
type side struct {
	ep   frame.Endpoint
	peer frame.Endpoint // the far end the test talks through; nil when there is none
	echo bool           // the endpoint sends back what it is given (cmd://cat)
	end  func()         // ends the relay from this side (EOF, hang-up); nil: only ctx does
}

// A kind opens one endpoint of a relay the way the tools do.
type kind struct {
	name string
	raw  bool // the relay may take the fast path with it
	open func(t *testing.T) side
}

var (
	pipeKind = kind{"stream-pipe", true, func(t *testing.T) side {
		var in, out [2]int // in: to the endpoint; out: from it
		if err := unix.Pipe2(in[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			t.Fatal(err)
		}
		if err := unix.Pipe2(out[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			t.Fatal(err)
		}
		ep, err := plug.NewRawStream(in[0], out[1], true)
		if err != nil {
			t.Fatal(err)
		}
		r, w := os.NewFile(uintptr(out[0]), "peer-r"), os.NewFile(uintptr(in[1]), "peer-w")
		peer := stream.NewConn(r, w, multiClose{r, w})
		t.Cleanup(func() { peer.Close(); ep.Close() })
		return side{ep: ep, peer: peer, end: func() { w.Close() }}
	}}
	socketKind = kind{"stream-socket", true, func(t *testing.T) side {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		ep, err := plug.NewRawStream(fds[0], fds[0], true) // a blocking socket: the loop polls first
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fds[1]), "peer")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		peer := stream.NewConn(nc, nc, nc)
		t.Cleanup(func() { peer.Close(); ep.Close() })
		return side{ep: ep, peer: peer, end: func() { nc.(*net.UnixConn).CloseWrite() }}
	}}
	vdeKind = kind{"vde", true, func(t *testing.T) side {
		l, err := vde.Listen(filepath.Join(t.TempDir(), "sw"), vde.ListenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		accepted := make(chan *vde.ServerConn, 1)
		go func() {
			req, err := l.Accept()
			if err != nil {
				accepted <- nil
				return
			}
			sc, _ := req.Accept(1)
			accepted <- sc
		}()
		ep, err := plug.Open(context.Background(), "vde://"+l.Dir(), plug.Options{Raw: true})
		if err != nil {
			t.Fatal(err)
		}
		sc := <-accepted
		if sc == nil {
			t.Fatal("switch side: no connection")
		}
		t.Cleanup(func() { sc.Close(); ep.Close() })
		return side{ep: ep, peer: sc, end: func() { sc.Close() }} // the switch closes the port: a hang-up
	}}
	cmdKind = kind{"cmd", true, func(t *testing.T) side {
		ep, err := plug.Open(context.Background(), "cmd://cat", plug.Options{Raw: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ep.Close() })
		return side{ep: ep, echo: true}
	}}
	nullKind = kind{"null", false, func(t *testing.T) side {
		ep, err := plug.Open(context.Background(), "null://", plug.Options{Raw: true})
		if err != nil {
			t.Fatal(err)
		}
		return side{ep: ep}
	}}
	udpKind = kind{"udp", false, func(t *testing.T) side {
		p1, p2 := freeUDPPort(t), freeUDPPort(t)
		ep, err := plug.Open(context.Background(), fmt.Sprintf("udp://127.0.0.1:%d->127.0.0.1:%d", p1, p2), plug.Options{Raw: true})
		if err != nil {
			t.Fatal(err)
		}
		peer, err := plug.Open(context.Background(), fmt.Sprintf("udp://127.0.0.1:%d->127.0.0.1:%d", p2, p1), plug.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { peer.Close(); ep.Close() })
		return side{ep: ep, peer: peer}
	}}
	tapKind = kind{"tap", true, func(t *testing.T) side { return openTAP(t, true) }}
)

type multiClose []*os.File

func (m multiClose) Close() error {
	for _, f := range m {
		f.Close()
	}
	return nil
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// openTAP opens a raw TAP in a fresh network namespace, brings it up, and talks to it through an
// AF_PACKET socket on its interface (what the kernel sends out of the interface, the TAP reads).
// With up false the interface stays down (writes to it fail with EIO) and there is no peer.
func openTAP(t *testing.T, up bool) side {
	ns := testutil.Netns(t)
	name := "gvr" + testutil.RandName("")[:6]
	type res struct {
		dev *tap.Device
		pfd int
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine, in ns
		h, err := netns.GetFromName(ns)
		if err == nil {
			err = netns.Set(h)
			h.Close()
		}
		if err != nil {
			ch <- res{err: err}
			return
		}
		dev, err := tap.OpenConfig(tap.Config{Name: name, Raw: true})
		if err != nil {
			ch <- res{err: err}
			return
		}
		if !up {
			ch <- res{dev: dev}
			return
		}
		ifi, err := net.InterfaceByName(name)
		if err == nil {
			err = linkUp(name) // before the packet socket binds, or its first send fails with ENETDOWN
		}
		if err != nil {
			dev.Close()
			ch <- res{err: err}
			return
		}
		proto := uint16(expEther<<8&0xff00 | expEther>>8) // htons
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(proto))
		if err == nil {
			if err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
				unix.Close(fd)
			}
		}
		if err != nil {
			dev.Close()
		}
		ch <- res{dev, fd, err}
	}()
	r := <-ch
	if errors.Is(r.err, unix.EPERM) || errors.Is(r.err, os.ErrNotExist) {
		t.Skipf("TAP: %v", r.err)
	}
	if r.err != nil {
		t.Fatalf("TAP in %s: %v", ns, r.err)
	}
	if !up {
		t.Cleanup(func() { r.dev.Close() })
		return side{ep: r.dev}
	}
	pk, err := rawfd.New(r.pfd, true, true)
	if err != nil {
		t.Fatal(err)
	}
	peer := &packetEP{pk}
	t.Cleanup(func() { peer.Close(); r.dev.Close() })
	return side{ep: r.dev, peer: peer}
}

// linkUp sets IFF_UP on the interface name, in the calling thread's namespace.
func linkUp(name string) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}

// packetEP is an AF_PACKET socket as a frame.Endpoint.
type packetEP struct{ fd *rawfd.FD }

func (p *packetEP) ReadFrame(b []byte) (int, error) { return p.fd.Read(b) }
func (p *packetEP) WriteFrame(b []byte) error       { _, err := p.fd.Write(b); return err }
func (p *packetEP) Close() error                    { return p.fd.Close() }

// recv reads frames from ep until one of type expEther arrives (or 5 s pass).
func recv(t *testing.T, ep frame.Endpoint) []byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := frametest.ReadWithin(ep, time.Until(deadline))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(b) >= frame.HeaderLen && binary.BigEndian.Uint16(b[12:]) == expEther {
			return b
		}
	}
	t.Fatal("read: no test frame within 5 s")
	return nil
}

// TestPairs runs the same checks through relay.Join for every pair of endpoint kinds the tools join:
// frames both ways intact, the fast path taken exactly when both sides are raw, runts dropped and
// counted, and the end (EOF, hang-up, switch gone, ctx) reported as nil with both sides closed.
func TestPairs(t *testing.T) {
	pairs := [][2]kind{
		{pipeKind, pipeKind}, {socketKind, pipeKind}, {vdeKind, pipeKind}, {cmdKind, pipeKind},
		{nullKind, pipeKind}, {udpKind, pipeKind}, {tapKind, pipeKind},
		{tapKind, vdeKind}, {vdeKind, vdeKind}, {socketKind, vdeKind}, {udpKind, vdeKind}, {cmdKind, vdeKind},
	}
	for _, p := range pairs {
		for _, how := range []string{"peer", "ctx"} {
			t.Run(p[0].name+"+"+p[1].name+"/end-"+how, func(t *testing.T) {
				if p[0].name == "tap" || p[1].name == "tap" {
					testutil.SkipUnlessRoot(t)
				}
				runPair(t, p[0], p[1], how == "ctx")
			})
		}
	}
}

func runPair(t *testing.T, ka, kb kind, byCtx bool) {
	a, b := ka.open(t), kb.open(t)
	var st relay.Stats
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- relay.Join(ctx, a.ep, b.ep, &relay.Config{Stats: &st}) }()

	// a → b (b's peer is always there).
	if a.peer != nil {
		f := testFrame(1, 1514)
		if err := a.peer.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, b.peer); !bytes.Equal(got, f) {
			t.Fatalf("a→b: got %d bytes, want the %d-byte frame", len(got), len(f))
		}
	}
	// b → a, and back again through an echoing a.
	g := testFrame(2, 60)
	b.peer.WriteFrame(g[:frame.HeaderLen-1]) // a runt: dropped and counted
	if err := b.peer.WriteFrame(g); err != nil {
		t.Fatal(err)
	}
	switch {
	case a.peer != nil:
		if got := recv(t, a.peer); !bytes.Equal(got, g) {
			t.Fatalf("b→a: got %d bytes, want the 60-byte frame", len(got))
		}
	case a.echo:
		if got := recv(t, b.peer); !bytes.Equal(got, g) {
			t.Fatalf("b→a→b: got %d bytes, want the 60-byte frame", len(got))
		}
	}
	// The runt is counted by the relay, or, on the goroutine path, by a vde.Conn that drops runts itself.
	ba := &st.Dir[relay.BtoA]
	short, _ := b.ep.(interface{ Short() uint64 })
	testutil.Eventually(t, 5*time.Second, "b→a counted", func() bool {
		runts := ba.Runts.Load()
		if short != nil && !st.FastPath.Load() {
			runts += short.Short()
		}
		return ba.Frames.Load() >= 1 && runts == 1
	})
	if got, want := st.FastPath.Load(), ka.raw && kb.raw; got != want {
		t.Errorf("FastPath = %v, want %v", got, want)
	}

	switch {
	case byCtx:
		cancel()
	case b.end != nil:
		b.end()
	case a.end != nil:
		a.end()
	default:
		cancel()
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Join = %v, want nil (orderly end)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Join did not return")
	}
	for _, ep := range []frame.Endpoint{a.ep, b.ep} {
		if err := ep.WriteFrame(g); !errors.Is(err, net.ErrClosed) && err != nil {
			t.Errorf("%T still open after Join: WriteFrame = %v", ep, err)
		}
	}
}

// TestTAPDown: a TAP whose interface is down refuses frames with EIO; on both paths the relay drops and
// counts them and goes on, then ends orderly at the stream's EOF.
func TestTAPDown(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	for _, slow := range []bool{false, true} {
		t.Run(fmt.Sprintf("nofastpath=%v", slow), func(t *testing.T) {
			a, b := openTAP(t, false), pipeKind.open(t)
			var st relay.Stats
			errc := make(chan error, 1)
			go func() {
				errc <- relay.Join(context.Background(), a.ep, b.ep, &relay.Config{Stats: &st, NoFastPath: slow})
			}()
			for i := range 3 {
				if err := b.peer.WriteFrame(testFrame(byte(i), 100)); err != nil {
					t.Fatal(err)
				}
			}
			ba := &st.Dir[relay.BtoA]
			testutil.Eventually(t, 5*time.Second, "3 drops", func() bool { return ba.Drops.Load() == 3 })
			b.end()
			select {
			case err := <-errc:
				if err != nil {
					t.Fatalf("Join = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Join did not return")
			}
			if st.FastPath.Load() == slow || ba.Frames.Load() != 0 {
				t.Errorf("FastPath %v, frames %d; want %v, 0", st.FastPath.Load(), ba.Frames.Load(), !slow)
			}
		})
	}
}
