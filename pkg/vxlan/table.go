// SPDX-License-Identifier: GPL-2.0-or-later

package vxlan

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/pkg/frame"
)

const (
	// DefaultHashSize is vdeplug4's default number of table entries.
	DefaultHashSize = 1024
	// DefaultExpire is vdeplug4's default lifetime of a learned entry (expiretime=128).
	DefaultExpire = 128 * time.Second
	// MaxHashSize bounds hashsize (2^24 entries, about 800 MB): a larger one is an error, not an allocation.
	MaxHashSize = 1 << 24
	// ways is the number of entries per bucket: a MAC may sit in any slot of its bucket, so that two MACs
	// hashing alike do not evict each other as they do in vdeplug4's direct-mapped table.
	ways = 4
)

// A Table maps the MAC addresses seen on a segment to the UDP address each was last seen from. It holds at
// most a fixed number of entries (hashsize rounded up to a power of two, as vdeplug4 does), in buckets of
// 4; a new MAC whose bucket is full replaces the entry seen longest ago. An entry not refreshed within the
// expiry time is no longer returned. A Table is safe for concurrent use; Learn and Lookup never allocate.
type Table struct {
	mu     sync.RWMutex // guards the mac and addr fields of slots; seen is atomic
	slots  []slot
	mask   uint64 // bucket index mask
	seed   uint64
	expire int64 // nanoseconds
}

type slot struct {
	mac  frame.MAC
	used bool
	addr netip.AddrPort
	seen atomic.Int64 // time.Now().UnixNano() of the last Learn
}

// NewTable returns a table of size entries (rounded up to a power of two, at least 4) whose entries expire
// after expire. size 0 (vdeplug4's "no table") returns nil: a nil *Table learns nothing and finds nothing,
// so every frame goes to the multicast group.
func NewTable(size int, expire time.Duration) *Table {
	if size <= 0 {
		return nil
	}
	size = min(size, MaxHashSize)
	n := 1 << bits.Len(uint(size-1))
	n = max(n, ways)
	return &Table{slots: make([]slot, n), mask: uint64(n/ways - 1), seed: rand.Uint64(), expire: int64(expire)}
}

// Size returns the number of entries the table can hold.
func (t *Table) Size() int {
	if t == nil {
		return 0
	}
	return len(t.slots)
}

// bucket returns the slots where m may be.
func (t *Table) bucket(m frame.MAC) []slot {
	var k [8]byte
	copy(k[:], m[:])
	x := binary.LittleEndian.Uint64(k[:]) ^ t.seed
	// the 64-bit finaliser of MurmurHash3
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	i := (x & t.mask) * ways
	return t.slots[i : i+ways : i+ways]
}

// Learn records that m was seen from addr at now. Group addresses are ignored.
func (t *Table) Learn(m frame.MAC, addr netip.AddrPort, now time.Time) {
	if t == nil || m.IsGroup() {
		return
	}
	ns := now.UnixNano()
	b := t.bucket(m)
	t.mu.RLock()
	for i := range b {
		if b[i].used && b[i].mac == m && b[i].addr == addr {
			b[i].seen.Store(ns)
			t.mu.RUnlock()
			return
		}
	}
	t.mu.RUnlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	victim := -1
	for i := range b {
		if b[i].used && b[i].mac == m {
			victim = i
			break
		}
	}
	if victim < 0 {
		for i := range b {
			if !b[i].used {
				victim = i
				break
			}
			if victim < 0 || b[i].seen.Load() < b[victim].seen.Load() {
				victim = i
			}
		}
	}
	s := &b[victim]
	s.mac, s.addr, s.used = m, addr, true
	s.seen.Store(ns)
}

// Lookup returns where m was last seen, unless that was more than the expiry time before now. Group
// addresses are never found.
func (t *Table) Lookup(m frame.MAC, now time.Time) (netip.AddrPort, bool) {
	if t == nil || m.IsGroup() {
		return netip.AddrPort{}, false
	}
	old := now.UnixNano() - t.expire
	b := t.bucket(m)
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i := range b {
		if b[i].used && b[i].mac == m {
			if b[i].seen.Load() < old {
				return netip.AddrPort{}, false
			}
			return b[i].addr, true
		}
	}
	return netip.AddrPort{}, false
}

// Forget drops every entry pointing at addr (a vxvde plug said goodbye).
func (t *Table) Forget(addr netip.AddrPort) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.slots {
		if t.slots[i].used && t.slots[i].addr == addr {
			t.slots[i].used, t.slots[i].mac, t.slots[i].addr = false, frame.MAC{}, netip.AddrPort{}
			t.slots[i].seen.Store(0)
		}
	}
}

// Len returns the number of entries that have not expired at now.
func (t *Table) Len(now time.Time) int {
	if t == nil {
		return 0
	}
	old := now.UnixNano() - t.expire
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := 0
	for i := range t.slots {
		if t.slots[i].used && t.slots[i].seen.Load() >= old {
			n++
		}
	}
	return n
}
