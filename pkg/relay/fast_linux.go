// SPDX-License-Identifier: GPL-2.0-or-later

package relay

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/internal/sched"
	"github.com/govde/govde/pkg/frame"
)

const (
	// batch is how many reads one side gets before the other gets its turn.
	batch = 64
	// streamBuf is the size of a stream side's input and output buffers: several records per system
	// call, and always room for a whole record.
	streamBuf = 64 << 10
	// hdrLen is the VDE stream record header: a 2-byte big-endian length.
	hdrLen = 2
)

// poll set slots: the read and write descriptor of each side, the Timer's timerfd, the wake eventfd,
// both cancel descriptors (last: the Waiter's Rare ones, with the eventfd when no Hook can Emit).
const (
	slotRead  = 0 // + 2*side
	slotWrite = 1 // + 2*side
	slotTimer = 4
	slotWake  = 5
	slotCan0  = 6
	slotCan1  = 7
	nslots    = 8
)

// Fast reports whether Join(ctx, a, b, cfg) would run the fast path: one goroutine in a poll(2) loop
// (see sched.Waiter), which a tool may give a P of its own (sched.OneProc).
func Fast(a, b frame.Endpoint, cfg *Config) bool {
	_, _, ok := rawDescs(a, b)
	return ok && (cfg == nil || !cfg.NoFastPath)
}

// rawDescs returns the descriptors of a and b when both are raw endpoints that have them.
func rawDescs(a, b frame.Endpoint) (da, db frame.RawDesc, ok bool) {
	ra, ok := a.(frame.Raw)
	rb, ok2 := b.(frame.Raw)
	if !ok || !ok2 {
		return da, db, false
	}
	da, ok = ra.RawDesc()
	db, ok2 = rb.RawDesc()
	return da, db, ok && ok2
}

// joinFast runs the poll loop when both endpoints are raw; it reports false, having done nothing, when
// they are not (or their descriptors cannot be duplicated).
func joinFast(ctx context.Context, a, b frame.Endpoint, c *Config) (bool, error) {
	da, db, ok := rawDescs(a, b)
	if !ok {
		return false, nil
	}
	l := &loop{hook: c.Hook, gate: c.Gate, onRoom: c.OnRoom, timer: c.Timer, stats: c.Stats, wake: -1, tfd: -1,
		w: sched.NewWaiter(), now: sched.Mono}
	l.w.Rare = nslots - slotCan0
	if c.Hook == nil {
		// Without a Hook nothing Emits: only stop signals the eventfd, and the cancel descriptors'
		// latency (see sched.Waiter.Rare) will do for it. Each descriptor left out of a hot wait
		// spares the kernel a poll call and a wait-queue entry per wait.
		l.w.Rare = nslots - slotWake
	}
	defer l.release()
	if !l.sides[0].init(da, &c.Stats.Dir[BtoA]) || !l.sides[1].init(db, &c.Stats.Dir[AtoB]) {
		return false, nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return false, nil
	}
	l.wake = efd
	if l.timer != nil {
		// Without a timerfd the loop waits for the Timer's deadlines with poll timeouts (pollTimeout).
		if tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK); err == nil {
			l.tfd = tfd
		}
	}
	for i := range l.sides {
		l.sides[i].out.wake = efd
		l.sides[i].out.stream = l.sides[i].stream
		l.sides[i].out.bunched = c.Bunched
		l.sides[i].maxRecord = c.MaxRecord
	}
	c.Stats.FastPath.Store(true)

	unwatch := context.AfterFunc(ctx, func() { l.stop(nil) })
	loopDone := make(chan struct{})
	var wg sync.WaitGroup
	for _, ep := range []frame.Endpoint{a, b} {
		if h, ok := ep.(frame.Hanger); ok {
			wg.Go(func() {
				select {
				case <-h.Done():
					if h.HungUp() {
						l.stop(io.EOF)
					} else {
						l.stop(nil)
					}
				case <-loopDone:
				}
			})
		}
	}
	l.stop(l.run())
	close(loopDone)
	wg.Wait()
	unwatch()
	for i := range l.sides {
		l.sides[i].out.close()
	}
	// The duplicates go first: a persistent TAP with offloads restores its flags when its last
	// descriptor is closed (see tap.Device.Close).
	l.release()
	a.Close()
	b.Close()
	return true, result(l.err)
}

