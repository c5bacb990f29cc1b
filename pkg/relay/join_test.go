// SPDX-License-Identifier: GPL-2.0-or-later

package relay

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
	aOuter, aInner := frametest.Pipe(8)
	bOuter, bInner := frametest.Pipe(8)
	var st Stats
	errc := make(chan error, 1)
	go func() { errc <- Join(context.Background(), aInner, bInner, &Config{Stats: &st}) }()

	buf := make([]byte, frame.MaxLen)
	aOuter.WriteFrame(payload[:frame.HeaderLen-1]) // a runt: dropped and counted
	if err := aOuter.WriteFrame(payload); err != nil {
		t.Fatal(err)
	}
	n, err := bOuter.ReadFrame(buf)
	if err != nil || !bytes.Equal(buf[:n], payload) {
		t.Fatalf("a→b: got %d bytes %v, want the %d-byte payload", n, err, len(payload))
	}
	back := append([]byte(nil), payload[:60]...)
	back[0], back[6] = 0x02, 0x04
	bOuter.WriteFrame(back[:3]) // a runt the other way
	if err := bOuter.WriteFrame(back); err != nil {
		t.Fatal(err)
	}
	n, err = aOuter.ReadFrame(buf)
	if err != nil || !bytes.Equal(buf[:n], back) {
		t.Fatalf("b→a: got % x %v, want % x", buf[:n], err, back)
	}
	bOuter.Close() // one side goes away
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Join = %v, want nil after one side closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Join did not return after one side closed")
	}
	ab, ba := &st.Dir[AtoB], &st.Dir[BtoA]
	if ab.Frames.Load() != 1 || ba.Frames.Load() != 1 || ab.Runts.Load() != 1 || ba.Runts.Load() != 1 {
		t.Errorf("frames %d/%d runts %d/%d, want 1/1 and 1/1", ab.Frames.Load(), ba.Frames.Load(), ab.Runts.Load(), ba.Runts.Load())
	}
	if ab.Bytes.Load() != uint64(len(payload)) || ba.Bytes.Load() != 60 {
		t.Errorf("bytes %d/%d, want %d/60", ab.Bytes.Load(), ba.Bytes.Load(), len(payload))
	}
	if st.FastPath.Load() {
		t.Error("FastPath set for two fake endpoints")
	}
	if _, err := aOuter.ReadFrame(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("a side not closed: %v", err)
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
		{"eof inside a record", io.ErrUnexpectedEOF, nil},
		{"closed", net.ErrClosed, nil},
		{"hang-up", syscall.ECONNRESET, nil},
		{"epipe", syscall.EPIPE, nil},
		{"error", bad, bad},
		{"eio", syscall.EIO, syscall.EIO},
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

func TestJoinWriteErrors(t *testing.T) {
	src := &source{f: payload, left: 5}
	dst := newBlocker()
	dst.err = syscall.EIO // a TAP that is down: the frame is dropped, the relay goes on
	var st Stats
	if err := Join(context.Background(), src, dst, &Config{Stats: &st}); err != nil {
		t.Fatalf("Join = %v", err)
	}
	if c := &st.Dir[AtoB]; c.Drops.Load() != 5 || c.Frames.Load() != 0 {
		t.Errorf("drops = %d, sent = %d; want 5, 0", c.Drops.Load(), c.Frames.Load())
	}
	for _, gone := range []error{syscall.EPIPE, syscall.ECONNREFUSED, net.ErrClosed} {
		src = &source{f: payload, left: 5}
		dst = newBlocker()
		dst.err = gone // the destination is gone: the relay ends, orderly
		if err := Join(context.Background(), src, dst, nil); err != nil {
			t.Fatalf("Join with %v = %v, want nil", gone, err)
		}
		if src.left != 4 {
			t.Errorf("Join went on reading after %v: %d frames left, want 4", gone, src.left)
		}
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

// TestHookGo: the hook sees every frame with its direction, drops what it says, and frames it keeps
// go out later through its Emitter.
func TestHookGo(t *testing.T) {
	src := &source{f: payload, left: 6}
	dst := newBlocker()
	var st Stats
	var kept [][]byte
	var emit Emitter
	n := 0
	hook := func(dir Dir, f []byte, out Emitter) Verdict {
		if dir != AtoB {
			t.Errorf("hook got dir %v", dir)
		}
		n++
		switch n % 3 {
		case 1:
			return Drop
		case 2:
			kept, emit = append(kept, append([]byte(nil), f...)), out
			return Keep
		}
		return Pass
	}
	if err := Join(context.Background(), src, dst, &Config{Stats: &st, Hook: hook}); err != nil {
		t.Fatal(err)
	}
	c := &st.Dir[AtoB]
	if c.Frames.Load() != 2 || c.Drops.Load() != 2 || len(kept) != 2 {
		t.Fatalf("frames %d drops %d kept %d, want 2 2 2", c.Frames.Load(), c.Drops.Load(), len(kept))
	}
	if err := emit.Emit(kept[0]); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Emit after Join = %v, want net.ErrClosed", err)
	}
}

// TestEmitGo: a hook that keeps frames and emits them from another goroutine (wirefilter's delay).
func TestEmitGo(t *testing.T) {
	aOuter, aInner := frametest.Pipe(8)
	bOuter, bInner := frametest.Pipe(8)
	delayed := make(chan []byte, 4)
	hook := func(dir Dir, f []byte, out Emitter) Verdict {
		c := append([]byte(nil), f...)
		go func() { out.Emit(c); delayed <- c }()
		return Keep
	}
	errc := make(chan error, 1)
	go func() { errc <- Join(context.Background(), aInner, bInner, &Config{Hook: hook}) }()
	aOuter.WriteFrame(payload)
	got, err := frametest.ReadWithin(bOuter, 5*time.Second)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("emitted frame: %d bytes, %v", len(got), err)
	}
	aOuter.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// trivialHook passes everything; it must not make the copy allocate.
func trivialHook(Dir, []byte, Emitter) Verdict { return Pass }

func TestPumpZeroAllocsPerFrame(t *testing.T) {
	for _, hook := range []Hook{nil, trivialHook} {
		src := &source{f: payload}
		dst := newBlocker()
		out := &goEmitter{dst: dst, c: new(Counters)}
		const frames = 200
		a := testing.AllocsPerRun(20, func() {
			src.left = frames
			pump(src, out, AtoB, &Config{Hook: hook}, nil)
		})
		// One buffer per pump call, nothing per frame.
		if a > 1 {
			t.Fatalf("pump of %d frames (hook %v) allocs = %v, want ≤ 1 (0 per frame)", frames, hook != nil, a)
		}
		if got := dst.bytes.Load(); got != 21*frames*uint64(len(payload)) {
			t.Fatalf("copied %d bytes, want %d", got, 21*frames*len(payload))
		}
	}
}

// BenchmarkJoin measures the goroutine path: frames from one side through Join to the other.
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
