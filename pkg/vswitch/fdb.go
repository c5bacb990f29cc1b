// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/internal/sched"
	"github.com/govde/govde/pkg/frame"
)

// Defaults of the MAC table, as vde_switch.
const (
	DefaultHashSize   = 128
	DefaultGCInterval = 2 * time.Second
	DefaultExpire     = 100 * time.Second
	DefaultMinPersist = 3 * time.Second
)

// DefaultHashMax is the default limit on learned MAC table entries (Config.HashMax, --hashmax):
// 256Ki entries, about 20 MB when full (plus the GC's headroom while it churns). It is above the
// 200k entries a hash/print test may learn. vde_switch has no limit (each entry is malloc'd into a
// chain of its fixed bucket array); it only learns slowly, because its chains grow.
const DefaultHashMax = 1 << 18

// fdbShards is the number of independently locked parts of the MAC table. Expiry, flushes and
// memory compaction lock one shard at a time, so forwarding waits at most for one shard's work
// (1/fdbShards of the table), never for a sweep of the whole table.
const fdbShards = 256

// shrinkMin is the peak size below which a shard's map is never rebuilt to return memory.
const shrinkMin = 64

// fdbKey is vde_switch's hash key: the MAC bytes and the VLAN as one little-endian 64-bit integer.
type fdbKey uint64

func makeKey(m frame.MAC, vlan int) fdbKey {
	return fdbKey(uint64(m[0]) | uint64(m[1])<<8 | uint64(m[2])<<16 | uint64(m[3])<<24 |
		uint64(m[4])<<32 | uint64(m[5])<<40 | uint64(vlan&0xffff)<<48)
}

func (k fdbKey) mac() frame.MAC {
	return frame.MAC{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24), byte(k >> 32), byte(k >> 40)}
}

func (k fdbKey) vlan() int { return int(k >> 48) }

// bucket is vde_switch's bucket function (shown by hash/print), size a power of two.
func (k fdbKey) bucket(size int) int {
	x := uint64(k)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return int(x & uint64(size-1))
}

type fdbEntry struct {
	port     atomic.Int32
	lastSeen atomic.Int64 // nanoseconds on the switch clock
	seq      uint64       // insertion order (newest first within a bucket); set once at creation
}

// A HashEntry is one MAC table entry, as hash/print shows it.
type HashEntry struct {
	Bucket int
	MAC    frame.MAC
	VLAN   int
	Port   int
	Age    time.Duration
}

// HashInfo is the MAC table configuration, as hash/showinfo shows it (whole seconds).
type HashInfo struct {
	Size       int
	GCInterval int
	Expire     int
	MinPersist int
}

// HashStats are the MAC table's counters (the hidden console command hash/stats shows them).
type HashStats struct {
	Entries  int    // learned entries now
	Max      int    // the limit on entries; 0 = none
	Capacity int    // entries the table's maps can hold without growing (the memory it keeps)
	Refused  uint64 // new source addresses not learned because the table was full
	Expired  uint64 // entries removed by ageing
	Shrunk   uint64 // maps rebuilt smaller to return memory
	MaxStep  int    // most entries examined in one locked step of an expiry pass (or flush)
}

// fdbShard is one part of the MAC table with its own lock. peak is the largest len(m) since m was
// made: a Go map never shrinks, so peak measures the memory m holds.
type fdbShard struct {
	mu      sync.RWMutex
	m       map[fdbKey]*fdbEntry // guarded by mu
	peak    int                  // guarded by mu
	refused atomic.Uint64        // per shard, so that a flood on a full table does not share one cache line
	_       [128 - 48]byte       // one shard per two cache lines: no false sharing between shards
}