// loop is the state of one fast-path Join; it lives on the heap, once per Join.
type loop struct {
	sides [2]side // 0 is a, 1 is b
	hook  Hook
	gate  func(Dir) time.Time
	// onRoom is Config.OnRoom
	onRoom func(Dir)
	// timer is Config.Timer; due is its deadline (zero: none), ran says a Hook or OnRoom ran since
	// timer was last called. tfd is a timerfd armed for due (armed: the deadline it is set for), or -1.
	timer func(time.Time) time.Time
	due   time.Time
	ran   bool
	tfd   int
	armed time.Time
	stats *Stats
	wake  int // eventfd: stop and the Emitters wake the loop

	stopOnce sync.Once
	stopped  atomic.Bool
	err      error

	fds   [nslots]unix.PollFd
	w     *sched.Waiter
	now   func() time.Duration // sched.Mono; a test's clock in tests
	round uint64               // counts the poll(2) wake-ups
}

// side is one endpoint: its input state (frames read from it) and out, the frames going to it.
type side struct {
	rfd, wfd, cfd int             // duplicates, -1 when not open
	stream        bool            // VDE stream records rather than one frame per read/write
	fr            frame.RawFramer // not nil: frames go through it (a TAP with offloads)
	rnb           bool            // rfd is non-blocking: read until EAGAIN
	in            []byte
	start, end    int // stream: unparsed input is in[start:end]
	out           outq
	mm            *mmsgBufs // a datagram socket: read with recvmmsg
	// lone says that a packet source (a TAP: one packet per read, no batch read) last gave one packet
	// and then nothing: it is read once per wake-up, not again until EAGAIN, which would cost a lone
	// packet (a ping) a system call between its arrival and the next one's. Reading it in two rounds
	// in a row (lastRead is the round of the last read that gave a packet) ends that: a burst is read
	// until EAGAIN again.
	lone     bool
	lastRead uint64
	// lastFrame is when a read of a datagram socket last gave frames (sched.Mono): see rawfd.Sparse.
	lastFrame time.Duration
	// maxRecord, when not nil and positive, is the longest stream record read as in step
	// (Config.MaxRecord); frame.MaxLen otherwise.
	maxRecord *atomic.Int32
	// answers says that the side is a non-blocking packet device (a TAP): the host's stack handles a
	// frame written to it within the write(2), and what that makes it send back (a ping's echo
	// reply, a TCP ACK) is there to read when the write returns. After a round that wrote to it, the
	// loop reads it at once instead of after one more poll(2), as ans allows (see answer).
	answers bool
	ans     rawfd.Answers
	// sent is out's frame count when this side's input was last pumped, or at the round's start.
	sent uint64
}

// limit returns the longest stream record read as in step.
func (s *side) limit() int {
	if s.maxRecord != nil {
		if m := int(s.maxRecord.Load()); m > 0 {
			return m
		}
	}
	return frame.MaxLen
}

// init duplicates the descriptors of d; cnt counts the frames going to this side.
func (s *side) init(d frame.RawDesc, cnt *Counters) bool {
	s.rfd, s.wfd, s.cfd = -1, -1, -1
	s.out.fd = -1
	var err error
	if s.rfd, err = unix.FcntlInt(uintptr(d.Read), unix.F_DUPFD_CLOEXEC, 0); err != nil {
		s.rfd = -1
		return false
	}
	if s.wfd, err = unix.FcntlInt(uintptr(d.Write), unix.F_DUPFD_CLOEXEC, 0); err != nil {
		s.wfd = -1
		return false
	}
	if s.cfd, err = unix.FcntlInt(uintptr(d.Cancel), unix.F_DUPFD_CLOEXEC, 0); err != nil {
		s.cfd = -1
		return false
	}
	fl, err := unix.FcntlInt(uintptr(s.rfd), unix.F_GETFL, 0)
	if err != nil {
		return false
	}
	s.rnb = fl&unix.O_NONBLOCK != 0
	if fl, err = unix.FcntlInt(uintptr(s.wfd), unix.F_GETFL, 0); err != nil {
		return false
	}
	s.out.nb = fl&unix.O_NONBLOCK != 0
	s.stream = d.Stream
	s.fr, s.out.fr = d.Framer, d.Framer
	if s.stream {
		s.in = make([]byte, streamBuf)
		s.out.buf = make([]byte, streamBuf)
	} else {
		s.in = make([]byte, frame.MaxLen)
		s.out.buf = make([]byte, frame.MaxLen)
	}
	s.out.fd, s.out.c = s.wfd, cnt
	if s.stream && isPipe(s.wfd) {
		s.out.chunk = pipeChunk
	}
	s.answers = !s.stream && s.rnb && !isDgramSocket(s.rfd) && !isPipe(s.rfd)
	if !s.stream && s.fr == nil {
		if isDgramSocket(s.rfd) {
			s.mm = newMmsgBufs()
		}
		if isDgramSocket(s.wfd) {
			s.out.mm = newMmsgBufs()
		}
	}
	return true
}

