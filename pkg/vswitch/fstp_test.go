// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"errors"
	"maps"
	"slices"
	"syscall"
	"testing"
)

// roles returns port → role of the active members of vlan.
func roles(t *testing.T, s *Switch, vlan int) map[int]FSTPRole {
	t.Helper()
	fi, err := s.FSTP(vlan)
	if err != nil {
		t.Fatalf("FSTP(%d): %v", vlan, err)
	}
	m := map[int]FSTPRole{}
	for _, p := range fi.Ports {
		m[p.Port] = p.Role
	}
	return m
}

func TestFSTPSettingsErrors(t *testing.T) {
	s := newSwitch(t, Config{NumPorts: 8})
	for _, tt := range []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"edge vlan -1", s.SetFSTPEdge(-1, 1, true), syscall.EINVAL},
		{"edge vlan 4095", s.SetFSTPEdge(4095, 1, true), syscall.EINVAL},
		{"edge vlan 4094 missing", s.SetFSTPEdge(4094, 1, true), syscall.ENXIO},
		{"edge vlan 7 missing", s.SetFSTPEdge(7, 1, true), syscall.ENXIO},
		{"edge port 8", s.SetFSTPEdge(0, 8, true), syscall.EINVAL},
		{"edge port -1", s.SetFSTPEdge(0, -1, false), syscall.EINVAL},
		{"edge unallocated port", s.SetFSTPEdge(0, 3, true), 0},
		{"bonus vlan missing", s.SetFSTPBonus(9, 1, 5), syscall.ENXIO},
		{"bonus port range", s.SetFSTPBonus(0, 99, 5), syscall.EINVAL},
		{"bonus", s.SetFSTPBonus(0, 2, 5), 0},
	} {
		if tt.want == 0 && tt.err != nil || tt.want != 0 && !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	for _, v := range []int{-1, 4094, 5000} {
		if _, err := s.FSTP(v); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("FSTP(%d) = %v, want EINVAL", v, err)
		}
	}
	if _, err := s.FSTP(12); !errors.Is(err, syscall.ENXIO) {
		t.Errorf("FSTP(12) = %v, want ENXIO", err)
	}
	fi, err := s.FSTP(0)
	if err != nil || fi.BonusPort != 2 || fi.BonusCost != 5 || fi.RootMAC != s.MAC() || fi.RootPriority != DefaultPriority {
		t.Errorf("FSTP(0) = %+v, %v", fi, err)
	}
}

// TestFSTPEdgeLifetime: an edge flag lives until the port joins or leaves the VLAN, becomes
// inactive, or the VLAN is removed, and is never kept for an inactive port (as in vde_switch).
func TestFSTPEdgeLifetime(t *testing.T) {
	s := newSwitch(t, Config{NumPorts: 8})
	a, b := addHost(t, s, 0), addHost(t, s, 0)
	must(t, s.CreateVLAN(10))
	must(t, s.AddVLANPort(10, b.port))
	edge := func(vlan, port int) {
		t.Helper()
		must(t, s.SetFSTPEdge(vlan, port, true))
		if r := roles(t, s, vlan)[port]; r != RoleEdge {
			t.Fatalf("vlan %d port %d role %v after setedge, want edge", vlan, port, r)
		}
	}
	want := func(what string, vlan int, w map[int]FSTPRole) {
		t.Helper()
		if got := roles(t, s, vlan); !maps.Equal(got, w) {
			t.Errorf("%s: vlan %d roles %v, want %v", what, vlan, got, w)
		}
	}
	want("start", 0, map[int]FSTPRole{a.port: RoleDesignated, b.port: RoleDesignated})
	want("start", 10, map[int]FSTPRole{b.port: RoleDesignated}) // (fstp/print shows a tagged port as Unknown)

	edge(0, a.port)
	must(t, s.SetFSTPEdge(0, a.port, false))
	want("setedge 0", 0, map[int]FSTPRole{a.port: RoleDesignated, b.port: RoleDesignated})

	edge(0, a.port)
	must(t, s.SetPortVLAN(a.port, 10)) // leaves 0, joins 10
	must(t, s.SetPortVLAN(a.port, 0))
	want("after setvlan", 0, map[int]FSTPRole{a.port: RoleDesignated, b.port: RoleDesignated})

	edge(0, b.port)
	if err := s.AddVLANPort(10, b.port); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("AddVLANPort again = %v", err)
	}
	want("re-adding b to vlan 10 keeps its vlan 0 flag", 0, map[int]FSTPRole{a.port: RoleDesignated, b.port: RoleEdge})
	must(t, s.SetFSTPEdge(10, b.port, true))
	if err := s.DelVLANPort(10, a.port); !errors.Is(err, syscall.ENXIO) {
		t.Fatalf("DelVLANPort non-member = %v", err)
	}

	b.ep.Close() // b goes inactive: all its flags go
	Eventually(t, func() bool { p, _ := s.Port(b.port); return !p.Active })
	c := addHost(t, s, b.port)
	if c.port != b.port {
		t.Fatalf("new host on port %d, want %d", c.port, b.port)
	}
	want("after b went inactive", 0, map[int]FSTPRole{a.port: RoleDesignated, b.port: RoleDesignated})

	// Setting the flag of an inactive port keeps nothing.
	must(t, s.CreatePort(6))
	must(t, s.SetFSTPEdge(0, 6, true))
	d := addHost(t, s, 6)
	want("flag set while inactive", 0, map[int]FSTPRole{a.port: RoleDesignated, c.port: RoleDesignated, d.port: RoleDesignated})

	// Removing a VLAN forgets its bonus.
	must(t, s.CreateVLAN(20))
	must(t, s.SetFSTPBonus(20, 3, 7))
	must(t, s.RemoveVLAN(20))
	must(t, s.CreateVLAN(20))
	if fi, _ := s.FSTP(20); fi.BonusPort != 0 || fi.BonusCost != 0 {
		t.Errorf("bonus survived vlan/remove: %+v", fi)
	}
	ids := []int{}
	for _, fi := range s.FSTPAll() {
		ids = append(ids, fi.VLAN)
	}
	if !slices.Equal(ids, []int{0, 10, 20}) {
		t.Errorf("FSTPAll VLANs = %v", ids)
	}
}
