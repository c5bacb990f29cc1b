// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package tap

import (
	"errors"
	"fmt"
)

// BUG(tap): TAP devices are only supported on Linux; elsewhere Open fails with errors.ErrUnsupported.

// A Device is an open TAP or TUN device. It cannot be opened on this platform.
type Device struct{}

// Open fails: TAP devices are Linux-only here.
func Open(name string) (*Device, error) { return OpenConfig(Config{Name: name}) }

// OpenConfig fails: TAP devices are Linux-only here.
func OpenConfig(c Config) (*Device, error) {
	return nil, fmt.Errorf("%s %q: %w", c.Kind, c.Name, errors.ErrUnsupported)
}

// Name returns "".
func (d *Device) Name() string { return "" }

// ReadFrame fails.
func (d *Device) ReadFrame(b []byte) (int, error) { return 0, errors.ErrUnsupported }

// WriteFrame fails.
func (d *Device) WriteFrame(b []byte) error { return errors.ErrUnsupported }

// Close does nothing.
func (d *Device) Close() error { return nil }

// MTU fails.
func (d *Device) MTU() (int, error) { return 0, errors.ErrUnsupported }

// Kind returns TAP.
func (d *Device) Kind() Kind { return TAP }

// SetPersist fails.
func (d *Device) SetPersist(on bool) error { return errors.ErrUnsupported }

// SetOwner fails.
func (d *Device) SetOwner(uid int) error { return errors.ErrUnsupported }

// SetGroup fails.
func (d *Device) SetGroup(gid int) error { return errors.ErrUnsupported }

// Flags fails.
func (d *Device) Flags() (uint16, error) { return 0, errors.ErrUnsupported }

// Persistent fails.
func (d *Device) Persistent() (bool, error) { return false, errors.ErrUnsupported }

// LinkMTU fails.
func LinkMTU(name string) (int, error) { return 0, errors.ErrUnsupported }

// QueueFrame fails.
func (d *Device) QueueFrame(b []byte) error { return errors.ErrUnsupported }

// Flush does nothing.
func (d *Device) Flush() error { return nil }

// Offloads returns 0.
func (d *Device) Offloads() int { return 0 }