// release closes the duplicated descriptors; it is idempotent.
func (l *loop) release() {
	for i := range l.sides {
		s := &l.sides[i]
		for _, fd := range []*int{&s.rfd, &s.wfd, &s.cfd} {
			if *fd >= 0 {
				unix.Close(*fd)
				*fd = -1
			}
		}
	}
	if l.wake >= 0 {
		unix.Close(l.wake)
		l.wake = -1
	}
	if l.tfd >= 0 {
		unix.Close(l.tfd)
		l.tfd = -1
	}
	l.w.Close()
}

// stop records the first reason to end and wakes the loop.
func (l *loop) stop(err error) {
	l.stopOnce.Do(func() {
		l.err = err
		l.stopped.Store(true)
		signal(l.wake)
	})
}

// signal makes the eventfd efd readable.
func signal(efd int) {
	one := uint64(1)
	unix.Write(efd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

// run moves frames until a descriptor fails or stop wakes it, and returns why it stopped (nil when stopped).
func (l *loop) run() error {
	// Unless a Timer is set, the goroutine is not locked to its thread: it comes back from poll(2) on
	// the thread that slept in it as long as sysmon leaves its P alone (see sched.Waiter, which
	// waits and yields for the loop), and a yield of a locked goroutine
	// would cost two futex wake-ups and two context switches (the locked thread hands its P over and
	// sleeps until the scheduler hands the goroutine back); measured on a TCP flow through a cable of
	// two vplugs, locked and yielding made 2.6 times the futex calls of unlocked and yielding.
	if l.timer != nil {
		// Delays: the thread's timer slack is 1 ns while the loop runs (fineSlack), so the loop stays
		// on that thread.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer fineSlack()()
		l.ran = true
	}
	l.fds[slotCan0] = unix.PollFd{Fd: int32(l.sides[0].cfd), Events: unix.POLLIN}
	l.fds[slotCan1] = unix.PollFd{Fd: int32(l.sides[1].cfd), Events: unix.POLLIN}
	l.fds[slotWake] = unix.PollFd{Fd: int32(l.wake), Events: unix.POLLIN}
	l.fds[slotTimer] = unix.PollFd{Fd: int32(l.tfd), Events: unix.POLLIN}
	var drain [8]byte
	for {
		if l.stopped.Load() {
			return nil
		}
		if l.onRoom != nil {
			for i := range l.sides {
				if l.sides[i].out.roomAgain() {
					l.onRoom(Dir(1 - i)) // side i receives the frames of direction 1-i
					l.ran = true
				}
			}
		}
		timeout := time.Duration(-1)
		if l.timer != nil {
			if l.ran || !l.due.IsZero() && !time.Now().Before(l.due) {
				if err := l.runTimer(); err != nil {
					return err
				}
				// An Emit of the Timer may have met ErrFull and the flush made room since: OnRoom
				// (above) must hear of it before the loop sleeps.
				continue
			}
			if !l.due.IsZero() {
				if d := time.Until(l.due); l.tfd < 0 || d <= 0 {
					timeout = pollTimeout(d)
				} else if !l.due.Equal(l.armed) {
					l.arm(d)
				}
			}
		}
		for i := range l.sides {
			src, dst := &l.sides[i], &l.sides[1-i]
			rd, wr := &l.fds[slotRead+2*i], &l.fds[slotWrite+2*i]
			*rd = unix.PollFd{Fd: -1}
			*wr = unix.PollFd{Fd: -1}
			dst.out.mu.Lock()
			room := dst.out.room()
			src.out.mu.Lock()
			pending, werr := src.out.pending(), src.out.err
			src.out.mu.Unlock()
			dst.out.mu.Unlock()
			if werr != nil {
				return werr // an Emit met a fatal write error
			}
			if wait := l.held(Dir(i)); wait > 0 {
				if timeout < 0 || wait < timeout {
					timeout = wait
				}
			} else if room {
				*rd = unix.PollFd{Fd: int32(src.rfd), Events: unix.POLLIN}
				if src.complete() {
					timeout = 0 // records already read wait for the room that is now there
				}
			}
			if pending {
				*wr = unix.PollFd{Fd: int32(src.wfd), Events: unix.POLLOUT}
			}
		}
		e := l.poll(timeout)
		l.round++
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return os.NewSyscallError("poll", e)
		}
		if l.fds[slotCan0].Revents|l.fds[slotCan1].Revents != 0 {
			return nil // an endpoint was closed from outside
		}
		if l.fds[slotTimer].Revents != 0 {
			sysIO(syscall.SYS_READ, l.tfd, drain[:], true) // the deadline has come: go round
			l.armed = time.Time{}
		}
		if l.fds[slotWake].Revents != 0 {
			if l.stopped.Load() {
				return nil
			}
			sysIO(syscall.SYS_READ, l.wake, drain[:], true) // an Emitter left something to flush: go round
		}
		// POLLERR, POLLHUP and POLLNVAL come unasked; the next read or write reports them.
		const canRead = unix.POLLIN | unix.POLLERR | unix.POLLHUP | unix.POLLNVAL
		const canWrite = unix.POLLOUT | unix.POLLERR | unix.POLLHUP | unix.POLLNVAL
		for i := range l.sides {
			if l.fds[slotWrite+2*i].Revents&canWrite != 0 {
				o := &l.sides[i].out
				o.mu.Lock()
				err := o.flush()
				o.mu.Unlock()
				if err != nil {
					return err
				}
			}
		}
		// sent tells answer whether a side was written to after its input was pumped this round.
		for i := range l.sides {
			l.sides[i].sent = l.sides[i].out.c.Frames.Load()
		}
		for i := range l.sides {
			readable := l.fds[slotRead+2*i].Revents&canRead != 0
			if readable || (l.fds[slotRead+2*i].Fd >= 0 && l.sides[i].complete()) {
				l.sides[i].sent = l.sides[i].out.c.Frames.Load()
				if err := l.pump(i, readable); err != nil {
					return err
				}
			}
		}
		for i := range l.sides {
			if err := l.answer(i); err != nil {
				return err
			}
		}
	}
}

// answer reads side i once more when frames were written to it since its input was last pumped and it
// answers within a write (side.answers): the reply to a ping written to a TAP leaves with the write's
// round, saving the poll(2) that would only report it, a system call on the round trip of every frame
// that the host answers (vde2's plug2tap polls before every read). A side whose answers do not come (a
// host that only receives, the pinging host itself) is read so once in rawfd.AnswerProbe such rounds.
func (l *loop) answer(i int) error {
	s := &l.sides[i]
	if !s.answers || l.fds[slotRead+2*i].Fd < 0 || s.out.c.Frames.Load() == s.sent || !s.ans.Try() {
		return nil
	}
	// This read does not count as the side's read of the round (lastRead, which pump's burst rule
	// looks at): with one poll(2) per ping left, the answers to consecutive pings come in consecutive
	// rounds and would look like a burst. That pump set lastRead tells that it read a packet.
	before := s.lastRead
	s.lastRead = 0
	err := l.pump(i, true)
	s.ans.Got(s.lastRead != 0)
	s.lastRead = before
	return err
}

// runTimer calls Config.Timer and writes what it emitted; the Emits need no wake-up, as the loop
// flushes both queues afterwards.
func (l *loop) runTimer() error {
	l.ran = false
	for i := range l.sides {
		o := &l.sides[i].out
		o.mu.Lock()
		o.inHook = true
		o.mu.Unlock()
	}
	l.due = l.timer(time.Now())
	var err error
	for i := range l.sides {
		o := &l.sides[i].out
		o.mu.Lock()
		o.inHook = false
		if ferr := o.flush(); err == nil {
			err = ferr
		}
		o.mu.Unlock()
	}
	return err
}

// arm sets the timerfd to expire in d (> 0): a timerfd expires on time, with none of the lateness
// (timer slack) the kernel allows a poll(2) timeout, and needs no wake-up ahead of the deadline. Raw,
// as the loop's other system calls that cannot block (see sched.Waiter).
func (l *loop) arm(d time.Duration) {
	if sched.RawTimerfdSet(l.tfd, d) != 0 {
		unix.Close(l.tfd) // cannot happen with a valid descriptor; fall back to poll timeouts
		l.tfd = -1
		l.fds[slotTimer].Fd = -1
		return
	}
	l.armed = l.due
}

// exact is how far ahead of a Timer deadline the loop sleeps for the whole remaining time; farther
// ahead it sleeps in steps. The kernel lets a poll(2) timeout expire late by up to 0.1 % of it
// (0.5 % for a niced thread), beyond the thread's timer slack: 200 µs on a 200 ms wait.
const exact = time.Millisecond

// pollTimeout returns how long to poll for a deadline d away: all of it when d ≤ exact; otherwise
// less, by more than the kernel's 0.5 % lateness, so that the wake-up comes before the deadline and
// the rest is waited for with a short, accurate timeout.
func pollTimeout(d time.Duration) time.Duration {
	if d <= exact {
		return max(d, 0)
	}
	return d - d/128 - exact/2
}

// fineSlack sets the calling thread's timer slack to 1 ns, so that a short poll(2) timeout expires
// on time instead of up to 50 µs late (the default slack), and returns the function that restores it.
// The caller has locked its goroutine to the thread.
func fineSlack() (restore func()) {
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) != nil {
		return func() {}
	}
	return func() { unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0) }
}

