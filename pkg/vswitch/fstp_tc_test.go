// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// Topology changes under a fake clock: no TC circulates in a loop with a switch that behaves like
// vde_switch r586, and no TC is lost.

// isTC reports whether f is a TC BPDU sent by s.
func isTC(s *Switch, f []byte) bool {
	if len(f) < frame.HeaderLen || frame.MAC(f[0:6]) != frame.BPDUAddr || frame.MAC(f[6:12]) != s.MAC() {
		return false
	}
	b, err := ParseBPDU(f)
	return err == nil && b.Flags&FlagTC != 0
}

// countTCs empties h's queue and returns how many of the frames were TC BPDUs of s.
func countTCs(s *Switch, h *host) (n int) {
	for {
		select {
		case f := <-h.rx:
			if isTC(s, f) {
				n++
			}
		default:
			return n
		}
	}
}

// refBPDU is a BPDU of the emulated vde_switch (bridge 02:..:12) on its port `port`, for root
// rootID at cost.
func refBPDU(root BridgeID, cost uint32, port int, flags uint8) []byte {
	b := BPDU{Flags: flags, Root: root, Cost: cost, Bridge: MakeBridgeID(DefaultPriority, mac(0x12)),
		Port: MakePortID(port), MaxAge: 40, Hello: 4}
	return AppendBPDU(nil, mac(0x12), 0, false, &b)
}

// TestFSTPTopologyChangeMixedRing: a ring of two of our switches (1, the root, and 2) and an emulated
// vde_switch R: cables sw1:1–sw2:2, sw2:1–R:2 and R:1–sw1:2. As the reference does, R has blocked its
// end of the redundant cable sw2–R without telling switch 2 (its last BPDU there says designated and
// forwarding; it will say otherwise only in its next hello), and passes every TC it receives, on
// any port, blocked ones included, to its other ports that it does not block: a TC from switch 2
// goes out of R's root port to switch 1. A port joining switch 1 is a topology change; without a
// hold the TC then goes round sw1 → sw2 → R → sw1 as fast as the switches can pass it on (R gives up
// after 1000). With it, it comes round at most once per tcHold, every switch still flushes, and
// once R's hello says its end is blocked, nothing more goes round.
func TestFSTPTopologyChangeMixedRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw1 := newSwitch(t, Config{NumPorts: 8, FSTP: true, MAC: mac(0x10)})
		sw2 := newSwitch(t, Config{NumPorts: 8, FSTP: true, MAC: mac(0x11)})
		cableSwitches(t, sw1, 1, sw2, 2)
		r1 := addHost(t, sw1, 2) // R's port 1 (its root port), cabled to switch 1's port 2
		r2 := addHost(t, sw2, 1) // R's port 2 (blocked), cabled to switch 2's port 1
		time.Sleep(time.Second)
		synctest.Wait()
		root := MakeBridgeID(DefaultPriority, mac(0x10))
		r1.send(refBPDU(root, DefaultPortCost, 1, 0x74)) // root port, forwarding
		r2.send(refBPDU(root, DefaultPortCost, 2, 0x3c)) // designated, forwarding: not yet told
		time.Sleep(2 * time.Second)                      // past every hold
		synctest.Wait()
		if got := blocked(t, []*Switch{sw1, sw2}, 0); len(got) != 0 {
			t.Fatalf("setup: blocked %v, want none (switch 2's end of the redundant cable is the better one)", got)
		}
		if fi, _ := sw2.FSTP(0); fi.RootPort != 2 {
			t.Fatalf("setup: switch 2 %+v", fi)
		}
		// R: a TC on its port 2 goes out of port 1 (re-made by R); one on port 1 nowhere (port 2 is
		// blocked). Counted; at most 1000.
		relays := make(chan int)
		stop := make(chan struct{})
		go func() {
			n := 0
			for {
				select {
				case f, ok := <-r2.rx:
					if !ok {
						return
					}
					if isTC(sw2, f) && n < 1000 {
						n++
						r1.ep.WriteFrame(refBPDU(root, DefaultPortCost, 1, 0x35))
					}
				case _, ok := <-r1.rx:
					if !ok {
						return
					}
				case relays <- n:
					n = 0
				case <-stop:
					return
				}
			}
		}()
		defer close(stop)
		<-relays
		// Switch 2 knows a host MAC; the TCs must flush it.
		h2 := addHost(t, sw2, 0)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		<-relays
		h2.send(eth(frame.Broadcast, mac(0x72), 60))
		synctest.Wait()
		if _, ok := sw2.FindHash(mac(0x72), 0); !ok {
			t.Fatal("switch 2 did not learn the host's MAC")
		}
		// A new port on the root: a topology change.
		addHost(t, sw1, 0)
		synctest.Wait()
		if _, ok := sw2.FindHash(mac(0x72), 0); ok {
			t.Fatal("the root's TC did not flush switch 2's MAC entries")
		}
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		if n := <-relays; n > 5 {
			t.Fatalf("the TC went round the ring %d times in 3.5 s (at most once per %v wanted)", n, tcHold)
		} else {
			t.Logf("the TC went round %d times in 3.5 s", n)
		}
		// R's hello: its end is blocked (Alternate/Backup, discarding, agreement). Switch 2 sends it no
		// more TCs: after at most one owed, nothing goes round.
		r2.send(refBPDU(root, DefaultPortCost, 2, 0x4a))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		<-relays
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := <-relays; n != 0 {
			t.Fatalf("%d TCs went round after R said its end is blocked", n)
		}
	})
}

