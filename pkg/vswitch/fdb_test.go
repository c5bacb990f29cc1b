// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/frame"
)

func TestMinPersistenceAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var logs []string
		s := newSwitch(t, Config{Logf: func(f string, a ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(f, a...))
			mu.Unlock()
		}})
		a, b, c := addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0)
		f := eth(frame.Broadcast, mac(1), 60)
		a.send(f)
		b.expect(f)
		c.expect(f)
		time.Sleep(time.Second)
		b.send(f) // mac1 appears on port 2 within min persistence: not moved
		a.expect(f)
		c.expect(f)
		if e, _ := s.FindHash(mac(1), 0); e.Port != a.port {
			t.Errorf("after 1 s: mac1 on port %d, want %d (min persistence)", e.Port, a.port)
		}
		time.Sleep(3 * time.Second)
		b.send(f) // 4 s after it was last seen on port 1: moved
		a.expect(f)
		c.expect(f)
		if e, _ := s.FindHash(mac(1), 0); e.Port != b.port {
			t.Errorf("after 4 s: mac1 on port %d, want %d", e.Port, b.port)
		}
		mu.Lock()
		want := "MAC 02:00:00:00:00:01 moved from port 1 to port 2"
		if len(logs) != 2 || logs[0] != want || logs[1] != want {
			t.Errorf("logs = %q, want twice %q", logs, want)
		}
		mu.Unlock()
		if hi := s.HashInfo(); hi != (HashInfo{Size: 128, GCInterval: 2, Expire: 100, MinPersist: 3}) {
			t.Errorf("HashInfo = %+v", hi)
		}
		time.Sleep(99 * time.Second)
		synctest.Wait()
		if _, ok := s.FindHash(mac(1), 0); !ok {
			t.Fatal("entry expired before 100 s")
		}
		if e, _ := s.FindHash(mac(1), 0); e.Age != 99*time.Second {
			t.Errorf("age = %v, want 99s", e.Age)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if _, ok := s.FindHash(mac(1), 0); ok {
			t.Fatal("entry not expired after expire + GC interval")
		}
		// Shorter expire and GC interval take effect.
		must(t, s.SetExpire(5))
		must(t, s.SetGCInterval(1))
		a.send(eth(frame.Broadcast, mac(7), 60))
		b.expect(eth(frame.Broadcast, mac(7), 60))
		c.expect(eth(frame.Broadcast, mac(7), 60))
		time.Sleep(7 * time.Second)
		synctest.Wait()
		if _, ok := s.FindHash(mac(7), 0); ok {
			t.Fatal("entry not expired with expire 5 and GC interval 1")
		}
	})
}

func TestHashPrintOrderAndSize(t *testing.T) {
	s := newSwitch(t, Config{HashSize: 4})
	a, b := addHost(t, s, 0), addHost(t, s, 0)
	for i := 1; i <= 12; i++ {
		f := eth(frame.Broadcast, mac(byte(i)), 60)
		a.send(f)
		b.expect(f)
	}
	es := s.HashEntries()
	if len(es) != 12 {
		t.Fatalf("%d entries, want 12", len(es))
	}
	for i := 1; i < len(es); i++ {
		p, c := es[i-1], es[i]
		if p.Bucket > c.Bucket {
			t.Errorf("bucket order: %d after %d", c.Bucket, p.Bucket)
		}
		if p.Bucket == c.Bucket && p.MAC[5] < c.MAC[5] {
			t.Errorf("bucket %d: %v listed before newer %v", c.Bucket, p.MAC, c.MAC)
		}
		if c.Bucket != makeKey(c.MAC, 0).bucket(4) {
			t.Errorf("bucket of %v = %d", c.MAC, c.Bucket)
		}
	}
	must(t, s.SetHashSize(100))
	if hi := s.HashInfo(); hi.Size != 128 || len(s.HashEntries()) != 0 {
		t.Errorf("after SetHashSize(100): size %d, %d entries; want 128 and flushed", hi.Size, len(s.HashEntries()))
	}
	a.send(eth(frame.Broadcast, mac(1), 60))
	b.expect(eth(frame.Broadcast, mac(1), 60))
	if e, ok := s.FindHash(mac(1), 0); !ok || e.Bucket != 43 {
		t.Errorf("FindHash = %+v %v, want bucket 43", e, ok)
	}
	if !strings.HasPrefix(fmt.Sprint(makeKey(frame.MAC{0xaa, 1, 2, 3, 4, 5}, 10).mac()), "aa:01:02:03:04:05") {
		t.Error("key round trip")
	}
	if k := makeKey(frame.MAC{0xaa, 1, 2, 3, 4, 5}, 10); k.vlan() != 10 {
		t.Errorf("vlan = %d", k.vlan())
	}
}

