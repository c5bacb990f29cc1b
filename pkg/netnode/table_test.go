// SPDX-License-Identifier: GPL-2.0-or-later

package netnode

import (
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
)

func TestTable(t *testing.T) {
	tb := newTable(100, 0, int64(10*time.Second))
	if len(tb.slots) != 128 {
		t.Fatalf("size 100 gave %d slots, want 128", len(tb.slots))
	}
	now := int64(time.Hour)
	tb.learn(mac(1), 0, 7, now)
	if p, ok := tb.lookup(mac(1), 0, now); !ok || p != 7 {
		t.Fatalf("lookup = %d, %v; want 7", p, ok)
	}
	if _, ok := tb.lookup(mac(1), 5, now); ok {
		t.Fatal("found on another VLAN")
	}
	if _, ok := tb.lookup(mac(1), 0, now+int64(11*time.Second)); ok {
		t.Fatal("found after expiry")
	}
	tb.learn(mac(1), 0, hostID, now)
	if p, _ := tb.lookup(mac(1), 0, now); p != hostID {
		t.Fatalf("moved entry on port %d, want host", p)
	}
	grp := frame.MAC{0x01, 0, 0x5e, 0, 0, 1}
	tb.learn(grp, 0, 3, now)
	if _, ok := tb.lookup(grp, 0, now); ok {
		t.Fatal("group address learned")
	}
	tb.learn(mac(2), 0, 4, now)
	tb.forget(4)
	if _, ok := tb.lookup(mac(2), 0, now); ok {
		t.Fatal("found after forget")
	}
	if _, ok := tb.lookup(mac(1), 0, now); !ok {
		t.Fatal("forget(4) removed another port's entry")
	}
	// One slot: the newer address replaces the older one.
	one := newTable(1, 0, int64(time.Minute))
	one.learn(mac(1), 0, 1, now)
	one.learn(mac(2), 0, 2, now)
	if _, ok := one.lookup(mac(1), 0, now); ok {
		t.Fatal("direct-mapped table kept two entries in one slot")
	}
}

func BenchmarkSwitchForward(b *testing.B) {
	nd, err := Listen(b.TempDir()+"/n", Config{Kind: Switch, Group: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer nd.Close()
	f := mkframe(mac(2), mac(1), "x")
	b.ReportAllocs()
	for b.Loop() {
		nd.WriteFrame(f) // no client: learning and lookup only
	}
}

func TestForwardAllocs(t *testing.T) {
	nd, _ := listen(t, Switch)
	f := mkframe(mac(2), mac(1), "x")
	if a := testing.AllocsPerRun(1000, func() { nd.WriteFrame(f) }); a != 0 {
		t.Fatalf("WriteFrame allocs = %v, want 0", a)
	}
}
