// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"cmp"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// Defaults of the MAC table, as vde_switch.
const (
	DefaultHashSize   = 128
	DefaultGCInterval = 2 * time.Second
	DefaultExpire     = 100 * time.Second
	DefaultMinPersist = 3 * time.Second
)

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
	seq      uint64       // insertion order (newest first within a bucket); guarded by fdb.mu
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

// fdb is the MAC table. Lookups take the read lock; refreshing an existing entry is atomic, so
// steady-state forwarding never takes the write lock.
type fdb struct {
	mu   sync.RWMutex
	m    map[fdbKey]*fdbEntry
	seq  uint64
	size int

	gcInterval atomic.Int64
	expire     atomic.Int64
	minPersist atomic.Int64
	gcReset    chan struct{} // wakes ageLoop after SetGCInterval
}

func newFDB(size int) *fdb {
	f := &fdb{m: make(map[fdbKey]*fdbEntry), size: size, gcReset: make(chan struct{}, 1)}
	f.gcInterval.Store(int64(DefaultGCInterval))
	f.expire.Store(int64(DefaultExpire))
	f.minPersist.Store(int64(DefaultMinPersist))
	return f
}

// refreshGrain is how stale lastSeen may be before a hit stores the time again: it keeps the
// cache line of a busy entry from bouncing between cores on every frame.
const refreshGrain = int64(250 * time.Millisecond)

// learn records that key was seen on port at now. It returns the entry's previous port (-1 if
// new) and whether the entry was created.
func (f *fdb) learn(k fdbKey, port int, now int64) (old int, created bool) {
	f.mu.RLock()
	e := f.m[k]
	f.mu.RUnlock()
	if e == nil {
		f.mu.Lock()
		if e = f.m[k]; e == nil {
			e = &fdbEntry{}
			e.port.Store(int32(port))
			e.lastSeen.Store(now)
			f.seq++
			e.seq = f.seq
			f.m[k] = e
			f.mu.Unlock()
			return -1, true
		}
		f.mu.Unlock()
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
	f.mu.RLock()
	e := f.m[k]
	f.mu.RUnlock()
	if e == nil {
		return 0, false
	}
	return int(e.port.Load()), true
}

// deleteIf removes the entries for which del returns true and returns them.
func (f *fdb) deleteIf(del func(k fdbKey, e *fdbEntry) bool) []fdbKeyPort {
	var gone []fdbKeyPort
	f.mu.Lock()
	for k, e := range f.m {
		if del(k, e) {
			gone = append(gone, fdbKeyPort{k, int(e.port.Load()), k.bucket(f.size), e.seq})
			delete(f.m, k)
		}
	}
	f.mu.Unlock()
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

type fdbKeyPort struct {
	k      fdbKey
	port   int
	bucket int
	seq    uint64
}

// expireOld removes entries not seen for longer than the expire time.
func (f *fdb) expireOld(now int64) []fdbKeyPort {
	exp := f.expire.Load()
	return f.deleteIf(func(_ fdbKey, e *fdbEntry) bool { return e.lastSeen.Load()+exp < now })
}

func (f *fdb) setSize(n int) []fdbKeyPort {
	gone := f.deleteIf(func(fdbKey, *fdbEntry) bool { return true })
	f.mu.Lock()
	f.size = n
	f.mu.Unlock()
	return gone
}

func (f *fdb) info() HashInfo {
	f.mu.RLock()
	size := f.size
	f.mu.RUnlock()
	return HashInfo{
		Size:       size,
		GCInterval: int(time.Duration(f.gcInterval.Load()) / time.Second),
		Expire:     int(time.Duration(f.expire.Load()) / time.Second),
		MinPersist: int(time.Duration(f.minPersist.Load()) / time.Second),
	}
}

func (f *fdb) entries(now int64) []HashEntry {
	type ent struct {
		h   HashEntry
		seq uint64
	}
	f.mu.RLock()
	all := make([]ent, 0, len(f.m))
	for k, e := range f.m {
		all = append(all, ent{h: f.entryLocked(k, e, now), seq: e.seq})
	}
	f.mu.RUnlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].h.Bucket != all[j].h.Bucket {
			return all[i].h.Bucket < all[j].h.Bucket
		}
		return all[i].seq > all[j].seq
	})
	out := make([]HashEntry, len(all))
	for i := range all {
		out[i] = all[i].h
	}
	return out
}

func (f *fdb) find(k fdbKey, now int64) (HashEntry, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	e := f.m[k]
	if e == nil {
		return HashEntry{}, false
	}
	return f.entryLocked(k, e, now), true
}

func (f *fdb) entryLocked(k fdbKey, e *fdbEntry, now int64) HashEntry {
	age := time.Duration(now - e.lastSeen.Load())
	return HashEntry{Bucket: k.bucket(f.size), MAC: k.mac(), VLAN: k.vlan(), Port: int(e.port.Load()), Age: age}
}
