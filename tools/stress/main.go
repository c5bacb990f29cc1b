// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

// Command stress drives the MAC table flood benchmark (scripts/bench-macflood.sh) and the soak
// (scripts/soak-vswitch.sh) against a running switch, ours or vde_switch, named by its control
// directory, its -M socket and its pid. It prints "key value" lines (flood) or one line per sample
// (soak) on stdout.
//
//	stress flood -sock DIR -mgmt SOCK -pid PID [-time D] [-drain D] [-expire S] [-ours]
//	stress soak  -sock DIR -mgmt SOCK -pid PID [-time D] [-sample D] [-rate N] [-ours]
//
// flood: a flooder client sends frames with a new random unicast source MAC each, as fast as the
// switch takes them, to its own (learned) MAC, so the switch learns every source and then drops
// the frame: only the MAC table is loaded. Meanwhile a prober client sends a time-stamped frame to
// a receiver client every millisecond; the worst time a probe spent in the switch is the worst
// forwarding pause. After -time the flood stops and probing goes on for -drain, through the
// expiry of the flooded entries (-expire sets hash/setexpire). RSS is sampled every second.
//
// soak: 4 clients reconnect every 100 ms (each sends a broadcast while connected), a console polls
// port/print every 200 ms, a flooder sends new source MACs (at -rate frames/s, 0 = as fast as it
// can), and a stalled client never reads its socket. Every -sample it prints the switch's RSS,
// descriptors and threads (from /proc) and, with -ours, its goroutines and MAC table entries (the
// hidden runtime/stats and hash/stats commands).
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vde"
	"golang.org/x/sys/unix"
)

const batch = 64

// probeType is the ethertype of probe frames (local experimental).
const probeType = 0x88b5

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: stress flood|soak -sock DIR -mgmt SOCK -pid PID [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var o opts
	fs.StringVar(&o.sock, "sock", "", "switch control directory")
	fs.StringVar(&o.mgmt, "mgmt", "", "switch management socket")
	fs.IntVar(&o.pid, "pid", 0, "switch pid (for /proc)")
	fs.DurationVar(&o.time, "time", 20*time.Second, "flood (flood) or soak duration")
	fs.DurationVar(&o.drain, "drain", 30*time.Second, "probing after the flood (flood)")
	fs.IntVar(&o.expire, "expire", 0, "hash/setexpire before the flood, 0: leave it")
	fs.DurationVar(&o.sample, "sample", 10*time.Second, "sampling interval (soak)")
	fs.IntVar(&o.rate, "rate", 0, "flood frames/s, 0: as fast as possible")
	fs.BoolVar(&o.ours, "ours", false, "the switch is vswitch: read hash/stats and runtime/stats")
	fs.Parse(os.Args[2:])
	if o.sock == "" || o.mgmt == "" || o.pid == 0 {
		fmt.Fprintln(os.Stderr, "stress: -sock, -mgmt and -pid are required")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "flood":
		err = flood(o)
	case "soak":
		err = soak(o)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err)
		os.Exit(1)
	}
}

type opts struct {
	sock, mgmt   string
	pid          int
	time, drain  time.Duration
	sample       time.Duration
	expire, rate int
	ours         bool
}

func hostMAC(i int) frame.MAC { return frame.MAC{0x02, 0x53, 0, 0, 0, byte(i)} }

func mkFrame(dst, src frame.MAC, size int) []byte {
	b := make([]byte, size)
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], probeType)
	return b
}

func dial(dir, who string) (*vde.Conn, error) {
	return vde.Dial(context.Background(), dir, vde.DialOptions{Descr: vde.Description("stress-" + who + ":"),
		Timeout: 5 * time.Second})
}

