// SPDX-License-Identifier: GPL-2.0-or-later

package rawfd

// AnswerProbe is how often, in rounds that wrote to it, a device whose answers stopped coming is read
// again (see Answers).
const AnswerProbe = 16

// Answers decides whether a poll loop reads a TAP again right after a round that wrote frames to it:
// the host's stack handles a frame within the write(2), and what it sends back (a ping's echo reply, a
// TCP ACK) is there to read when the write returns, a poll(2) earlier than the loop would see it. A
// device whose reads find nothing twice in a row (a host that only receives, the pinging host itself)
// is read so only once in AnswerProbe such rounds, until a read finds something again. pkg/relay's
// loop and vswitch's plane use it. The zero value tries.
type Answers struct {
	misses  uint8 // reads in a row that found nothing, at most 2
	skipped uint8 // rounds not read since the last probe
}

// Try reports whether to read the device after a round that wrote to it; the caller then reports what
// the read found with Got.
func (a *Answers) Try() bool {
	if a.misses < 2 {
		return true
	}
	if a.skipped++; a.skipped < AnswerProbe {
		return false
	}
	a.skipped = 0
	return true
}

// Got records whether the read that Try allowed found frames.
func (a *Answers) Got(found bool) {
	switch {
	case found:
		a.misses, a.skipped = 0, 0
	case a.misses < 2:
		a.misses++
	}
}

// Misses returns the reads in a row that found nothing (at most 2).
func (a *Answers) Misses() int { return int(a.misses) }
