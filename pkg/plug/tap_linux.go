// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/tap"
)

// openTAP opens (or creates, non-persistent) the TAP interface name; an existing persistent TAP stays persistent.
func openTAP(name string) (frame.Endpoint, error) { return tap.Open(name) }
