// SPDX-License-Identifier: GPL-2.0-or-later

package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"

	"github.com/govde/govde/pkg/frame"
)

func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func record(hdr int, p []byte) []byte {
	h := make([]byte, hdr)
	if hdr == HeaderLen {
		binary.BigEndian.PutUint16(h, uint16(len(p)))
	} else {
		binary.BigEndian.PutUint32(h, uint32(len(p)))
	}
	return append(h, p...)
}

// chunked delivers data in reads of the given sizes (cycling), like a pipe with odd write boundaries.
type chunked struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunked) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	n = min(n, len(b), len(c.data))
	copy(b, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func readAll(t *testing.T, r *Reader) [][]byte {
	t.Helper()
	var out [][]byte
	b := make([]byte, frame.MaxLen)
	for {
		n, err := r.ReadFrame(b)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("ReadFrame after %d records: %v", len(out), err)
		}
		out = append(out, append([]byte(nil), b[:n]...))
	}
}

func TestReaderSplits(t *testing.T) {
	frames := [][]byte{payload(60, 1), payload(14, 2), payload(1518, 3), payload(9000, 4), payload(frame.MaxLen, 5), payload(15, 6)}
	var data []byte
	for _, f := range frames {
		data = append(data, record(HeaderLen, f)...)
	}
	// Every split size from 1 (each header split after its first byte: the vdeplug4 bug) upward.
	for _, sizes := range [][]int{{1}, {2}, {3}, {61}, {62, 1, 5}, {bufSize}, {7, 9000, 1}} {
		got := readAll(t, NewReader(&chunked{data: data, sizes: sizes}))
		if len(got) != len(frames) {
			t.Fatalf("sizes %v: got %d records, want %d", sizes, len(got), len(frames))
		}
		for i := range frames {
			if !bytes.Equal(got[i], frames[i]) {
				t.Fatalf("sizes %v: record %d differs (len %d, want %d)", sizes, i, len(got[i]), len(frames[i]))
			}
		}
	}
}

func TestReaderZeroLengthSkipped(t *testing.T) {
	data := append([]byte{0, 0, 0, 0}, record(HeaderLen, payload(60, 9))...)
	data = append(data, 0, 0)
	got := readAll(t, NewReader(bytes.NewReader(data)))
	if len(got) != 1 || !bytes.Equal(got[0], payload(60, 9)) {
		t.Fatalf("got %d records, want the one 60-byte record", len(got))
	}
}

// TestReaderOversizeResync: a header declaring more than frame.MaxLen bytes means the stream lost its
// record boundaries: it is counted, what was read with it is dropped, and the records of the next read
// are delivered (vdeplug4 does the same), whatever the declared length.
func TestReaderOversizeResync(t *testing.T) {
	good1, lost, good2 := payload(60, 2), payload(100, 5), payload(1514, 3)
	for _, over := range []int{frame.MaxLen + 1, 9236, 20000, 0xffff} {
		read1 := record(HeaderLen, good1)
		read1 = append(read1, record(HeaderLen, payload(over, 1))[:HeaderLen+50]...)
		read1 = append(read1, record(HeaderLen, lost)...)
		read2 := record(HeaderLen, good2)
		r := NewReader(&chunked{data: append(read1, read2...), sizes: []int{len(read1), len(read2)}})
		got := readAll(t, r)
		if len(got) != 2 || !bytes.Equal(got[0], good1) || !bytes.Equal(got[1], good2) {
			t.Fatalf("oversize %d: got %d records, want the one before it and the one of the next read", over, len(got))
		}
		if r.Dropped() != 1 || r.Oversize() != 1 {
			t.Errorf("oversize %d: Dropped = %d, Oversize = %d, want 1, 1", over, r.Dropped(), r.Oversize())
		}
	}
	// The real wirefilter's output after it lost its place: a record whose header says 1514 bytes but
	// which holds 100. The reader takes the next read's bytes as the rest of it, meets a header of
	// 0xffff, drops that read, and is in step again with the read after.
	liar := append([]byte{0x05, 0xea}, payload(100, 6)...)
	read2 := append(make([]byte, 1414), 0xff, 0xff, 1, 2, 3)
	read3 := record(HeaderLen, good2)
	data := append(append(append(record(HeaderLen, good1), liar...), read2...), read3...)
	r := NewReader(&chunked{data: data, sizes: []int{HeaderLen + len(good1) + len(liar), len(read2), len(read3)}})
	got := readAll(t, r)
	if len(got) != 3 || !bytes.Equal(got[0], good1) || len(got[1]) != 1514 || !bytes.Equal(got[2], good2) {
		t.Fatalf("after a record shorter than its header: got %d records, want good1, the 1514-byte mix, good2", len(got))
	}
	// The exact bytes 00 3c + 60 bytes, 24 13 (9235) + 9235 bytes, 00 3c + 60 bytes in one read: the
	// first record is delivered, the rest of the read dropped, the stream then ends cleanly.
	data = append([]byte{0x00, 0x3c}, good1...)
	data = append(append(data, 0x24, 0x13), make([]byte, 9235)...)
	data = append(append(data, 0x00, 0x3c), payload(60, 4)...)
	r = NewReader(bytes.NewReader(data))
	if got := readAll(t, r); len(got) != 1 || !bytes.Equal(got[0], good1) || r.Oversize() != 1 {
		t.Fatalf("9235-byte record between two 60-byte ones in one read: got %d records, oversize %d", len(got), r.Oversize())
	}
}

