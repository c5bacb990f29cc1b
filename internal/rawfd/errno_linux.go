// SPDX-License-Identifier: GPL-2.0-or-later

package rawfd

import "syscall"

// ebadfd is what a TAP answers once its interface was deleted.
const ebadfd = syscall.EBADFD
