// SPDX-License-Identifier: GPL-2.0-or-later

package netnode

import (
	"sync"

	"github.com/govde/govde/pkg/frame"
)

// hostID is the port number of the host in the MAC table (client ports are descriptor numbers, >= 0).
const hostID = -1

// A slot of the MAC table: the (MAC, VLAN) key, the port it was last seen on and when (0: empty).
type slot struct {
	key  uint64
	port int32
	seen int64
}

// A table is a direct-mapped MAC table, vdeplug4's vde_hashtable: each key has exactly one slot, and
// a key arriving in an occupied slot replaces its entry. It is safe for concurrent use.
type table struct {
	mu     sync.Mutex
	mask   uint64
	seed   uint64
	expire int64 // nanoseconds
	slots  []slot
}

// newTable returns a table of size slots rounded up to a power of two (at least 1).
func newTable(size int, seed uint64, expire int64) *table {
	n := 1
	for n < size {
		n <<= 1
	}
	return &table{mask: uint64(n - 1), seed: seed, expire: expire, slots: make([]slot, n)}
}

// key packs a MAC and a VLAN id as vdeplug4 does: the six MAC bytes little-endian, then the VLAN.
func key(m frame.MAC, vlan uint16) uint64 {
	return uint64(m[0]) | uint64(m[1])<<8 | uint64(m[2])<<16 | uint64(m[3])<<24 |
		uint64(m[4])<<32 | uint64(m[5])<<40 | uint64(vlan)<<48
}

// index hashes a key to its slot (the 64-bit MurmurHash3 finaliser, seeded).
func (t *table) index(k uint64) uint64 {
	k ^= t.seed
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k & t.mask
}

// learn records that src (on vlan) was seen on port at now (> 0). Group addresses are not learned.
func (t *table) learn(src frame.MAC, vlan uint16, port int, now int64) {
	if src.IsGroup() {
		return
	}
	k := key(src, vlan)
	i := t.index(k)
	t.mu.Lock()
	t.slots[i] = slot{key: k, port: int32(port), seen: now}
	t.mu.Unlock()
}

// lookup returns the port dst (on vlan) was last seen on, if that was no longer than the expiry time
// before now. Group addresses are never found.
func (t *table) lookup(dst frame.MAC, vlan uint16, now int64) (int, bool) {
	if dst.IsGroup() {
		return 0, false
	}
	k := key(dst, vlan)
	i := t.index(k)
	t.mu.Lock()
	s := t.slots[i]
	t.mu.Unlock()
	if s.seen == 0 || s.key != k || s.seen < now-t.expire {
		return 0, false
	}
	return int(s.port), true
}

// forget empties the slots of port (a client that went away).
func (t *table) forget(port int) {
	t.mu.Lock()
	for i := range t.slots {
		if t.slots[i].seen != 0 && t.slots[i].port == int32(port) {
			t.slots[i] = slot{}
		}
	}
	t.mu.Unlock()
}

// vlanOf returns the VLAN id of a tagged frame, 0 for an untagged one: the MAC table's second key.
func vlanOf(f frame.Frame) uint16 {
	if v, ok := f.VID(); ok {
		return v
	}
	return 0
}
