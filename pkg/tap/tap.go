// SPDX-License-Identifier: GPL-2.0-or-later

package tap

import "errors"

// DefaultCloneDev is the TUN/TAP clone device.
const DefaultCloneDev = "/dev/net/tun"

// A Kind selects a TAP (Ethernet frames) or a TUN (IP packets) device.
type Kind int

const (
	// TAP devices carry Ethernet frames (IFF_TAP).
	TAP Kind = iota
	// TUN devices carry IP packets (IFF_TUN).
	TUN
)

// String returns "tap" or "tun".
func (k Kind) String() string {
	if k == TUN {
		return "tun"
	}
	return "tap"
}

// Config says which device OpenConfig opens.
type Config struct {
	// Name is the interface name; empty lets the kernel pick tap%d or tun%d.
	Name string
	// Kind is TAP (the zero value) or TUN.
	Kind Kind
	// CloneDev is the clone device; empty means DefaultCloneDev.
	CloneDev string
	// Raw keeps the descriptor out of the Go runtime's poller, for pkg/relay's poll(2) loop (see Device).
	Raw bool
	// Offload opens a TAP with IFF_VNET_HDR and asks the kernel (TUNSETOFFLOAD) for checksum, TSO4/6,
	// TSO with ECN and USO offloads, taking the largest set it grants; when it grants none, the device
	// is opened again for plain frames. The kernel then reads and writes up to 64 KB at a time, and the
	// Device cuts what it reads into frames and joins TCP segments it writes (pkg/offload): its callers
	// still see plain Ethernet frames. Ignored for a TUN.
	Offload bool
	// MaxFrame is the largest frame the Device makes out of what the kernel reads with offloads
	// (0: frame.MaxLen). TCP is cut into smaller segments to fit; a UDP datagram that does not fit is dropped.
	MaxFrame int
}

// ErrNotTAP is returned by Open when the existing interface is not a TUN/TAP device of the wanted kind
// (the kernel answers EINVAL).
var ErrNotTAP = errors.New("not a TAP device of that kind")
