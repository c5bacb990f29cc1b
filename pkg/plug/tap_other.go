// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package plug

import (
	"fmt"
	"syscall"

	"github.com/govde/govde/pkg/frame"
)

// BUG(plug): tap:// is only supported on Linux.
func openTAP(name string, raw bool) (frame.Endpoint, error) {
	return nil, fmt.Errorf("tap %s: %w", name, syscall.EPROTONOSUPPORT)
}
