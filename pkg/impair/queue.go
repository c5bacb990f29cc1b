// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"time"

	"github.com/govde/govde/pkg/frame"
)

// A Packet is a frame copy the engine hands out for sending (Engine.Pop). Its buffer belongs to the
// engine: the caller writes Bytes and then calls Engine.Release exactly once, after which Bytes must
// not be used. A Packet is a small value; copying it does not copy the frame.
type Packet struct {
	Dir Dir
	buf *[frame.MaxLen]byte
	n   int
}

// Bytes returns the frame (without the 2-byte stream header), noise already applied.
func (p Packet) Bytes() []byte {
	if p.buf == nil {
		return nil
	}
	return p.buf[:p.n]
}

// entry is one scheduled frame copy.
type entry struct {
	when    time.Time
	seq     uint64 // global arrival order: ties on when keep it
	buf     *[frame.MaxLen]byte
	n       int
	counted int // bytes counted as waiting in the delay queue (0 for copies due at once)
}

// queue is a binary min-heap on (when, seq): one per direction. bytes is the direction's
// "Current Delay Queue size" (frame sizes, 2-byte header included).
type queue struct {
	h     []entry
	bytes int
}

func (q *queue) less(i, j int) bool {
	a, b := &q.h[i], &q.h[j]
	if !a.when.Equal(b.when) {
		return a.when.Before(b.when)
	}
	return a.seq < b.seq
}

func (q *queue) push(e entry) {
	q.h = append(q.h, e)
	for i := len(q.h) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
	q.bytes += e.counted
}

// pop removes and returns the earliest entry; the queue must not be empty.
func (q *queue) pop() entry {
	top := q.h[0]
	last := len(q.h) - 1
	q.h[0] = q.h[last]
	q.h[last] = entry{}
	q.h = q.h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && q.less(l, m) {
			m = l
		}
		if r < last && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	q.bytes -= top.counted
	return top
}

// pool recycles frame buffers: at most limit exist, allocated on first need and reused after, so a
// steady flow allocates nothing.
type pool struct {
	free  []*[frame.MaxLen]byte
	made  int
	limit int
}

func (p *pool) get() *[frame.MaxLen]byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	if p.made >= p.limit {
		return nil
	}
	p.made++
	return new([frame.MaxLen]byte)
}

func (p *pool) put(b *[frame.MaxLen]byte) { p.free = append(p.free, b) }