// held returns how long Config.Gate holds direction dir's input (≤ 0: not held).
func (l *loop) held(dir Dir) time.Duration {
	if l.gate == nil {
		return 0
	}
	t := l.gate(dir)
	if t.IsZero() {
		return 0
	}
	return time.Until(t)
}

// poll waits in ppoll(2) on the poll set for at most timeout (< 0: no limit), with nanosecond
// resolution so that a gated direction resumes on time.
func (l *loop) poll(timeout time.Duration) syscall.Errno {
	_, e := l.w.Wait(l.fds[:], timeout)
	return e
}

// pump moves frames from side i to the other side: the stream records already read, then up to batch
// reads (one when the descriptor is blocking), while the destination has room.
func (l *loop) pump(i int, readable bool) error {
	src, dst := &l.sides[i], &l.sides[1-i]
	o := &dst.out
	o.mu.Lock()
	defer o.mu.Unlock()
	dir := Dir(i)
	var err error
	if src.stream {
		err = l.parse(src, o, dir)
	}
	packets := src.rnb && !src.stream && src.mm == nil // read until EAGAIN, one packet a read
	if packets && src.lone && src.lastRead+1 == l.round {
		src.lone = false // read in the round before too: a burst
	}
	reads := 0 // reads that gave a packet
	for n := 0; err == nil && (readable || src.fr != nil && src.fr.Buffered()) && n < batch && l.held(dir) <= 0; n++ {
		if n > 0 && !src.rnb {
			break
		}
		sys := src.fr == nil || !src.fr.Buffered() // this read is a system call
		if sys && reads > 0 && src.lone {
			break
		}
		if !o.room() {
			// Write what waits (a full sendmmsg ring, say) and go on reading if that made room.
			if err = o.flush(); err != nil || !o.room() {
				break
			}
			// Records already read come first.
			if src.stream {
				if err = l.parse(src, o, dir); err != nil || !o.room() {
					break
				}
			}
		}
		var more bool
		if more, err = l.readOnce(src, o, dir); !more {
			if packets && err == nil && sys && reads == 1 {
				src.lone = true // one packet, then nothing
			}
			break
		}
		if sys {
			reads++
			src.lastRead = l.round
		}
		if err == nil && o.mm != nil && !src.stream && src.mm == nil && (src.fr == nil || !src.fr.Buffered()) {
			// A TAP gives one packet per read (a GSO packet's segments come out of the Framer
			// first): what it gave goes on to the datagram socket now, not after the read that
			// finds the TAP empty, which would delay every lone frame (a ping) by a system call.
			// The frames of one packet still leave in one sendmmsg. (Towards a TAP or a stream,
			// frames wait for the end of the burst: GRO and several records per write need them.)
			err = o.flush()
		}
	}
	if ferr := o.flush(); err == nil {
		err = ferr
	}
	return err
}

