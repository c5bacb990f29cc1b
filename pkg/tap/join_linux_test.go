// SPDX-License-Identifier: GPL-2.0-or-later

package tap

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeDevice returns a Device over one end of a datagram socket pair (standing in for a TAP's
// descriptor, which needs root) and the raw, non-blocking descriptor of the other end.
func fakeDevice(t testing.TB) (*Device, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := &Device{f: os.NewFile(uintptr(fds[0]), "fake-tap"), name: "fake"}
	rc, err := d.f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	d.rc, d.readFn, d.writeFn = rc, d.rawRead, d.rawWrite
	t.Cleanup(func() { d.Close(); unix.Close(fds[1]) })
	return d, fds[1]
}

// fakeConn is a rawDatagram (what a *vde.Conn offers) over a datagram socket pair.
type fakeConn struct {
	*net.UnixConn
	done      chan struct{}
	hup       bool
	closeOnce sync.Once
}

func (c *fakeConn) ReadFrame(b []byte) (int, error)   { return c.Read(b) }
func (c *fakeConn) WriteFrame(b []byte) error         { _, err := c.Write(b); return err }
func (c *fakeConn) RawData() (syscall.RawConn, error) { return c.SyscallConn() }
func (c *fakeConn) Done() <-chan struct{}             { return c.done }
func (c *fakeConn) HungUp() bool                      { return c.hup }
func (c *fakeConn) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return c.UnixConn.Close()
}

// hangUp ends the control stream as the switch does when it closes the port.
func (c *fakeConn) hangUp() {
	c.hup = true
	c.closeOnce.Do(func() { close(c.done) })
}

func newFakeConn(t testing.TB) (*fakeConn, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "fake-sw")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeConn{UnixConn: nc.(*net.UnixConn), done: make(chan struct{})}
	t.Cleanup(func() { c.Close(); unix.Close(fds[1]) })
	return c, fds[1]
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

func startJoin(ctx context.Context, a, b interface {
	ReadFrame([]byte) (int, error)
	WriteFrame([]byte) error
	Close() error
}, st *JoinStats) chan error {
	errc := make(chan error, 1)
	go func() { errc <- Join(ctx, a, b, st) }()
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

func TestJoinPollBothWays(t *testing.T) {
	for _, swapped := range []bool{false, true} {
		d, tapPeer := fakeDevice(t)
		c, swPeer := newFakeConn(t)
		var st JoinStats
		var errc chan error
		if swapped {
			errc = startJoin(context.Background(), c, d, &st)
		} else {
			errc = startJoin(context.Background(), d, c, &st)
		}
		buf := make([]byte, 2048)
		for i := range 3 {
			sendRaw(t, tapPeer, payload)
			if n := recvRaw(t, swPeer, buf); string(buf[:n]) != string(payload) {
				t.Fatalf("tap→switch frame %d: got %d bytes, want the %d-byte payload", i, n, len(payload))
			}
		}
		sendRaw(t, swPeer, payload[:10]) // shorter than an Ethernet header: dropped
		sendRaw(t, swPeer, payload[:60])
		if n := recvRaw(t, tapPeer, buf); string(buf[:n]) != string(payload[:60]) {
			t.Fatalf("switch→tap: got %d bytes, want 60", n)
		}
		c.hangUp()
		if err := waitJoin(t, errc); err != nil {
			t.Fatalf("Join = %v, want nil after the switch hung up", err)
		}
		toSw, toTAP := st.AtoB.Load(), st.BtoA.Load()
		if swapped {
			toSw, toTAP = toTAP, toSw
		}
		if toSw != 3 || toTAP != 1 {
			t.Errorf("swapped=%v: stats %d to the switch, %d to the TAP; want 3, 1", swapped, toSw, toTAP)
		}
		if !d.closed.Load() {
			t.Error("Join did not close the device")
		}
		if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Join did not close the switch side: %v", err)
		}
	}
}

// A switch queue that is full holds the TAP side back: nothing is dropped, order is kept.
func TestJoinPollBackpressure(t *testing.T) {
	d, tapPeer := fakeDevice(t)
	c, swPeer := newFakeConn(t)
	var st JoinStats
	errc := startJoin(context.Background(), d, c, &st)
	const frames = 3000 // far more than a datagram socket queues
	go func() {
		f := append([]byte(nil), payload...)
		for i := range frames {
			binary.BigEndian.PutUint32(f[14:], uint32(i))
			sendRaw(t, tapPeer, f)
		}
	}()
	time.Sleep(100 * time.Millisecond) // let the queues fill up
	buf := make([]byte, 2048)
	for i := range frames {
		n := recvRaw(t, swPeer, buf)
		if n != len(payload) || binary.BigEndian.Uint32(buf[14:]) != uint32(i) {
			t.Fatalf("frame %d: got %d bytes, sequence %d", i, n, binary.BigEndian.Uint32(buf[14:]))
		}
	}
	if d := st.DropsAtoB.Load(); d != 0 {
		t.Errorf("%d drops", d)
	}
	d.Close() // Close from outside ends Join too
	if err := waitJoin(t, errc); err != nil {
		t.Fatalf("Join = %v after Close", err)
	}
}

func TestJoinPollContext(t *testing.T) {
	d, _ := fakeDevice(t)
	c, _ := newFakeConn(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := startJoin(ctx, d, c, nil)
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := waitJoin(t, errc); err != nil {
		t.Fatalf("Join = %v, want nil on cancel", err)
	}
}

func TestJoinPollZeroAllocsPerFrame(t *testing.T) {
	d, tapPeer := fakeDevice(t)
	c, swPeer := newFakeConn(t)
	errc := startJoin(context.Background(), d, c, nil)
	buf := make([]byte, 2048)
	roundTrip := func() {
		sendRaw(t, tapPeer, payload)
		recvRaw(t, swPeer, buf)
		sendRaw(t, swPeer, payload)
		recvRaw(t, tapPeer, buf)
	}
	roundTrip() // the loop is running
	if a := testing.AllocsPerRun(500, roundTrip); a != 0 {
		t.Errorf("allocs per frame pair = %v, want 0", a)
	}
	c.hangUp()
	if err := waitJoin(t, errc); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkJoinPoll measures the poll loop on socket pairs: one frame TAP→switch per iteration.
func BenchmarkJoinPoll(b *testing.B) {
	d, tapPeer := fakeDevice(b)
	c, swPeer := newFakeConn(b)
	errc := startJoin(context.Background(), d, c, nil)
	buf := make([]byte, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		sendRaw(b, tapPeer, payload)
		recvRaw(b, swPeer, buf)
	}
	b.StopTimer()
	c.hangUp()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
