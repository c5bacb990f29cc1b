// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
)

func TestPortAllocationAndAccess(t *testing.T) {
	s := newSwitch(t, Config{NumPorts: 8})
	must(t, s.CreatePort(3))
	must(t, s.CreatePort(4))
	if err := s.CreatePort(3); err != syscall.EEXIST {
		t.Errorf("CreatePort(3) again = %v, want EEXIST", err)
	}
	if err := s.CreatePort(8); err != syscall.EINVAL {
		t.Errorf("CreatePort(8) = %v, want EINVAL", err)
	}
	h7 := addHost(t, s, 7)
	var got []int
	for range 4 {
		got = append(got, addHost(t, s, 0).port)
	}
	if fmt.Sprint(got) != "[1 2 5 6]" || h7.port != 7 {
		t.Errorf("auto ports = %v (7: %d), want [1 2 5 6]", got, h7.port)
	}
	a, _ := frametest.Pipe(1)
	if _, _, err := s.AddEndpoint(a, 0, ModuleUnix, "x"); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("no free port: %v, want ENOSPC", err)
	}
	a, _ = frametest.Pipe(1)
	if _, _, err := s.AddEndpoint(a, 8, ModuleUnix, "x"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("port 8 of 8: %v, want EINVAL", err)
	}
	must(t, s.SetAllocatable(3, true))
	if h := addHost(t, s, 0); h.port != 3 {
		t.Errorf("after allocatable: port %d, want 3", h.port)
	}
	// Access control by uid/group.
	must(t, s.SetPortUser(4, 1001))
	try := func(port, uid int) error {
		a, _ := frametest.Pipe(1)
		_, err := s.attach(epSpec{ep: a, id: -1, module: ModuleUnix, uid: uid, port: port})
		if err != nil {
			a.Close()
		}
		return err
	}
	if err := try(4, 65534); err != syscall.EPERM {
		t.Errorf("uid 65534 on port of 1001: %v, want EPERM", err)
	}
	if err := try(4, 1001); err != nil {
		t.Errorf("uid 1001 on its port: %v", err)
	}
	if err := try(4, 0); err != syscall.EADDRINUSE {
		t.Errorf("root on port active for 1001: %v, want EADDRINUSE", err)
	}
	if err := try(4, 1001); err != nil {
		t.Errorf("second endpoint of uid 1001: %v", err)
	}
	must(t, s.SetPortGroup(2, 0)) // gid 0: root's primary group
	must(t, s.SetPortUser(2, 12345))
	if err := s.RemovePort(2); err != syscall.EADDRINUSE {
		t.Errorf("RemovePort(active) = %v, want EADDRINUSE", err)
	}
	if err := s.RemovePort(0); err != syscall.ENXIO {
		t.Errorf("RemovePort(unallocated) = %v, want ENXIO", err)
	}
	// Port 0 is only for port-0 requests.
	a, _ = frametest.Pipe(1)
	e, err := s.attach(epSpec{ep: a, id: -1, module: ModuleUnix, uid: 0, port0: true})
	if err != nil || e.port.num != 0 {
		t.Errorf("port-0 request: %v", err)
	}
	// Group access: the requester's own groups (kernel credentials), not the group database.
	for _, tc := range []struct {
		uid  int
		gids []int
		want error
	}{
		{65534, []int{65534}, syscall.EPERM},
		{-1, nil, syscall.EPERM},
		{65534, []int{65534, 4242}, nil},
		{1001, []int{4242}, nil},
		{1001, []int{100}, nil}, // the port's user
		{0, nil, nil},
	} {
		p := &port{user: 1001, group: 4242}
		if err := checkAccess(p, tc.uid, tc.gids); err != tc.want {
			t.Errorf("checkAccess(user 1001 group 4242, uid %d, groups %v) = %v, want %v", tc.uid, tc.gids, err, tc.want)
		}
	}
}

