// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"io"
	"testing"
)

// repeatEP returns the same frame n times, then io.EOF.
type repeatEP struct {
	f []byte
	n int
}

func (r *repeatEP) ReadFrame(b []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	r.n--
	return copy(b, r.f), nil
}
func (r *repeatEP) WriteFrame(b []byte) error { return nil }
func (r *repeatEP) Close() error              { return nil }

// sinkEP counts what it is given.
type sinkEP struct{ frames, bytes int }

func (s *sinkEP) ReadFrame(b []byte) (int, error) { return 0, io.EOF }
func (s *sinkEP) WriteFrame(b []byte) error {
	s.frames++
	s.bytes += len(b)
	return nil
}
func (s *sinkEP) Close() error { return nil }

func TestPumpAllocs(t *testing.T) {
	src, dst := &repeatEP{f: testFrame(1514, 1)}, &sinkEP{}
	allocs := testing.AllocsPerRun(10, func() {
		src.n = 1000
		pump(dst, src)
	})
	// One buffer per pump, none per frame.
	if allocs > 1 {
		t.Fatalf("pump of 1000 frames: %v allocations, want at most 1", allocs)
	}
	if dst.frames != 11000 || dst.bytes != 11000*1514 {
		t.Fatalf("sink got %d frames, %d bytes", dst.frames, dst.bytes)
	}
}

func BenchmarkPump(b *testing.B) {
	src, dst := &repeatEP{f: testFrame(1514, 1)}, &sinkEP{}
	b.ReportAllocs()
	b.SetBytes(1514)
	src.n = b.N
	b.ResetTimer()
	pump(dst, src)
}