func TestReaderTruncatedEnd(t *testing.T) {
	data := record(HeaderLen, payload(60, 1))
	for _, cut := range []int{1, 2, 30} {
		r := NewReader(bytes.NewReader(data[:cut]))
		if _, err := r.ReadFrame(make([]byte, frame.MaxLen)); err != io.ErrUnexpectedEOF {
			t.Errorf("cut at %d: err = %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
}

func TestReaderShortBuffer(t *testing.T) {
	r := NewReader(bytes.NewReader(record(HeaderLen, payload(100, 1))))
	b := make([]byte, 50)
	n, err := r.ReadFrame(b)
	if err != nil || n != 50 || !bytes.Equal(b, payload(100, 1)[:50]) || r.Dropped() != 1 {
		t.Fatalf("ReadFrame = %d, %v, dropped %d; want 50 bytes truncated, 1 dropped", n, err, r.Dropped())
	}
}

func TestQEMU(t *testing.T) {
	var buf bytes.Buffer
	w := NewQEMUWriter(&buf)
	frames := [][]byte{payload(442, 1), payload(9000, 2)}
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if got := buf.Bytes()[:4]; !bytes.Equal(got, []byte{0, 0, 1, 0xba}) {
		t.Fatalf("QEMU header = %x, want 000001ba", got)
	}
	// An oversize-but-legal QEMU record (e.g. 20000 bytes) is skipped exactly.
	data := append(append(record(4, payload(20000, 3)), buf.Bytes()...), 0, 0, 0, 0)
	r := NewQEMUReader(&chunked{data: data, sizes: []int{3, 1000, 17}})
	got := readAll(t, r)
	if len(got) != 2 || !bytes.Equal(got[0], frames[0]) || !bytes.Equal(got[1], frames[1]) || r.Dropped() != 1 || r.Oversize() != 1 {
		t.Fatalf("QEMU reader got %d records, dropped %d, oversize %d", len(got), r.Dropped(), r.Oversize())
	}
	r = NewQEMUReader(bytes.NewReader([]byte{0, 2, 0, 0, 1}))
	if _, err := r.ReadFrame(make([]byte, frame.MaxLen)); !errors.Is(err, ErrOversize) {
		t.Fatalf("huge QEMU record: err = %v, want ErrOversize", err)
	}
}

func TestWriterOneWritePerFrame(t *testing.T) {
	var cw countWriter
	w := NewWriter(&cw)
	for _, n := range []int{0, 14, 1500, frame.MaxLen} {
		if err := w.WriteFrame(payload(n, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if cw.writes != 3 {
		t.Errorf("writes = %d, want 3 (empty frame writes nothing)", cw.writes)
	}
	if err := w.WriteFrame(make([]byte, frame.MaxLen+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("oversize WriteFrame: %v", err)
	}
	if !bytes.Equal(cw.last[:2], []byte{0x24, 0x12}) {
		t.Errorf("header of a %d-byte frame = %x", frame.MaxLen, cw.last[:2])
	}
}

type countWriter struct {
	writes int
	last   []byte
}

func (c *countWriter) Write(b []byte) (int, error) {
	c.writes++
	c.last = append(c.last[:0], b...)
	return len(b), nil
}

func TestConnPipeAndClose(t *testing.T) {
	r1, w1, _ := os.Pipe()
	r2, w2, _ := os.Pipe()
	a := NewConn(r1, w2, closers{r1, w2})
	b := NewConn(r2, w1, closers{r2, w1})
	defer b.Close()
	f := payload(1500, 4)
	if err := b.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, frame.MaxLen)
	if n, err := a.ReadFrame(buf); err != nil || !bytes.Equal(buf[:n], f) {
		t.Fatalf("ReadFrame = %d, %v", n, err)
	}
	done := make(chan error, 1)
	go func() { _, err := a.ReadFrame(buf); done <- err }()
	a.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrame after Close: %v, want net.ErrClosed", err)
	}
	if err := a.WriteFrame(f); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteFrame after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

type closers []io.Closer

func (cs closers) Close() error {
	var err error
	for _, c := range cs {
		err = errors.Join(err, c.Close())
	}
	return err
}

func TestZeroAllocs(t *testing.T) {
	var sink bytes.Buffer
	w := NewWriter(&sink)
	f := payload(1500, 1)
	rec := record(HeaderLen, f)
	src := &loopReader{rec: rec}
	r := NewReader(src)
	buf := make([]byte, frame.MaxLen)
	a := testing.AllocsPerRun(1000, func() {
		sink.Reset()
		_ = w.WriteFrame(f)
		_, _ = r.ReadFrame(buf)
	})
	if a != 0 {
		t.Fatalf("allocs per frame = %v, want 0", a)
	}
}

// loopReader returns rec forever, one copy per Read.
type loopReader struct{ rec []byte }

func (l *loopReader) Read(b []byte) (int, error) { return copy(b, l.rec), nil }

func BenchmarkReadWrite(b *testing.B) {
	f := payload(1500, 1)
	src := &loopReader{rec: record(HeaderLen, f)}
	r := NewReader(src)
	w := NewWriter(io.Discard)
	buf := make([]byte, frame.MaxLen)
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		_ = w.WriteFrame(f)
		_, _ = r.ReadFrame(buf)
	}
}

// FuzzReader feeds arbitrary bytes: the reader must never panic or return a record over MaxLen.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0, 0x3c}, uint8(1))
	f.Add(append([]byte{0, 0, 0xff, 0xff, 0, 1}, payload(70, 1)...), uint8(3))
	f.Add(record(HeaderLen, payload(20, 1)), uint8(0))
	f.Add(append(append(record(HeaderLen, payload(frame.MaxLen+1, 1)), record(HeaderLen, payload(60, 2))...), 0, 0), uint8(40))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		for _, mk := range []func(io.Reader) *Reader{NewReader, NewQEMUReader} {
			r := mk(&chunked{data: in, sizes: []int{int(chunk) + 1}})
			b := make([]byte, frame.MaxLen)
			for i := 0; ; i++ {
				n, err := r.ReadFrame(b)
				if err != nil {
					break
				}
				if n <= 0 || n > frame.MaxLen {
					t.Fatalf("record length %d", n)
				}
				if i > len(in) {
					t.Fatal("more records than input bytes")
				}
			}
		}
	})
}

// FuzzRoundTrip writes frames and reads them back through arbitrary read boundaries: nothing may be lost or changed.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello world, a frame of some bytes"), uint8(1), uint16(14))
	f.Add(payload(3000, 7), uint8(0), uint16(1500))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, size uint16) {
		sz := int(size)%frame.MaxLen + 1
		var frames [][]byte
		for p := data; len(p) > 0; {
			n := min(sz, len(p))
			frames = append(frames, p[:n])
			p = p[n:]
		}
		for _, q := range []bool{false, true} {
			var buf bytes.Buffer
			w, mk := NewWriter(&buf), NewReader
			if q {
				w, mk = NewQEMUWriter(&buf), NewQEMUReader
			}
			for _, fr := range frames {
				if err := w.WriteFrame(fr); err != nil {
					t.Fatal(err)
				}
			}
			got := readAll(t, mk(&chunked{data: buf.Bytes(), sizes: []int{int(chunk) + 1, 1}}))
			if len(got) != len(frames) {
				t.Fatalf("qemu=%v: %d records, want %d", q, len(got), len(frames))
			}
			for i := range got {
				if !bytes.Equal(got[i], frames[i]) {
					t.Fatalf("qemu=%v: record %d differs", q, i)
				}
			}
		}
	})
}
