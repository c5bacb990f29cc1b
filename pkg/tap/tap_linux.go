// SPDX-License-Identifier: GPL-2.0-or-later

package tap

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/pkg/frame"
	"golang.org/x/sys/unix"
)

// A Device is an open TAP or TUN device, always with IFF_NO_PI (no packet information header).
// For a TAP it is a frame.Endpoint: ReadFrame and WriteFrame move one Ethernet frame each, without
// allocating. ReadFrame must not be called concurrently with itself; WriteFrame and the other methods
// are safe for concurrent use. Close unblocks a blocked ReadFrame; afterwards the I/O methods return
// errors wrapping net.ErrClosed.
//
// Frames are read and written with raw system calls (the descriptor is non-blocking, so they cannot
// block) inside the runtime poller's RawConn callbacks, which wait for readiness. Unlike os.File's
// Read and Write this allocates nothing even when a frame fails (EIO while the interface is down,
// which os.File would wrap in a new *PathError per frame) and skips the scheduler's system-call
// bookkeeping.
//
// A Device opened with Config.Raw keeps its descriptor out of the runtime poller instead: it is a
// frame.Raw, whose descriptor pkg/relay's poll(2) loop reads and writes itself, and its own ReadFrame and
// WriteFrame wait in poll(2) on the descriptor and on an eventfd that Close signals.
type Device struct {
	f         *os.File
	rc        syscall.RawConn
	name      string
	kind      Kind
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	raw       *rawfd.FD // set when opened raw: f and rc are nil

	// Read state, used only by ReadFrame (which is never concurrent with itself); readFn is
	// d.rawRead, bound once so that ReadFrame does not allocate.
	rbuf   []byte
	rn     int
	rerr   syscall.Errno
	readFn func(uintptr) bool

	wmu     sync.Mutex // guards the write state (and off's)
	wbuf    []byte
	werr    syscall.Errno
	writeFn func(uintptr) bool

	off *offState // offloads granted: nil for plain frames
}

var (
	_ frame.Endpoint  = (*Device)(nil)
	_ frame.Raw       = (*Device)(nil)
	_ frame.MTUer     = (*Device)(nil)
	_ frame.RawFramer = (*Device)(nil)
)

// Open opens the TAP device name, creating it non-persistent if it does not exist. An existing
// device keeps its persistence, owner and group.
func Open(name string) (*Device, error) {
	return OpenConfig(Config{Name: name})
}

// OpenConfig opens the device described by c, creating it non-persistent if it does not exist.
// An existing device keeps its persistence, owner and group. The error names the device and, when
// the clone device cannot be opened, its path.
func OpenConfig(c Config) (*Device, error) {
	clone := c.CloneDev
	if clone == "" {
		clone = DefaultCloneDev
	}
	fd, name, offl, err := attach(c, clone)
	if err != nil {
		return nil, err
	}
	var off *offState
	if offl != 0 {
		off = newOffState(offl, c.MaxFrame)
		off.keepSpare(fd, name, clone)
	}
	if c.Raw {
		raw, err := rawfd.New(fd, true, true)
		if err != nil {
			unix.Close(fd)
			if off != nil {
				off.restore(name)
			}
			return nil, fmt.Errorf("%s %q: %w", c.Kind, name, err)
		}
		return &Device{raw: raw, name: name, kind: c.Kind, off: off}, nil
	}
	// os.NewFile registers the non-blocking descriptor with the runtime poller, so Close unblocks a
	// reader parked in ReadFrame.
	d := &Device{f: os.NewFile(uintptr(fd), clone), name: name, kind: c.Kind, off: off}
	rc, err := d.f.SyscallConn()
	if err != nil {
		d.f.Close()
		if off != nil {
			off.restore(name)
		}
		return nil, fmt.Errorf("%s %q: %w", c.Kind, name, err)
	}
	d.rc, d.readFn, d.writeFn = rc, d.rawRead, d.rawWrite
	return d, nil
}

