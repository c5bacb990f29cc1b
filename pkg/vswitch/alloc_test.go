// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package vswitch

import (
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/govde/govde/pkg/frame"
)

// gramEndpoint is a frame.Endpoint over one end of a datagram socketpair.
type gramEndpoint struct{ c *net.UnixConn }

func (g gramEndpoint) ReadFrame(b []byte) (int, error) { return g.c.Read(b) }
func (g gramEndpoint) WriteFrame(b []byte) error       { _, err := g.c.Write(b); return err }
func (g gramEndpoint) Close() error                    { return g.c.Close() }

func socketpair(t testing.TB) (sw, peer *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conv := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "gram")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	sw, peer = conv(fds[0]), conv(fds[1])
	t.Cleanup(func() { sw.Close(); peer.Close() })
	return sw, peer
}

// attachRaw attaches the switch end of a socketpair as a batched endpoint and returns the peer.
func attachRaw(t testing.TB, s *Switch) (*endpoint, *net.UnixConn) {
	t.Helper()
	sw, peer := socketpair(t)
	rc, err := sw.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.attach(epSpec{ep: gramEndpoint{sw}, id: -1, module: ModuleUnix, uid: -1, raw: rc})
	if err != nil {
		t.Fatal(err)
	}
	return e, peer
}

// drain reads and discards everything peer receives until it is closed.
func drain(peer *net.UnixConn) {
	buf := make([]byte, frame.MaxLen+frame.TagLen)
	for {
		if _, err := peer.Read(buf); err != nil {
			return
		}
	}
}

// fwdSetup returns a switch with a source endpoint (whose rx the caller drives) and drained
// destinations, the MACs learned.
func fwdSetup(t testing.TB, ndst int, vlanTag bool) (*Switch, *rx) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	src, _ := attachRaw(t, s)
	var dsts []*endpoint
	for range ndst {
		d, peer := attachRaw(t, s)
		go drain(peer)
		dsts = append(dsts, d)
	}
	if vlanTag {
		must(t, s.CreateVLAN(10))
		must(t, s.SetPortVLAN(src.port.num, 10))
		for _, d := range dsts {
			must(t, s.AddVLANPort(10, d.port.num))
		}
	}
	r := newRx(s, src)
	// Learn the destinations (as if they had spoken), so frames are unicast.
	vid := 0
	if vlanTag {
		vid = 10
	}
	for i, d := range dsts {
		s.fdb.learn(makeKey(mac(byte(100+i)), vid), d.port.num, s.now())
	}
	return s, r
}

func TestForwardZeroAllocs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tagged bool
		dst    frame.MAC
	}{
		{"unicast", false, mac(100)},
		{"unicast-addtag", true, mac(100)},
		{"flood", false, frame.Broadcast},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := fwdSetup(t, 3, tc.tagged)
			f := eth(tc.dst, mac(1), 1500)
			batch := func() {
				r.begin()
				for i := range maxBatch {
					r.handle(i, f)
				}
				r.flush()
			}
			batch() // warm up: groups, counters, first learn
			if a := testing.AllocsPerRun(200, batch); a != 0 {
				t.Fatalf("forwarding a batch of %d frames allocates %v times, want 0", maxBatch, a)
			}
		})
	}
}

func TestGenericForwardZeroAllocs(t *testing.T) {
	s := newSwitch(t, Config{})
	a, b := addHost(t, s, 0), addHost(t, s, 0)
	_ = b
	r := newRx(s, s.ports[a.port].eps[0])
	f := eth(frame.Broadcast, mac(1), 60)
	r.begin()
	r.handle(0, f)
	r.flush()
	// b's reader goroutine allocates as it collects frames; stop it first and use a pipe that
	// is never read instead: frames beyond the queue are dropped, which is the path to measure too.
	b.ep.Close()
	Eventually(t, func() bool { p, _ := s.Port(b.port); return !p.Active })
	stuck := &blockEndpoint{block: make(chan struct{})}
	defer close(stuck.block)
	if _, _, err := s.AddEndpoint(stuck, 0, ModuleTap, "stuck"); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(1000, func() { r.begin(); r.handle(0, f); r.flush() }); a != 0 {
		t.Fatalf("forwarding to a queued endpoint allocates %v times per frame, want 0", a)
	}
}

// blockEndpoint never delivers anything and blocks its writes until block is closed.
type blockEndpoint struct{ block chan struct{} }

func (b *blockEndpoint) ReadFrame([]byte) (int, error) { <-b.block; return 0, net.ErrClosed }
func (b *blockEndpoint) WriteFrame([]byte) error       { <-b.block; return nil }
func (b *blockEndpoint) Close() error                  { return nil }

func benchForward(b *testing.B, size int, dst frame.MAC, tagged bool) {
	_, r := fwdSetup(b, 1, tagged)
	f := eth(dst, mac(1), size)
	b.ReportAllocs()
	b.SetBytes(int64(size) * maxBatch)
	for b.Loop() {
		r.begin()
		for i := range maxBatch {
			r.handle(i, f)
		}
		r.flush()
	}
	b.ReportMetric(float64(b.N*maxBatch)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkForward measures the forwarding path (decision, learning, batched sendmmsg to a
// drained socket) for batches of maxBatch frames.
func BenchmarkForward64(b *testing.B)       { benchForward(b, 64, mac(100), false) }
func BenchmarkForward1500(b *testing.B)     { benchForward(b, 1500, mac(100), false) }
func BenchmarkForward64AddTag(b *testing.B) { benchForward(b, 64, mac(100), true) }
func BenchmarkForward64Flood(b *testing.B)  { benchForward(b, 64, frame.Broadcast, false) }
func BenchmarkForwardJumbo(b *testing.B)    { benchForward(b, 9000, mac(100), false) }

// batchEndpoint is a direct endpoint that keeps frames until Flush, as a TAP with offloads does.
type batchEndpoint struct {
	block          chan struct{}
	queued, writes int
	flushes        int
}

func (b *batchEndpoint) ReadFrame([]byte) (int, error) { <-b.block; return 0, net.ErrClosed }
func (b *batchEndpoint) WriteFrame([]byte) error       { b.writes++; return nil }
func (b *batchEndpoint) QueueFrame([]byte) error       { b.queued++; return nil }
func (b *batchEndpoint) Flush() error                  { b.flushes++; return nil }
func (b *batchEndpoint) Close() error                  { return nil }

// TestBatchWriterForward: frames for a direct endpoint with QueueFrame/Flush (a TAP with offloads) are
// queued, flushed once per batch, without allocating.
func TestBatchWriterForward(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	src, _ := attachRaw(t, s)
	be := &batchEndpoint{block: make(chan struct{})}
	defer close(be.block)
	d, err := s.attach(epSpec{ep: be, id: -1, module: ModuleTap, uid: -1, direct: true})
	if err != nil {
		t.Fatal(err)
	}
	s.fdb.learn(makeKey(mac(100), 0), d.port.num, s.now())
	r := newRx(s, src)
	f := eth(mac(100), mac(1), 1500)
	batch := func() {
		r.begin()
		for i := range maxBatch {
			r.handle(i, f)
		}
		r.flush()
	}
	batch()
	if be.queued != maxBatch || be.flushes != 1 || be.writes != 0 {
		t.Fatalf("one batch of %d: %d queued, %d flushes, %d plain writes; want %d, 1, 0", maxBatch, be.queued, be.flushes, be.writes, maxBatch)
	}
	if a := testing.AllocsPerRun(200, batch); a != 0 {
		t.Fatalf("forwarding a batch to a batch writer allocates %v times, want 0", a)
	}
}