// readOnce does one read(2) from src (one recvmmsg from a datagram socket) and delivers what it got;
// more is false when the descriptor had nothing (EAGAIN).
func (l *loop) readOnce(src *side, o *outq, dir Dir) (more bool, err error) {
	if src.mm != nil {
		return l.readMmsg(src, o, dir)
	}
	var b []byte
	if src.stream {
		if src.start == src.end {
			src.start, src.end = 0, 0
		} else if len(src.in)-src.start < hdrLen+frame.MaxLen {
			src.end = copy(src.in, src.in[src.start:src.end])
			src.start = 0
		}
		b = src.in[src.end:]
	} else {
		b = src.in
	}
	if len(b) == 0 {
		return false, nil // a full buffer of records waits for room (pump parses it first)
	}
	var n int
	var e syscall.Errno
	if src.fr != nil {
		n, e = src.fr.ReadFrameFrom(src.rfd, b)
	} else {
		n, e = sysIO(syscall.SYS_READ, src.rfd, b, src.rnb)
	}
	if e != 0 {
		return l.readErr(e)
	}
	if !src.stream {
		l.deliver(o, dir, src.in[:n])
		return true, nil
	}
	if n == 0 {
		if src.end > src.start {
			return false, io.ErrUnexpectedEOF
		}
		return false, io.EOF
	}
	src.end += int(n)
	// A read that did not fill the buffer emptied the pipe or socket: reading again would only meet
	// EAGAIN (poll(2) tells when more comes).
	return n == len(b), l.parse(src, o, dir)
}

