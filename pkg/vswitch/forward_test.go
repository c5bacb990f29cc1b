// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
)

func TestLearningAndFlooding(t *testing.T) {
	s := newSwitch(t, Config{})
	a, b, c := addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0)
	if a.port != 1 || b.port != 2 || c.port != 3 {
		t.Fatalf("ports = %d %d %d, want 1 2 3", a.port, b.port, c.port)
	}
	bc := eth(frame.Broadcast, mac(1), 60)
	a.send(bc)
	b.expect(bc)
	c.expect(bc)
	// Unknown unicast floods; known goes only to its port.
	u := eth(mac(2), mac(1), 64)
	a.send(u)
	b.expect(u)
	c.expect(u)
	r := eth(mac(1), mac(2), 70)
	b.send(r)
	a.expect(r)
	u2 := eth(mac(2), mac(1), 61)
	a.send(u2)
	b.expect(u2)
	c.expectNone()
	a.expectNone()
	// Destination learned on the ingress port: dropped.
	a.send(eth(mac(1), mac(9), 60))
	b.expectNone()
	c.expectNone()
	// Multicast source: forwarded, not learned.
	ms := eth(frame.Broadcast, frame.MAC{0x03, 0, 0, 0, 0, 5}, 60)
	c.send(ms)
	a.expect(ms)
	b.expect(ms)
	if _, ok := s.FindHash(frame.MAC{0x03, 0, 0, 0, 0, 5}, 0); ok {
		t.Error("multicast source was learned")
	}
	if e, ok := s.FindHash(mac(2), 0); !ok || e.Port != 2 {
		t.Errorf("FindHash(mac2) = %+v, %v; want port 2", e, ok)
	}
}

func TestFrameSizes(t *testing.T) {
	s := newSwitch(t, Config{})
	a, b := addHost(t, s, 0), addHost(t, s, 0)
	a.send(eth(frame.Broadcast, mac(1), 13))
	b.expectNone()
	for _, n := range []int{14, 16, 1518, 1600, 9000, frame.MaxLen} {
		f := eth(frame.Broadcast, mac(1), n)
		a.send(f)
		b.expect(f)
	}
	p, _ := s.Port(a.port)
	if p.In.Drops != 1 {
		t.Errorf("in drops = %d, want 1 (the 13-byte frame)", p.In.Drops)
	}
	// A MaxLen frame cannot get a tag: dropped and counted on the tagged port.
	if err := s.CreateVLAN(5); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPortVLAN(a.port, 5); err != nil {
		t.Fatal(err)
	}
	if err := s.AddVLANPort(5, b.port); err != nil {
		t.Fatal(err)
	}
	a.send(eth(frame.Broadcast, mac(1), frame.MaxLen))
	b.expectNone()
	if p, _ := s.Port(b.port); p.Out.Drops != 1 {
		t.Errorf("out drops = %d, want 1", p.Out.Drops)
	}
	f := eth(frame.Broadcast, mac(1), frame.MaxLen-frame.TagLen)
	a.send(f)
	b.expect(tag(f, 5))
}

func TestCounters(t *testing.T) {
	s := newSwitch(t, Config{})
	a, b := addHost(t, s, 0), addHost(t, s, 0)
	f := eth(frame.Broadcast, mac(1), 100)
	for range 3 {
		a.send(f)
		b.expect(f)
	}
	Eventually(t, func() bool { p, _ := s.Port(b.port); return p.Out.Pkts == 3 })
	pa, _ := s.Port(a.port)
	pb, _ := s.Port(b.port)
	if pa.In != (Counters{Pkts: 3, Bytes: 300}) || pb.Out != (Counters{Pkts: 3, Bytes: 300}) {
		t.Errorf("counters a.in=%+v b.out=%+v, want 3/300", pa.In, pb.Out)
	}
	if err := s.ResetCounters(-1); err != nil {
		t.Fatal(err)
	}
	if pa, _ := s.Port(a.port); pa.In != (Counters{}) {
		t.Errorf("after reset: %+v", pa.In)
	}
	if err := s.ResetCounters(99); err != syscall.EINVAL {
		t.Errorf("ResetCounters(99) = %v, want EINVAL", err)
	}
}