// TestHashMaxRefusesAndFloods checks the policy of a full table: new sources are not learned but
// counted, frames to them are flooded, learned entries keep working, and expiry makes room again.
func TestHashMaxRefusesAndFloods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSwitch(t, Config{HashMax: 4})
		a, b, c := addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0)
		for i := 1; i <= 10; i++ { // mac 1..4 learned on a, 5..10 refused
			f := eth(frame.Broadcast, mac(byte(i)), 60)
			a.send(f)
			b.expect(f)
			c.expect(f)
		}
		st := s.HashStats()
		if st.Entries != 4 || st.Max != 4 || st.Refused != 6 || len(s.HashEntries()) != 4 {
			t.Fatalf("stats %+v, %d entries listed; want 4 entries, max 4, 6 refused", st, len(s.HashEntries()))
		}
		if _, ok := s.FindHash(mac(5), 0); ok {
			t.Error("mac 5 learned beyond the limit")
		}
		// To a learned MAC: unicast. To a refused one: flooded.
		f := eth(mac(2), mac(0x20), 60)
		b.send(f)
		a.expect(f)
		c.expectNone()
		if st := s.HashStats(); st.Refused != 7 {
			t.Errorf("refused = %d, want 7 (b's own MAC)", st.Refused)
		}
		f = eth(mac(7), mac(0x21), 60)
		b.send(f)
		a.expect(f)
		c.expect(f)
		// Once the entries expire there is room again.
		time.Sleep(103 * time.Second)
		synctest.Wait()
		if st := s.HashStats(); st.Entries != 0 || st.Expired != 4 {
			t.Fatalf("after expiry: %+v, want 0 entries, 4 expired", st)
		}
		f = eth(frame.Broadcast, mac(7), 60)
		a.send(f)
		b.expect(f)
		c.expect(f)
		if e, ok := s.FindHash(mac(7), 0); !ok || e.Port != a.port {
			t.Errorf("after expiry mac 7 = %+v %v, want learned on port %d", e, ok, a.port)
		}
		// No limit.
		must(t, s.SetHashMax(0))
		for i := 30; i < 40; i++ {
			s.fdb.learn(makeKey(mac(byte(i)), 0), a.port, s.now())
		}
		if st := s.HashStats(); st.Entries != 11 || st.Max != 0 {
			t.Errorf("without a limit: %+v, want 11 entries", st)
		}
		if err := s.SetHashMax(-1); err == nil {
			t.Error("SetHashMax(-1) succeeded")
		}
	})
}

func TestHashMaxDefaultAndNone(t *testing.T) {
	for _, tc := range []struct{ cfg, want int }{{0, DefaultHashMax}, {-1, 0}, {10, 10}} {
		s := newSwitch(t, Config{HashMax: tc.cfg})
		if got := s.HashStats().Max; got != tc.want {
			t.Errorf("Config{HashMax: %d}: max %d, want %d", tc.cfg, got, tc.want)
		}
	}
}

// randKey returns the i-th of a sequence of distinct unicast keys in VLAN 0.
func randKey(i int) fdbKey {
	x := uint64(i)*0x9e3779b97f4a7c15 + 1
	m := frame.MAC{byte(x>>40) &^ 1, byte(x >> 32), byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}
	return makeKey(m, int(uint64(i)>>48))
}

// TestExpiryIsIncremental fills the table as a random-MAC flood does and checks that expiry removes
// everything while examining a bounded number of entries per locked step (never the whole table),
// and that the maps are rebuilt small: the memory is returned.
func TestExpiryIsIncremental(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 100 * fdbShards
		s := newSwitch(t, Config{HashMax: -1})
		s.fdb.seed = 1 // a fixed spread over the shards
		for i := range n {
			if _, created := s.fdb.learn(randKey(i), 1, s.now()); !created {
				t.Fatalf("key %d not created", i)
			}
		}
		before := s.HashStats()
		if before.Entries != n || before.Capacity != n {
			t.Fatalf("after the flood: %+v, want %d entries and capacity", before, n)
		}
		time.Sleep(DefaultExpire + 2*DefaultGCInterval)
		synctest.Wait()
		st := s.HashStats()
		if st.Entries != 0 || st.Expired != n {
			t.Fatalf("after expiry: %+v, want all %d expired", st, n)
		}
		t.Logf("table %d: expiry step max %d entries; capacity %d -> %d", n, st.MaxStep, before.Capacity, st.Capacity)
		if bound := 3 * n / fdbShards; st.MaxStep == 0 || st.MaxStep > bound {
			t.Errorf("an expiry step examined %d entries, want 1..%d (table %d)", st.MaxStep, bound, n)
		}
		if st.Capacity > fdbShards*shrinkMin/4 || st.Shrunk == 0 {
			t.Errorf("after expiry capacity %d (%d maps rebuilt), want <= %d: memory not returned",
				st.Capacity, st.Shrunk, fdbShards*shrinkMin/4)
		}
		if len(s.HashEntries()) != 0 {
			t.Error("hash/print lists expired entries")
		}
	})
}

