// SPDX-License-Identifier: GPL-2.0-or-later

package tap

import (
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/offload"
	"golang.org/x/sys/unix"
)

// offloadTries are the TUNSETOFFLOAD flag sets asked for, in turn, until the kernel takes one: it
// answers EINVAL for a flag it does not know (USO came with Linux 6.2).
var offloadTries = []int{
	offload.TunCsum | offload.TunTSO4 | offload.TunTSO6 | offload.TunTSOECN | offload.TunUSO4 | offload.TunUSO6,
	offload.TunCsum | offload.TunTSO4 | offload.TunTSO6 | offload.TunTSOECN,
	offload.TunCsum | offload.TunTSO4 | offload.TunTSO6,
	offload.TunCsum,
}

// setOffload is the TUNSETOFFLOAD ioctl; tests replace it to make the kernel refuse flags.
var setOffload = func(fd, flags int) error { return unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, flags) }

// pktBuf holds the largest packet a TAP with offloads reads: its virtio-net header, an Ethernet header
// with two VLAN tags and a 64 KB IP packet.
const pktBuf = offload.HdrLen + 22 + 65535 + 40

// Write operations of an offloading device (offState.op).
const (
	opPlain = iota // write wbuf as it is
	opAdd          // give wbuf to the coalescer
	opFlush        // write what the coalescer holds
)

// offState is the offload state of a device opened with Config.Offload and granted offloads.
type offState struct {
	flags    int // the TUN_F_* flags in force
	maxFrame int

	// Read side: used by ReadFrame or ReadFrameFrom, never concurrently.
	seg  offload.Segmenter
	pbuf []byte

	// Write side: guarded by Device.wmu.
	co   *offload.Coalescer
	wfd  int
	op   int
	zero [offload.HdrLen]byte
	iov  [2]unix.Iovec

	drops atomic.Uint64 // packets read that could not be segmented
	tso   atomic.Uint64 // TCP GSO packets read
	uso   atomic.Uint64 // UDP GSO packets read
	spare int           // see keepSpare; -1 when none
}

func newOffState(flags, maxFrame int) *offState {
	if maxFrame <= 0 || maxFrame > frame.MaxLen {
		maxFrame = frame.MaxLen
	}
	o := &offState{flags: flags, maxFrame: maxFrame, pbuf: make([]byte, pktBuf), spare: -1}
	o.co = offload.NewCoalescer(o.writePkt)
	return o
}

// writePkt is the coalescer's WriteFunc: one write(2) of the header and the packet to o.wfd when pkt
// follows hdr in memory (as the Coalescer passes them), one writev(2) of both otherwise.
func (o *offState) writePkt(hdr, pkt []byte) error {
	if len(pkt) == 0 {
		return nil
	}
	one := unsafe.Add(unsafe.Pointer(&hdr[0]), len(hdr)) == unsafe.Pointer(&pkt[0])
	if !one {
		o.iov[0].Base, o.iov[1].Base = &hdr[0], &pkt[0]
		o.iov[0].SetLen(len(hdr))
		o.iov[1].SetLen(len(pkt))
	}
	for {
		var e syscall.Errno
		if one {
			_, _, e = syscall.RawSyscall(syscall.SYS_WRITE, uintptr(o.wfd), uintptr(unsafe.Pointer(&hdr[0])), uintptr(len(hdr)+len(pkt)))
		} else {
			_, _, e = syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(o.wfd), uintptr(unsafe.Pointer(&o.iov[0])), 2)
		}
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return e
	}
}

// do runs the write operation op on f with descriptor fd (the caller holds Device.wmu).
func (o *offState) do(fd, op int, f []byte) syscall.Errno {
	o.wfd = fd
	var err error
	switch op {
	case opPlain:
		err = o.writePkt(o.zero[:], f)
	case opAdd:
		err = o.co.Add(f)
	case opFlush:
		err = o.co.Flush()
	}
	if err != nil {
		return err.(syscall.Errno)
	}
	return 0
}

// next copies the next frame of the packet read last into b; 0 when there is none.
func (o *offState) next(b []byte) int {
	for o.seg.Pending() {
		if n := o.seg.Next(b); n > 0 {
			return n
		}
		o.drops.Add(1) // b too short
	}
	return 0
}

