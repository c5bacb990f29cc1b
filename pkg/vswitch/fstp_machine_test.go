// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
)

// The FSTP state machine under a fake clock (testing/synctest): in-memory switches joined by in-memory
// cables, and BPDUs injected by a test peer.

// cableSwitches joins port pa of a and port pb of b; closing the returned endpoint cuts it.
func cableSwitches(t *testing.T, a *Switch, pa int, b *Switch, pb int) *frametest.Endpoint {
	t.Helper()
	x, y := frametest.Pipe(1024)
	if _, _, err := a.AddEndpoint(x, pa, ModuleUnix, "cable"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.AddEndpoint(y, pb, ModuleUnix, "cable"); err != nil {
		t.Fatal(err)
	}
	return x
}

// blocked returns "switch:port" for every Alternate/Backup port of vlan.
func blocked(t *testing.T, sws []*Switch, vlan int) []string {
	t.Helper()
	var out []string
	for i, s := range sws {
		fi, err := s.FSTP(vlan)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range fi.Ports {
			if p.Role == RoleAlternate {
				if p.State != StateDiscarding {
					t.Errorf("sw%d port %d: alternate but state %d", i+1, p.Port, p.State)
				}
				out = append(out, fmt.Sprintf("sw%d:%d", i+1, p.Port))
			}
		}
	}
	return out
}

func TestFSTPTriangleMachine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sws []*Switch
		for i := range 3 {
			sws = append(sws, newSwitch(t, Config{NumPorts: 8, FSTP: true, MAC: mac(byte(0x10 + i))}))
		}
		must(t, sws[0].CreateVLAN(10))
		must(t, sws[1].CreateVLAN(10))
		must(t, sws[2].CreateVLAN(10))
		c12 := cableSwitches(t, sws[0], 1, sws[1], 2)
		cableSwitches(t, sws[1], 1, sws[2], 2)
		cableSwitches(t, sws[2], 1, sws[0], 2)
		for _, s := range sws {
			must(t, s.AddVLANPort(10, 1))
			must(t, s.AddVLANPort(10, 2))
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for _, v := range []int{0, 10} {
			// Switch 1 is the root; the redundant cable 2–3 is blocked at switch 3's end only.
			if got := blocked(t, sws, v); len(got) != 1 || got[0] != "sw3:2" {
				t.Fatalf("VLAN %d: blocked %v, want [sw3:2]", v, got)
			}
			fi, _ := sws[1].FSTP(v)
			if fi.IsRoot || fi.RootPort != 2 || fi.RootCost != DefaultPortCost || fi.Root != MakeBridgeID(DefaultPriority, mac(0x10)) {
				t.Fatalf("VLAN %d switch 2: %+v", v, fi)
			}
		}
		// Hellos keep the tree: nothing times out or reverts in a minute.
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if got := blocked(t, sws, 0); len(got) != 1 {
			t.Fatalf("after 60 s: blocked %v", got)
		}
		if st := sws[1].FSTPStats(); st.In == 0 || st.Out == 0 || st.Bad != 0 {
			t.Errorf("stats %+v", st)
		}
		// Cut the cable 1–2: switch 2 reaches the root through switch 3, whose port forwards again.
		c12.Close()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for _, v := range []int{0, 10} {
			if got := blocked(t, sws, v); len(got) != 0 {
				t.Fatalf("VLAN %d after the cut: blocked %v", v, got)
			}
			fi, _ := sws[1].FSTP(v)
			if fi.RootPort != 1 || fi.RootCost != 2*DefaultPortCost {
				t.Fatalf("VLAN %d switch 2 after the cut: %+v", v, fi)
			}
		}
	})
}

// peerBPDU is a BPDU from a test peer claiming root (prio, m) at cost, with the given flags.
func peerBPDU(prio uint16, m frame.MAC, cost uint32, flags uint8) []byte {
	id := MakeBridgeID(prio, m)
	b := BPDU{Flags: flags, Root: id, Cost: cost, Bridge: id, Port: MakePortID(1), MaxAge: 40, Hello: 4}
	return AppendBPDU(nil, m, 0, false, &b)
}

func TestFSTPTimersAndInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSwitch(t, Config{NumPorts: 8, FSTP: true, MAC: mac(0x50)})
		a, b, c := addHost(t, s, 0), addHost(t, s, 0), addHost(t, s, 0)
		synctest.Wait()
		drain := func(h *host) (bpdus, other int) {
			for {
				select {
				case f := <-h.rx:
					if frame.MAC(f[0:6]) == frame.BPDUAddr && frame.MAC(f[6:12]) == s.MAC() {
						bpdus++
					} else {
						other++
					}
				default:
					return
				}
			}
		}
		drain(a)
		drain(b)
		drain(c)
		better := MakeBridgeID(0x1000, mac(0x60))
		// A better root on port a's side: a becomes the root port; b and c speak no FSTP, so they
		// are not blocked.
		a.send(peerBPDU(0x1000, mac(0x60), 0, 0x7c))
		synctest.Wait()
		fi, _ := s.FSTP(0)
		if fi.Root != better || fi.RootPort != a.port || fi.RootCost != DefaultPortCost || fi.IsRoot {
			t.Fatalf("after a better BPDU: %+v", fi)
		}
		if _, other := drain(b); other != 0 {
			t.Fatalf("the peer's BPDU was forwarded to b")
		}
		// A peer bridge on b's side, with the same root at the same cost as this switch, on a port
		// that is not its root port: its bridge ID (priority 0x1000) is better, so b is blocked.
		peer := BPDU{Flags: 0x0c | 0x30, Root: better, Cost: DefaultPortCost, Bridge: MakeBridgeID(0x1000, mac(0x61)),
			Port: MakePortID(3), MaxAge: 40, Hello: 4}
		b.send(AppendBPDU(nil, mac(0x61), 0, false, &peer))
		synctest.Wait()
		if r := roles(t, s, 0)[b.port]; r != RoleAlternate {
			t.Fatalf("b role %v, want alternate", r)
		}
		// Blocked: frames from b are dropped, nothing is flooded to b.
		b.send(eth(frame.Broadcast, mac(0x71), 60))
		c.send(eth(frame.Broadcast, mac(0x72), 60))
		synctest.Wait()
		if _, other := drain(c); other != 0 {
			t.Fatalf("c got %d frames from blocked b", other)
		}
		if _, other := drain(b); other != 0 {
			t.Fatalf("blocked b got %d frames", other)
		}
		if _, ok := s.FindHash(mac(0x71), 0); ok {
			t.Fatal("learned a MAC on a blocked port")
		}
		// A topology change on the root port flushes VLAN 0's entries.
		if _, ok := s.FindHash(mac(0x72), 0); !ok {
			t.Fatal("c's MAC not learned")
		}
		a.send(peerBPDU(0x1000, mac(0x60), 0, 0x7d))
		synctest.Wait()
		if _, ok := s.FindHash(mac(0x72), 0); ok {
			t.Fatal("TC did not flush the VLAN's entries")
		}
		// Malformed BPDUs are dropped and counted, and never forwarded.
		bad := peerBPDU(0x1000, mac(0x60), 0, 0x7c)
		bad[19] = 0
		a.send(bad)
		a.send(bad[:40])
		synctest.Wait()
		if st := s.FSTPStats(); st.Bad != 2 {
			t.Fatalf("stats %+v, want 2 bad", st)
		}
		if _, other := drain(c); other != 0 {
			t.Fatal("a malformed BPDU was forwarded")
		}
		// Silence: the root port times out (12 s + up to a hello) and the switch is root again;
		// the blocked port b, not hearing from its peer for a whole receive period, forwards again.
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if fi, _ := s.FSTP(0); !fi.IsRoot || fi.RootPort != 0 {
			t.Fatalf("root port did not time out: %+v", fi)
		}
		time.Sleep(40 * time.Second)
		synctest.Wait()
		if r := roles(t, s, 0)[b.port]; r != RoleDesignated {
			t.Fatalf("b role %v after 60 s of silence, want designated", r)
		}
		// Hellos: every 4 s on every port; an edge port gets none.
		must(t, s.SetFSTPEdge(0, c.port, true))
		drain(a)
		drain(c)
		time.Sleep(40 * time.Second)
		synctest.Wait()
		if n, _ := drain(a); n < 9 || n > 11 {
			t.Errorf("a got %d BPDUs in 40 s, want a hello every 4 s", n)
		}
		if n, _ := drain(c); n != 0 {
			t.Errorf("edge port c got %d BPDUs", n)
		}
		// Off: every port forwards, BPDUs are plain multicast frames again.
		must(t, s.SetFSTP(false))
		a.send(peerBPDU(0x1000, mac(0x60), 0, 0x7c))
		synctest.Wait()
		if _, other := drain(c); other != 1 {
			t.Fatalf("with FSTP off, c got %d forwarded BPDUs, want 1", other)
		}
	})
}

func TestFSTPHub(t *testing.T) {
	s := newSwitch(t, Config{Hub: true, FSTP: true})
	if s.FSTPEnabled() {
		t.Fatal("FSTP on in hub mode")
	}
	if err := s.SetFSTP(true); err != ErrHub {
		t.Fatalf("SetFSTP in hub mode = %v", err)
	}
	s2 := newSwitch(t, Config{FSTP: true})
	s2.SetHub(true)
	if s2.FSTPEnabled() {
		t.Fatal("sethub 1 left FSTP on")
	}
}
