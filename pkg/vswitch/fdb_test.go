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
