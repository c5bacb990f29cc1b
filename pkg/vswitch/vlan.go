// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"sort"
	"syscall"
)

// VLANInfo describes a VLAN and its member ports, as vlan/print shows it.
type VLANInfo struct {
	ID    int
	Ports []VLANPort // ascending port number
}

// VLANPort is one member port of a VLAN.
type VLANPort struct {
	Port   int
	Tagged bool
	Active bool
	// Status is "Forwarding" or "Discarding" (blocked by FSTP) for active ports and "Learning" for
	// inactive ones.
	Status string
}

// Membership of a port in a VLAN, as the forwarding table stores it.
const (
	memberNone uint8 = iota
	memberUntagged
	memberTagged
)

// fwdTable is the immutable forwarding configuration that readers load atomically; every
// configuration change publishes a new one.
type fwdTable struct {
	hub   bool
	fstp  bool             // BPDUs are consumed (fstpInput), not forwarded
	ports []*port          // by number; nil = not allocated
	untag []uint16         // by port number: untagged VLAN
	vlans [4096]*vlanTable // nil = VLAN does not exist
}

type vlanTable struct {
	member   []uint8 // by port number
	blocked  []bool  // by port number: FSTP discarding (frames in are dropped, none go out)
	untagged []*port // forwarding untagged members
	tagged   []*port // forwarding tagged members
}

// publishLocked rebuilds the forwarding table from the configuration; s.mu must be held.
func (s *Switch) publishLocked() {
	t := &fwdTable{hub: s.hub, fstp: s.fstp.on, ports: append([]*port(nil), s.ports...), untag: make([]uint16, len(s.ports))}
	for v := range s.vlans {
		t.vlans[v] = &vlanTable{member: make([]uint8, len(s.ports)), blocked: make([]bool, len(s.ports))}
	}
	for i, p := range s.ports {
		if p == nil {
			t.untag[i] = NoVLAN
			continue
		}
		t.untag[i] = uint16(p.untagged)
		if vt := t.vlans[p.untagged&0xfff]; p.untagged != NoVLAN && vt != nil {
			vt.member[i] = memberUntagged
			if s.fstpStateLocked(p.untagged, i) == StateForwarding {
				vt.untagged = append(vt.untagged, p)
			} else {
				vt.blocked[i] = true
			}
		}
		for v := range p.tagged {
			if vt := t.vlans[v]; vt != nil && v != p.untagged {
				vt.member[i] = memberTagged
				if s.fstpStateLocked(v, i) == StateForwarding {
					vt.tagged = append(vt.tagged, p)
				} else {
					vt.blocked[i] = true
				}
			}
		}
	}
	for _, vt := range t.vlans {
		if vt != nil {
			sort.Slice(vt.tagged, func(i, j int) bool { return vt.tagged[i].num < vt.tagged[j].num })
		}
	}
	s.table.Store(t)
}

