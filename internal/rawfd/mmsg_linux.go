// SPDX-License-Identifier: GPL-2.0-or-later

package rawfd

import "golang.org/x/sys/unix"

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
