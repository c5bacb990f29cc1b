// SPDX-License-Identifier: GPL-2.0-or-later

package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/internal/sched"
	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
	"github.com/govde/govde/pkg/tap"
)

// rawEP is a raw endpoint (what tap, vde and plug open with Raw) over one end of a socket pair:
// datagram (a TAP or a switch port) or stream (a VDE stream). It can hang up like a vde.Conn.
type rawEP struct {
	fd     *rawfd.FD
	st     *stream.Conn // stream framing for ReadFrame/WriteFrame, nil for a datagram socket
	isStr  bool
	done   chan struct{}
	hup    bool
	hupMu  sync.Mutex
	once   sync.Once
	closed chan struct{}
}

func (e *rawEP) ReadFrame(b []byte) (int, error) {
	if e.st != nil {
		return e.st.ReadFrame(b)
	}
	return e.fd.Read(b)
}
func (e *rawEP) WriteFrame(b []byte) error {
	if e.st != nil {
		return e.st.WriteFrame(b)
	}
	_, err := e.fd.Write(b)
	return err
}
func (e *rawEP) Oversize() uint64 {
	if e.st != nil {
		return e.st.Oversize()
	}
	return 0
}
func (e *rawEP) RawDesc() (frame.RawDesc, bool) {
	return frame.RawDesc{Read: e.fd.Fd(), Write: e.fd.Fd(), Cancel: e.fd.CancelFd(), Stream: e.isStr}, !e.fd.Closed()
}
func (e *rawEP) Done() <-chan struct{} { return e.done }
func (e *rawEP) HungUp() bool          { e.hupMu.Lock(); defer e.hupMu.Unlock(); return e.hup }
func (e *rawEP) Close() error {
	e.once.Do(func() { close(e.done) })
	return e.fd.Close()
}

// hangUp ends the control stream as a switch does when it closes the port.
func (e *rawEP) hangUp() {
	e.hupMu.Lock()
	e.hup = true
	e.hupMu.Unlock()
	e.once.Do(func() { close(e.done) })
}

// newRawEP returns a raw endpoint over a socket pair of type typ (unix.SOCK_DGRAM or SOCK_STREAM) and
// the non-blocking descriptor of the peer.
func newRawEP(t testing.TB, typ int) (*rawEP, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := rawfd.New(fds[0], true, typ == unix.SOCK_DGRAM)
	if err != nil {
		t.Fatal(err)
	}
	e := &rawEP{fd: fd, done: make(chan struct{}), isStr: typ == unix.SOCK_STREAM}
	if e.isStr {
		e.st = stream.NewConn(fd, fd, nil)
	}
	t.Cleanup(func() { e.Close(); unix.Close(fds[1]) })
	return e, fds[1]
}

// sendRaw writes b to the non-blocking descriptor fd, waiting while it is full.
func sendRaw(t testing.TB, fd int, b []byte) {
	for {
		_, err := unix.Write(fd, b)
		if err != unix.EAGAIN {
			if err != nil {
				t.Errorf("write: %v", err)
			}
			return
		}
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}, 1000)
	}
}

// recvRaw reads one datagram from the non-blocking descriptor fd into b, waiting up to 5 s.
func recvRaw(t testing.TB, fd int, b []byte) int {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Read(fd, b)
		if err != unix.EAGAIN {
			if err != nil {
				t.Errorf("read: %v", err)
			}
			return n
		}
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 100)
	}
	t.Error("read: timed out")
	return 0
}

func startJoin(ctx context.Context, a, b frame.Endpoint, cfg *Config) chan error {
	errc := make(chan error, 1)
	go func() { errc <- Join(ctx, a, b, cfg) }()
	return errc
}

func waitJoin(t *testing.T, errc chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Join did not return")
		return nil
	}
}

// record returns f as a VDE stream record.
func record(f []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(f))), f...) }

// readRecord reads one VDE stream record from the non-blocking stream descriptor fd.
func readRecord(t testing.TB, fd int) []byte {
	t.Helper()
	var hdr [2]byte
	readFull(t, fd, hdr[:])
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	readFull(t, fd, b)
	return b
}

func readFull(t testing.TB, fd int, b []byte) {
	for got := 0; got < len(b); {
		n := recvRaw(t, fd, b[got:])
		if n <= 0 {
			t.Fatalf("stream read: %d", n)
		}
		got += n
	}
}

func TestFastDatagramBothWays(t *testing.T) {
	for _, swapped := range []bool{false, true} {
		tp, tapPeer := newRawEP(t, unix.SOCK_DGRAM)
		sw, swPeer := newRawEP(t, unix.SOCK_DGRAM)
		var st Stats
		toSw, toTAP := &st.Dir[AtoB], &st.Dir[BtoA]
		var errc chan error
		if swapped {
			errc = startJoin(context.Background(), sw, tp, &Config{Stats: &st})
			toSw, toTAP = toTAP, toSw
		} else {
			errc = startJoin(context.Background(), tp, sw, &Config{Stats: &st})
		}
		buf := make([]byte, 2048)
		for i := range 3 {
			sendRaw(t, tapPeer, payload)
			if n := recvRaw(t, swPeer, buf); string(buf[:n]) != string(payload) {
				t.Fatalf("tap→switch frame %d: got %d bytes, want the %d-byte payload", i, n, len(payload))
			}
		}
		sendRaw(t, tapPeer, payload[:13]) // shorter than an Ethernet header: dropped, both ways
		sendRaw(t, swPeer, payload[:10])
		sendRaw(t, swPeer, payload[:60])
		if n := recvRaw(t, tapPeer, buf); string(buf[:n]) != string(payload[:60]) {
			t.Fatalf("switch→tap: got %d bytes, want 60", n)
		}
		sw.hangUp()
		if err := waitJoin(t, errc); err != nil {
			t.Fatalf("Join = %v, want nil after the switch hung up", err)
		}
		if !st.FastPath.Load() {
			t.Error("FastPath not taken for two raw datagram endpoints")
		}
		if toSw.Frames.Load() != 3 || toTAP.Frames.Load() != 1 || toSw.Runts.Load() != 1 || toTAP.Runts.Load() != 1 {
			t.Errorf("swapped=%v: %d/%d frames, %d/%d runts to switch/TAP; want 3/1, 1/1", swapped,
				toSw.Frames.Load(), toTAP.Frames.Load(), toSw.Runts.Load(), toTAP.Runts.Load())
		}
		if !tp.fd.Closed() || !sw.fd.Closed() {
			t.Error("Join did not close both endpoints")
		}
	}
}

