// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package relay

import (
	"context"

	"github.com/govde/govde/pkg/frame"
)

// joinFast reports false: the poll(2) loop is Linux-only.
func joinFast(context.Context, frame.Endpoint, frame.Endpoint, *Config) (bool, error) {
	return false, nil
}

// Fast reports false: the poll(2) loop is Linux-only.
func Fast(a, b frame.Endpoint, cfg *Config) bool { return false }
