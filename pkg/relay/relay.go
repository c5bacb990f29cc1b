// SPDX-License-Identifier: GPL-2.0-or-later

package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// A Dir is the direction a frame moves in: AtoB from Join's first endpoint to its second, BtoA back.
type Dir int

const (
	// AtoB is from Join's a to b.
	AtoB Dir = iota
	// BtoA is from Join's b to a.
	BtoA
)

// String returns "a->b" or "b->a".
func (d Dir) String() string {
	if d == BtoA {
		return "b->a"
	}
	return "a->b"
}

// Counters count one direction. All fields are safe to read while Join runs.
type Counters struct {
	// Frames and Bytes count the frames sent to the destination (queued, for a stream) and their bytes.
	Frames, Bytes atomic.Uint64
	// Drops counts frames dropped after they were read: refused by the destination with a transient
	// error, dropped or not re-emitted by the Hook, oversize stream records.
	Drops atomic.Uint64
	// Oversize counts the stream headers declaring more than frame.MaxLen bytes (also in Drops): the
	// stream had lost its record boundaries, and what was read with such a header was dropped.
	Oversize atomic.Uint64
	// Runts counts frames dropped for being shorter than frame.HeaderLen.
	Runts atomic.Uint64
}

// Stats is what Join moved. Its fields are safe to read while Join runs.
type Stats struct {
	// Dir holds the counters of each direction, indexed by AtoB and BtoA.
	Dir [2]Counters
	// FastPath is set when Join runs the poll(2) loop rather than one goroutine per direction.
	FastPath atomic.Bool
}

// A Verdict is what a Hook decides for a frame.
type Verdict int

const (
	// Pass sends the frame on now.
	Pass Verdict = iota
	// Drop drops the frame; it is counted in Counters.Drops.
	Drop
	// Keep leaves the frame to the hook, which copied it and may send it later through its Emitter.
	Keep
)

// An Emitter sends a frame kept by a Hook to the destination of the Hook's direction. Emit copies f and is
// safe for concurrent use, from any goroutine, until Join returns; afterwards it returns net.ErrClosed.
// When the destination has no room for the frame (the poll(2) path never waits), Emit returns ErrFull
// without taking it: the caller may drop it or keep it and retry once Config.OnRoom reports room.
type Emitter interface {
	Emit(f []byte) error
}

// ErrFull is returned by Emit when the destination has no room for one more frame now.
var ErrFull = errors.New("relay: destination full")

// A Hook is called from the copy loop for every frame moving in direction dir that passed the runt
// check; f is only valid during the call. It must not block: it returns Pass, Drop, or Keep after
// copying f (it may send the copy later with out.Emit, out being the same for every call in one
// direction). With no Hook, and with a Hook that does not allocate, Join allocates nothing per frame.
type Hook func(dir Dir, f []byte, out Emitter) Verdict

// Config tunes Join; the zero value (or a nil *Config) is the plain copy.
type Config struct {
	// Stats, when not nil, receives the counters; it may be read while Join runs.
	Stats *Stats
	// Hook, when not nil, sees every frame (see Hook).
	Hook Hook
	// NoFastPath keeps Join on the goroutine path even for raw endpoints (for tests and comparisons).
	NoFastPath bool
	// Gate, when not nil, is asked before each read of direction dir's input: a time in the future
	// holds that input unread until then (frames already read wait too), so that its sender is
	// throttled, as wirefilter's interface speed does. The zero time (or a past one) lets it read.
	// It must not block; it is called from the copy loop.
	Gate func(dir Dir) time.Time
	// OnRoom, when not nil, is called from the copy loop once the destination of direction dir has
	// room again after an Emit in that direction returned ErrFull. It must not block (it may Emit).
	OnRoom func(dir Dir)
	// Timer, when not nil, lets the Hook's owner send the frames it keeps from the copy loop itself,
	// at their time, rather than from a timer goroutine that hands them over. Timer does the work due
	// at now (it may Emit) and returns when it wants to be called next (zero: no deadline). The fast
	// path calls it once when it starts, again after every round in which a Hook or OnRoom ran (they
	// may have made the deadline earlier), and when the deadline has come: its poll(2) also waits on a
	// timerfd set for the deadline, which expires on time (a poll timeout may expire 0.1 % late), so
	// the deadline's call comes neither before it nor with a hand-off between threads after it. It
	// must not block. The goroutine path never calls it, so an owner that has not been called must
	// keep its own timer.
	Timer func(now time.Time) (next time.Time)
	// Bunched, once it holds true, lets a stream write to a pipe carry every record queued (up to
	// 64 KB), as a write to any other descriptor does. Until then (and when it is nil) such a write
	// carries whole records of at most 2048 bytes: vde2's wirefilter reads its pipes 2048 bytes at a
	// time and loses its place in the stream when a read cuts a record header. The owner sets it once
	// it knows that no such reader holds the pipes (sched.Follow's Flow.Bunch); fewer, larger writes
	// cost a cable far fewer system calls and context switches. The fast path reads it before every
	// write; the goroutine path writes one record per write anyway.
	Bunched *atomic.Bool
	// MaxRecord, when not nil and holding a positive value, is the longest record a stream input is
	// read as in step with: a longer header drops what was read with it, as one declaring more than
	// frame.MaxLen bytes does (Counters.Oversize). The owner sets it once it knows that the stream's
	// writer never writes longer records, so that a header its writer corrupted is found out more
	// often: vplug sets it to 1521 when vde2's wirefilter writes its input (sched.Follow's
	// Flow.MaxRecord), whose overlapping buffers can give a record the first two bytes of another
	// frame's destination MAC as its length. The fast path reads it before every parse; the goroutine
	// path (not Linux, where no such peer is looked for) does not.
	MaxRecord *atomic.Int32
}