// attach opens the clone device and attaches the descriptor to the interface (TUNSETIFF). With
// c.Offload (for a TAP) it asks for IFF_VNET_HDR and then for the largest set of offloadTries the
// kernel grants, returned as offl; when it grants none, or refuses IFF_VNET_HDR, it attaches again
// without, and offl is 0. The descriptor is closed on every error path.
func attach(c Config, clone string) (fd int, name string, offl int, err error) {
	vnet := c.Offload && c.Kind == TAP
	for {
		fd, name, err = setIff(c, clone, vnet)
		if err != nil {
			if vnet && errors.Is(err, unix.EINVAL) {
				vnet = false
				continue
			}
			return -1, "", 0, err
		}
		if !vnet {
			return fd, name, 0, nil
		}
		for _, fl := range offloadTries {
			if setOffload(fd, fl) == nil {
				return fd, name, fl, nil
			}
		}
		unix.Close(fd) // no offload granted: plain frames, without the virtio-net header
		vnet = false
	}
}

// setIff opens the clone device and issues TUNSETIFF, with IFF_VNET_HDR when vnet is set.
func setIff(c Config, clone string, vnet bool) (int, string, error) {
	ifr, err := unix.NewIfreq(c.Name)
	if err != nil {
		return -1, "", fmt.Errorf("%s %q: name too long: %w", c.Kind, c.Name, os.ErrInvalid)
	}
	fd, err := unix.Open(clone, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, "", &os.PathError{Op: "open", Path: clone, Err: err}
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if c.Kind == TUN {
		flags = unix.IFF_TUN | unix.IFF_NO_PI
	}
	if vnet {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		if err == unix.EINVAL && c.Name != "" {
			err = fmt.Errorf("%w (%w)", ErrNotTAP, err)
		}
		return -1, "", fmt.Errorf("%s %q: TUNSETIFF: %w", c.Kind, c.Name, err)
	}
	return fd, ifr.Name(), nil
}

// Name returns the interface name, as the kernel chose it when Config.Name was empty.
func (d *Device) Name() string { return d.name }

// Kind returns TAP or TUN.
func (d *Device) Kind() Kind { return d.kind }

// ReadFrame blocks until the kernel sends a frame out of the interface and copies it into b, which
// should be at least frame.MaxLen bytes (the kernel truncates longer frames to len(b)).
// It returns the frame length.
func (d *Device) ReadFrame(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if d.off != nil {
		return d.readOffload(b)
	}
	if d.raw != nil {
		n, err := d.raw.Read(b)
		if err != nil {
			return 0, d.mapErr(err)
		}
		return n, nil
	}
	return d.readPkt(b)
}

// readPkt does one read of the device into b, through the runtime poller.
func (d *Device) readPkt(b []byte) (int, error) {
	d.rbuf = b
	err := d.rc.Read(d.readFn)
	d.rbuf = nil
	if err != nil {
		return 0, d.mapErr(err)
	}
	if d.rerr != 0 {
		return 0, d.mapErr(d.rerr)
	}
	return d.rn, nil
}

// readOffload is ReadFrame with offloads: the next frame of the packet read last, or of a new one.
func (d *Device) readOffload(b []byte) (int, error) {
	o := d.off
	for {
		if n := o.next(b); n > 0 {
			return n, nil
		}
		var n int
		var err error
		if d.raw != nil {
			if n, err = d.raw.Read(o.pbuf); err != nil {
				err = d.mapErr(err)
			}
		} else {
			n, err = d.readPkt(o.pbuf)
		}
		if err != nil {
			return 0, err
		}
		o.load(n)
	}
}

// rawRead is the RawConn.Read callback: one read(2), false to wait for readability on EAGAIN.
func (d *Device) rawRead(fd uintptr) bool {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&d.rbuf[0])), uintptr(len(d.rbuf)))
	if e == syscall.EAGAIN {
		return false
	}
	if e == syscall.EINTR {
		return d.rawRead(fd)
	}
	d.rn, d.rerr = int(n), e
	return true
}

