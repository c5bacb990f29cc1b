// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"crypto/rand"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// Limits and defaults of the switch configuration.
const (
	// DefaultNumPorts is vde_switch's default -n: 32 ports including the reserved port 0.
	DefaultNumPorts = 32
	// MaxPorts bounds NumPorts, so that a typo cannot allocate gigabytes.
	MaxPorts = 1 << 16
	// DefaultPriority is the default FSTP bridge priority.
	DefaultPriority = 0x8000
	// MaxVLAN is the highest VLAN id vlan/create accepts.
	MaxVLAN = 4093
	// NoVLAN as a port's untagged VLAN means "drop untagged frames".
	NoVLAN = frame.NoVLAN
	// DefaultDataMode is the data socket mode when -m is not given.
	DefaultDataMode = 0o600
)

// Config configures a Switch. The zero value of every field selects vde_switch's default.
type Config struct {
	// NumPorts is the internal port count including the reserved port 0 (vde_switch -n; default 32).
	NumPorts int
	// Hub makes the switch a hub: every frame goes to every other port, no learning, no VLANs.
	Hub bool
	// HashSize is the number of MAC table buckets shown by hash/print, a power of two (default 128).
	HashSize int
	// HashMax limits the learned MAC table entries: 0 selects DefaultHashMax, a negative value means
	// no limit (as vde_switch). When the table is full, new source addresses are not learned (frames
	// to them are flooded) and counted in HashStats.Refused; learned entries stay until they expire.
	HashMax int
	// MAC is the switch MAC (FSTP, showinfo); zero picks 00:ff:xx:xx:xx:xx at random.
	MAC frame.MAC
	// Priority is the FSTP priority (default 0x8000 when zero).
	Priority uint16
	// FSTP starts the switch with the fast spanning tree on (vde_switch -F); ignored in hub mode.
	FSTP bool
	// DataMode is the mode of data sockets (vde_switch -m; default 0600).
	DataMode uint32
	// MgmtPortMode is the mode of port-0 data sockets (--mgmtmode; default 0600).
	MgmtPortMode uint32
	// Group is the gid of the data sockets, -1 for none. The zero value means gid 0 (root);
	// New treats Group 0 as "none" unless GroupSet is true.
	Group int
	// GroupSet says that Group is meant literally (so gid 0 can be selected).
	GroupSet bool
	// Logf receives log lines such as "MAC … moved from port %d to port %d" (at most one per
	// MACMoveInterval per port); nil discards them.
	Logf func(format string, args ...any)
}

// A Switch is a virtual Ethernet switch. All methods are safe for concurrent use.
type Switch struct {
	start    time.Time
	mac      frame.MAC
	prio     uint16
	dataMode uint32
	mgmtMode uint32
	group    int
	logf     func(format string, args ...any)

	// mu guards the configuration below; the forwarding path reads the immutable table instead.
	mu       sync.Mutex
	numPorts int
	hub      bool
	ports    []*port // len numPorts; nil = not allocated
	vlans    map[int]bool
	nextID   int // IDs of endpoints that have no descriptor number
	closed   bool

	table atomic.Pointer[fwdTable]
	fdb   *fdb

	fstp fstpState // guarded by mu

	plane    *plane        // reads the VDE data sockets opened raw
	congWait time.Duration // congestionWait; tests lengthen it

	ev events

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	lnMu      sync.Mutex
	lns       []closer
}

type closer interface{ Close() error }