// CreateVLAN creates VLAN v: EINVAL unless 1 <= v <= MaxVLAN, EEXIST if it exists.
func (s *Switch) CreateVLAN(v int) error {
	if v < 1 || v > MaxVLAN {
		return syscall.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vlans[v] {
		return syscall.EEXIST
	}
	s.vlans[v] = true
	var a fstpActs
	s.fstpNewVLANLocked(v, &a)
	s.publishLocked()
	return nil
}

// RemoveVLAN removes VLAN v: EINVAL out of range, ENXIO missing, EADDRINUSE if it has ports.
func (s *Switch) RemoveVLAN(v int) error {
	if v < 1 || v > MaxVLAN {
		return syscall.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.vlans[v] {
		return syscall.ENXIO
	}
	for _, p := range s.ports {
		if p != nil && (p.untagged == v || p.tagged[v]) {
			return syscall.EADDRINUSE
		}
	}
	delete(s.vlans, v)
	if vl := s.fstp.vlans[v]; vl != nil {
		fstpStopTCLocked(vl)
	}
	delete(s.fstp.vlans, v)
	s.publishLocked()
	return nil
}

func (s *Switch) vlanPortLocked(v, n int) (*port, error) {
	if v < 0 || v > MaxVLAN {
		return nil, syscall.EINVAL
	}
	p, err := s.portLocked(n)
	if err != nil {
		return nil, err
	}
	if !s.vlans[v] {
		return nil, syscall.ENXIO
	}
	return p, nil
}

// AddVLANPort makes port n a tagged member of VLAN v: EINVAL out of range, ENXIO if the VLAN or
// port does not exist, EEXIST if it is already a member. Adding a tagged member again still
// forgets its FSTP edge flag in v, as the reference re-adds it to the VLAN's FSTP table.
func (s *Switch) AddVLANPort(v, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.vlanPortLocked(v, n)
	if err != nil {
		return err
	}
	if p.untagged == v {
		return syscall.EEXIST
	}
	if pp := s.fstp.vlans[v].ports[n]; pp != nil {
		pp.edge = false
	}
	if p.tagged[v] {
		return syscall.EEXIST
	}
	p.tagged[v] = true
	var a fstpActs
	if p.active() {
		s.fstpAddPortLocked(v, n, true, &a)
	}
	s.fstpFinishLocked(&a)
	s.mu.Lock() // for the deferred Unlock
	return nil
}

// DelVLANPort removes port n from the tagged members of VLAN v: EADDRINUSE if v is the port's
// untagged VLAN, ENXIO if it is not a member. Its MAC table entries in v are flushed. Unless v is
// the port's untagged VLAN, its FSTP edge flag in v is forgotten (also when it was not a member).
func (s *Switch) DelVLANPort(v, n int) error {
	s.mu.Lock()
	p, err := s.vlanPortLocked(v, n)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if p.untagged == v {
		s.mu.Unlock()
		return syscall.EADDRINUSE
	}
	if pp := s.fstp.vlans[v].ports[n]; pp != nil {
		pp.edge = false
	}
	if !p.tagged[v] {
		s.mu.Unlock()
		return syscall.ENXIO
	}
	delete(p.tagged, v)
	s.publishLocked()
	active := p.active()
	s.mu.Unlock()
	// As vde_switch: all of the port's entries go, then, if it was active, those of the VLAN it left.
	s.flushHash(func(_ fdbKey, port int) bool { return port == n })
	if active {
		var a fstpActs
		s.mu.Lock()
		s.fstpDelPortLocked(v, n, &a)
		s.fstpFinishLocked(&a)
	}
	return nil
}

// SetPortVLAN sets the untagged VLAN of port n (NoVLAN: drop untagged frames) and flushes the
// port's MAC table entries and its FSTP edge flags in the old and new VLAN: EINVAL out of range,
// ENXIO if the VLAN or port does not exist.
func (s *Switch) SetPortVLAN(n, v int) error {
	s.mu.Lock()
	var p *port
	var err error
	if v == NoVLAN {
		p, err = s.portLocked(n)
	} else {
		p, err = s.vlanPortLocked(v, n)
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	old := p.untagged
	p.untagged = v
	if v != NoVLAN {
		delete(p.tagged, v)
	}
	active := p.active()
	s.publishLocked()
	s.mu.Unlock()
	// As vde_switch: the port's entries go, then, if it is active, it leaves the old VLAN's spanning
	// tree and joins the new one's (each a topology change, flushing that VLAN's entries).
	s.flushHash(func(_ fdbKey, port int) bool { return port == n })
	if active {
		var a fstpActs
		s.mu.Lock()
		if old != NoVLAN {
			s.fstpDelPortLocked(old, n, &a)
		}
		if v != NoVLAN {
			s.fstpAddPortLocked(v, n, false, &a)
		}
		s.fstpFinishLocked(&a)
	}
	return nil
}

func (s *Switch) vlanInfoLocked(v int, all bool) VLANInfo {
	vi := VLANInfo{ID: v}
	for _, p := range s.ports {
		if p == nil || (!all && !p.active()) {
			continue
		}
		tagged := p.tagged[v] && p.untagged != v
		if p.untagged != v && !tagged {
			continue
		}
		st := "Learning"
		if p.active() {
			st = "Forwarding"
			if s.fstpStateLocked(v, p.num) == StateDiscarding {
				st = "Discarding"
			}
		}
		vi.Ports = append(vi.Ports, VLANPort{Port: p.num, Tagged: tagged, Active: p.active(), Status: st})
	}
	return vi
}

// VLANs lists the VLANs in ascending order; with all false only active member ports are listed.
func (s *Switch) VLANs(all bool) []VLANInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.vlanIDsLocked()
	out := make([]VLANInfo, 0, len(ids))
	for _, v := range ids {
		out = append(out, s.vlanInfoLocked(v, all))
	}
	return out
}

// VLAN describes VLAN v: EINVAL unless 0 <= v <= MaxVLAN, ENXIO if it does not exist.
func (s *Switch) VLAN(v int, all bool) (VLANInfo, error) {
	if v < 0 || v > MaxVLAN {
		return VLANInfo{}, syscall.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.vlans[v] {
		return VLANInfo{}, syscall.ENXIO
	}
	return s.vlanInfoLocked(v, all), nil
}

// vlanIDsLocked returns the existing VLAN ids in ascending order.
func (s *Switch) vlanIDsLocked() []int {
	ids := make([]int, 0, len(s.vlans))
	for v := range s.vlans {
		ids = append(ids, v)
	}
	sort.Ints(ids)
	return ids
}
