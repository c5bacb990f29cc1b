// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

// Command wfprobe measures what a UDP flow sees through an impaired link, for the wirefilter accuracy
// benchmark (scripts/bench-wirefilter.sh): loss rate, loss burst lengths, one-way delay distribution
// and delivered rate.
//
//	wfprobe recv -listen ADDR:PORT -n N [-overhead BYTES] [-first D] [-idle D] [-max D] [-ready FILE]
//	wfprobe send -to ADDR:PORT -n N -interval D [-size BYTES]
//
// send sends N datagrams of -size payload bytes on a fixed schedule, one every -interval (when it
// falls behind, it sends what is due at once, so the mean rate holds). Each payload carries its
// sequence number and the CLOCK_REALTIME time it was sent.
//
// recv counts datagrams 0..N-1 by sequence number and reads each one's kernel arrival time
// (SO_TIMESTAMPNS, CLOCK_REALTIME). Sender and receiver run on one machine (in two network
// namespaces, which share the clock), so arrival minus send time is the one-way delay. It stops when
// all N arrived, when nothing arrived for -idle after the first datagram, when none arrived within
// -first, or after -max, and prints one line of key=value pairs:
//
//	recv       distinct datagrams received          dup    duplicates      reord  arrivals with a lower sequence than an earlier one
//	loss       lost fraction of N                   bursts runs of consecutive lost sequence numbers    burst  mean run length
//	dmean dsd dp50 dp99 dmin dmax   one-way delay in ms (mean, standard deviation, percentiles, extremes)
//	rate       delivered bytes/s between the first and the last arrival, counting each datagram as
//	           payload + -overhead bytes (42 = the Ethernet frame: 14 Ethernet + 20 IPv4 + 8 UDP)
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

const hdrLen = 16 // sequence number, send time in ns (both big-endian uint64)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wfprobe send|recv [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	listen := fs.String("listen", "", "recv: address to listen on")
	to := fs.String("to", "", "send: destination address")
	n := fs.Int("n", 1000, "datagrams")
	interval := fs.Duration("interval", time.Millisecond, "send: time between datagrams")
	size := fs.Int("size", 64, "send: payload bytes (>= 16)")
	overhead := fs.Int("overhead", 42, "recv: bytes added to each payload in the rate figure")
	first := fs.Duration("first", 5*time.Second, "recv: give up when nothing arrives within this")
	idle := fs.Duration("idle", time.Second, "recv: stop this long after the last arrival")
	maxT := fs.Duration("max", 60*time.Second, "recv: stop after this in any case")
	ready := fs.String("ready", "", "recv: file to create once listening")
	runs := fs.Int("runs", 0, "recv: print the first this many runs of lost datagrams to stderr (seq, length, when)")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "send":
		err = send(*to, *n, *interval, *size)
	case "recv":
		err = recv(*listen, *n, *overhead, *first, *idle, *maxT, *ready, *runs)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wfprobe:", err)
		os.Exit(1)
	}
}

func now() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
	return ts.Nano()
}

func send(to string, n int, interval time.Duration, size int) error {
	if size < hdrLen {
		return fmt.Errorf("-size %d: want >= %d", size, hdrLen)
	}
	c, err := net.Dial("udp", to)
	if err != nil {
		return err
	}
	defer c.Close()
	b := make([]byte, size)
	start := time.Now()
	errs := 0
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		binary.BigEndian.PutUint64(b[0:8], uint64(i))
		binary.BigEndian.PutUint64(b[8:16], uint64(now()))
		if _, err := c.Write(b); err != nil {
			errs++ // ECONNREFUSED from an ICMP error, ENOBUFS: count, go on
		}
	}
	if errs > 0 {
		fmt.Fprintf(os.Stderr, "wfprobe: %d send errors\n", errs)
	}
	return nil
}

func recv(addr string, n, overhead int, first, idle, maxT time.Duration, ready string, runs int) error {
	if n <= 0 {
		return fmt.Errorf("-n %d: want > 0", n)
	}
	la, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadBuffer(4 << 20)
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", serr)
	}
	if ready != "" {
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			return err
		}
	}

	seen := make([]bool, n)
	delays := make([]float64, 0, n) // ms
	var got, dup, reord int
	var bytes int64
	var tFirst, tLast int64
	maxSeq := -1
	buf := make([]byte, 65536)
	oob := make([]byte, 128)
	begin := time.Now()
	hardStop := begin.Add(maxT)
	for got < n {
		dl := begin.Add(first)
		if tFirst != 0 {
			dl = time.Now().Add(idle)
		}
		if dl.After(hardStop) {
			dl = hardStop
		}
		c.SetReadDeadline(dl)
		m, oobn, _, _, err := c.ReadMsgUDP(buf, oob)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return err
		}
		at := rxTime(oob[:oobn])
		if m < hdrLen {
			continue
		}
		seq := binary.BigEndian.Uint64(buf[0:8])
		sent := int64(binary.BigEndian.Uint64(buf[8:16]))
		if seq >= uint64(n) {
			continue
		}
		i := int(seq)
		if seen[i] {
			dup++
			continue
		}
		seen[i] = true
		got++
		if i < maxSeq {
			reord++
		}
		maxSeq = max(maxSeq, i)
		if tFirst == 0 {
			tFirst = at
		} else {
			bytes += int64(m + overhead) // the first arrival only opens the interval
		}
		tLast = at
		delays = append(delays, float64(at-sent)/1e6)
	}

	lost, bursts, run := 0, 0, 0
	for i, ok := range seen {
		if !ok {
			lost++
			if run == 0 {
				bursts++
			}
			run++
		}
		if run > 0 && (ok || i == n-1) && bursts <= runs {
			start := i - run
			if !ok {
				start++
			}
			fmt.Fprintf(os.Stderr, "lost %d..%d (%d)\n", start, start+run-1, run)
		}
		if ok {
			run = 0
		}
	}
	burst := 0.0
	if bursts > 0 {
		burst = float64(lost) / float64(bursts)
	}
	rate := 0.0
	if tLast > tFirst {
		rate = float64(bytes) / (float64(tLast-tFirst) / 1e9)
	}
	mean, sd := meanSD(delays)
	slices.Sort(delays)
	fmt.Printf("n=%d recv=%d dup=%d reord=%d lost=%d loss=%.6f bursts=%d burst=%.4f "+
		"dmean=%.4f dsd=%.4f dp50=%.4f dp99=%.4f dmin=%.4f dmax=%.4f rate=%.1f\n",
		n, got, dup, reord, lost, float64(lost)/float64(n), bursts, burst,
		mean, sd, pct(delays, 0.50), pct(delays, 0.99), pct(delays, 0), pct(delays, 1), rate)
	return nil
}

// rxTime returns the SCM_TIMESTAMPNS arrival time in oob, or now when there is none.
func rxTime(oob []byte) int64 {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
				return sec*1e9 + nsec
			}
		}
	}
	return now()
}

func meanSD(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	mean := s / float64(len(v))
	var q float64
	for _, x := range v {
		q += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(q / float64(len(v)))
}

// pct returns the p-quantile of sorted v (nearest rank).
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(v)))) - 1
	return v[min(max(i, 0), len(v)-1)]
}
