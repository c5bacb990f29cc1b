// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import "golang.org/x/sys/unix"

// pollRDHUP asks poll(2) to report a peer that shut down its writing side (Linux only).
const pollRDHUP = unix.POLLRDHUP