// WriteFrame injects one frame into the interface as if it had been received from the wire.
// The caller keeps ownership of b. A failure for this frame only (EIO while the interface is down)
// is returned as a bare syscall.Errno, without allocating.
func (d *Device) WriteFrame(b []byte) error {
	return d.write(opPlain, b)
}

// QueueFrame is WriteFrame for a batch of frames: on a device with offloads the frame may be kept,
// to be joined with the TCP segments of its flow that follow (GRO), until Flush. It copies b. On a
// device without offloads it is WriteFrame. It is safe for concurrent use, as Flush is.
func (d *Device) QueueFrame(b []byte) error {
	if d.off == nil {
		return d.write(opPlain, b)
	}
	return d.write(opAdd, b)
}

// Flush writes what QueueFrame kept; call it at the end of every batch. A failure may belong to any
// of the frames kept.
func (d *Device) Flush() error {
	if d.off == nil {
		return nil
	}
	return d.write(opFlush, nil)
}

// write runs the write operation op: on a plain device it writes b; on a device with offloads op says
// whether b is written with an empty virtio-net header, coalesced, or the coalesced packets flushed.
func (d *Device) write(op int, b []byte) error {
	if len(b) == 0 && op != opFlush {
		return nil
	}
	if d.raw != nil && d.off == nil {
		if _, err := d.raw.Write(b); err != nil {
			return d.mapErr(err)
		}
		return nil
	}
	d.wmu.Lock()
	var err error
	var werr syscall.Errno
	if d.raw != nil {
		// The descriptor stays open while wmu is held: Close takes wmu before closing it.
		if d.closed.Load() {
			err = errClosed
		} else {
			werr = d.off.do(d.raw.Fd(), op, b)
		}
	} else {
		d.wbuf = b
		if d.off != nil {
			d.off.op = op
		}
		err = d.rc.Write(d.writeFn)
		d.wbuf = nil
		werr = d.werr
	}
	d.wmu.Unlock()
	if err != nil {
		return d.mapErr(err)
	}
	if werr != 0 {
		return d.mapErr(werr)
	}
	return nil
}

// rawWrite is the RawConn.Write callback: one write(2), false to wait for writability on EAGAIN. With
// offloads it runs off.op instead (a TAP takes writes without waiting; EAGAIN drops).
func (d *Device) rawWrite(fd uintptr) bool {
	if d.off != nil {
		d.werr = d.off.do(int(fd), d.off.op, d.wbuf)
		return true
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&d.wbuf[0])), uintptr(len(d.wbuf)))
	if e == syscall.EAGAIN {
		return false
	}
	if e == syscall.EINTR {
		return d.rawWrite(fd)
	}
	d.werr = e
	return true
}

// errClosed is what I/O on a closed device (or on a device deleted under us) returns.
var errClosed = fmt.Errorf("tap: %w", net.ErrClosed)

// mapErr turns any error after Close, the os package's closed-file errors and EBADF/EBADFD (the
// interface was deleted) into net.ErrClosed.
func (d *Device) mapErr(err error) error {
	if d.closed.Load() || errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EBADF) || errors.Is(err, syscall.EBADFD) {
		return errClosed
	}
	return err
}

// Close releases the device; a non-persistent device disappears. It is idempotent and unblocks
// ReadFrame.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		if d.off != nil {
			// The offloads are the interface's, not the descriptor's: a persistent TAP would keep
			// handing 64 KB packets to its next user, which may not expect them.
			d.control(func(fd uintptr) { setOffload(int(fd), 0) })
		}
		d.closed.Store(true)
		d.wmu.Lock() // wait for a write on the raw descriptor (see write)
		d.wmu.Unlock()
		if d.raw != nil {
			d.closeErr = d.raw.Close()
		} else {
			d.closeErr = d.f.Close()
		}
		if d.off != nil {
			d.off.restore(d.name)
		}
	})
	return d.closeErr
}