// New returns a running switch (its MAC ageing goroutine started). Close stops it.
func New(cfg Config) (*Switch, error) {
	if cfg.NumPorts == 0 {
		cfg.NumPorts = DefaultNumPorts
	}
	if cfg.NumPorts < 1 || cfg.NumPorts > MaxPorts {
		return nil, fmt.Errorf("number of ports %d: want 1..%d: %w", cfg.NumPorts, MaxPorts, os.ErrInvalid)
	}
	if cfg.HashSize == 0 {
		cfg.HashSize = DefaultHashSize
	}
	if cfg.HashSize < 1 || cfg.HashSize&(cfg.HashSize-1) != 0 || cfg.HashSize > 1<<24 {
		return nil, fmt.Errorf("hash size %d: want a power of two: %w", cfg.HashSize, os.ErrInvalid)
	}
	switch {
	case cfg.HashMax == 0:
		cfg.HashMax = DefaultHashMax
	case cfg.HashMax < 0:
		cfg.HashMax = 0
	}
	if cfg.MAC == (frame.MAC{}) {
		cfg.MAC = frame.MAC{0x00, 0xff}
		_, _ = rand.Read(cfg.MAC[2:])
	}
	if cfg.Priority == 0 {
		cfg.Priority = DefaultPriority
	}
	if cfg.DataMode == 0 {
		cfg.DataMode = DefaultDataMode
	}
	if cfg.MgmtPortMode == 0 {
		cfg.MgmtPortMode = 0o600
	}
	if cfg.Group == 0 && !cfg.GroupSet {
		cfg.Group = -1
	}
	s := &Switch{
		start:    time.Now(),
		mac:      cfg.MAC,
		prio:     cfg.Priority,
		dataMode: cfg.DataMode,
		mgmtMode: cfg.MgmtPortMode,
		group:    cfg.Group,
		logf:     cfg.Logf,
		numPorts: cfg.NumPorts,
		hub:      cfg.Hub,
		ports:    make([]*port, cfg.NumPorts),
		vlans:    map[int]bool{0: true},
		nextID:   1,
		fdb:      newFDB(cfg.HashSize, cfg.HashMax),
		done:     make(chan struct{}),
		congWait: congestionWait,
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	pl, err := newPlane(s)
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	s.plane = pl
	s.fstp.id = MakeBridgeID(s.prio, s.mac)
	s.fstp.vlans = map[int]*fstpVLAN{}
	var a fstpActs
	s.mu.Lock()
	s.fstpNewVLANLocked(0, &a)
	if cfg.FSTP && !cfg.Hub {
		s.fstpSetLocked(true, &a)
	}
	s.publishLocked()
	s.mu.Unlock()
	s.wg.Go(s.ageLoop)
	return s, nil
}

// now is the switch clock in nanoseconds since New (monotonic; the fake clock under synctest).
func (s *Switch) now() int64 { return int64(time.Since(s.start)) }

// Uptime returns the time since New.
func (s *Switch) Uptime() time.Duration { return time.Since(s.start) }

// MAC returns the switch MAC address.
func (s *Switch) MAC() frame.MAC { return s.mac }

// Priority returns the FSTP bridge priority.
func (s *Switch) Priority() uint16 { return s.prio }

// Close closes every endpoint (unlinking their sockets), stops Serve and all goroutines and waits
// for them. It is idempotent.
func (s *Switch) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.lnMu.Lock()
		lns := s.lns
		s.lns = nil
		s.lnMu.Unlock()
		for _, l := range lns {
			l.Close()
		}
		s.mu.Lock()
		s.closed = true
		for _, vl := range s.fstp.vlans {
			fstpStopTCLocked(vl)
		}
		var eps []*endpoint
		for _, p := range s.ports {
			if p != nil {
				eps = append(eps, p.eps...)
			}
		}
		s.mu.Unlock()
		for _, e := range eps {
			s.removeEndpoint(e)
		}
		s.plane.stop()
	})
	s.wg.Wait()
	s.plane.close()
	return nil
}

// freeOSMin is the map capacity (entries, about 100 bytes each) whose release by an expiry pass makes
// ageLoop return memory to the OS at once.
const freeOSMin = 1 << 16

// fullLogInterval is how often at most ageLoop logs that new MACs were refused by a full table.
const fullLogInterval = 60 * time.Second