// TestFullTableZeroAllocs: a flood of new sources on a full table allocates nothing.
func TestFullTableZeroAllocs(t *testing.T) {
	f := newFDB(DefaultHashSize, 16)
	for i := range 16 {
		f.learn(randKey(i), 1, 0)
	}
	i := 100
	if a := testing.AllocsPerRun(1000, func() {
		i++
		if old, created := f.learn(randKey(i), 2, 0); created || old != 2 {
			t.Fatalf("learn on a full table = %d, %v", old, created)
		}
		f.lookup(randKey(i))
	}); a != 0 {
		t.Fatalf("learn+lookup on a full table: %v allocs, want 0", a)
	}
	if st := f.stats(); st.Entries != 16 || st.Refused != 1001 {
		t.Errorf("stats %+v, want 16 entries, 1001 refused", st)
	}
}

// TestFDBConcurrent learns, looks up, expires and flushes at once (for -race), with a limit, and
// checks the count stays within it.
func TestFDBConcurrent(t *testing.T) {
	f := newFDB(DefaultHashSize, 1000)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				k := randKey(g*5000 + i)
				f.learn(k, g+1, int64(i))
				f.lookup(k)
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			f.expireOld(int64(i * 100))
			f.deleteIf(func(k fdbKey, _ *fdbEntry) bool { return k&7 == 0 })
		}
	})
	wg.Wait()
	st := f.stats()
	if st.Entries > 1000 || int64(st.Entries) != f.count.Load() {
		t.Errorf("stats %+v, count %d: want entries = count <= 1000", st, f.count.Load())
	}
}

// FuzzFDB runs a sequence of table operations decoded from the input against a plain map model:
// learn, lookup, expire, flush of one port, limit changes. The table must agree with the model,
// its count must match its maps and never exceed the limit, and stats must add up.
func FuzzFDB(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0, 2, 1, 1, 1, 1, 3, 0, 0})
	f.Add([]byte{4, 2, 0, 0, 1, 1, 0, 2, 1, 0, 3, 1, 0, 4, 1, 2, 200, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		fd := newFDB(DefaultHashSize, 0)
		fd.minPersist.Store(0)
		fd.expire.Store(10)
		type ent struct{ port, last int64 }
		model := map[fdbKey]ent{}
		var now int64
		lim := 0
		for len(ops) >= 3 {
			op, a, b := ops[0]%5, ops[1], ops[2]
			ops = ops[3:]
			k := makeKey(mac(a), int(b%4))
			switch op {
			case 0: // a frame from k on port 1+b%3
				port := int64(1 + b%3)
				now++
				_, created := fd.learn(k, int(port), now)
				e, had := model[k]
				switch {
				case created && had:
					t.Fatalf("learn %v created an entry the model has", k)
				case created:
					model[k] = ent{port, now}
				case had && e.port != port && now-e.last > 0:
					model[k] = ent{port, now}
				case had && e.port == port && now-e.last >= refreshGrain:
					model[k] = ent{port, now}
				case !had && (lim == 0 || len(model) < lim):
					t.Fatalf("learn %v refused with %d entries, limit %d", k, len(model), lim)
				}
			case 1: // lookup
				p, ok := fd.lookup(k)
				if e, had := model[k]; ok != had || (ok && int64(p) != e.port) {
					t.Fatalf("lookup %v = %d %v, model %+v %v", k, p, ok, e, had)
				}
			case 2: // time passes, expiry runs
				now += int64(a)
				fd.expireOld(now)
				for mk, e := range model {
					if e.last+10 < now {
						delete(model, mk)
					}
				}
			case 3: // a port's entries are flushed
				port := int(1 + b%3)
				fd.deleteIf(func(_ fdbKey, e *fdbEntry) bool { return int(e.port.Load()) == port })
				for mk, e := range model {
					if e.port == int64(port) {
						delete(model, mk)
					}
				}
			case 4: // the limit changes
				lim = int(a % 8)
				fd.max.Store(int64(lim))
			}
			st := fd.stats()
			if st.Entries != len(model) || int64(st.Entries) != fd.count.Load() {
				t.Fatalf("entries %d, count %d, model %d", st.Entries, fd.count.Load(), len(model))
			}
			if st.Capacity < st.Entries {
				t.Fatalf("capacity %d < entries %d", st.Capacity, st.Entries)
			}
		}
		if es := fd.entries(now); len(es) != len(model) {
			t.Fatalf("entries() lists %d, model %d", len(es), len(model))
		}
	})
}