// RawDesc implements frame.Raw: it reports the descriptor of a Device opened with Config.Raw.
func (d *Device) RawDesc() (frame.RawDesc, bool) {
	if d.raw == nil || d.closed.Load() {
		return frame.RawDesc{}, false
	}
	rd := frame.RawDesc{Read: d.raw.Fd(), Write: d.raw.Fd(), Cancel: d.raw.CancelFd()}
	if d.off != nil {
		rd.Framer = d
	}
	return rd, true
}

// RawFD returns the descriptor of a Device opened with Config.Raw (nil otherwise), for a poll loop that
// reads the device itself with RawFD().Control and ReadFrameFrom (vswitch's data plane); Close waits for
// such a read to return. Writes still go through WriteFrame, QueueFrame and Flush.
func (d *Device) RawFD() *rawfd.FD { return d.raw }

// control runs f on the device's descriptor.
func (d *Device) control(f func(fd uintptr)) error {
	if d.raw != nil {
		if d.closed.Load() {
			return errClosed
		}
		f(uintptr(d.raw.Fd()))
		return nil
	}
	return d.rc.Control(f)
}

// ioctl runs a configuration ioctl with an integer argument on the device's descriptor.
func (d *Device) ioctl(req uint, arg int, what string) error {
	var ierr error
	if err := d.control(func(fd uintptr) { ierr = unix.IoctlSetInt(int(fd), req, arg) }); err != nil {
		return d.mapErr(err)
	}
	if ierr != nil {
		return fmt.Errorf("%s %q: %s: %w", d.kind, d.name, what, ierr)
	}
	return nil
}

// SetPersist makes the device persistent (it outlives its descriptors, as tunctl makes it) or not.
func (d *Device) SetPersist(on bool) error {
	v := 0
	if on {
		v = 1
	}
	return d.ioctl(unix.TUNSETPERSIST, v, "TUNSETPERSIST")
}

// SetOwner restricts attaching to the device to the user uid (and root); uid must be a valid id.
func (d *Device) SetOwner(uid int) error { return d.ioctl(unix.TUNSETOWNER, uid, "TUNSETOWNER") }

// SetGroup allows the members of group gid to attach to the device; gid must be a valid id.
func (d *Device) SetGroup(gid int) error { return d.ioctl(unix.TUNSETGROUP, gid, "TUNSETGROUP") }

// Flags returns the device's IFF_* flags as TUNGETIFF reports them (IFF_TAP, IFF_NO_PI, IFF_PERSIST, ...).
func (d *Device) Flags() (uint16, error) {
	ifr, err := unix.NewIfreq(d.name)
	if err != nil {
		return 0, err
	}
	var ierr error
	if err := d.control(func(fd uintptr) { ierr = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr) }); err != nil {
		return 0, d.mapErr(err)
	}
	if ierr != nil {
		return 0, fmt.Errorf("%s %q: TUNGETIFF: %w", d.kind, d.name, ierr)
	}
	return ifr.Uint16(), nil
}

// Persistent reports whether the device is persistent.
func (d *Device) Persistent() (bool, error) {
	fl, err := d.Flags()
	return fl&unix.IFF_PERSIST != 0, err
}

// MTU returns the interface's current MTU, asked from the kernel in the network namespace the
// calling thread is in (normally the one the device was made in). A TAP carries frames of up to
// MTU + frame.HeaderLen bytes (+ frame.TagLen when tagged).
func (d *Device) MTU() (int, error) {
	return LinkMTU(d.name)
}

// LinkMTU returns the MTU of the interface name (SIOCGIFMTU).
func LinkMTU(name string) (int, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("mtu of %q: %w", name, err)
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("mtu of %q: socket: %w", name, err)
	}
	defer unix.Close(s)
	if err := unix.IoctlIfreq(s, unix.SIOCGIFMTU, ifr); err != nil {
		return 0, fmt.Errorf("mtu of %q: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}