// TestFastStream: the loop's own stream framing. Several records in one write, a record split across
// writes, empty and runt records, oversize headers (the read dropped, the next read's record delivered,
// as stream.Reader does), and records built several per write on the way out.
func TestFastStream(t *testing.T) {
	str, strPeer := newRawEP(t, unix.SOCK_STREAM)
	dg, dgPeer := newRawEP(t, unix.SOCK_DGRAM)
	var st Stats
	errc := startJoin(context.Background(), str, dg, &Config{Stats: &st})
	f1, f2, f3 := payload[:60], payload[:1514], payload[:100]
	var w []byte
	w = append(w, record(f1)...)
	w = append(w, 0, 0) // an empty record: skipped
	w = append(w, record(payload[:5])...)
	w = append(w, record(f2)...)
	r3 := record(f3)
	w = append(w, r3[:1]...) // a record split inside its header
	sendRaw(t, strPeer, w)
	buf := make([]byte, 2048)
	for i, want := range [][]byte{f1, f2} {
		if n := recvRaw(t, dgPeer, buf); !bytes.Equal(buf[:n], want) {
			t.Fatalf("stream→dgram frame %d: got %d bytes, want %d", i, n, len(want))
		}
	}
	time.Sleep(20 * time.Millisecond)
	sendRaw(t, strPeer, r3[1:50])
	time.Sleep(20 * time.Millisecond)
	sendRaw(t, strPeer, r3[50:])
	if n := recvRaw(t, dgPeer, buf); !bytes.Equal(buf[:n], f3) {
		t.Fatalf("split record: got %d bytes, want %d", n, len(f3))
	}
	// An oversize header (9235 bytes) and a valid record in the same write: the stream lost its record
	// boundaries, that read is dropped; the record of the next write is delivered. Twice.
	ab := &st.Dir[AtoB]
	for i, next := range [][]byte{f1, f3} {
		sendRaw(t, strPeer, append(append([]byte{0x24, 0x13}, make([]byte, 50)...), record(f2)...))
		testutil.Eventually(t, 5*time.Second, "the oversize header counted", func() bool { return ab.Oversize.Load() == uint64(i+1) })
		sendRaw(t, strPeer, record(next))
		if n := recvRaw(t, dgPeer, buf); !bytes.Equal(buf[:n], next) {
			t.Fatalf("after an oversize header: got %d bytes, want %d", n, len(next))
		}
	}
	// The other way: datagrams become records.
	for _, f := range [][]byte{f2, payload[:3], f1} {
		sendRaw(t, dgPeer, f)
	}
	for i, want := range [][]byte{f2, f1} {
		if got := readRecord(t, strPeer); !bytes.Equal(got, want) {
			t.Fatalf("dgram→stream record %d: %d bytes, want %d", i, len(got), len(want))
		}
	}
	sendRaw(t, strPeer, r3[:10]) // the stream ends inside a record: still an orderly end
	unix.Shutdown(strPeer, unix.SHUT_WR)
	if err := waitJoin(t, errc); err != nil {
		t.Fatalf("Join = %v, want nil at the end of the stream", err)
	}
	ba := &st.Dir[BtoA]
	if !st.FastPath.Load() || ab.Frames.Load() != 5 || ab.Runts.Load() != 1 || ab.Drops.Load() != 2 ||
		ab.Oversize.Load() != 2 || ba.Frames.Load() != 2 || ba.Runts.Load() != 1 {
		t.Errorf("fast %v, a→b frames %d runts %d drops %d oversize %d, b→a frames %d runts %d; want true, 5 1 2 2, 2 1",
			st.FastPath.Load(), ab.Frames.Load(), ab.Runts.Load(), ab.Drops.Load(), ab.Oversize.Load(), ba.Frames.Load(), ba.Runts.Load())
	}
}