func TestVLANTagRules(t *testing.T) {
	s := newSwitch(t, Config{})
	acc10, trunk, acc0 := addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0)
	must(t, s.CreateVLAN(10))
	must(t, s.SetPortVLAN(acc10.port, 10))
	must(t, s.AddVLANPort(10, trunk.port))

	// Untagged from an access port of VLAN 10: the trunk gets it tagged (TCI 00 0a), VLAN 0 not at all.
	f := eth(frame.Broadcast, mac(1), 60)
	acc10.send(f)
	trunk.expect(tag(f, 10))
	acc0.expectNone()

	// Tagged from the trunk with priority bits: the access port gets it stripped.
	g := eth(mac(1), mac(2), 64)
	trunk.send(tag(g, 0xe00a))
	acc10.expect(g)
	// Back: unicast untagged -> tagged member gets a fresh tag with priority 0.
	h := eth(mac(2), mac(1), 62)
	acc10.send(h)
	trunk.expect(tag(h, 10))

	// Tagged -> tagged member: unchanged, original TCI kept.
	must(t, s.AddVLANPort(10, acc0.port))
	k := tag(eth(frame.Broadcast, mac(2), 60), 0x600a)
	trunk.send(k)
	acc0.expect(k)
	acc10.expect(eth(frame.Broadcast, mac(2), 60))
	must(t, s.DelVLANPort(10, acc0.port))

	// VID 20 on a port that is not a member: dropped.
	must(t, s.CreateVLAN(20))
	trunk.send(tag(eth(frame.Broadcast, mac(2), 60), 20))
	acc10.expectNone()
	acc0.expectNone()
	if p, _ := s.Port(trunk.port); p.In.Drops != 1 {
		t.Errorf("trunk in drops = %d, want 1", p.In.Drops)
	}

	// VID 0 (priority tag) is VLAN 0: forwarded untagged to the VLAN 0 access port.
	z := eth(frame.Broadcast, mac(2), 60)
	trunk.send(tag(z, 0xa000))
	acc0.expect(z)
	acc10.expectNone()
	// VID 4095: dropped.
	trunk.send(tag(z, 0x0fff))
	acc0.expectNone()
	acc10.expectNone()

	// Untagged VLAN 4095: untagged frames from that port are dropped; tagged ones still pass.
	must(t, s.SetPortVLAN(trunk.port, NoVLAN))
	trunk.send(z)
	acc0.expectNone()
	trunk.send(tag(z, 10))
	acc10.expect(z)
}

func TestFloodOrder(t *testing.T) {
	s := newSwitch(t, Config{})
	var got []int
	a := addHost(t, s, 0)
	must(t, s.CreateVLAN(7))
	must(t, s.SetPortVLAN(a.port, 7))
	hs := []*host{addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0)}
	must(t, s.AddVLANPort(7, hs[0].port)) // tagged
	must(t, s.SetPortVLAN(hs[1].port, 7)) // untagged
	must(t, s.AddVLANPort(7, hs[2].port)) // tagged
	// The forwarding order is visible in the ordering of the per-port out-queues: check via a
	// single rx and the group/enqueue order instead.
	r := newRx(s, s.ports[a.port].eps[0])
	r.begin()
	f := eth(frame.Broadcast, mac(1), 60)
	tbl := s.table.Load()
	vt := tbl.vlans[7]
	for _, p := range vt.untagged {
		got = append(got, p.num)
	}
	for _, p := range vt.tagged {
		got = append(got, p.num)
	}
	r.handle(0, f)
	r.flush()
	if want := []int{a.port, hs[1].port, hs[0].port, hs[2].port}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flood order = %v, want %v (untagged first, then tagged, ascending)", got, want)
	}
	hs[1].expect(f)
	hs[0].expect(tag(f, 7))
	hs[2].expect(tag(f, 7))
}

