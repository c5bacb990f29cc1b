// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// AsUser runs f on one OS thread whose effective uid and gid are uid and gid, then gives the thread its
// root identity back. Only that thread changes (raw setresuid/setresgid, not Go's all-threads wrappers),
// so the rest of the test keeps running as root while f acts as an ordinary user would: files it creates
// are owned by uid, the kernel checks its file accesses as uid's (with the effective capabilities cleared),
// and a Unix stream socket it connects carries uid and gid as its SO_PEERCRED. The supplementary groups
// stay root's. f must not start goroutines that need the identity. The caller must be root.
func AsUser(t testing.TB, uid, gid int, f func()) {
	t.Helper()
	runtime.LockOSThread()
	const keep = ^uintptr(0) // -1: unchanged
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, keep, uintptr(gid), keep); e != 0 {
		runtime.UnlockOSThread()
		t.Fatalf("setresgid(-1, %d, -1): %v", gid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, keep, uintptr(uid), keep); e != 0 {
		unix.RawSyscall(unix.SYS_SETRESGID, keep, 0, keep)
		runtime.UnlockOSThread()
		t.Fatalf("setresuid(-1, %d, -1): %v", uid, e)
	}
	defer func() {
		// Back to root (the saved uid is still 0). A thread that cannot go back is never unlocked:
		// the runtime then ends it with its goroutine.
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, keep, 0, keep); e != 0 {
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, keep, 0, keep); e != 0 {
			return
		}
		runtime.UnlockOSThread()
	}()
	f()
}