// fdb is the MAC table: fdbShards maps, each under its own RWMutex. Lookups take a read lock;
// refreshing an existing entry is atomic, so steady-state forwarding never takes a write lock.
//
// Policy when full (count >= max): a new source address is not learned; frames to it are flooded,
// and the refusal is counted (HashStats.Refused, logged by ageLoop). Entries already learned stay and
// are refreshed; room comes back as entries expire.
type fdb struct {
	shards [fdbShards]fdbShard
	seed   uint64 // picks the shard; random, so that a flood cannot aim at one shard

	count   atomic.Int64 // entries in all shards
	max     atomic.Int64 // limit on count; 0 = none
	seq     atomic.Uint64
	size    atomic.Int64 // buckets shown by hash/print
	expired atomic.Uint64
	shrunk  atomic.Uint64
	maxStep atomic.Int64
	freed   atomic.Int64 // map capacity (entries) dropped by rebuilds since ageLoop last looked

	gcInterval atomic.Int64
	expire     atomic.Int64
	minPersist atomic.Int64
	gcReset    chan struct{} // wakes ageLoop after SetGCInterval
}

func newFDB(size, max int) *fdb {
	f := &fdb{gcReset: make(chan struct{}, 1)}
	var b [8]byte
	_, _ = rand.Read(b[:])
	f.seed = binary.LittleEndian.Uint64(b[:])
	for i := range f.shards {
		f.shards[i].m = make(map[fdbKey]*fdbEntry)
	}
	f.size.Store(int64(size))
	f.max.Store(int64(max))
	f.gcInterval.Store(int64(DefaultGCInterval))
	f.expire.Store(int64(DefaultExpire))
	f.minPersist.Store(int64(DefaultMinPersist))
	return f
}

// shard returns the shard of k: the top bits of a seeded 64-bit mix (murmur3's finaliser).
func (f *fdb) shard(k fdbKey) *fdbShard {
	x := uint64(k) ^ f.seed
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return &f.shards[x>>56]
}

// refreshGrain is how stale lastSeen may be before a hit stores the time again: it keeps the
// cache line of a busy entry from bouncing between cores on every frame.
const refreshGrain = int64(250 * time.Millisecond)

// learn records that key was seen on port at now. It returns the entry's previous port (-1 if
// new) and whether the entry was created. A new key refused because the table is full is
// reported as (port, false), "seen where it was", so that the caller emits no event.
func (f *fdb) learn(k fdbKey, port int, now int64) (old int, created bool) {
	sh := f.shard(k)
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	if e == nil {
		lim := f.max.Load()
		if lim > 0 && f.count.Load() >= lim {
			sh.refused.Add(1)
			return port, false
		}
		sh.mu.Lock()
		if e = sh.m[k]; e == nil {
			if n := f.count.Add(1); lim > 0 && n > lim {
				f.count.Add(-1)
				sh.mu.Unlock()
				sh.refused.Add(1)
				return port, false
			}
			e = &fdbEntry{seq: f.seq.Add(1)}
			e.port.Store(int32(port))
			e.lastSeen.Store(now)
			sh.m[k] = e
			sh.peak = max(sh.peak, len(sh.m))
			sh.mu.Unlock()
			return -1, true
		}
		sh.mu.Unlock()
	}
	old = int(e.port.Load())
	last := e.lastSeen.Load()
	if old != port {
		if now-last > f.minPersist.Load() {
			e.port.Store(int32(port))
			e.lastSeen.Store(now)
		}
		return old, false
	}
	if now-last >= refreshGrain {
		e.lastSeen.Store(now)
	}
	return old, false
}

// lookup returns the port of key.
func (f *fdb) lookup(k fdbKey) (int, bool) {
	sh := f.shard(k)
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	if e == nil {
		return 0, false
	}
	return int(e.port.Load()), true
}

type fdbKeyPort struct {
	k      fdbKey
	port   int
	bucket int
	seq    uint64
}

