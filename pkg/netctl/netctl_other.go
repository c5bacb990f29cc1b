// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package netctl

import (
	"errors"
	"fmt"
)

// BUG(netctl): bridges are only supported on Linux; elsewhere every function fails with
// errors.ErrUnsupported (or reports that nothing exists).

func unsupported(what string) error { return fmt.Errorf("%s: %w", what, errors.ErrUnsupported) }

// Bridges returns the names of the bridges, sorted (brctl show's order).
func Bridges() ([]string, error) { return nil, unsupported("list bridges") }

// IsBridge reports whether name is a bridge.
func IsBridge(name string) bool { return false }

// Exists reports whether a link called name exists.
func Exists(name string) bool { return false }

// FirstUplink returns the first link that can be made a bridge's uplink.
func FirstUplink() (string, error) { return "", unsupported("find an uplink") }

// Ports returns the names of the links enslaved to bridge.
func Ports(bridge string) ([]string, error) { return nil, unsupported("bridge " + bridge) }

// MakeBridge creates bridge out of uplink.
func MakeBridge(bridge, uplink string, set BridgeSettings) (*Moved, error) {
	return nil, unsupported("make bridge " + bridge)
}

// Undo moves the addresses and routes back to the uplink, releases it and deletes the bridge.
func (m *Moved) Undo() error { return unsupported("remove bridge " + m.Bridge) }

// Reclaim is Undo for a bridge made by an earlier call.
func Reclaim(bridge, uplink string) error { return unsupported("remove bridge " + bridge) }

// AttachTap enslaves tap to bridge.
func AttachTap(tap, bridge string) error { return unsupported("attach " + tap + " to " + bridge) }

// DetachTap releases tap from its bridge.
func DetachTap(tap string) error { return unsupported("detach " + tap) }

// ForwardDelay returns bridge's forward delay in seconds.
func ForwardDelay(bridge string) (int, error) { return 0, unsupported("bridge " + bridge) }

// Names returns the names of all links.
func Names() ([]string, error) { return nil, unsupported("list links") }
