// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"context"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

// openVDE connects to a switch through pkg/vde. The returned *vde.Conn is a frame.Hanger (the switch
// hanging up) and, with opt.Raw, a frame.Raw.
func openVDE(ctx context.Context, u *URL, opt Options) (frame.Endpoint, error) {
	return vde.Dial(ctx, u.Addr, vde.DialOptions{
		Port:      u.Port,
		Port0:     u.Port0,
		PortGroup: u.PortGroup,
		Group:     u.Group,
		Mode:      u.Mode,
		Descr:     opt.Descr,
		Timeout:   opt.Timeout,
		Raw:       opt.Raw,
	})
}
