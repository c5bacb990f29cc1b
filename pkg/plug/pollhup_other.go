// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package plug

// pollRDHUP is 0 where poll(2) has no POLLRDHUP: a closed peer shows as POLLHUP.
const pollRDHUP = 0