// deleteIf removes the entries for which del returns true and returns them in table order. It
// holds one shard's lock at a time and yields between shards, and it rebuilds a shard's map
// smaller when it has shrunk to a quarter of its peak, so that its memory is returned.
func (f *fdb) deleteIf(del func(k fdbKey, e *fdbEntry) bool) []fdbKeyPort {
	var gone []fdbKeyPort
	size := int(f.size.Load())
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.Lock()
		n := len(sh.m)
		for k, e := range sh.m {
			if del(k, e) {
				gone = append(gone, fdbKeyPort{k, int(e.port.Load()), k.bucket(size), e.seq})
				delete(sh.m, k)
				f.count.Add(-1)
			}
		}
		if sh.peak >= shrinkMin && len(sh.m) <= sh.peak/4 {
			m := make(map[fdbKey]*fdbEntry, len(sh.m))
			for k, e := range sh.m {
				m[k] = e
			}
			n += len(sh.m)
			f.freed.Add(int64(sh.peak - len(m)))
			sh.m, sh.peak = m, len(m)
			f.shrunk.Add(1)
		}
		sh.mu.Unlock()
		if int64(n) > f.maxStep.Load() {
			f.maxStep.Store(int64(n)) // only deleteIf's callers store: ageLoop and the console, serialised enough for a statistic
		}
		sched.Yield() // the data plane's loop may be hot on the only P: it gives the P back at once
	}
	// Report in table order, as vde_switch walks its hash table (and as hash/print lists it), so that
	// the hash/- debug events come in the same order.
	slices.SortFunc(gone, func(a, b fdbKeyPort) int {
		if a.bucket != b.bucket {
			return cmp.Compare(a.bucket, b.bucket)
		}
		return cmp.Compare(b.seq, a.seq)
	})
	return gone
}

// expireOld removes entries not seen for longer than the expire time.
func (f *fdb) expireOld(now int64) []fdbKeyPort {
	exp := f.expire.Load()
	gone := f.deleteIf(func(_ fdbKey, e *fdbEntry) bool { return e.lastSeen.Load()+exp < now })
	f.expired.Add(uint64(len(gone)))
	return gone
}

func (f *fdb) setSize(n int) []fdbKeyPort {
	gone := f.deleteIf(func(fdbKey, *fdbEntry) bool { return true })
	f.size.Store(int64(n))
	return gone
}

func (f *fdb) info() HashInfo {
	return HashInfo{
		Size:       int(f.size.Load()),
		GCInterval: int(time.Duration(f.gcInterval.Load()) / time.Second),
		Expire:     int(time.Duration(f.expire.Load()) / time.Second),
		MinPersist: int(time.Duration(f.minPersist.Load()) / time.Second),
	}
}

func (f *fdb) refused() uint64 {
	var n uint64
	for i := range f.shards {
		n += f.shards[i].refused.Load()
	}
	return n
}

func (f *fdb) stats() HashStats {
	st := HashStats{Max: int(f.max.Load()), Refused: f.refused(), Expired: f.expired.Load(),
		Shrunk: f.shrunk.Load(), MaxStep: int(f.maxStep.Load())}
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.RLock()
		st.Entries += len(sh.m)
		st.Capacity += sh.peak
		sh.mu.RUnlock()
	}
	return st
}

func (f *fdb) entries(now int64) []HashEntry {
	type ent struct {
		h   HashEntry
		seq uint64
	}
	size := int(f.size.Load())
	all := make([]ent, 0, f.count.Load())
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.RLock()
		for k, e := range sh.m {
			all = append(all, ent{h: entryOf(k, e, size, now), seq: e.seq})
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(all, func(a, b ent) int {
		if a.h.Bucket != b.h.Bucket {
			return cmp.Compare(a.h.Bucket, b.h.Bucket)
		}
		return cmp.Compare(b.seq, a.seq)
	})
	out := make([]HashEntry, len(all))
	for i := range all {
		out[i] = all[i].h
	}
	return out
}

func (f *fdb) find(k fdbKey, now int64) (HashEntry, bool) {
	sh := f.shard(k)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	e := sh.m[k]
	if e == nil {
		return HashEntry{}, false
	}
	return entryOf(k, e, int(f.size.Load()), now), true
}

func entryOf(k fdbKey, e *fdbEntry, size int, now int64) HashEntry {
	age := time.Duration(now - e.lastSeen.Load())
	return HashEntry{Bucket: k.bucket(size), MAC: k.mac(), VLAN: k.vlan(), Port: int(e.port.Load()), Age: age}
}
