// SPDX-License-Identifier: GPL-2.0-or-later

package tap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
)

// source yields frame f left times, then err (io.EOF when nil); it never allocates.
type source struct {
	f    []byte
	left int
	err  error
	sink
}

func (s *source) ReadFrame(b []byte) (int, error) {
	if s.left == 0 {
		if s.err != nil {
			return 0, s.err
		}
		return 0, io.EOF
	}
	s.left--
	return copy(b, s.f), nil
}

// sink counts frames and bytes written to it and answers with err; it never allocates.
type sink struct {
	frames, bytes atomic.Uint64
	err           error
	closed        atomic.Bool
}

func (s *sink) ReadFrame(b []byte) (int, error) { return 0, net.ErrClosed }
func (s *sink) WriteFrame(b []byte) error {
	if s.err != nil {
		return s.err
	}
	s.frames.Add(1)
	s.bytes.Add(uint64(len(b)))
	return nil
}
func (s *sink) Close() error { s.closed.Store(true); return nil }

// blocker blocks in ReadFrame until closed, and counts writes.
type blocker struct {
	sink
	done chan struct{}
}

func newBlocker() *blocker { return &blocker{done: make(chan struct{})} }
func (b *blocker) ReadFrame([]byte) (int, error) {
	<-b.done
	return 0, net.ErrClosed
}
func (b *blocker) Close() error {
	if !b.closed.Swap(true) {
		close(b.done)
	}
	return nil
}

var payload = func() []byte {
	f := make([]byte, 1514)
	copy(f, []byte{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00})
	for i := 14; i < len(f); i++ {
		f[i] = byte(i * 7)
	}
	return f
}()

func TestJoinBothWays(t *testing.T) {
	tapOuter, tapInner := frametest.Pipe(8)
	swOuter, swInner := frametest.Pipe(8)
	var st JoinStats
	errc := make(chan error, 1)
	go func() { errc <- Join(context.Background(), tapInner, swInner, &st) }()

	buf := make([]byte, frame.MaxLen)
	if err := tapOuter.WriteFrame(payload); err != nil {
		t.Fatal(err)
	}
	n, err := swOuter.ReadFrame(buf)
	if err != nil || !bytes.Equal(buf[:n], payload) {
		t.Fatalf("tap→switch: got %d bytes %v, want the %d-byte payload", n, err, len(payload))
	}
	back := append([]byte(nil), payload[:60]...)
	back[0], back[6] = 0x02, 0x04
	if err := swOuter.WriteFrame(back); err != nil {
		t.Fatal(err)
	}
	n, err = tapOuter.ReadFrame(buf)
	if err != nil || !bytes.Equal(buf[:n], back) {
		t.Fatalf("switch→tap: got % x %v, want % x", buf[:n], err, back)
	}
	swOuter.Close() // the switch goes away
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Join = %v, want nil after the switch closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Join did not return after one side closed")
	}
	if st.AtoB.Load() != 1 || st.BtoA.Load() != 1 {
		t.Errorf("stats = %d/%d frames, want 1/1", st.AtoB.Load(), st.BtoA.Load())
	}
	if _, err := tapOuter.ReadFrame(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("TAP side not closed: %v", err)
	}
}

func TestJoinEnds(t *testing.T) {
	bad := errors.New("device gone wrong")
	tests := []struct {
		name    string
		readErr error
		want    error
	}{
		{"eof", io.EOF, nil},
		{"closed", net.ErrClosed, nil},
		{"error", bad, bad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &source{f: payload, left: 3, err: tc.readErr}
			other := newBlocker()
			err := Join(context.Background(), src, other, nil)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Join = %v, want %v", err, tc.want)
			}
			if got := other.frames.Load(); got != 3 {
				t.Errorf("copied %d frames, want 3", got)
			}
			if !src.closed.Load() || !other.closed.Load() {
				t.Error("Join did not close both endpoints")
			}
		})
	}
}

func TestJoinDropsTransientWriteErrors(t *testing.T) {
	src := &source{f: payload, left: 5}
	dst := newBlocker()
	dst.err = syscall.EIO // a TAP that is down
	var st JoinStats
	if err := Join(context.Background(), src, dst, &st); err != nil {
		t.Fatalf("Join = %v", err)
	}
	if st.DropsAtoB.Load() != 5 || st.AtoB.Load() != 0 {
		t.Errorf("drops = %d, sent = %d; want 5, 0", st.DropsAtoB.Load(), st.AtoB.Load())
	}

	src = &source{f: payload, left: 5}
	dst = newBlocker()
	dst.err = syscall.EPIPE
	if err := Join(context.Background(), src, dst, &st); err != nil {
		t.Fatalf("Join = %v", err)
	}
	if src.left != 4 {
		t.Errorf("Join went on reading after EPIPE: %d frames left, want 4", src.left)
	}
}

func TestJoinContext(t *testing.T) {
	a, b := newBlocker(), newBlocker()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Join(ctx, a, b, nil) }()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Join = %v, want nil on cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Join ignored ctx")
	}
}

func TestPumpZeroAllocsPerFrame(t *testing.T) {
	src := &source{f: payload}
	var dst sink
	var sent, drops atomic.Uint64
	const frames = 200
	a := testing.AllocsPerRun(20, func() {
		src.left = frames
		pump(src, &dst, &sent, &drops)
	})
	// One buffer per pump call, nothing per frame.
	if a > 1 {
		t.Fatalf("pump of %d frames allocs = %v, want ≤ 1 (0 per frame)", frames, a)
	}
	if got := dst.bytes.Load(); got != 21*frames*uint64(len(payload)) {
		t.Fatalf("copied %d bytes, want %d", got, 21*frames*len(payload))
	}
}

// BenchmarkJoin measures the plug2tap copy path: frames from one side through Join to the other.
func BenchmarkJoin(b *testing.B) {
	src := &source{f: payload, left: b.N}
	dst := newBlocker()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	if err := Join(context.Background(), src, dst, nil); err != nil {
		b.Fatal(err)
	}
	if got := dst.frames.Load(); got != uint64(b.N) {
		b.Fatalf("copied %d frames, want %d", got, b.N)
	}
}