// TestStreamOversizeResync: the exact bytes 00 3c+60, 24 13+9235, 00 3c+60 in one write give the first
// 60-byte frame and one oversize count; what came with the oversize header is dropped and the record of
// the next write is delivered, on the fast path and on the goroutine path alike.
func TestStreamOversizeResync(t *testing.T) {
	for _, slow := range []bool{false, true} {
		str, strPeer := newRawEP(t, unix.SOCK_STREAM)
		dg, dgPeer := newRawEP(t, unix.SOCK_DGRAM)
		var st Stats
		ctx, cancel := context.WithCancel(context.Background())
		errc := startJoin(ctx, str, dg, &Config{Stats: &st, NoFastPath: slow})
		f1, f2, f3 := payload[:60], payload[100:160], payload[200:260]
		w := append(append(record(f1), 0x24, 0x13), make([]byte, 9235)...)
		sendRaw(t, strPeer, append(w, record(f2)...))
		buf := make([]byte, frame.MaxLen)
		if n := recvRaw(t, dgPeer, buf); !bytes.Equal(buf[:n], f1) {
			t.Fatalf("goroutine path %v: first frame: got % x, want % x", slow, buf[:n], f1)
		}
		ab := &st.Dir[AtoB]
		testutil.Eventually(t, 5*time.Second, "the oversize header counted", func() bool {
			if slow {
				return str.Oversize() == 1
			}
			return ab.Oversize.Load() == 1
		})
		sendRaw(t, strPeer, record(f3))
		if n := recvRaw(t, dgPeer, buf); !bytes.Equal(buf[:n], f3) {
			t.Fatalf("goroutine path %v: after the oversize header: got % x, want % x", slow, buf[:n], f3)
		}
		cancel()
		waitJoin(t, errc)
		if st.FastPath.Load() == slow || ab.Frames.Load() != 2 || ab.Oversize.Load() != 1 || ab.Drops.Load() != 1 {
			t.Errorf("goroutine path %v: fast %v frames %d oversize %d drops %d; want 2 1 1",
				slow, st.FastPath.Load(), ab.Frames.Load(), ab.Oversize.Load(), ab.Drops.Load())
		}
	}
}

// TestStreamMaxRecord: while Config.MaxRecord holds 1521, a 1600-byte record's header counts as
// oversize and drops what came with it; the record of the next write is delivered. Set to 0, the
// same 1600-byte record passes.
func TestStreamMaxRecord(t *testing.T) {
	str, strPeer := newRawEP(t, unix.SOCK_STREAM)
	dg, dgPeer := newRawEP(t, unix.SOCK_DGRAM)
	var st Stats
	max := new(atomic.Int32)
	max.Store(1521)
	ctx, cancel := context.WithCancel(context.Background())
	errc := startJoin(ctx, str, dg, &Config{Stats: &st, MaxRecord: max})
	long := append(append([]byte(nil), payload...), payload[:86]...) // 1600 bytes
	f1, f2, f3 := payload[:60], payload[100:160], long[:1521]
	sendRaw(t, strPeer, append(append(record(f1), record(long)...), record(f2)...))
	buf := make([]byte, frame.MaxLen)
	if n := recvRaw(t, dgPeer, buf); !bytes.Equal(buf[:n], f1) {
		t.Fatalf("first frame: got % x, want % x", buf[:n], f1)
	}
	ab := &st.Dir[AtoB]
	testutil.Eventually(t, 5*time.Second, "the 1600-byte header counted as oversize", func() bool {
		return ab.Oversize.Load() == 1
	})
	sendRaw(t, strPeer, record(f3)) // 1521 bytes: in step
	if n := recvRaw(t, dgPeer, buf); !bytes.Equal(buf[:n], f3) {
		t.Fatalf("after the oversize header: got %d bytes, want the %d of the next record", n, len(f3))
	}
	max.Store(0)
	sendRaw(t, strPeer, record(long))
	if n := recvRaw(t, dgPeer, buf); !bytes.Equal(buf[:n], long) {
		t.Fatalf("with MaxRecord 0: got %d bytes, want the 1600-byte record", n)
	}
	cancel()
	waitJoin(t, errc)
	if !st.FastPath.Load() || ab.Frames.Load() != 3 || ab.Oversize.Load() != 1 || ab.Drops.Load() != 1 {
		t.Errorf("fast %v frames %d oversize %d drops %d; want true 3 1 1",
			st.FastPath.Load(), ab.Frames.Load(), ab.Oversize.Load(), ab.Drops.Load())
	}
}

// A switch queue that is full holds the TAP side back: nothing is dropped, order is kept. The same
// from a stream to a full datagram socket (a cable's records into a switch port: a full sendmmsg ring
// with a buffer full of records behind it).
func TestFastBackpressure(t *testing.T) {
	for _, tc := range []struct{ src, typ int }{
		{unix.SOCK_DGRAM, unix.SOCK_DGRAM}, {unix.SOCK_DGRAM, unix.SOCK_STREAM}, {unix.SOCK_STREAM, unix.SOCK_DGRAM},
	} {
		typ := tc.typ
		d, tapPeer := newRawEP(t, tc.src)
		c, swPeer := newRawEP(t, typ)
		var st Stats
		errc := startJoin(context.Background(), d, c, &Config{Stats: &st})
		const frames = 3000 // far more than a socket queues
		go func() {
			f := append([]byte(nil), payload...)
			for i := range frames {
				binary.BigEndian.PutUint32(f[14:], uint32(i))
				if tc.src == unix.SOCK_STREAM {
					sendRaw(t, tapPeer, record(f))
				} else {
					sendRaw(t, tapPeer, f)
				}
			}
		}()
		time.Sleep(100 * time.Millisecond) // let the queues fill up
		buf := make([]byte, 2048)
		for i := range frames {
			var got []byte
			if typ == unix.SOCK_STREAM {
				got = readRecord(t, swPeer)
			} else {
				got = buf[:recvRaw(t, swPeer, buf)]
			}
			if len(got) != len(payload) || binary.BigEndian.Uint32(got[14:]) != uint32(i) {
				t.Fatalf("frame %d: got %d bytes, sequence %d", i, len(got), binary.BigEndian.Uint32(got[14:]))
			}
		}
		if d := st.Dir[AtoB].Drops.Load(); d != 0 {
			t.Errorf("%d drops", d)
		}
		d.Close() // Close from outside ends Join too
		if err := waitJoin(t, errc); err != nil {
			t.Fatalf("Join = %v after Close", err)
		}
	}
}