func TestNumPorts(t *testing.T) {
	s := newSwitch(t, Config{NumPorts: 4})
	addHost(t, s, 3)
	if err := s.SetNumPorts(3); err != syscall.EADDRINUSE {
		t.Errorf("SetNumPorts(3) with port 3 used = %v, want EADDRINUSE", err)
	}
	must(t, s.SetNumPorts(10))
	if s.NumPorts() != 10 {
		t.Errorf("NumPorts = %d", s.NumPorts())
	}
	if h := addHost(t, s, 9); h.port != 9 {
		t.Errorf("port 9: %d", h.port)
	}
	if err := s.SetNumPorts(0); err != syscall.EINVAL {
		t.Errorf("SetNumPorts(0) = %v", err)
	}
}

func TestVLANManagement(t *testing.T) {
	s := newSwitch(t, Config{})
	a, b := addHost(t, s, 0), addHost(t, s, 0)
	for _, v := range []int{0, 4094, 4095, -1} {
		if err := s.CreateVLAN(v); err != syscall.EINVAL {
			t.Errorf("CreateVLAN(%d) = %v, want EINVAL", v, err)
		}
	}
	must(t, s.CreateVLAN(10))
	if err := s.CreateVLAN(10); err != syscall.EEXIST {
		t.Errorf("CreateVLAN twice = %v", err)
	}
	if err := s.SetPortVLAN(a.port, 11); err != syscall.ENXIO {
		t.Errorf("SetPortVLAN missing vlan = %v, want ENXIO", err)
	}
	if err := s.SetPortVLAN(20, 10); err != syscall.ENXIO {
		t.Errorf("SetPortVLAN unallocated port = %v, want ENXIO", err)
	}
	must(t, s.SetPortVLAN(a.port, 10))
	must(t, s.AddVLANPort(10, b.port))
	if err := s.DelVLANPort(10, a.port); err != syscall.EADDRINUSE {
		t.Errorf("DelVLANPort(untagged) = %v, want EADDRINUSE", err)
	}
	if err := s.RemoveVLAN(10); err != syscall.EADDRINUSE {
		t.Errorf("RemoveVLAN(in use) = %v, want EADDRINUSE", err)
	}
	vi, err := s.VLAN(10, false)
	want := VLANInfo{ID: 10, Ports: []VLANPort{{a.port, false, true, "Forwarding"}, {b.port, true, true, "Forwarding"}}}
	if err != nil || fmt.Sprint(vi) != fmt.Sprint(want) {
		t.Errorf("VLAN(10) = %v, %v; want %v", vi, err, want)
	}
	all := s.VLANs(true)
	if len(all) != 2 || all[0].ID != 0 || len(all[0].Ports) != 1 || all[0].Ports[0].Port != b.port {
		t.Errorf("VLANs = %+v", all)
	}
	a.ep.Close()
	Eventually(t, func() bool { p, _ := s.Port(a.port); return !p.Active })
	if vi, _ := s.VLAN(10, false); len(vi.Ports) != 1 {
		t.Errorf("print: %+v, want only the active port", vi)
	}
	if vi, _ := s.VLAN(10, true); len(vi.Ports) != 2 || vi.Ports[0].Status != "Learning" || vi.Ports[0].Active {
		t.Errorf("allprint: %+v, want inactive port with status Learning", vi)
	}
	if _, err := s.VLAN(99, true); err != syscall.ENXIO {
		t.Errorf("VLAN(99) = %v", err)
	}
	must(t, s.DelVLANPort(10, b.port))
	must(t, s.SetPortVLAN(a.port, 0))
	must(t, s.RemoveVLAN(10))
}

func TestBucket(t *testing.T) {
	// Bucket numbers from the reference capture (hash/print of a 128-bucket table).
	for _, tt := range []struct {
		mac  frame.MAC
		vlan int
		want int
	}{
		{mac(1), 0, 43},
		{mac(2), 0, 60},
	} {
		if got := makeKey(tt.mac, tt.vlan).bucket(128); got != tt.want {
			t.Errorf("bucket(%v, %d) = %d, want %d", tt.mac, tt.vlan, got, tt.want)
		}
	}
}

// mtuEndpoint is a pipe end with an MTU, like a TAP.