func TestHub(t *testing.T) {
	s := newSwitch(t, Config{Hub: true})
	a, b, c := addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0)
	must(t, s.CreateVLAN(3))
	must(t, s.SetPortVLAN(c.port, 3)) // ignored by a hub
	r := eth(mac(1), mac(2), 60)
	b.send(r)
	a.expect(r)
	c.expect(r)
	u := eth(mac(2), mac(1), 60)
	a.send(u) // known unicast: still to everyone
	b.expect(u)
	c.expect(u)
	if n := len(s.HashEntries()); n != 0 {
		t.Errorf("hub learned %d entries", n)
	}
	s.SetHub(false)
	a.send(eth(frame.Broadcast, mac(1), 60))
	b.expect(eth(frame.Broadcast, mac(1), 60))
	c.expectNone() // now VLAN 3
}

func TestMultiEndpointPort(t *testing.T) {
	s := newSwitch(t, Config{})
	a1 := addHost(t, s, 4)
	a2 := addHost(t, s, 4)
	b := addHost(t, s, 0)
	if a1.port != 4 || a2.port != 4 || b.port != 1 {
		t.Fatalf("ports %d %d %d", a1.port, a2.port, b.port)
	}
	f := eth(frame.Broadcast, mac(1), 60)
	a1.send(f)
	b.expect(f)
	a2.expectNone() // not to the other endpoints of the ingress port
	g := eth(frame.Broadcast, mac(2), 60)
	b.send(g)
	a1.expect(g)
	a2.expect(g)
	Eventually(t, func() bool { p, _ := s.Port(4); return p.Out.Pkts > 0 })
	p, _ := s.Port(4)
	if len(p.Endpoints) != 2 || p.Endpoints[0].ID != a2.id || p.Endpoints[1].ID != a1.id {
		t.Errorf("endpoints = %+v, want newest (%d) first", p.Endpoints, a2.id)
	}
	if p.Out.Pkts != 1 {
		t.Errorf("port out pkts = %d, want 1 (counted once per port)", p.Out.Pkts)
	}
}

type mtuEndpoint struct {
	*frametest.Endpoint
	mtu atomic.Int64
}

func (m *mtuEndpoint) MTU() (int, error) { return int(m.mtu.Load()), nil }

func TestMTUDropsDirect(t *testing.T) {
	for _, direct := range []bool{true, false} {
		t.Run(fmt.Sprint("direct=", direct), func(t *testing.T) {
			s := newSwitch(t, Config{})
			a := addHost(t, s, 0)
			x, y := frametest.Pipe(64)
			tp := &mtuEndpoint{Endpoint: x}
			tp.mtu.Store(1500)
			e, err := s.attach(epSpec{ep: tp, id: -1, module: ModuleTap, descr: "tap0", uid: -1, direct: direct})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, frame.MaxLen)
			big := eth(frame.Broadcast, mac(1), 14+9000)
			ok := eth(frame.Broadcast, mac(1), 14+1500)
			a.send(big)
			a.send(ok)
			n, err := y.ReadFrame(buf)
			if err != nil || !bytes.Equal(buf[:n], ok) {
				t.Fatalf("tap got %d bytes, %v; want the 1514-byte frame only", n, err)
			}
			Eventually(t, func() bool { p, _ := s.Port(e.port.num); return p.Out.Drops == 1 })
			tp.mtu.Store(9000) // raised: jumbo frames pass now
			a.send(big)
			n, err = y.ReadFrame(buf)
			if err != nil || !bytes.Equal(buf[:n], big) {
				t.Fatalf("after MTU 9000: tap got %d bytes, %v", n, err)
			}
			// Tagged frames may carry MTU bytes of payload after the tag.
			must(t, s.CreateVLAN(3))
			must(t, s.SetPortVLAN(a.port, 3))
			must(t, s.AddVLANPort(3, e.port.num))
			tp.mtu.Store(1500)
			a.send(ok)
			n, err = y.ReadFrame(buf)
			if err != nil || !bytes.Equal(buf[:n], tag(ok, 3)) {
				t.Fatalf("tagged 1500-byte payload: got %d bytes, %v", n, err)
			}
			// Frames from the TAP are forwarded too.
			must(t, y.WriteFrame(tag(eth(mac(1), mac(9), 60), 3)))
			a.expect(eth(mac(1), mac(9), 60))
		})
	}
}