func TestFastContext(t *testing.T) {
	d, _ := newRawEP(t, unix.SOCK_DGRAM)
	c, _ := newRawEP(t, unix.SOCK_STREAM)
	ctx, cancel := context.WithCancel(context.Background())
	errc := startJoin(ctx, d, c, nil)
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := waitJoin(t, errc); err != nil {
		t.Fatalf("Join = %v, want nil on cancel", err)
	}
}

// TestFastEmit: on the fast path too, a hook can keep frames and send them later from another goroutine.
func TestFastEmit(t *testing.T) {
	for _, typ := range []int{unix.SOCK_DGRAM, unix.SOCK_STREAM} {
		a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
		b, bPeer := newRawEP(t, typ)
		var st Stats
		later := make(chan []byte, 8)
		var emitter Emitter
		var mu sync.Mutex
		hook := func(dir Dir, f []byte, out Emitter) Verdict {
			if dir != AtoB {
				return Pass
			}
			mu.Lock()
			emitter = out
			mu.Unlock()
			later <- append([]byte(nil), f...)
			return Keep
		}
		errc := startJoin(context.Background(), a, b, &Config{Stats: &st, Hook: hook})
		go func() {
			for f := range later {
				time.Sleep(10 * time.Millisecond) // wirefilter's delay
				mu.Lock()
				emitter.Emit(f)
				mu.Unlock()
			}
		}()
		sendRaw(t, aPeer, payload)
		var got []byte
		if typ == unix.SOCK_STREAM {
			got = readRecord(t, bPeer)
		} else {
			buf := make([]byte, 2048)
			got = buf[:recvRaw(t, bPeer, buf)]
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("emitted frame: %d bytes", len(got))
		}
		a.hangUp()
		if err := waitJoin(t, errc); err != nil {
			t.Fatal(err)
		}
		close(later)
		if !st.FastPath.Load() || st.Dir[AtoB].Frames.Load() != 1 {
			t.Errorf("fast %v, frames %d; want true, 1", st.FastPath.Load(), st.Dir[AtoB].Frames.Load())
		}
		if err := emitter.Emit(payload); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Emit after Join = %v, want net.ErrClosed", err)
		}
	}
}

// TestDupHook: a hook may Emit from inside the call (wirefilter's duplication) on both paths.
func TestDupHook(t *testing.T) {
	for _, slow := range []bool{false, true} {
		a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
		b, bPeer := newRawEP(t, unix.SOCK_STREAM)
		dup := func(dir Dir, f []byte, out Emitter) Verdict {
			out.Emit(f)
			return Pass
		}
		var st Stats
		errc := startJoin(context.Background(), a, b, &Config{Stats: &st, Hook: dup, NoFastPath: slow})
		sendRaw(t, aPeer, payload)
		for i := range 2 {
			if got := readRecord(t, bPeer); !bytes.Equal(got, payload) {
				t.Fatalf("slow=%v: copy %d: %d bytes", slow, i, len(got))
			}
		}
		a.Close()
		if err := waitJoin(t, errc); err != nil {
			t.Fatal(err)
		}
		if st.FastPath.Load() == slow || st.Dir[AtoB].Frames.Load() != 2 {
			t.Errorf("slow=%v: FastPath %v, frames %d; want 2", slow, st.FastPath.Load(), st.Dir[AtoB].Frames.Load())
		}
	}
}

