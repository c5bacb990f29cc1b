// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"syscall"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// FSTP: there is no spanning-tree state machine yet; the switch keeps the per-VLAN settings it
// will use (edge flags, bonus) and answers as vde_switch r586 does with FSTP off: every switch is
// the root of every VLAN, untagged active ports are designated (or edge), tagged ones unknown.

// DefaultPortCost is the FSTP cost of every port (vde_switch's 20000000 for any port speed).
const DefaultPortCost = 20000000

// numVLANTables is the number of VLAN ids vde_switch keeps FSTP tables for (NUMOFVLAN, 0…4094).
const numVLANTables = 4095

// allVLANs selects every VLAN in fstpState.clearEdges.
const allVLANs = -1

// An FSTPRole is a port's spanning-tree role in a VLAN.
type FSTPRole uint8

// Port roles, as fstp/print names them.
const (
	RoleUnknown FSTPRole = iota
	RoleRoot
	RoleDesignated
	RoleAlternate
	RoleBackup
	RoleEdge
)

// FSTPInfo is the spanning-tree state of one VLAN, as fstp/print shows it.
type FSTPInfo struct {
	VLAN    int
	Enabled bool // FSTP on (never, yet)
	// Root is the root bridge: its priority and MAC (this switch while FSTP is off).
	RootPriority uint16
	RootMAC      frame.MAC
	RootPort     int // 0: this switch is the root
	RootCost     int
	Age          time.Duration // since the root was last heard of (the uptime while FSTP is off)
	// BonusPort and BonusCost are set by SetFSTPBonus (0 0 by default).
	BonusPort, BonusCost int
	Ports                []FSTPPort // active member ports: untagged first, then tagged, each ascending
}

// FSTPPort is one active member port of a VLAN's spanning tree.
type FSTPPort struct {
	Port   int
	Tagged bool
	Cost   int
	Role   FSTPRole
}

type fstpKey struct{ vlan, port int }

type fstpBonus struct{ port, cost int }

// fstpState is the switch's spanning-tree configuration, guarded by Switch.mu. Like the reference,
// which keeps an edge flag in the VLAN's FSTP table and rebuilds that table's entry whenever the
// port joins or leaves the VLAN (becoming active or inactive included), an edge flag is forgotten
// on any such change; a flag set on an inactive port is therefore never kept.
type fstpState struct {
	edge  map[fstpKey]bool
	bonus map[int]fstpBonus // by VLAN
}

func newFSTPState() fstpState {
	return fstpState{edge: map[fstpKey]bool{}, bonus: map[int]fstpBonus{}}
}

// clearEdges forgets the edge flag of port in vlan, or in every VLAN for allVLANs.
func (f *fstpState) clearEdges(port, vlan int) {
	for k := range f.edge {
		if k.port == port && (vlan == allVLANs || k.vlan == vlan) {
			delete(f.edge, k)
		}
	}
}

// forgetVLAN drops the settings of a removed VLAN, as the reference frees its FSTP table.
func (f *fstpState) forgetVLAN(vlan int) {
	delete(f.bonus, vlan)
	for k := range f.edge {
		if k.vlan == vlan {
			delete(f.edge, k)
		}
	}
}

// fstpPortLocked checks a (VLAN, port) pair of an FSTP setting as the reference does: EINVAL for
// a VLAN outside 0…4094 or a port out of range, ENXIO for a VLAN that does not exist. The port need
// not be allocated.
func (s *Switch) fstpPortLocked(vlan, port int) error {
	if vlan < 0 || vlan >= numVLANTables || port < 0 || port >= s.numPorts {
		return syscall.EINVAL
	}
	if !s.vlans[vlan] {
		return syscall.ENXIO
	}
	return nil
}

// SetFSTPEdge sets or clears the edge flag of port in vlan (fstp/setedge): EINVAL out of range,
// ENXIO if the VLAN does not exist. Setting the flag of a port that is not active has no effect, as
// in the reference (see fstpState).
func (s *Switch) SetFSTPEdge(vlan, port int, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fstpPortLocked(vlan, port); err != nil {
		return err
	}
	if !on {
		s.fstp.clearEdges(port, vlan)
		return nil
	}
	if p := s.ports[port]; p != nil && p.active() {
		s.fstp.edge[fstpKey{vlan, port}] = true
	}
	return nil
}

// SetFSTPBonus sets the bonus port and cost of vlan (fstp/bonus): EINVAL out of range, ENXIO if
// the VLAN does not exist.
func (s *Switch) SetFSTPBonus(vlan, port, cost int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fstpPortLocked(vlan, port); err != nil {
		return err
	}
	s.fstp.bonus[vlan] = fstpBonus{port, cost}
	return nil
}

// FSTP returns the spanning-tree state of vlan: EINVAL unless 0 <= vlan <= MaxVLAN, ENXIO if it
// does not exist.
func (s *Switch) FSTP(vlan int) (FSTPInfo, error) {
	if vlan < 0 || vlan > MaxVLAN {
		return FSTPInfo{}, syscall.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.vlans[vlan] {
		return FSTPInfo{}, syscall.ENXIO
	}
	return s.fstpInfoLocked(vlan), nil
}

// FSTPAll returns the spanning-tree state of every VLAN, in ascending order.
func (s *Switch) FSTPAll() []FSTPInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []FSTPInfo
	for _, v := range s.vlanIDsLocked() {
		out = append(out, s.fstpInfoLocked(v))
	}
	return out
}

func (s *Switch) fstpInfoLocked(vlan int) FSTPInfo {
	b := s.fstp.bonus[vlan]
	fi := FSTPInfo{VLAN: vlan, RootPriority: s.prio, RootMAC: s.mac, Age: s.Uptime(),
		BonusPort: b.port, BonusCost: b.cost}
	vi := s.vlanInfoLocked(vlan, false)
	for _, tagged := range []bool{false, true} {
		for _, vp := range vi.Ports {
			if vp.Tagged != tagged {
				continue
			}
			role := RoleUnknown // the reference never computes a tagged port's role with FSTP off
			if !tagged {
				role = RoleDesignated
				if s.fstp.edge[fstpKey{vlan, vp.Port}] {
					role = RoleEdge
				}
			}
			fi.Ports = append(fi.Ports, FSTPPort{Port: vp.Port, Tagged: tagged, Cost: DefaultPortCost, Role: role})
		}
	}
	return fi
}