// Join copies frames both ways between a and b until one side ends or ctx is done, then closes both and
// returns once nothing runs any more. It takes ownership of a and b. It returns nil for an orderly end
// (see the package documentation) and the error that ended it otherwise. cfg may be nil.
func Join(ctx context.Context, a, b frame.Endpoint, cfg *Config) error {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Stats == nil {
		c.Stats = new(Stats)
	}
	if !c.NoFastPath {
		if ok, err := joinFast(ctx, a, b, &c); ok {
			return err
		}
	}
	return joinGo(ctx, a, b, &c)
}

// joinGo is the general path: one goroutine per direction.
func joinGo(ctx context.Context, a, b frame.Endpoint, c *Config) error {
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	done := make(chan struct{})
	stop := func(err error) {
		once.Do(func() {
			firstErr = err
			close(done)
			a.Close()
			b.Close()
		})
	}
	ab := &goEmitter{dst: b, c: &c.Stats.Dir[AtoB]}
	ba := &goEmitter{dst: a, c: &c.Stats.Dir[BtoA]}
	wg.Go(func() { stop(pump(a, ab, AtoB, c, done)) })
	wg.Go(func() { stop(pump(b, ba, BtoA, c, done)) })
	unwatch := context.AfterFunc(ctx, func() { stop(nil) })
	wg.Wait()
	unwatch()
	ab.closed.Store(true)
	ba.closed.Store(true)
	return result(firstErr)
}

// pump copies frames from src to out's destination until a read fails or the destination is gone.
func pump(src frame.Endpoint, out *goEmitter, dir Dir, c *Config, done <-chan struct{}) error {
	hook := c.Hook
	buf := make([]byte, frame.MaxLen)
	var timer *time.Timer
	ov, _ := src.(oversizer)
	var seen uint64
	for {
		if c.Gate != nil {
			if d := time.Until(c.Gate(dir)); d > 0 {
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				select {
				case <-timer.C:
				case <-done:
					timer.Stop()
					return nil
				}
			}
		}
		n, err := src.ReadFrame(buf)
		if ov != nil {
			if k := ov.Oversize(); k != seen {
				out.c.Drops.Add(k - seen)
				out.c.Oversize.Add(k - seen)
				seen = k
			}
		}
		if err != nil {
			return err
		}
		if n < frame.HeaderLen {
			out.c.Runts.Add(1)
			continue
		}
		if hook != nil {
			switch hook(dir, buf[:n], out) {
			case Drop:
				out.c.Drops.Add(1)
				continue
			case Keep:
				continue
			}
		}
		if err := out.send(buf[:n]); err != nil {
			return err
		}
	}
}

// An oversizer is a stream endpoint that counts the oversize headers it met (stream.Conn).
type oversizer interface{ Oversize() uint64 }

// goEmitter sends to an Endpoint, applying the write-error policy; it is the Emitter of the goroutine path.
type goEmitter struct {
	dst    frame.Endpoint
	c      *Counters
	closed atomic.Bool
}

// send writes f; it returns an error only when the destination is gone.
func (e *goEmitter) send(f []byte) error {
	if err := e.dst.WriteFrame(f); err != nil {
		if gone(err) {
			return err
		}
		e.c.Drops.Add(1)
		return nil
	}
	e.c.Frames.Add(1)
	e.c.Bytes.Add(uint64(len(f)))
	return nil
}

// Emit implements Emitter.
func (e *goEmitter) Emit(f []byte) error {
	if e.closed.Load() {
		return net.ErrClosed
	}
	if len(f) < frame.HeaderLen {
		e.c.Runts.Add(1)
		return nil
	}
	return e.send(f)
}

// result maps the error that ended a relay to Join's result.
func result(err error) error {
	if orderly(err) {
		return nil
	}
	return err
}

// orderly reports whether err is a normal way for a relay to end.
func orderly(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || gone(err)
}

// gone reports whether a write error means the destination will never accept frames again.
func gone(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTCONN)
}
