// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/tap"
)

// openTAP opens (or creates, non-persistent) the TAP interface name; an existing persistent TAP stays
// persistent. raw opens it for pkg/relay's poll(2) loop (tap.Config.Raw). It asks for offloads
// (tap.Config.Offload): the kernel hands over 64 KB segments, the frames the Endpoint moves stay plain.
func openTAP(name string, raw bool) (frame.Endpoint, error) {
	return tap.OpenConfig(tap.Config{Name: name, Raw: raw, Offload: true})
}
