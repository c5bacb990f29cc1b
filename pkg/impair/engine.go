// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// HeaderLen is the 2-byte stream length header wirefilter counts in every size: MTU, channel buffer
// size, speed and bandwidth all see len(frame)+HeaderLen bytes (vde-protocol.md 10.3).
const HeaderLen = 2

// DefaultQueueLimit is the number of frame copies that may be queued or handed out at once, both
// directions together, when Config.QueueLimit is 0.
const DefaultQueueLimit = 4096

// speedSlack is how late after NextSend a throttled sender may come back and still be paced from
// NextSend rather than from its arrival (see schedule).
const speedSlack = 2 * time.Millisecond

// MaxCopies bounds the copies of one frame: the reference loops forever at dup 100%.
const MaxCopies = 1024

// DefaultMarkovTime is the reference's markov-time: a transition is drawn every 100 ms.
const DefaultMarkovTime = 100 * time.Millisecond

// maxWait is the longest delay the engine schedules (about 146 years); longer ones are clamped.
const maxWait = time.Duration(1 << 62)

// Config configures an Engine.
type Config struct {
	// Rand is the random source of every draw. nil means a randomly seeded one; use NewSource(seed)
	// for reproducible runs.
	Rand rand.Source
	// QueueLimit bounds the frame copies queued or handed out (not yet released), both directions
	// together; copies beyond it are dropped and counted as QueueFull. 0 means DefaultQueueLimit.
	QueueLimit int
}

// Stats counts what happened in one direction. A frame dropped before duplication counts once in
// MTU, Lost or Oversize; each further copy dropped counts in Capacity, Speed, Bandwidth or QueueFull.
type Stats struct {
	In        uint64 // frames given to Process
	Out       uint64 // copies handed out by Pop
	Oversize  uint64 // frames longer than frame.MaxLen
	MTU       uint64 // frames longer than mtu−2
	Lost      uint64 // frames lost (plain or burst loss)
	Dups      uint64 // extra copies made by dup
	Capacity  uint64 // copies over the channel buffer size
	Speed     uint64 // copies dropped because the drawn speed was ≤ 0
	Bandwidth uint64 // copies dropped because the drawn bandwidth was ≤ 0
	QueueFull uint64 // copies dropped because QueueLimit copies were pending
	NoiseBits uint64 // bits flipped by noise
}

// A Verdict is what Process decided for one frame.
type Verdict struct {
	// Queued is the number of copies scheduled (0: the frame was dropped). Copies due at once are
	// ready for Pop as soon as Process returns.
	Queued int
	// Dropped is the number of copies dropped (a frame dropped by MTU or loss counts 1).
	Dropped int
	// NextSend is set when a speed is configured: the sender in this direction is throttled, and the
	// caller must not read that direction's input again before NextSend. Zero otherwise.
	NextSend time.Time
	// Due is the earliest delivery time in this direction's queue after the call (zero: empty).
	Due time.Time
}

// An Engine applies wirefilter's impairments to the two directions of a cable. All methods are safe
// for concurrent use (one mutex guards the engine, since FIFO scheduling is global to both
// directions); none blocks, sleeps, reads a clock or does I/O. Methods taking now need a time that
// never goes backwards between calls (time.Now() or a fake clock's).
type Engine struct {
	mu      sync.Mutex
	rnd     draws
	nodes   []nodeValues // per Markov node
	mk      markov
	nofifo  bool
	maxWhen time.Time    // latest delivery scheduled with a delay, both directions
	dirMax  [2]time.Time // latest delivery scheduled per direction
	speed   [2]time.Time // nextspeed: when the sender may send again
	band    [2]time.Time // nextband: when the channel is free again
	faulty  [2]bool      // Gilbert state per direction
	q       [2]queue
	seq     uint64
	bufs    pool
	stats   [2]Stats

	// Read without mu by Pass, written under it.
	clear   [2]atomic.Bool   // no parameter of the direction is on, and there is one Markov node
	pending [2]atomic.Int64  // len(q[d].h)
	passed  [2]atomic.Uint64 // frames let through by Pass: counted in Stats' In and Out
}

