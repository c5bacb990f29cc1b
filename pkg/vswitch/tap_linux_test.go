// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"golang.org/x/sys/unix"
)

// TestRootTapAnswersInTheRound: a TAP port is read by the data plane, which reads it again right after
// writing to it: a ping sent from a VDE client to the host on the TAP is answered by the host within
// the write, and the plane finds the echo reply with that read (plane.answers), not after another
// poll(2). The host's stack answers within the write unless its receive work was handed to ksoftirqd
// (then the reply comes a moment later and the next poll(2) finds it; seen once in a few runs), so
// at least half of eight pings must be answered so; with the answer reads left out, none would be.
func TestRootTapAnswersInTheRound(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	s, dir := startServed(t, Config{})
	ns := testutil.Netns(t)
	name := testutil.RandName("vsa")
	var err error
	testutil.InNetns(t, ns, func() { _, err = s.AddTap(name) })
	if err != nil {
		t.Fatalf("AddTap in %s: %v", ns, err)
	}
	hostMAC := frame.MAC{0x02, 0x47, 0x56, 0, 0xa1, 1}
	peerMAC := frame.MAC{0x02, 0x47, 0x56, 0, 0xa1, 2}
	hostIP, peerIP := [4]byte{198, 18, 8, 1}, [4]byte{198, 18, 8, 2}
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+name+".disable_ipv6=1")
	testutil.Run(t, "ip", "-n", ns, "link", "set", name, "address", net.HardwareAddr(hostMAC[:]).String())
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "198.18.8.1/24", "dev", name)
	testutil.Run(t, "ip", "-n", ns, "link", "set", name, "up")
	// The host answers the peer without asking for its address first.
	testutil.Run(t, "ip", "-n", ns, "neigh", "replace", "198.18.8.2", "lladdr", net.HardwareAddr(peerMAC[:]).String(), "dev", name)

	c := dial(t, s, dir, 0)
	if n := s.plane.answers.Load(); n != 0 {
		t.Fatalf("%d answers before any frame", n)
	}
	const pings = 8
	for seq := range uint16(pings) {
		req := testutil.EchoRequest(hostMAC, peerMAC, peerIP, hostIP, 0x4757, seq)
		must(t, c.WriteFrame(req))
		r, err := recvTimeout(t, c, 5*time.Second)
		if err != nil {
			t.Fatalf("ping %d: no echo reply from the host on the TAP: %v", seq, err)
		}
		if !testutil.IsEchoReply(r, req) {
			t.Fatalf("ping %d: got a %d-byte frame % x, want the %d-byte echo reply", seq, len(r), r[:min(len(r), 42)], len(req))
		}
	}
	if n := s.plane.answers.Load(); n < pings/2 || n > pings {
		t.Errorf("%d of %d echo replies read right after the write that caused them, want at least %d", n, pings, pings/2)
	}
}

// segmentFramer stands for a TAP with offloads: a byte written to the other end of its descriptor is
// a segment of len(frames) frames, handed out one by one as tap.Device's framer does.
type segmentFramer struct {
	frames [][]byte
	left   [][]byte
}

func (f *segmentFramer) ReadFrameFrom(fd int, b []byte) (int, syscall.Errno) {
	if len(f.left) == 0 {
		var one [1]byte
		if _, err := unix.Read(fd, one[:]); err != nil {
			return 0, err.(syscall.Errno)
		}
		f.left = f.frames
	}
	n := copy(b, f.left[0])
	f.left = f.left[1:]
	return n, 0
}
func (f *segmentFramer) Buffered() bool                         { return len(f.left) > 0 }
func (f *segmentFramer) WriteFrameTo(int, []byte) syscall.Errno { return 0 }
func (f *segmentFramer) FlushTo(int) syscall.Errno              { return 0 }

// writeLog is a direct endpoint that keeps frames until Flush, as a TAP with offloads does, and logs
// both: "q" per frame queued, "f" per flush.
type writeLog struct {
	block chan struct{}
	mu    sync.Mutex
	log   []byte
}

func (w *writeLog) ReadFrame([]byte) (int, error) { <-w.block; return 0, net.ErrClosed }
func (w *writeLog) WriteFrame([]byte) error       { return w.add('w') }
func (w *writeLog) QueueFrame([]byte) error       { return w.add('q') }
func (w *writeLog) Flush() error                  { return w.add('f') }
func (w *writeLog) Close() error                  { return nil }
func (w *writeLog) add(c byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = append(w.log, c)
	return nil
}
func (w *writeLog) String() string { w.mu.Lock(); defer w.mu.Unlock(); return string(w.log) }

// TestTapSegmentOneWrite: a TAP's segment of more frames than a batch (45, as 64 KB at MTU 1500) reaches
// a TAP destination as one flush after all its frames, not one flush per batch of maxBatch, so that the
// destination joins it into one write again (rx.hold).
func TestTapSegmentOneWrite(t *testing.T) {
	s := newSwitch(t, Config{})
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	rfd, err := rawfd.New(fds[0], true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer rfd.Close()
	const n = 45
	fr := &segmentFramer{}
	for i := range n {
		f := eth(mac(100), mac(1), 1514)
		f[14] = byte(i)
		fr.frames = append(fr.frames, f)
	}
	dst := &writeLog{block: make(chan struct{})}
	defer close(dst.block)
	d, err := s.attach(epSpec{ep: dst, id: -1, module: ModuleTap, uid: -1, direct: true})
	if err != nil {
		t.Fatal(err)
	}
	s.fdb.learn(makeKey(mac(100), 0), d.port.num, s.now())
	src := &writeLog{block: make(chan struct{})}
	defer close(src.block)
	if _, err := s.attach(epSpec{ep: src, id: -1, module: ModuleTap, uid: -1, direct: true, tapfd: rfd, framer: fr}); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(fds[1], []byte{1}); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("q", n) + "f"
	for end := time.Now().Add(10 * time.Second); dst.String() != want; time.Sleep(time.Millisecond) {
		if time.Now().After(end) || strings.Count(dst.String(), "q") == n && strings.Contains(dst.String(), "f") {
			t.Fatalf("the destination saw %q, want %q (the segment's frames, then one flush)", dst.String(), want)
		}
	}
}
