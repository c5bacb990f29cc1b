// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package rawfd

import "syscall"

// ebadfd stands for Linux EBADFD, absent here.
const ebadfd = syscall.EBADF