func TestFastZeroAllocsPerFrame(t *testing.T) {
	for _, hook := range []Hook{nil, trivialHook} {
		for _, typ := range []int{unix.SOCK_DGRAM, unix.SOCK_STREAM} {
			d, tapPeer := newRawEP(t, unix.SOCK_DGRAM)
			c, swPeer := newRawEP(t, typ)
			errc := startJoin(context.Background(), d, c, &Config{Hook: hook})
			buf := make([]byte, 2048)
			rec := record(payload)
			roundTrip := func() {
				sendRaw(t, tapPeer, payload)
				if typ == unix.SOCK_STREAM {
					readFull(t, swPeer, buf[:len(rec)])
					sendRaw(t, swPeer, rec)
				} else {
					recvRaw(t, swPeer, buf)
					sendRaw(t, swPeer, payload)
				}
				recvRaw(t, tapPeer, buf)
			}
			roundTrip() // the loop is running
			if a := testing.AllocsPerRun(500, roundTrip); a != 0 {
				t.Errorf("hook %v, type %d: allocs per frame pair = %v, want 0", hook != nil, typ, a)
			}
			c.hangUp()
			if err := waitJoin(t, errc); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// BenchmarkFast measures the poll loop on socket pairs, one frame TAP→switch (datagram) or
// TAP→stream per iteration, against the goroutine path on the same raw endpoints.
func BenchmarkFast(b *testing.B) {
	for _, slow := range []bool{false, true} {
		for _, typ := range []int{unix.SOCK_DGRAM, unix.SOCK_STREAM} {
			benchFast(b, typ, slow)
		}
	}
}

func benchFast(b *testing.B, typ int, slow bool) {
	name := map[int]string{unix.SOCK_DGRAM: "dgram", unix.SOCK_STREAM: "stream"}[typ]
	if slow {
		name = "goroutines-" + name
	}
	{
		b.Run(name, func(b *testing.B) {
			d, tapPeer := newRawEP(b, unix.SOCK_DGRAM)
			c, swPeer := newRawEP(b, typ)
			errc := startJoin(context.Background(), d, c, &Config{NoFastPath: slow})
			buf := make([]byte, 2048)
			want := len(payload)
			if typ == unix.SOCK_STREAM {
				want += 2
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				sendRaw(b, tapPeer, payload)
				if typ == unix.SOCK_STREAM {
					readFull(b, swPeer, buf[:want])
				} else {
					recvRaw(b, swPeer, buf)
				}
			}
			b.StopTimer()
			c.Close() // the goroutine path does not watch Done: close instead of hanging up

			if err := <-errc; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestFastDatagramOversize: a datagram longer than frame.MaxLen (recvmmsg truncates it) is dropped and
// counted as oversize; the frames around it go through, in order.
func TestFastDatagramOversize(t *testing.T) {
	a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
	b, bPeer := newRawEP(t, unix.SOCK_DGRAM)
	var st Stats
	ctx, cancel := context.WithCancel(context.Background())
	errc := startJoin(ctx, a, b, &Config{Stats: &st})
	f1, f2 := payload[:60], payload[100:200]
	sendRaw(t, aPeer, f1)
	sendRaw(t, aPeer, make([]byte, frame.MaxLen+1))
	sendRaw(t, aPeer, f2)
	buf := make([]byte, frame.MaxLen+100)
	for i, want := range [][]byte{f1, f2} {
		if n := recvRaw(t, bPeer, buf); !bytes.Equal(buf[:n], want) {
			t.Fatalf("frame %d: got %d bytes, want %d", i, n, len(want))
		}
	}
	cancel()
	waitJoin(t, errc)
	ab := &st.Dir[AtoB]
	if ab.Frames.Load() != 2 || ab.Drops.Load() != 1 || ab.Oversize.Load() != 1 {
		t.Errorf("frames %d drops %d oversize %d; want 2 1 1", ab.Frames.Load(), ab.Drops.Load(), ab.Oversize.Load())
	}
}

// TestPipeWritesWholeRecords: towards a pipe, every stream write carries whole records, at most
// pipeChunk bytes of them unless one record is longer (the real wirefilter reads its pipes 2048 bytes
// at a time and loses its place when a read cuts a header), until Config.Bunched holds true. A
// packet-mode pipe (O_DIRECT) shows each write as one read (split at PIPE_BUF).
func TestPipeWritesWholeRecords(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_DIRECT|unix.O_CLOEXEC); err != nil {
		t.Skipf("no packet-mode pipes here: %v", err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if !isPipe(p[1]) {
		t.Fatal("isPipe(pipe) = false")
	}
	o := &outq{fd: p[1], stream: true, buf: make([]byte, streamBuf), c: &Counters{}, chunk: pipeChunk}
	sizes := []int{60, 1514, 60, 60, 900, 1000, 1514, 1514, 60, 66, 66, 66, 1200, 100}
	var want []byte
	for i, n := range sizes {
		if !o.room() {
			t.Fatalf("no room for record %d", i)
		}
		o.put(payload[:n])
		want = append(want, record(payload[:n])...)
	}
	if err := o.flush(); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4096)
	for len(got) < len(want) {
		n, err := unix.Read(p[0], buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		w := buf[:n]
		if k := wholeRecords(w, len(w)); k != len(w) {
			t.Fatalf("a write of %d bytes ends inside a record (whole records: %d bytes)", len(w), k)
		}
		if len(w) > pipeChunk && int(binary.BigEndian.Uint16(w))+hdrLen != len(w) {
			t.Fatalf("a write of %d bytes holds several records: more than %d", len(w), pipeChunk)
		}
		got = append(got, w...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the records read differ from those written")
	}
	// Once Bunched holds true, a write carries everything queued: the packet-mode pipe splits it into
	// packets of PIPE_BUF bytes, which cut records.
	var bunched atomic.Bool
	bunched.Store(true)
	o.bunched = &bunched
	want = want[:0]
	for o.room() && len(want) < 3*pipeChunk {
		o.put(payload[:1514])
		want = append(want, record(payload[:1514])...)
	}
	if err := o.flush(); err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for len(got) < len(want) {
		n, err := unix.Read(p[0], buf)
		if err != nil {
			t.Fatalf("bunched: read after %d bytes: %v", len(got), err)
		}
		if len(got) == 0 && (n <= pipeChunk || wholeRecords(buf[:n], n) == n) {
			t.Fatalf("bunched: a read of %d bytes of whole records; want one longer than %d that cuts a record", n, pipeChunk)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bunched: the records read differ from those written")
	}

	// A record longer than the cap goes alone; the cap never splits one.
	big := append(record(make([]byte, 9000)), record(payload[:60])...)
	if n := wholeRecords(big, pipeChunk); n != 9002 {
		t.Errorf("wholeRecords(9000-byte record, then 60) = %d, want 9002", n)
	}
	if n := wholeRecords(big[:100], pipeChunk); n != 100 {
		t.Errorf("wholeRecords(a cut record) = %d, want the 100 bytes there are", n)
	}
}

// numbered returns send, which writes n numbered 60-byte frames to the peer in, and got, which checks
// that exactly the next n of them, in order, reached the peer out.
func numbered(t *testing.T, in, out int) (send, got func(n int)) {
	seq, next := byte(0), byte(0)
	send = func(n int) {
		for range n {
			f := make([]byte, 60)
			copy(f, frame.Broadcast[:])
			f[20] = seq
			seq++
			sendRaw(t, in, f)
		}
	}
	got = func(n int) {
		t.Helper()
		buf := make([]byte, 2048)
		for range n {
			if m := recvRaw(t, out, buf); m != 60 || buf[20] != next {
				t.Fatalf("got %d bytes, frame %d; want 60, frame %d", m, buf[20], next)
			}
			next++
		}
		if m, err := unix.Read(out, buf); err != unix.EAGAIN {
			t.Fatalf("one more frame than the %d wanted (%d bytes, %v)", n, m, err)
		}
	}
	return send, got
}

// TestLonePackets: a packet source (a TAP: one packet per read) that gave one packet and then nothing
// is read once per wake-up, not again until EAGAIN; read in two rounds in a row, it is read until
// EAGAIN again. No packet waits for that: whatever stays unread keeps the descriptor readable.
func TestLonePackets(t *testing.T) {
	a, aPeer := newRawEP(t, unix.SOCK_SEQPACKET)
	b, bPeer := newRawEP(t, unix.SOCK_DGRAM)
	da, _ := a.RawDesc()
	db, _ := b.RawDesc()
	l := &loop{w: sched.NewWaiter(), wake: -1, tfd: -1, stats: new(Stats)}
	defer l.release()
	if !l.sides[0].init(da, &l.stats.Dir[BtoA]) || !l.sides[1].init(db, &l.stats.Dir[AtoB]) {
		t.Fatal("init failed")
	}
	src := &l.sides[0]
	if !src.rnb || src.stream || src.mm != nil {
		t.Fatalf("a SEQPACKET socket is not a packet source here: rnb %v stream %v mm %v", src.rnb, src.stream, src.mm != nil)
	}
	send, got := numbered(t, aPeer, bPeer)
	pump := func(round uint64) {
		t.Helper()
		l.round = round
		if err := l.pump(0, true); err != nil {
			t.Fatal(err)
		}
	}

	send(1)
	pump(1)
	got(1)
	if !src.lone {
		t.Fatal("one packet, then EAGAIN: not lone")
	}
	send(3)
	pump(5) // lone: one read
	got(1)
	pump(6) // read in round 5 too: a burst, read until EAGAIN
	got(2)
	if src.lone {
		t.Fatal("read in two rounds in a row: still lone")
	}
	send(40)
	pump(9)
	got(40)
	if src.lone {
		t.Fatal("40 packets in one go: lone")
	}
	send(1)
	pump(30)
	got(1)
	if !src.lone {
		t.Fatal("one packet, then EAGAIN again: not lone")
	}
}

// TestSparseDatagrams: a datagram socket that gave no frame for rawfd.SparseGap is read with one
// recvfrom per wake-up; read again within it, with recvmmsg (the rest of a burst at once). A lone frame
// goes out with sendto, several with sendmmsg. Every frame arrives once, in order, and an oversize
// datagram read alone is dropped and counted. The loop runs on a test clock.
func TestSparseDatagrams(t *testing.T) {
	a, aPeer := newRawEP(t, unix.SOCK_DGRAM)
	b, bPeer := newRawEP(t, unix.SOCK_DGRAM)
	da, _ := a.RawDesc()
	db, _ := b.RawDesc()
	var clock time.Duration
	l := &loop{w: sched.NewWaiter(), wake: -1, tfd: -1, stats: new(Stats), now: func() time.Duration { return clock }}
	defer l.release()
	if !l.sides[0].init(da, &l.stats.Dir[BtoA]) || !l.sides[1].init(db, &l.stats.Dir[AtoB]) {
		t.Fatal("init failed")
	}
	if l.sides[0].mm == nil || l.sides[1].out.mm == nil {
		t.Fatal("a DGRAM socket pair is not read and written with mmsg")
	}
	send, got := numbered(t, aPeer, bPeer)
	pump := func(at time.Duration) {
		t.Helper()
		clock = at
		if err := l.pump(0, true); err != nil {
			t.Fatal(err)
		}
	}
	ms := time.Millisecond

	send(3)
	pump(1 * ms) // sparse: one recvfrom
	got(1)
	pump(1*ms + 10*time.Microsecond) // within sparseGap: recvmmsg takes the other two
	got(2)
	send(40)
	pump(1*ms + 20*time.Microsecond)
	got(40)
	send(1)
	pump(3 * ms) // 2 ms later: sparse again
	got(1)
	send(2)
	pump(3*ms + rawfd.SparseGap) // not more than SparseGap after the last frame: recvmmsg
	got(2)
	sendRaw(t, aPeer, make([]byte, frame.MaxLen+1))
	send(1)
	pump(5 * ms) // sparse: the oversize datagram is cut by recvfrom, and dropped
	got(0)
	if c := &l.stats.Dir[AtoB]; c.Drops.Load() != 1 || c.Oversize.Load() != 1 {
		t.Fatalf("oversize datagram: drops %d, oversize %d; want 1 and 1", c.Drops.Load(), c.Oversize.Load())
	}
	pump(5*ms + time.Microsecond)
	got(1)
	if c := &l.stats.Dir[AtoB]; c.Frames.Load() != 47 {
		t.Fatalf("counted %d frames sent, want the 47 that went", c.Frames.Load())
	}
	if !rawfd.Sparse(time.Second, 0) || rawfd.Sparse(rawfd.SparseGap, 0) || !rawfd.Sparse(rawfd.SparseGap+1, 0) {
		t.Fatal("Sparse: a source is sparse after more than SparseGap without a frame, and only then")
	}
}

// TestCancelWhileHot: on one P, where the loop's waits go hot and leave the cancel descriptors out
// (sched.Waiter.Rare), an endpoint closed from outside ends Join while frames keep the loop hot, and
// so does the context's end (without a Hook, the stop's eventfd is a Rare descriptor too). The frames
// come from a child process: a goroutine of this one would run only when the loop yields.
func TestCancelWhileHot(t *testing.T) {
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	for _, side := range []string{"a", "b", "ctx"} {
		t.Run(side, func(t *testing.T) {
			tp, tapPeer := newRawEP(t, unix.SOCK_DGRAM)
			sw, swPeer := newRawEP(t, unix.SOCK_DGRAM)
			closed, in, out := tp, swPeer, tapPeer
			if side == "b" {
				closed, in, out = sw, tapPeer, swPeer
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := startJoin(ctx, tp, sw, nil)
			sender := exec.Command(os.Args[0], "-test.run=^TestHelperSender$")
			sender.Env = append(os.Environ(), "GOVDE_RELAY_TEST_SENDER=1")
			for _, fd := range []int{in, out} {
				d, err := unix.Dup(fd) // the File closes its own descriptor
				if err != nil {
					t.Fatal(err)
				}
				f := os.NewFile(uintptr(d), "peer")
				defer f.Close()
				sender.ExtraFiles = append(sender.ExtraFiles, f)
			}
			if err := sender.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { sender.Process.Kill(); sender.Wait() }()
			time.Sleep(100 * time.Millisecond) // frames a millisecond apart: the loop is hot
			what := "an endpoint was closed"
			if side == "ctx" {
				what = "the context ended"
				cancel()
			} else {
				closed.fd.Close() // the descriptor only: Done stays open
			}
			if err := waitJoin(t, errc); err != nil {
				t.Fatalf("Join = %v, want nil after %s", err, what)
			}
		})
	}
}

// TestHelperSender is TestCancelWhileHot's child process: for 10 s, it writes a frame to descriptor 3
// every millisecond and reads what comes on descriptor 4.
func TestHelperSender(t *testing.T) {
	if os.Getenv("GOVDE_RELAY_TEST_SENDER") == "" {
		t.Skip("the child process of TestCancelWhileHot")
	}
	buf := make([]byte, 2048)
	for range 10000 {
		unix.Write(3, payload)
		for {
			if _, err := unix.Read(4, buf); err != nil {
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAnswers: a packet device (a TAP; here a SEQPACKET socket, which the loop treats alike) that was
// written to since its input was last pumped is read at once (answer), without a poll(2) to report
// what its host wrote back within the write; a datagram socket is not. After two such reads in a row
// that find nothing (a host that does not answer), the device is read so only once in rawfd.AnswerProbe
// rounds that wrote to it, until a read finds an answer again. None of these reads counts as the
// device's read of its round (lastRead, pump's burst rule).
func TestAnswers(t *testing.T) {
	a, aPeer := newRawEP(t, unix.SOCK_SEQPACKET)
	b, bPeer := newRawEP(t, unix.SOCK_DGRAM)
	da, _ := a.RawDesc()
	db, _ := b.RawDesc()
	l := &loop{w: sched.NewWaiter(), wake: -1, tfd: -1, stats: new(Stats), now: sched.Mono}
	defer l.release()
	if !l.sides[0].init(da, &l.stats.Dir[BtoA]) || !l.sides[1].init(db, &l.stats.Dir[AtoB]) {
		t.Fatal("init failed")
	}
	tap := &l.sides[0]
	if !tap.answers || l.sides[1].answers {
		t.Fatalf("answers: packet device %v, datagram socket %v; want true, false", tap.answers, l.sides[1].answers)
	}
	l.fds[slotRead] = unix.PollFd{Fd: int32(tap.rfd), Events: unix.POLLIN}
	l.fds[slotRead+2] = unix.PollFd{Fd: int32(l.sides[1].rfd), Events: unix.POLLIN}
	toHost, fromHost := numbered(t, bPeer, aPeer) // frames from the switch's side to the TAP's host
	buf := make([]byte, 2048)
	// round delivers a frame to the TAP as a round does (the TAP's input count is taken first), with
	// the host answering it within the write when answers, and reports whether answer read the
	// answer and sent it on. An answer left unread is taken away, as the next poll would report it.
	round := func(answers bool) (read bool) {
		t.Helper()
		l.round++
		tap.sent = tap.out.c.Frames.Load()
		toHost(1)
		if err := l.pump(1, true); err != nil {
			t.Fatal(err)
		}
		fromHost(1)
		if answers {
			sendRaw(t, aPeer, payload)
		}
		if err := l.answer(0); err != nil {
			t.Fatal(err)
		}
		_, err := unix.Read(bPeer, buf)
		read = err == nil
		if _, err := unix.Read(tap.rfd, buf); answers && !read && err != nil {
			t.Fatal("the host's answer is gone, and did not reach the switch's side")
		}
		return read
	}

	if !round(true) {
		t.Fatal("the host's answer to a frame was not read with the write's round")
	}
	tap.lastRead = 7
	if round(true); tap.lastRead != 7 {
		t.Fatalf("an answer read set the device's last read round to %d, want it left at 7", tap.lastRead)
	}
	// No frame written to the TAP since its input was pumped: nothing to answer, no read.
	l.round++
	tap.sent = tap.out.c.Frames.Load()
	sendRaw(t, aPeer, payload)
	if err := l.answer(0); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Read(bPeer, buf); err == nil {
		t.Fatal("the TAP was read with no frame written to it")
	}
	unix.Read(tap.rfd, buf)
	// A host that does not answer: two misses, then one read in rawfd.AnswerProbe rounds.
	round(false)
	round(false)
	if tap.ans.Misses() != 2 {
		t.Fatalf("two reads that found nothing: misses %d, want 2", tap.ans.Misses())
	}
	for i := 1; i < rawfd.AnswerProbe; i++ {
		if round(true) {
			t.Fatalf("round %d after two misses read an answer; want none before the probe", i)
		}
	}
	if !round(true) {
		t.Fatal("the probe, rawfd.AnswerProbe rounds after the misses, did not read the answer")
	}
	if tap.ans.Misses() != 0 {
		t.Fatalf("a probe that found an answer: misses %d, want 0", tap.ans.Misses())
	}
	if !round(true) {
		t.Fatal("after a probe that hit, the next round's answer was not read")
	}
}

// TestTAPAnswersWithTheWrite: what answer counts on, against a real host. A ping written to a TAP
// with offloads (as plug2tap opens it), in a namespace whose host has the TAP's address, is answered
// within the write: the loop's answer read takes the echo reply and sends it on in the same round,
// with no poll(2) in between. Two of eight may come late (the host's receive work handed to ksoftirqd,
// seen once in a few runs of the switch's test of the same); with answer doing nothing, all eight do.
func TestTAPAnswersWithTheWrite(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ns := testutil.Netns(t)
	const dev = "gvtans0"
	hostMAC := frame.MAC{0x02, 0x47, 0x56, 0, 0xa0, 1}
	peerMAC := frame.MAC{0x02, 0x47, 0x56, 0, 0xa0, 2}
	hostIP, peerIP := [4]byte{198, 18, 7, 1}, [4]byte{198, 18, 7, 2}
	var d *tap.Device
	var err error
	testutil.InNetns(t, ns, func() { d, err = tap.OpenConfig(tap.Config{Name: dev, Raw: true, Offload: true}) })
	if err != nil {
		t.Fatalf("TAP in %s: %v", ns, err)
	}
	t.Cleanup(func() { d.Close() })
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+dev+".disable_ipv6=1")
	testutil.Run(t, "ip", "-n", ns, "link", "set", dev, "address", net.HardwareAddr(hostMAC[:]).String())
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "198.18.7.1/24", "dev", dev)
	testutil.Run(t, "ip", "-n", ns, "link", "set", dev, "up")
	// The host answers the peer without asking for its address first.
	testutil.Run(t, "ip", "-n", ns, "neigh", "replace", "198.18.7.2", "lladdr", net.HardwareAddr(peerMAC[:]).String(), "dev", dev)

	b, bPeer := newRawEP(t, unix.SOCK_DGRAM)
	da, ok := d.RawDesc()
	db, _ := b.RawDesc()
	if !ok {
		t.Fatal("the TAP has no raw descriptor")
	}
	l := &loop{w: sched.NewWaiter(), wake: -1, tfd: -1, stats: new(Stats), now: sched.Mono}
	defer l.release()
	if !l.sides[0].init(da, &l.stats.Dir[BtoA]) || !l.sides[1].init(db, &l.stats.Dir[AtoB]) {
		t.Fatal("init failed")
	}
	tp := &l.sides[0]
	if !tp.answers {
		t.Fatal("a TAP is not a side that answers")
	}
	l.fds[slotRead] = unix.PollFd{Fd: int32(tp.rfd), Events: unix.POLLIN}
	l.fds[slotRead+2] = unix.PollFd{Fd: int32(l.sides[1].rfd), Events: unix.POLLIN}

	buf := make([]byte, 2048)
	const pings = 8
	late := 0 // replies not there for the answer read: the host's receive work went to ksoftirqd
	for seq := range uint16(pings) {
		req := testutil.EchoRequest(hostMAC, peerMAC, peerIP, hostIP, 0x4756, seq)

		l.round++
		tp.sent = tp.out.c.Frames.Load()
		sendRaw(t, bPeer, req)
		if err := l.pump(1, true); err != nil {
			t.Fatal(err)
		}
		if err := l.answer(0); err != nil {
			t.Fatal(err)
		}
		n, err := unix.Read(bPeer, buf)
		if err == unix.EAGAIN {
			// Not answered within the write this time: the loop's next poll would find it.
			late++
			pfd := []unix.PollFd{{Fd: int32(tp.rfd), Events: unix.POLLIN}}
			if k, perr := unix.Poll(pfd, 5000); k != 1 || perr != nil {
				t.Fatalf("ping %d: no echo reply from the host (%v)", seq, perr)
			}
			if err := l.pump(0, true); err != nil {
				t.Fatal(err)
			}
			n, err = unix.Read(bPeer, buf)
		}
		if err != nil {
			t.Fatalf("ping %d: the host's echo reply did not reach the peer (%v)", seq, err)
		}
		if r := buf[:n]; !testutil.IsEchoReply(r, req) {
			t.Fatalf("ping %d: got a %d-byte frame % x, want the %d-byte echo reply", seq, n, r[:min(n, 42)], len(req))
		}
	}
	// Most replies are there when the write returns (one run in several sees one that is not).
	if late > 2 {
		t.Errorf("%d of %d echo replies were not read with the write's round, want at most 2", late, pings)
	}
}