// flooder sends frames from new random unicast MACs to dst (its own MAC) until stop, with sendmmsg,
// at most rate frames/s (0: as fast as the socket takes them). It counts the frames sent.
func flooder(rc syscall.RawConn, dst frame.MAC, rate int, stop *atomic.Bool, sent *atomic.Uint64) {
	var bufs [batch][60]byte
	var iovs [batch]unix.Iovec
	var msgs [batch]unix.Mmsghdr
	for i := range msgs {
		copy(bufs[i][0:6], dst[:])
		binary.BigEndian.PutUint16(bufs[i][12:14], probeType)
		iovs[i].Base = &bufs[i][0]
		iovs[i].SetLen(len(bufs[i]))
		msgs[i].Hdr.Iov = &iovs[i]
		msgs[i].Hdr.SetIovlen(1)
	}
	x := uint64(time.Now().UnixNano())
	off := 0
	fn := func(fd uintptr) bool {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[off])), uintptr(batch-off), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			off += int(n)
			return true
		case unix.EAGAIN:
			return false
		default:
			off = batch
			return true
		}
	}
	start := time.Now()
	var total uint64
	for !stop.Load() {
		for i := range bufs {
			x += 0x9e3779b97f4a7c15 // splitmix64
			z := x
			z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
			z = (z ^ z>>27) * 0x94d049bb133111eb
			z ^= z >> 31
			var m [8]byte
			binary.LittleEndian.PutUint64(m[:], z)
			m[0] = m[0]&^1 | 2 // unicast, locally administered
			copy(bufs[i][6:12], m[:6])
		}
		off = 0
		for off < batch && !stop.Load() {
			if err := rc.Write(fn); err != nil {
				return
			}
		}
		total += batch
		sent.Add(batch)
		if rate > 0 {
			if d := time.Duration(float64(total)/float64(rate)*float64(time.Second)) - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
	}
}

// probes sends a time-stamped frame from p to dst every interval until stop.
type probeStats struct {
	mu      sync.Mutex
	sent    uint64
	got     uint64
	maxLat  time.Duration // worst time in the switch, since the last take
	maxGap  time.Duration // worst gap between received probes, since the last take
	lastRx  time.Time
	allLat  time.Duration
	allGap  time.Duration
	sendGap time.Duration // the prober's own worst gap: scheduling noise on this machine
}

func (s *probeStats) take() (lat, gap time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat, gap = s.maxLat, s.maxGap
	s.maxLat, s.maxGap = 0, 0
	return lat, gap
}

func prober(p *vde.Conn, src, dst frame.MAC, interval time.Duration, stop *atomic.Bool, st *probeStats) {
	f := mkFrame(dst, src, 60)
	t := time.NewTicker(interval)
	defer t.Stop()
	var last time.Time
	for seq := uint64(0); !stop.Load(); seq++ {
		<-t.C
		now := time.Now()
		if !last.IsZero() {
			st.mu.Lock()
			st.sendGap = max(st.sendGap, now.Sub(last))
			st.mu.Unlock()
		}
		last = now
		binary.BigEndian.PutUint64(f[14:], seq)
		binary.BigEndian.PutUint64(f[22:], uint64(now.UnixNano()))
		if p.WriteFrame(f) == nil {
			st.mu.Lock()
			st.sent++
			st.mu.Unlock()
		}
	}
}

// receiver reads r's frames and records the probes' time in the switch and the gaps between them.
func receiver(r *vde.Conn, src frame.MAC, st *probeStats) {
	buf := make([]byte, frame.MaxLen+frame.TagLen)
	for {
		n, err := r.ReadFrame(buf)
		if err != nil {
			return
		}
		if n < 30 || frame.MAC(buf[6:12]) != src || binary.BigEndian.Uint16(buf[12:14]) != probeType {
			continue
		}
		now := time.Now()
		lat := now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(buf[22:30]))))
		st.mu.Lock()
		st.got++
		st.maxLat = max(st.maxLat, lat)
		st.allLat = max(st.allLat, lat)
		if !st.lastRx.IsZero() {
			g := now.Sub(st.lastRx)
			st.maxGap = max(st.maxGap, g)
			st.allGap = max(st.allGap, g)
		}
		st.lastRx = now
		st.mu.Unlock()
	}
}

// procStatus returns the VmRSS (kB) and Threads of pid.
func procStatus(pid int) (rssKB, threads int) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1, -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			rssKB, _ = strconv.Atoi(fields[0])
		case "Threads":
			threads, _ = strconv.Atoi(fields[0])
		}
	}
	return rssKB, threads
}

func procFDs(pid int) int {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(es)
}

