// SPDX-License-Identifier: GPL-2.0-or-later

package stream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/govde/govde/pkg/frame"
)

const (
	// HeaderLen is the length of a VDE stream record header.
	HeaderLen = 2
	// QEMUHeaderLen is the length of a QEMU stream record header.
	QEMUHeaderLen = 4
	// QEMUMaxRecord is QEMU's NET_BUFSIZE (4096 + 65536): a longer QEMU record ends the connection, as in QEMU.
	QEMUMaxRecord = 4096 + 65536
	// bufSize is the Reader's buffer: several records per read, and always room for a whole record.
	bufSize = 64 << 10
)

// ErrTooLong is returned by WriteFrame for a frame longer than frame.MaxLen.
var ErrTooLong = errors.New("frame longer than the stream maximum")

// ErrOversize is returned by a QEMU Reader for a record longer than QEMUMaxRecord; the stream cannot be resynchronised.
var ErrOversize = errors.New("oversized stream record")

// A Reader reads framed records from a byte stream. It is not safe for concurrent use.
type Reader struct {
	r          io.Reader
	hdr        int
	buf        []byte
	start, end int
	skip       int  // bytes of an oversize record still to discard
	resync     bool // an oversize header drops what was read (VDE) instead of skipping its length (QEMU)
	dropped    atomic.Uint64
	oversize   atomic.Uint64
}

// NewReader returns a Reader for the VDE 2-byte format. A header declaring more than frame.MaxLen bytes
// is counted as dropped and as oversize, and what was read with it is dropped: parsing starts again with
// the next read, as vdeplug4 does. No writer sends such a record; it means the stream has lost its record
// boundaries, as the real wirefilter's output does when its own 2048-byte reads end one byte into a
// header (it then writes records whose length is not what their header says). Skipping the declared
// length would keep the reader out of step for good; the next read most often starts on a record
// boundary again, because writers write whole records.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, hdr: HeaderLen, buf: make([]byte, bufSize), resync: true}
}

// NewQEMUReader returns a Reader for QEMU's 4-byte format. A record longer than frame.MaxLen but within
// QEMUMaxRecord is skipped exactly and counted as dropped; a longer one returns ErrOversize.
func NewQEMUReader(r io.Reader) *Reader {
	return &Reader{r: r, hdr: QEMUHeaderLen, buf: make([]byte, bufSize)}
}

// Dropped returns the number of records dropped as oversize (and, for a b shorter than the record, truncated).
// It is safe to call concurrently with ReadFrame.
func (r *Reader) Dropped() uint64 { return r.dropped.Load() }

// Oversize returns the number of records skipped for being longer than frame.MaxLen (they are also
// counted by Dropped). It is safe to call concurrently with ReadFrame.
func (r *Reader) Oversize() uint64 { return r.oversize.Load() }

