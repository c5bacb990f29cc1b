// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

// Command loadgen drives vswitch benchmarks (scripts/bench-vswitch.sh): it runs an in-process
// vswitch, or measures the frames/s a switch delivers between VDE clients, or the rate of a bare
// datagram socket pair with the same sender and receiver code.
//
//	loadgen serve -sock DIR [-tap IF]...        run a vswitch on DIR until SIGINT/SIGTERM
//	loadgen switch -sock DIR [-pairs N] [-size BYTES] [-time D] [-unbatched]
//	loadgen pair [-pairs N] [-size BYTES] [-time D] [-unbatched]
//
// switch connects N receivers and N senders; only once all are connected do the receivers
// announce their MACs (vde_switch flushes its MAC table when a port becomes active), then sender
// i sends unicast frames to receiver i as fast as the switch takes them, with sendmmsg. It prints
// the frames/s received, summed over the receivers, measured after a warm-up, the number of
// frames received in all (warm-up included) and the number of frames sent in all: the share of
// the sent frames that arrived is the third figure over the second.
//
// With -unbatched the senders and receivers move one frame per system call, as QEMU and
// libvdeplug do: a sender blocks while its socket is full (libvdeplug's socket is blocking).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
	"github.com/govde/govde/pkg/vswitch"
	"golang.org/x/sys/unix"
)

const batch = 64

// unbatched: one frame per system call (the -unbatched flag).
var unbatched bool

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen serve|switch|pair [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	sock := fs.String("sock", "", "switch directory")
	pairs := fs.Int("pairs", 1, "sender/receiver pairs")
	size := fs.Int("size", 64, "frame size in bytes")
	dur := fs.Duration("time", 3*time.Second, "measurement time")
	var taps multi
	fs.Var(&taps, "tap", "TAP interface to attach (serve; repeatable)")
	prof := fs.String("cpuprofile", "", "write a CPU profile (serve)")
	fs.BoolVar(&unbatched, "unbatched", false, "one frame per send/recv system call (as QEMU)")
	fs.Parse(os.Args[2:])
	if *prof != "" {
		f, err := os.Create(*prof)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(*sock, taps)
	case "switch":
		err = viaSwitch(*sock, *pairs, *size, *dur)
	case "pair":
		err = viaPair(*pairs, *size, *dur)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type multi []string

func (m *multi) String() string     { return fmt.Sprint(*m) }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func serve(dir string, taps []string) error {
	ln, err := vde.Listen(dir, vde.ListenOptions{Group: vde.NoGroup, MgmtGroup: vde.NoGroup})
	if err != nil {
		return err
	}
	s, err := vswitch.New(vswitch.Config{})
	if err != nil {
		return err
	}
	for _, t := range taps {
		if _, err := s.AddTap(t); err != nil {
			s.Close()
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); s.Close() }()
	err = s.Serve(ln)
	for _, p := range s.Ports(true) {
		fmt.Fprintf(os.Stderr, "port %d in %+v out %+v\n", p.Num, p.In, p.Out)
	}
	s.Close()
	ln.RemoveDir()
	return err
}

func hostMAC(role byte, i int) frame.MAC {
	return frame.MAC{0x02, 0x42, role, 0, byte(i >> 8), byte(i)}
}

func mkFrame(dst, src frame.MAC, size int) []byte {
	b := make([]byte, size)
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	b[12], b[13] = 0x88, 0xb5 // local experimental ethertype
	return b
}

// sender sends f in batches with sendmmsg (one send per frame if unbatched), blocking when the
// socket is full, until stop; it counts the frames sent in sent.
func sender(rc syscall.RawConn, f []byte, stop *atomic.Bool, sent *atomic.Uint64) {
	if unbatched {
		var one uint64
		fn1 := func(fd uintptr) bool {
			_, _, e := unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&f[0])), uintptr(len(f)), unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case 0:
				one = 1
			case unix.EAGAIN:
				return false
			default:
				one = 0
			}
			return true
		}
		for !stop.Load() {
			if err := rc.Write(fn1); err != nil {
				return
			}
			sent.Add(one)
		}
		return
	}
	var iovs [batch]unix.Iovec
	var msgs [batch]unix.Mmsghdr
	for i := range msgs {
		iovs[i].Base = &f[0]
		iovs[i].SetLen(len(f))
		msgs[i].Hdr.Iov = &iovs[i]
		msgs[i].Hdr.SetIovlen(1)
	}
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
			off = batch // drop the rest (peer gone)
			return true
		}
	}
	for !stop.Load() {
		off = 0
		for off < batch && !stop.Load() {
			before := off
			if err := rc.Write(fn); err != nil {
				return
			}
			sent.Add(uint64(off - before))
		}
	}
}