// load prepares the frames of the n bytes read into pbuf.
func (o *offState) load(n int) {
	if o.seg.Reset(o.pbuf[:n], o.maxFrame) != nil {
		o.drops.Add(1)
		return
	}
	switch o.seg.GSOType() {
	case offload.GSOTCPv4, offload.GSOTCPv6:
		o.tso.Add(1)
	case offload.GSOUDPL4:
		o.uso.Add(1)
	}
}

// ReadFrameFrom implements frame.RawFramer for pkg/relay's poll loop (Config.Offload with Config.Raw).
func (d *Device) ReadFrameFrom(fd int, b []byte) (int, syscall.Errno) {
	o := d.off
	if o == nil {
		return 0, syscall.EINVAL
	}
	for {
		if n := o.next(b); n > 0 {
			return n, 0
		}
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&o.pbuf[0])), uintptr(len(o.pbuf)))
		switch e {
		case 0:
			o.load(int(n))
		case syscall.EINTR:
		default:
			return 0, e
		}
	}
}

// Buffered implements frame.RawFramer: it reports whether frames of the last packet read wait.
func (d *Device) Buffered() bool { return d.off != nil && d.off.seg.Pending() }

// WriteFrameTo implements frame.RawFramer: f is coalesced with the frames that follow it (GRO) or
// written at once to fd.
func (d *Device) WriteFrameTo(fd int, f []byte) syscall.Errno {
	if d.off == nil {
		return syscall.EINVAL
	}
	d.wmu.Lock()
	e := d.off.do(fd, opAdd, f)
	d.wmu.Unlock()
	return e
}

// FlushTo implements frame.RawFramer: it writes the coalesced packets to fd.
func (d *Device) FlushTo(fd int) syscall.Errno {
	if d.off == nil {
		return 0
	}
	d.wmu.Lock()
	e := d.off.do(fd, opFlush, nil)
	d.wmu.Unlock()
	return e
}

// Offloads returns the TUNSETOFFLOAD flags (offload.TunCsum, ...) the device was granted; 0 means it
// moves plain frames (Config.Offload was not set or the kernel refused every offload).
func (d *Device) Offloads() int {
	if d.off == nil {
		return 0
	}
	return d.off.flags
}

// OffloadStats count what a device with offloads read: the GSO packets it cut into frames, and the
// packets it dropped because they could not be (malformed, or a UDP datagram larger than the frame
// limit). They are safe to read while frames are read.
type OffloadStats struct {
	TSO, USO, Drops uint64
}

// OffloadStats returns the device's OffloadStats (zero without offloads).
func (d *Device) OffloadStats() OffloadStats {
	if d.off == nil {
		return OffloadStats{}
	}
	return OffloadStats{TSO: d.off.tso.Load(), USO: d.off.uso.Load(), Drops: d.off.drops.Load()}
}

// CoalesceStats returns what the coalescer of a device with offloads joined so far. It is safe to call
// while frames are written.
func (d *Device) CoalesceStats() offload.CoalescerStats {
	if d.off == nil {
		return offload.CoalescerStats{}
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.off.co.Stats
}

// keepSpare prepares the restoring of a persistent TAP's flags: TUNSETIFF sets the interface's
// IFF_VNET_HDR (tun_flags) for whoever attaches, and it outlives the descriptor. For a persistent
// device it opens a second, unattached descriptor on the clone device now, while the calling thread is
// in the device's network namespace, for restore to attach without IFF_VNET_HDR after Close.
func (o *offState) keepSpare(fd int, name, clone string) {
	o.spare = -1
	ifr, err := unix.NewIfreq(name)
	if err != nil || unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr) != nil || ifr.Uint16()&unix.IFF_PERSIST == 0 {
		return
	}
	if s, err := unix.Open(clone, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
		o.spare = s
	}
}

// restore attaches the spare descriptor to the (persistent) device name with the flags a plain
// attach gives (IFF_TAP|IFF_NO_PI) and closes it, leaving tun_flags as they were before the offloading
// attach. The device is looked up in the namespace the spare was opened in.
func (o *offState) restore(name string) {
	if o.spare < 0 {
		return
	}
	if ifr, err := unix.NewIfreq(name); err == nil {
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		unix.IoctlIfreq(o.spare, unix.TUNSETIFF, ifr) // EBUSY: someone attached meanwhile, their flags hold
	}
	unix.Close(o.spare)
	o.spare = -1
}
