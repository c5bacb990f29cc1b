// SPDX-License-Identifier: GPL-2.0-or-later

package tap

// SetOffloadHook replaces the TUNSETOFFLOAD ioctl for a test and returns a function that restores it.
func SetOffloadHook(f func(fd, flags int, real func(fd, flags int) error) error) (restore func()) {
	orig := setOffload
	setOffload = func(fd, flags int) error { return f(fd, flags, orig) }
	return func() { setOffload = orig }
}
