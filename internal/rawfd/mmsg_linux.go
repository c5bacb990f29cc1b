// SPDX-License-Identifier: GPL-2.0-or-later

package rawfd

import (
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WireMmsg gives each of msgs a buffer of size bytes, through the iovec of the same index, for
// recvmmsg(2): msgs[i] receives into bufs[i], which it allocates. The three slices are as long as each
// other; the caller keeps them (the messages point into the iovecs and the iovecs into the buffers).
func WireMmsg(bufs [][]byte, iovs []unix.Iovec, msgs []unix.Mmsghdr, size int) {
	for i := range msgs {
		bufs[i] = make([]byte, size)
		iovs[i].Base = &bufs[i][0]
		iovs[i].SetLen(size)
		msgs[i].Hdr.Iov = &iovs[i]
		msgs[i].Hdr.SetIovlen(1)
	}
}

// SparseGap is how long a data socket must have given no frame for its next to be read alone, with
// RecvOne rather than a recvmmsg(2) (see Sparse).
const SparseGap = 100 * time.Microsecond

// Sparse reports whether a data socket whose last frame came at last (a monotonic time; 0: never) is
// read at now with one RecvOne, once per wake-up: frames this far apart (pings, keep-alives) come one at
// a time, and for one frame recvfrom(2) and sendto(2) cost less than recvmmsg(2) and sendmmsg(2). Frames
// closer together (a TCP flow, a flood, the rest of a burst whose first frame was read alone) are read
// with recvmmsg. Measured on the development VM, a C echo over a unix datagram socketpair, round trips
// every 2 ms: recv and send 26.8 µs, recvmmsg and sendmmsg of one message 29.6.
func Sparse(now, last time.Duration) bool { return now-last > SparseGap }

// RecvOne receives one datagram into b with recvfrom(2); a datagram longer than b is cut and reported
// as trunc. For a lone frame it is cheaper than a recvmmsg(2) of one message (see Sparse). nb says
// the call must not block (MSG_DONTWAIT; for a descriptor that cannot block anyway, O_NONBLOCK,
// nothing changes), so that it skips the scheduler's system-call bookkeeping (a raw call).
func RecvOne(fd int, b []byte, nb bool) (n int, trunc bool, e unix.Errno) {
	for {
		r, e := call6(nb, unix.SYS_RECVFROM, fd, b, unix.MSG_TRUNC)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, false, e
		}
		return min(r, len(b)), r > len(b), 0
	}
}

// SendOne sends b as one datagram on the connected socket fd with sendto(2), as a sendmmsg(2) of
// one message would (MSG_NOSIGNAL: a closed peer is an EPIPE, not a signal), retrying on EINTR; nb as
// for RecvOne.
func SendOne(fd int, b []byte, nb bool) unix.Errno {
	for {
		if _, e := call6(nb, unix.SYS_SENDTO, fd, b, unix.MSG_NOSIGNAL); e != unix.EINTR {
			return e
		}
	}
}

// call6 runs recvfrom or sendto on fd with b and flags, without an address (nb: raw, and MSG_DONTWAIT).
func call6(nb bool, trap uintptr, fd int, b []byte, flags uintptr) (int, unix.Errno) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	var r uintptr
	var e syscall.Errno
	if nb {
		flags |= unix.MSG_DONTWAIT
		r, _, e = syscall.RawSyscall6(trap, uintptr(fd), uintptr(p), uintptr(len(b)), flags, 0, 0)
	} else {
		r, _, e = syscall.Syscall6(trap, uintptr(fd), uintptr(p), uintptr(len(b)), flags, 0, 0)
	}
	return int(r), e
}