// statValue returns the value of "name N" in a hash/stats or runtime/stats reply, -1 if absent.
func statValue(c *mgmt.Client, cmd, name string) int64 {
	r, err := c.Do(cmd)
	if err != nil || !r.OK() {
		return -1
	}
	for _, l := range r.Data {
		if k, v, ok := strings.Cut(l, " "); ok && k == name {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// countEntries returns the MAC table entries from hash/stats (ours), or -1. vde_switch has no such
// command and its hash/print of a flooded table does not arrive within a minute; since it reads and
// learns every frame the flooder sends, its entry count is the frames sent minus those expired.
func countEntries(c *mgmt.Client, ours bool) int {
	if !ours {
		return -1
	}
	return int(statValue(c, "hash/stats", "entries"))
}

func flood(o opts) error {
	con, err := mgmt.Dial(o.mgmt, mgmt.ClientOptions{Timeout: 60 * time.Second})
	if err != nil {
		return err
	}
	defer con.Close()
	if o.expire > 0 {
		if r, err := con.Do(fmt.Sprintf("hash/setexpire %d", o.expire)); err != nil || !r.OK() {
			return fmt.Errorf("hash/setexpire %d: %v %v", o.expire, r.Text, err)
		}
	}
	fl, err := dial(o.sock, "flood")
	if err != nil {
		return err
	}
	defer fl.Close()
	p, err := dial(o.sock, "probe")
	if err != nil {
		return err
	}
	defer p.Close()
	r, err := dial(o.sock, "recv")
	if err != nil {
		return err
	}
	defer r.Close()
	fmac, pmac, rmac := hostMAC(1), hostMAC(2), hostMAC(3)
	time.Sleep(300 * time.Millisecond) // vde_switch flushes its table when a port becomes active
	var stop, stopFlood atomic.Bool
	var wg sync.WaitGroup
	defer func() {
		stop.Store(true)
		stopFlood.Store(true)
		fl.Close()
		p.Close()
		r.Close()
		wg.Wait()
	}()
	announce := func() {
		fl.WriteFrame(mkFrame(fmac, fmac, 60)) // to itself: learned, then dropped
		r.WriteFrame(mkFrame(pmac, rmac, 60))
	}
	announce()
	time.Sleep(200 * time.Millisecond)
	var st probeStats
	wg.Go(func() { receiver(r, pmac, &st) })
	wg.Go(func() { prober(p, pmac, rmac, time.Millisecond, &stop, &st) })
	wg.Go(func() { // keep the three hosts' entries fresh through the flood and the drain
		for !stop.Load() {
			announce()
			time.Sleep(2 * time.Second)
		}
	})
	time.Sleep(time.Second)
	baseLat, _ := st.take()
	rss0, _ := procStatus(o.pid)
	fmt.Printf("rss_start_kb %d\n", rss0)
	fmt.Printf("probe_idle_worst_ms %.1f\n", ms(baseLat))
	rc, err := fl.RawData()
	if err != nil {
		return err
	}
	var sent atomic.Uint64
	wg.Go(func() { flooder(rc, fmac, o.rate, &stopFlood, &sent) })
	t0 := time.Now()
	var peakRSS int
	var floodLat, floodGap, drainLat, drainGap time.Duration
	for tick := 1; time.Since(t0) < o.time+o.drain; tick++ {
		time.Sleep(time.Second)
		rss, _ := procStatus(o.pid)
		peakRSS = max(peakRSS, rss)
		lat, gap := st.take()
		phase := "flood"
		if time.Since(t0) <= o.time+time.Second {
			floodLat, floodGap = max(floodLat, lat), max(floodGap, gap)
		} else {
			phase = "drain"
			drainLat, drainGap = max(drainLat, lat), max(drainGap, gap)
		}
		entries := int64(-1)
		if o.ours {
			entries = statValue(con, "hash/stats", "entries")
		}
		fmt.Fprintf(os.Stderr, "t=%ds %s rss_kb=%d sent=%d entries=%d worst_probe_ms=%.1f worst_gap_ms=%.1f\n",
			tick, phase, rss, sent.Load(), entries, ms(lat), ms(gap))
		if tick == int(o.time/time.Second) {
			stopFlood.Store(true)
			fmt.Printf("flood_frames %d\nflood_rate_per_s %.0f\n", sent.Load(), float64(sent.Load())/time.Since(t0).Seconds())
			fmt.Printf("entries_after_flood %d\n", countEntries(con, o.ours))
			fmt.Printf("rss_after_flood_kb %d\n", rss)
		}
	}
	rss, _ := procStatus(o.pid)
	st.mu.Lock()
	defer st.mu.Unlock()
	fmt.Printf("rss_peak_kb %d\nrss_end_kb %d\nentries_end %d\n", peakRSS, rss, countEntries(con, o.ours))
	fmt.Printf("worst_pause_flood_ms %.1f\nworst_gap_flood_ms %.1f\nworst_pause_drain_ms %.1f\nworst_gap_drain_ms %.1f\n",
		ms(floodLat), ms(floodGap), ms(drainLat), ms(drainGap))
	fmt.Printf("probes_sent %d\nprobes_received %d\nprober_worst_send_gap_ms %.1f\n", st.sent, st.got, ms(st.sendGap))
	if o.ours {
		for _, k := range []string{"refused", "expired", "shrunk", "maxstep", "capacity"} {
			fmt.Printf("table_%s %d\n", k, statValue(con, "hash/stats", k))
		}
		for _, k := range []string{"heap_inuse", "heap_released", "num_gc"} {
			fmt.Printf("%s %d\n", k, statValue(con, "runtime/stats", k))
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func soak(o opts) error {
	poll, err := mgmt.Dial(o.mgmt, mgmt.ClientOptions{Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer poll.Close()
	stats, err := mgmt.Dial(o.mgmt, mgmt.ClientOptions{Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer stats.Close()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var conns []*vde.Conn
	defer func() {
		stop.Store(true)
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	// The stalled client: connected, never reads.
	stalled, err := dial(o.sock, "stalled")
	if err != nil {
		return err
	}
	conns = append(conns, stalled)
	fl, err := dial(o.sock, "flood")
	if err != nil {
		return err
	}
	conns = append(conns, fl)
	time.Sleep(300 * time.Millisecond)
	fmac := hostMAC(1)
	fl.WriteFrame(mkFrame(fmac, fmac, 60))
	rc, err := fl.RawData()
	if err != nil {
		return err
	}
	var sent atomic.Uint64
	wg.Go(func() { flooder(rc, fmac, o.rate, &stop, &sent) })
	wg.Go(func() {
		for !stop.Load() { // keep the flooder's own entry, so its frames are dropped, not flooded
			fl.WriteFrame(mkFrame(fmac, fmac, 60))
			time.Sleep(2 * time.Second)
		}
	})
	var dials, dialErrs atomic.Uint64
	for i := range 4 {
		wg.Go(func() {
			f := mkFrame(frame.Broadcast, hostMAC(10+i), 60)
			for !stop.Load() {
				c, err := dial(o.sock, fmt.Sprintf("churn%d", i))
				dials.Add(1)
				if err != nil {
					dialErrs.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				c.WriteFrame(f)
				time.Sleep(100 * time.Millisecond)
				c.Close()
			}
		})
	}
	var polls, pollErrs atomic.Uint64
	var pollMax atomic.Int64
	wg.Go(func() {
		for !stop.Load() {
			t := time.Now()
			if r, err := poll.Do("port/print"); err != nil || !r.OK() {
				pollErrs.Add(1)
			}
			polls.Add(1)
			if d := int64(time.Since(t)); d > pollMax.Load() {
				pollMax.Store(d)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	fmt.Println("t_s rss_kb fds threads goroutines entries flood_sent dials dial_errs polls poll_errs poll_max_ms")
	t0 := time.Now()
	next := o.sample
	sample := func() {
		rss, thr := procStatus(o.pid)
		gor, ent := int64(-1), int64(-1)
		if o.ours {
			gor = statValue(stats, "runtime/stats", "goroutines")
			ent = statValue(stats, "hash/stats", "entries")
		}
		fmt.Printf("%d %d %d %d %d %d %d %d %d %d %d %.0f\n", int(time.Since(t0).Seconds()), rss, procFDs(o.pid), thr,
			gor, ent, sent.Load(), dials.Load(), dialErrs.Load(), polls.Load(), pollErrs.Load(),
			ms(time.Duration(pollMax.Swap(0))))
	}
	sample()
	for time.Since(t0) < o.time {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", o.pid)); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("switch pid %d is gone", o.pid)
		}
		time.Sleep(min(time.Second, o.time-time.Since(t0)))
		if time.Since(t0) >= next {
			sample()
			next += o.sample
		}
	}
	return nil
}