// TestFSTPTopologyChangeHold: a TC received on a blocked port flushes and goes no further; one received
// on another port is passed on at once to the other ports (never back), unless this switch sent TCs
// less than tcHold ago: then the TCs received meanwhile are passed on once, at the end of the hold.
func TestFSTPTopologyChangeHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSwitch(t, Config{NumPorts: 8, FSTP: true, MAC: mac(0x50)})
		a, b, c, d := addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0)
		synctest.Wait()
		root := MakeBridgeID(0x1000, mac(0x60))
		a.send(peerBPDU(0x1000, mac(0x60), 0, 0x7c)) // a: the root port
		synctest.Wait()
		// b: blocked (a bridge with the same root and cost and a better ID, not its root port).
		peer := func(m byte, flags uint8, port int) []byte {
			p := BPDU{Flags: flags, Root: root, Cost: DefaultPortCost, Bridge: MakeBridgeID(0x1000, mac(m)),
				Port: MakePortID(port), MaxAge: 40, Hello: 4}
			return AppendBPDU(nil, mac(m), 0, false, &p)
		}
		b.send(peer(0x61, 0x3c, 3))
		synctest.Wait()
		// c: a bridge below this one (the link is its root port).
		child := func(flags uint8) []byte {
			p := BPDU{Flags: flags, Root: root, Cost: 2 * DefaultPortCost, Bridge: MakeBridgeID(DefaultPriority, mac(0x62)),
				Port: MakePortID(1), MaxAge: 40, Hello: 4}
			return AppendBPDU(nil, mac(0x62), 0, false, &p)
		}
		c.send(child(0x74))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		rs := roles(t, s, 0)
		if rs[a.port] != RoleRoot || rs[b.port] != RoleAlternate || rs[c.port] != RoleDesignated {
			t.Fatalf("setup: roles %v", rs)
		}
		for _, h := range []*host{a, b, c, d} {
			countTCs(s, h)
		}
		learn := func() {
			t.Helper()
			d.send(eth(frame.Broadcast, mac(0x72), 60))
			synctest.Wait()
			if _, ok := s.FindHash(mac(0x72), 0); !ok {
				t.Fatal("d's MAC not learned")
			}
		}
		flushed := func(what string) {
			t.Helper()
			if _, ok := s.FindHash(mac(0x72), 0); ok {
				t.Fatalf("%s: the VLAN's MAC entries were not flushed", what)
			}
		}
		tcs := func(what string, wa, wc int) {
			t.Helper()
			if na, nb, nc := countTCs(s, a), countTCs(s, b), countTCs(s, c); na != wa || nb != 0 || nc != wc {
				t.Fatalf("%s: TCs sent to a, b, c: %d %d %d, want %d 0 %d", what, na, nb, nc, wa, wc)
			}
		}
		// A TC on the blocked port: flushed, not passed on.
		learn()
		b.send(peer(0x61, 0x3d, 3))
		synctest.Wait()
		flushed("TC on the blocked port")
		tcs("TC on the blocked port", 0, 0)
		// A TC on the root port: passed on to c at once, not back to a.
		learn()
		a.send(peerBPDU(0x1000, mac(0x60), 0, 0x7d))
		synctest.Wait()
		flushed("TC on the root port")
		tcs("TC on the root port", 0, 1)
		// Within the hold, TCs from c (twice) and a: flushed at once, passed on (to both, as they came
		// from both) once, when the hold ends.
		time.Sleep(100 * time.Millisecond)
		learn()
		c.send(child(0x75))
		c.send(child(0x75))
		synctest.Wait()
		flushed("TC within the hold")
		tcs("TCs within the hold", 0, 0)
		time.Sleep(100 * time.Millisecond)
		a.send(peerBPDU(0x1000, mac(0x60), 0, 0x7d))
		synctest.Wait()
		tcs("TCs within the hold", 0, 0)
		time.Sleep(tcHold)
		synctest.Wait()
		tcs("the end of the hold", 1, 1)
		// The next TC within the new hold (from c only) goes to a alone, at its end.
		c.send(child(0x75))
		synctest.Wait()
		tcs("a TC within the second hold", 0, 0)
		time.Sleep(tcHold)
		synctest.Wait()
		tcs("the end of the second hold", 1, 0)
		// Past the hold, a TC is passed on at once again.
		time.Sleep(tcHold)
		c.send(child(0x75))
		synctest.Wait()
		tcs("a TC past the hold", 1, 0)
		// FSTP off: nothing is owed any more.
		c.send(child(0x75))
		synctest.Wait()
		must(t, s.SetFSTP(false))
		time.Sleep(2 * tcHold)
		synctest.Wait()
		tcs("FSTP off", 0, 0)
	})
}