// ReadFrame reads the next non-empty record into b and returns its length. b should be frame.MaxLen bytes long:
// a longer record is truncated to len(b) and counted as dropped. It returns io.EOF at a clean end of stream and
// io.ErrUnexpectedEOF when the stream ends inside a record.
func (r *Reader) ReadFrame(b []byte) (int, error) {
	for {
		if r.skip > 0 {
			n := min(r.skip, r.end-r.start)
			r.start += n
			r.skip -= n
			if r.skip > 0 {
				if err := r.fill(); err != nil {
					return 0, err
				}
				continue
			}
		}
		avail := r.end - r.start
		if avail >= r.hdr {
			n := r.length()
			switch {
			case n == 0:
				r.start += r.hdr
				continue
			case n > QEMUMaxRecord:
				return 0, fmt.Errorf("stream record of %d bytes: %w", n, ErrOversize)
			case n > frame.MaxLen:
				r.dropped.Add(1)
				r.oversize.Add(1)
				if r.resync {
					r.start = r.end
				} else {
					r.start += r.hdr
					r.skip = n
				}
				continue
			}
			if avail >= r.hdr+n {
				p := r.buf[r.start+r.hdr : r.start+r.hdr+n]
				c := copy(b, p)
				if c < n {
					r.dropped.Add(1)
				}
				r.start += r.hdr + n
				return c, nil
			}
		}
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
}

func (r *Reader) length() int {
	if r.hdr == HeaderLen {
		return int(binary.BigEndian.Uint16(r.buf[r.start:]))
	}
	return int(binary.BigEndian.Uint32(r.buf[r.start:]))
}

// fill reads more data, compacting the buffer first so that a whole record always fits.
func (r *Reader) fill() error {
	if r.start == r.end {
		r.start, r.end = 0, 0
	} else if r.start > 0 && len(r.buf)-r.start < r.hdr+frame.MaxLen {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	for {
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if n > 0 {
			return nil
		}
		if err == io.EOF {
			if r.end > r.start || r.skip > 0 {
				return io.ErrUnexpectedEOF
			}
			return io.EOF
		}
		if err != nil {
			return err
		}
	}
}

// A Writer writes framed records to a byte stream. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	hdr int
	buf [QEMUHeaderLen + frame.MaxLen]byte
}

// NewWriter returns a Writer for the VDE 2-byte format.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, hdr: HeaderLen} }

// NewQEMUWriter returns a Writer for QEMU's 4-byte format.
func NewQEMUWriter(w io.Writer) *Writer { return &Writer{w: w, hdr: QEMUHeaderLen} }

// WriteFrame writes b as one record with a single Write. An empty b writes nothing; a b longer than
// frame.MaxLen returns ErrTooLong. The caller keeps b.
func (w *Writer) WriteFrame(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) > frame.MaxLen {
		return ErrTooLong
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hdr == HeaderLen {
		binary.BigEndian.PutUint16(w.buf[:2], uint16(len(b)))
	} else {
		binary.BigEndian.PutUint32(w.buf[:4], uint32(len(b)))
	}
	n := copy(w.buf[w.hdr:], b)
	_, err := w.w.Write(w.buf[:w.hdr+n])
	return err
}

// A Conn is a frame.Endpoint over a byte stream: records are read from r and written to w.
type Conn struct {
	r      *Reader
	w      *Writer
	c      io.Closer
	once   sync.Once
	closed atomic.Bool
}

var _ frame.Endpoint = (*Conn)(nil)

// NewConn returns a VDE-format Conn reading from r and writing to w. Close closes c, which may be nil; to
// unblock a pending ReadFrame, c must make r's Read return (closing the underlying file or socket does).
func NewConn(r io.Reader, w io.Writer, c io.Closer) *Conn {
	return &Conn{r: NewReader(r), w: NewWriter(w), c: c}
}

// NewQEMUConn returns a QEMU-format Conn; see NewConn.
func NewQEMUConn(r io.Reader, w io.Writer, c io.Closer) *Conn {
	return &Conn{r: NewQEMUReader(r), w: NewQEMUWriter(w), c: c}
}

// ReadFrame implements frame.Endpoint. It returns io.EOF when the peer ends the stream.
func (c *Conn) ReadFrame(b []byte) (int, error) {
	n, err := c.r.ReadFrame(b)
	if err != nil && c.closed.Load() {
		return 0, fmt.Errorf("stream read: %w", net.ErrClosed)
	}
	return n, err
}

// WriteFrame implements frame.Endpoint.
func (c *Conn) WriteFrame(b []byte) error {
	if c.closed.Load() {
		return fmt.Errorf("stream write: %w", net.ErrClosed)
	}
	err := c.w.WriteFrame(b)
	if err != nil && c.closed.Load() {
		return fmt.Errorf("stream write: %w", net.ErrClosed)
	}
	return err
}

// Dropped returns the number of incoming records dropped as oversize.
func (c *Conn) Dropped() uint64 { return c.r.Dropped() }

// Oversize returns the number of incoming records skipped for being longer than frame.MaxLen.
func (c *Conn) Oversize() uint64 { return c.r.Oversize() }

// Close implements frame.Endpoint; it is idempotent.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		c.closed.Store(true)
		if c.c != nil {
			err = c.c.Close()
		}
	})
	return err
}
