// SPDX-License-Identifier: GPL-2.0-or-later

package vxlan

import (
	"net/netip"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/frame"
)

func mac(i int) frame.MAC {
	return frame.MAC{0x02, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
}

func addr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 4789)
}

func TestTableSize(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, 0}, {1, 4}, {5, 8}, {1000, 1024}, {1024, 1024}, {1025, 2048}} {
		if got := NewTable(tt.in, time.Second).Size(); got != tt.want {
			t.Errorf("NewTable(%d).Size() = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestTableLearnLookup(t *testing.T) {
	tb := NewTable(DefaultHashSize, DefaultExpire)
	now := time.Now()
	if _, ok := tb.Lookup(mac(1), now); ok {
		t.Fatal("empty table found a MAC")
	}
	tb.Learn(mac(1), addr(1), now)
	tb.Learn(mac(2), addr(2), now)
	if a, ok := tb.Lookup(mac(1), now); !ok || a != addr(1) {
		t.Fatalf("Lookup(mac 1) = %v, %v; want %v", a, ok, addr(1))
	}
	tb.Learn(mac(1), addr(3), now) // the MAC moved
	if a, _ := tb.Lookup(mac(1), now); a != addr(3) {
		t.Fatalf("after a move Lookup(mac 1) = %v, want %v", a, addr(3))
	}
	tb.Learn(frame.Broadcast, addr(4), now)
	tb.Learn(frame.MAC{0x01, 0, 0x5e, 0, 0, 1}, addr(4), now)
	if _, ok := tb.Lookup(frame.Broadcast, now); ok {
		t.Fatal("a group address was learned")
	}
	if n := tb.Len(now); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	tb.Forget(addr(3))
	if _, ok := tb.Lookup(mac(1), now); ok {
		t.Fatal("Forget(addr) left its MAC")
	}
	if _, ok := tb.Lookup(mac(2), now); !ok {
		t.Fatal("Forget(addr) dropped another address's MAC")
	}
	var nilTable *Table // hashsize=0: learns nothing
	nilTable.Learn(mac(1), addr(1), now)
	if _, ok := nilTable.Lookup(mac(1), now); ok || nilTable.Len(now) != 0 {
		t.Fatal("a nil table found something")
	}
}

// TestTableExpiry: under the fake clock, an entry lives expiretime seconds after its last refresh.
func TestTableExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := NewTable(64, 128*time.Second)
		tb.Learn(mac(1), addr(1), time.Now())
		tb.Learn(mac(2), addr(2), time.Now())
		time.Sleep(100 * time.Second)
		tb.Learn(mac(2), addr(2), time.Now()) // refreshed
		time.Sleep(28 * time.Second)
		if _, ok := tb.Lookup(mac(1), time.Now()); !ok {
			t.Fatal("entry gone at exactly expiretime")
		}
		time.Sleep(time.Second)
		if _, ok := tb.Lookup(mac(1), time.Now()); ok {
			t.Fatal("entry not expired after expiretime")
		}
		if _, ok := tb.Lookup(mac(2), time.Now()); !ok {
			t.Fatal("refreshed entry expired")
		}
		if n := tb.Len(time.Now()); n != 1 {
			t.Fatalf("Len = %d, want 1", n)
		}
	})
}

// TestTableBounded: a flood of MACs never grows the table; the newest survive (oldest of a bucket goes).
func TestTableBounded(t *testing.T) {
	tb := NewTable(256, time.Hour)
	now := time.Now()
	for i := range 100000 {
		tb.Learn(mac(i), addr(i), now.Add(time.Duration(i)))
	}
	if n := tb.Len(now.Add(time.Hour)); n > 256 {
		t.Fatalf("Len = %d, want at most 256", n)
	}
	if a, ok := tb.Lookup(mac(99999), now.Add(time.Hour)); !ok || a != addr(99999) {
		t.Fatalf("the newest MAC is not found: %v %v", a, ok)
	}
}

func TestTableAllocs(t *testing.T) {
	tb := NewTable(1024, time.Minute)
	now := time.Now()
	i := 0
	if a := testing.AllocsPerRun(1000, func() { i++; tb.Learn(mac(i%2000), addr(i), now); tb.Lookup(mac(i%1500), now) }); a != 0 {
		t.Fatalf("Learn+Lookup allocs = %v, want 0", a)
	}
}

// BenchmarkTable10k: lookup and refresh cost with 10,000 learned MACs, and the table's memory per MAC.
func BenchmarkTable10k(b *testing.B) {
	const n = 10000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tb := NewTable(4*n, time.Hour) // hashsize=40000: 65536 entries
	runtime.ReadMemStats(&after)
	now := time.Now()
	for i := range n {
		tb.Learn(mac(i), addr(i), now)
	}
	if got := tb.Len(now); got < n*99/100 {
		b.Fatalf("only %d of %d MACs kept", got, n)
	}
	b.Logf("%d of %d MACs kept; table %d entries, %d bytes", tb.Len(now), n, tb.Size(), after.TotalAlloc-before.TotalAlloc)
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tb.Lookup(mac(i%n), now)
			i++
		}
	})
	b.Run("learn", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tb.Learn(mac(i%n), addr(i%n), now)
			i++
		}
	})
	b.Run("lookup-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				tb.Lookup(mac(i%n), now)
				i++
			}
		})
	})
}
