// SPDX-License-Identifier: GPL-2.0-or-later

package impair

// A Param is one of wirefilter's per-direction, per-node parameters.
type Param int

// The parameters, in wirefilter's showinfo order. Units are those of the reference: percent for
// Loss and Dup, packets for LostBurst, milliseconds for Delay, bytes/s for Bandwidth and Speed,
// damaged bits per MiB for Noise, bytes (header included) for MTU and ChanBufSize.
const (
	Loss Param = iota
	LostBurst
	Delay
	Dup
	Bandwidth
	Speed
	Noise
	MTU
	ChanBufSize
	NumParams
)

var paramNames = [NumParams]string{"loss", "lostburst", "delay", "dup", "bandwidth", "speed", "noise", "mtu", "chanbufsize"}

// String returns the console command that sets p ("loss", "chanbufsize", …).
func (p Param) String() string {
	if p < 0 || p >= NumParams {
		return "?"
	}
	return paramNames[p]
}

// nodeValues holds every parameter of one Markov node, per direction.
type nodeValues [NumParams][2]Value