// receiver counts the frames read from rc until it fails.
func receiver(rc syscall.RawConn, count *atomic.Uint64) {
	bufs := make([][]byte, batch)
	var iovs [batch]unix.Iovec
	var msgs [batch]unix.Mmsghdr
	for i := range bufs {
		bufs[i] = make([]byte, frame.MaxLen+frame.TagLen)
		iovs[i].Base = &bufs[i][0]
		iovs[i].SetLen(len(bufs[i]))
		msgs[i].Hdr.Iov = &iovs[i]
		msgs[i].Hdr.SetIovlen(1)
	}
	var got int
	var rerr error
	nb := uintptr(batch)
	if unbatched {
		nb = 1
	}
	fn := func(fd uintptr) bool {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), nb, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			got, rerr = int(n), nil
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			got = 0
		default:
			rerr = e
		}
		return true
	}
	for {
		if err := rc.Read(fn); err != nil || rerr != nil {
			return
		}
		count.Add(uint64(got))
	}
}

// measure runs the senders, waits for a warm-up, and returns the receive rate over d, the
// number of frames received in all and the number sent in all.
func measure(senders, receivers []syscall.RawConn, frames [][]byte, d time.Duration) (float64, uint64, uint64) {
	var count, sent atomic.Uint64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, rc := range receivers {
		go receiver(rc, &count)
	}
	for i, rc := range senders {
		wg.Go(func() { sender(rc, frames[i], &stop, &sent) })
	}
	time.Sleep(500 * time.Millisecond)
	c0, t0 := count.Load(), time.Now()
	time.Sleep(d)
	c1, t1 := count.Load(), time.Now()
	stop.Store(true)
	wg.Wait()
	time.Sleep(50 * time.Millisecond) // what is still in flight
	return float64(c1-c0) / t1.Sub(t0).Seconds(), count.Load(), sent.Load()
}

func viaSwitch(dir string, pairs, size int, d time.Duration) error {
	ctx := context.Background()
	var rx, tx []*vde.Conn
	defer func() {
		for _, c := range append(rx, tx...) {
			c.Close()
		}
	}()
	opt := vde.DialOptions{Descr: vde.Description("loadgen:"), Timeout: 5 * time.Second}
	for range pairs {
		c, err := vde.Dial(ctx, dir, opt)
		if err != nil {
			return err
		}
		rx = append(rx, c)
	}
	for range pairs {
		c, err := vde.Dial(ctx, dir, opt)
		if err != nil {
			return err
		}
		tx = append(tx, c)
	}
	time.Sleep(300 * time.Millisecond) // let the switch settle the new ports
	for i, c := range rx {
		if err := c.WriteFrame(mkFrame(frame.Broadcast, hostMAC(1, i), 60)); err != nil {
			return err
		}
	}
	time.Sleep(200 * time.Millisecond)
	var srcs, dsts []syscall.RawConn
	var frames [][]byte
	for i := range pairs {
		r, err := rx[i].RawData()
		if err != nil {
			return err
		}
		s, err := tx[i].RawData()
		if err != nil {
			return err
		}
		dsts = append(dsts, r)
		srcs = append(srcs, s)
		frames = append(frames, mkFrame(hostMAC(1, i), hostMAC(2, i), size))
	}
	rate, total, sent := measure(srcs, dsts, frames, d)
	fmt.Printf("%.0f %d %d\n", rate, total, sent)
	return nil
}

func viaPair(pairs, size int, d time.Duration) error {
	var srcs, dsts []syscall.RawConn
	var frames [][]byte
	for i := range pairs {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		var conns [2]*net.UnixConn
		for j, fd := range fds {
			f := os.NewFile(uintptr(fd), "pair")
			c, err := net.FileConn(f)
			f.Close()
			if err != nil {
				return err
			}
			conns[j] = c.(*net.UnixConn)
			defer conns[j].Close()
		}
		s, _ := conns[0].SyscallConn()
		r, _ := conns[1].SyscallConn()
		srcs = append(srcs, s)
		dsts = append(dsts, r)
		frames = append(frames, mkFrame(hostMAC(1, i), hostMAC(2, i), size))
	}
	if len(srcs) == 0 {
		return errors.New("no pairs")
	}
	rate, total, sent := measure(srcs, dsts, frames, d)
	fmt.Printf("%.0f %d %d\n", rate, total, sent)
	return nil
}