// ageLoop deletes MAC table entries that expired, every GC interval, one shard at a time (see
// fdb.deleteIf), and logs (at most every fullLogInterval) how many new MACs a full table refused.
func (s *Switch) ageLoop() {
	t := time.NewTimer(time.Duration(s.fdb.gcInterval.Load()))
	defer t.Stop()
	var logged uint64
	lastLog := s.now() - int64(fullLogInterval)
	for {
		select {
		case <-s.done:
			return
		case <-s.fdb.gcReset:
		case <-t.C:
			for _, g := range s.fdb.expireOld(s.now()) {
				s.emitHash(EventHashDel, g.k, g.port)
			}
			if s.fdb.freed.Load() >= freeOSMin {
				// The rebuilt maps freed a lot: collect the old ones and give the pages back now,
				// rather than at the next GC, which an idle switch may not run for minutes.
				s.fdb.freed.Store(0)
				debug.FreeOSMemory()
			}
			if r, now := s.fdb.refused(), s.now(); r != logged && now-lastLog >= int64(fullLogInterval) {
				s.logf("MAC table full (%d entries): %d new addresses not learned, their frames flooded",
					s.fdb.max.Load(), r-logged)
				logged, lastLog = r, now
			}
		}
		t.Reset(time.Duration(s.fdb.gcInterval.Load()))
	}
}

// HashInfo returns the MAC table configuration.
func (s *Switch) HashInfo() HashInfo { return s.fdb.info() }

// SetHashSize sets the number of buckets, rounded up to a power of two, and flushes the table.
func (s *Switch) SetHashSize(n int) error {
	if n <= 0 || n > 1<<24 {
		return syscall.EINVAL
	}
	p := 1
	for p < n {
		p <<= 1
	}
	for _, g := range s.fdb.setSize(p) {
		s.emitHash(EventHashDel, g.k, g.port)
	}
	return nil
}

// SetHashMax sets the limit on learned MAC table entries; 0 removes it. Lowering it below the
// current count removes nothing: new addresses are refused until expiry brings the count below it.
func (s *Switch) SetHashMax(n int) error {
	if n < 0 {
		return syscall.EINVAL
	}
	s.fdb.max.Store(int64(n))
	return nil
}

// HashStats returns the MAC table's counters.
func (s *Switch) HashStats() HashStats { return s.fdb.stats() }

// SetGCInterval sets how often expired entries are removed.
func (s *Switch) SetGCInterval(sec int) error {
	if sec <= 0 {
		return syscall.EINVAL
	}
	s.fdb.gcInterval.Store(int64(time.Duration(sec) * time.Second))
	select {
	case s.fdb.gcReset <- struct{}{}:
	default:
	}
	return nil
}

// SetExpire sets how long an entry lives after its MAC was last seen.
func (s *Switch) SetExpire(sec int) error {
	if sec <= 0 {
		return syscall.EINVAL
	}
	s.fdb.expire.Store(int64(time.Duration(sec) * time.Second))
	return nil
}

// SetMinPersist sets how long an entry keeps its port against a MAC appearing on another port.
func (s *Switch) SetMinPersist(sec int) error {
	if sec < 0 {
		return syscall.EINVAL
	}
	s.fdb.minPersist.Store(int64(time.Duration(sec) * time.Second))
	return nil
}

// HashEntries returns the MAC table in hash/print order: bucket 0..size-1, newest first within a bucket.
func (s *Switch) HashEntries() []HashEntry { return s.fdb.entries(s.now()) }

// FindHash looks up (mac, vlan).
func (s *Switch) FindHash(mac frame.MAC, vlan int) (HashEntry, bool) {
	return s.fdb.find(makeKey(mac, vlan), s.now())
}

func (s *Switch) flushHash(del func(k fdbKey, port int) bool) {
	for _, g := range s.fdb.deleteIf(func(k fdbKey, e *fdbEntry) bool { return del(k, int(e.port.Load())) }) {
		s.emitHash(EventHashDel, g.k, g.port)
	}
}

// topologyChange flushes the MAC table entries of each VLAN in vlans, in that order. vde_switch does this
// whenever an active port joins or leaves a VLAN (its FSTP topology change, which runs with FSTP off
// too), and scripts comparing hash/print output rely on it.
func (s *Switch) topologyChange(vlans ...int) {
	for _, v := range vlans {
		s.flushHash(func(k fdbKey, _ int) bool { return k.vlan() == v })
	}
}