// readErr maps a read error: more is true when reading may go on.
func (l *loop) readErr(e syscall.Errno) (more bool, err error) {
	switch e {
	case syscall.EAGAIN, syscall.EINTR:
		return false, nil
	case syscall.ECONNREFUSED:
		return true, nil // an ICMP or peer-gone report for an earlier send; reads go on
	case syscall.ECONNRESET:
		return false, io.EOF // the switch closed our port
	case syscall.EBADF, syscall.EBADFD:
		return false, net.ErrClosed
	default:
		return false, os.NewSyscallError("read", e)
	}
}

// parse delivers the complete records in src.in[start:end] while the destination has room; empty
// records are skipped. A header declaring more than frame.MaxLen bytes (or src's Config.MaxRecord)
// means the stream has lost its record boundaries: what was read is dropped (counted once as dropped
// and oversize) and parsing starts again with the next read, as stream.Reader and vdeplug4 do.
func (l *loop) parse(src *side, o *outq, dir Dir) error {
	limit := src.limit()
	for {
		if src.end-src.start < hdrLen || !o.room() || l.held(dir) > 0 {
			return o.err
		}
		n := int(binary.BigEndian.Uint16(src.in[src.start:]))
		switch {
		case n == 0:
			src.start += hdrLen
			continue
		case n > limit:
			o.c.Drops.Add(1)
			o.c.Oversize.Add(1)
			src.start = src.end
			continue
		case src.end-src.start < hdrLen+n:
			return o.err
		}
		l.deliver(o, dir, src.in[src.start+hdrLen:src.start+hdrLen+n])
		src.start += hdrLen + n
	}
}

// complete reports whether a whole record (or an oversize header) waits in the stream input, or frames
// in the Framer.
func (s *side) complete() bool {
	if s.fr != nil {
		return s.fr.Buffered()
	}
	if !s.stream || s.end-s.start < hdrLen {
		return false
	}
	n := int(binary.BigEndian.Uint16(s.in[s.start:]))
	return n > s.limit() || s.end-s.start >= hdrLen+n
}

// deliver applies the runt policy and the hook to f and queues it on o (whose lock the caller holds).
func (l *loop) deliver(o *outq, dir Dir, f []byte) {
	if len(f) < frame.HeaderLen {
		o.c.Runts.Add(1)
		return
	}
	if l.hook != nil {
		l.ran = true
		// The hook may Emit (a duplicate, say) before it returns: it runs without o's lock.
		o.inHook = true
		o.mu.Unlock()
		v := l.hook(dir, f, o)
		o.mu.Lock()
		o.inHook = false
		switch {
		case v == Drop:
			o.c.Drops.Add(1)
			return
		case v == Keep:
			return
		case !o.room(): // what the hook emitted took the room
			o.c.Drops.Add(1)
			return
		}
	}
	o.put(f)
}