// New returns an Engine with every parameter 0 (a perfect cable), FIFO on and one Markov node.
func New(cfg Config) *Engine {
	src := cfg.Rand
	if src == nil {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	limit := cfg.QueueLimit
	if limit <= 0 {
		limit = DefaultQueueLimit
	}
	e := &Engine{rnd: draws{r: rand.New(src)}, nodes: make([]nodeValues, 1), bufs: pool{limit: limit}}
	e.bufs.free = make([]*[frame.MaxLen]byte, 0, limit)
	for d := range e.q {
		e.q[d].h = make([]entry, 0, min(limit, 1024))
	}
	e.mk.init()
	e.refresh()
	return e
}

// Process applies MTU, loss, dup, channel buffer size, speed, bandwidth and delay (in the
// reference's order) to a frame received in direction d at time now, and schedules the surviving
// copies; Pop hands them out when due, noise applied. frame is copied and not retained, so the
// caller may reuse it at once. Process never allocates once the engine's buffers have been made.
func (e *Engine) Process(d Dir, frm []byte, now time.Time) Verdict {
	d &= 1
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mk.advance(now, &e.rnd)
	st := &e.stats[d]
	st.In++
	var v Verdict
	if len(frm) > frame.MaxLen {
		st.Oversize++
		v.Dropped = 1
		return e.verdict(d, v)
	}
	vals := &e.nodes[e.mk.cur]
	size := len(frm) + HeaderLen
	fsize := float64(size)

	if mtu := vals[MTU][d].Value; mtu > 0 && fsize > mtu {
		st.MTU++
		v.Dropped = 1
		return e.verdict(d, v)
	}
	if e.lose(d, vals) {
		st.Lost++
		v.Dropped = 1
		return e.verdict(d, v)
	}
	copies := 1
	if dv := vals[Dup][d]; dv.Max() > 0 {
		p := e.rnd.value(dv) / 100
		for copies < MaxCopies && e.rnd.uniform() < p {
			copies++
		}
		st.Dups += uint64(copies - 1)
	}
	for range copies {
		if e.schedule(d, vals, frm, size, now) {
			v.Queued++
		} else {
			v.Dropped++
		}
	}
	return e.verdict(d, v)
}

func (e *Engine) verdict(d Dir, v Verdict) Verdict {
	if e.nodes[e.mk.cur][Speed][d].Max() > 0 {
		v.NextSend = e.speed[d]
	}
	v.Due = e.due(d)
	return v
}

// lose draws the loss of one frame: always at a minimum loss ≥ 100%, else the Gilbert model when a
// lost burst length is set, else plain loss with probability loss/100.
func (e *Engine) lose(d Dir, vals *nodeValues) bool {
	lv := vals[Loss][d]
	if lv.Min() >= 100 {
		return true
	}
	if vals[LostBurst][d].Max() > 0 {
		p := e.rnd.value(lv) / 100
		l := e.rnd.value(vals[LostBurst][d])
		alpha, beta := p/(l*(1-p)), 1/l
		if e.faulty[d] {
			if e.rnd.uniform() < beta {
				e.faulty[d] = false
			}
		} else if e.rnd.uniform() < alpha {
			e.faulty[d] = true
		}
		return e.faulty[d]
	}
	return lv.Max() > 0 && e.rnd.uniform() < e.rnd.value(lv)/100
}

// schedule applies steps 4–7 to one copy and queues it; it reports false when the copy is dropped.
func (e *Engine) schedule(d Dir, vals *nodeValues, frm []byte, size int, now time.Time) bool {
	st := &e.stats[d]
	fsize := float64(size)
	if cv := vals[ChanBufSize][d]; cv.Max() > 0 && float64(e.q[d].bytes)+fsize > e.rnd.value(cv) {
		st.Capacity++
		return false
	}
	// The copy's buffer is taken before the speed and bandwidth clocks move: a copy dropped for want of
	// one must not use up the channel's time (it made a 10 MB/s bandwidth deliver 14 % less under a
	// backlog).
	buf := e.bufs.get()
	if buf == nil {
		st.QueueFull++
		return false
	}
	var wire time.Duration // speed's own transmit time, or bandwidth's backlog + transmit time
	if sv := vals[Speed][d]; sv.Max() > 0 {
		s := e.rnd.value(sv)
		if s <= 0 {
			st.Speed++
			e.bufs.put(buf)
			return false
		}
		wire = seconds(fsize / s)
		// The sender comes back a little after NextSend (timer and scheduling latency): counting from
		// its late arrival would lose that latency on every frame (7 % at 1 MB/s). Only an idle gap
		// longer than speedSlack restarts the clock at now.
		if e.speed[d].Before(now.Add(-speedSlack)) {
			e.speed[d] = now
		}
		e.speed[d] = e.speed[d].Add(wire)
	}
	if bv := vals[Bandwidth][d]; bv.Max() > 0 {
		b := e.rnd.value(bv)
		if b <= 0 {
			st.Bandwidth++
			e.bufs.put(buf)
			return false
		}
		tx := seconds(fsize / b)
		if e.band[d].Before(now) {
			e.band[d] = now
		}
		e.band[d] = e.band[d].Add(tx)
		wire = e.band[d].Sub(now)
	}
	total := wire
	if dl := vals[Delay][d]; wire > 0 || dl.Max() > 0 {
		if ms := e.rnd.value(dl); ms >= 0 {
			total = addClamp(seconds(ms/1000), wire)
		}
	}
	when := now
	counted := 0
	if total > 0 {
		when = now.Add(total)
		if when.After(e.maxWhen) {
			e.maxWhen = when
		} else if !e.nofifo {
			when = e.maxWhen
		}
		counted = size
	} else if !e.nofifo && e.dirMax[d].After(now) {
		// Deviation: the reference writes a zero-delay copy at once, overtaking copies of the same
		// direction still queued (a negative jitter draw reorders). FIFO keeps it behind them.
		when = e.dirMax[d]
		counted = size
	}
	if when.After(e.dirMax[d]) {
		e.dirMax[d] = when
	}
	n := copy(buf[:], frm)
	e.seq++
	e.q[d].push(entry{when: when, seq: e.seq, buf: buf, n: n, counted: counted})
	e.pending[d].Add(1)
	return true
}

// seconds converts a float number of seconds to a Duration, clamped to [−maxWait, maxWait].
func seconds(s float64) time.Duration {
	ns := s * 1e9
	switch {
	case math.IsNaN(ns):
		return 0
	case ns >= float64(maxWait):
		return maxWait
	case ns <= -float64(maxWait):
		return -maxWait
	}
	return time.Duration(math.Round(ns))
}

func addClamp(a, b time.Duration) time.Duration {
	if s := a + b; s >= 0 && s <= maxWait {
		return s
	}
	if a > 0 && b > 0 {
		return maxWait
	}
	return a + b
}

func (e *Engine) due(d Dir) time.Time {
	if len(e.q[d].h) == 0 {
		return time.Time{}
	}
	return e.q[d].h[0].when
}

// Pop hands out the earliest copy of direction d that is due at now, with noise applied, or
// reports false when none is due. The caller writes p.Bytes() and then calls Release(p).
func (e *Engine) Pop(d Dir, now time.Time) (p Packet, ok bool) {
	d &= 1
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mk.advance(now, &e.rnd)
	q := &e.q[d]
	if len(q.h) == 0 || q.h[0].when.After(now) {
		return Packet{}, false
	}
	en := q.pop()
	e.pending[d].Add(-1)
	b := en.buf[:en.n]
	if nv := e.nodes[e.mk.cur][Noise][d]; nv.Max() > 0 {
		e.stats[d].NoiseBits += uint64(e.noise(b, e.rnd.value(nv)))
	}
	e.stats[d].Out++
	return Packet{Dir: d, buf: en.buf, n: en.n}, true
}

// noise flips bits of b, each independently with probability perMiB/(8·2^20), so that a frame of
// n bytes gets n·perMiB/2^20 flipped bits on average: exactly the configured bits per MiB. It draws
// the gaps between flipped bits (geometric), so its cost grows with the flips, not the frame.
//
// Deviations from the reference, which counts flips as 1 + successive successes of a draw below
// n·perMiB/2^20 (mean q/(1−q) rather than q, endless for q ≥ 1) and places each in [0, n+2) bytes
// from byte 2 (the first two bytes never damaged, flips past the end lost): here the count is
// binomial with the configured mean, and every flip hits a distinct bit inside the frame.
func (e *Engine) noise(b []byte, perMiB float64) int {
	bits := len(b) * 8
	p := perMiB / (8 * (1 << 20))
	if bits == 0 || !(p > 0) {
		return 0
	}
	flip := func(i int) { b[i>>3] ^= 1 << (i & 7) }
	if p >= 1 {
		for i := range bits {
			flip(i)
		}
		return bits
	}
	l := math.Log1p(-p)
	n := 0
	for i := -1; ; {
		// gap ~ Geometric(p): the number of intact bits before the next flipped one.
		gap := math.Floor(math.Log(1-e.rnd.uniform()) / l)
		if gap >= float64(bits-1-i) {
			return n
		}
		i += int(gap) + 1
		flip(i)
		n++
	}
}

// Release returns a Packet's buffer to the engine. Releasing a Packet twice corrupts the engine.
func (e *Engine) Release(p Packet) {
	if p.buf == nil {
		return
	}
	e.mu.Lock()
	e.bufs.put(p.buf)
	e.mu.Unlock()
}

// Next returns when the next copy of direction d is due (zero: none queued). The caller arms its
// wake-up timer for the earliest of Next(LR), Next(RL) and MarkovNext.
func (e *Engine) Next(d Dir) time.Time {
	if e.pending[d&1].Load() == 0 {
		return time.Time{} // as below, without the lock: Pop and schedule keep pending up to date
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.due(d & 1)
}

// Stats returns a snapshot of direction d's counters.
func (e *Engine) Stats(d Dir) Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats[d&1]
	n := e.passed[d&1].Load()
	s.In += n
	s.Out += n
	return s
}

// QueuedBytes returns the bytes (headers included) waiting in direction d's delay queue: showinfo's
// "Current Delay Queue size". Copies due at once are not counted, as the reference never queues them.
func (e *Engine) QueuedBytes(d Dir) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.q[d&1].bytes
}

// QueuedFrames returns the copies waiting in both directions: showinfo's "Waiting packets in delay
// queues".
func (e *Engine) QueuedFrames() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.q[LR].h) + len(e.q[RL].h)
}

// SetFIFO turns FIFO scheduling on (the default; "fifo 1") or off ("fifo 0", "-N"). With FIFO on, no
// copy is scheduled earlier than the latest copy already scheduled with a delay, in either direction.
func (e *Engine) SetFIFO(on bool) {
	e.mu.Lock()
	e.nofifo = !on
	e.mu.Unlock()
}

// FIFO reports whether FIFO scheduling is on (showinfo's "Fifoness").
func (e *Engine) FIFO() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.nofifo
}
