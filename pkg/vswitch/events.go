// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"sync"
	"sync/atomic"

	"github.com/govde/govde/pkg/frame"
)

// An EventKind says what an Event reports and which of its fields are set.
type EventKind uint8

// Event kinds. The switch formats none of them: the console turns them into vde_switch's debug
// lines (hash/+, port/ep/- …).
const (
	// EventHashAdd: MAC was learned on Port in VLAN.
	EventHashAdd EventKind = iota + 1
	// EventHashDel: the MAC table entry (MAC, VLAN) on Port was deleted (expired, flushed).
	EventHashDel
	// EventPortAdd: Port was allocated.
	EventPortAdd
	// EventPortDel: Port lost its last endpoint and became inactive.
	EventPortDel
	// EventEndpointAdd: endpoint Endpoint was attached to Port.
	EventEndpointAdd
	// EventEndpointDel: endpoint Endpoint of Port was closed.
	EventEndpointDel
	// EventPortDescr: endpoint Endpoint of Port has the description Descr.
	EventPortDescr
	// EventMACMoved: MAC in VLAN moved from FromPort to Port. It is rate limited per Port (see
	// MACMoveInterval); Count is the number of moves onto Port since the previous EventMACMoved for
	// Port, this one included.
	EventMACMoved
	// EventFSTPStatus: the FSTP state of Port in VLAN was set to State (StateDiscarding …).
	EventFSTPStatus
	// EventFSTPRoot: VLAN's root is now Root, reached through Port (0: this switch is the root).
	EventFSTPRoot
	// EventFSTPPortUp: a BPDU came in on Port in VLAN, which had not spoken FSTP lately.
	EventFSTPPortUp
	// EventFSTPPortDown: Port in VLAN stopped speaking FSTP (nothing heard for a receive period,
	// or it left the VLAN).
	EventFSTPPortDown
)

// An Event is something that happened in the switch, for Subscribe. Only the fields its Kind
// names are set. Events are passed by value; Descr aliases the switch's own (immutable) string.
type Event struct {
	Kind     EventKind
	Port     int
	Endpoint int // endpoint ID (the ctl descriptor number for VDE clients)
	MAC      frame.MAC
	VLAN     int
	Descr    string
	FromPort int      // EventMACMoved
	Count    uint64   // EventMACMoved
	State    uint8    // EventFSTPStatus
	Root     BridgeID // EventFSTPRoot
}

// events is the switch's subscriber list. emit costs one atomic load when nobody subscribes.
type events struct {
	mu    sync.RWMutex // held for reading while callbacks run, so cancel waits for them
	subs  map[int]func(Event)
	next  int
	nsubs atomic.Int32
}

// Subscribe calls fn for every event until cancel is called; once cancel returns, fn is not running
// and will not be called again. fn is called from forwarding and management goroutines, possibly
// concurrently, sometimes with the switch's configuration lock held: it must not block and must
// not call back into the Switch (queue the event instead).
func (s *Switch) Subscribe(fn func(Event)) (cancel func()) {
	ev := &s.ev
	ev.mu.Lock()
	if ev.subs == nil {
		ev.subs = make(map[int]func(Event))
	}
	id := ev.next
	ev.next++
	ev.subs[id] = fn
	ev.nsubs.Store(int32(len(ev.subs)))
	ev.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			ev.mu.Lock()
			delete(ev.subs, id)
			ev.nsubs.Store(int32(len(ev.subs)))
			ev.mu.Unlock()
		})
	}
}

// subscribed reports whether anyone would receive an event: callers test it before building one.
func (s *Switch) subscribed() bool { return s.ev.nsubs.Load() != 0 }

// emit passes e to every subscriber.
func (s *Switch) emit(e Event) {
	if !s.subscribed() {
		return
	}
	s.ev.mu.RLock()
	defer s.ev.mu.RUnlock()
	for _, fn := range s.ev.subs {
		fn(e)
	}
}

// emitPort emits an event of kind about port n (and endpoint id, descr where the kind has them).
func (s *Switch) emitPort(kind EventKind, n, id int, descr string) {
	if s.subscribed() {
		s.emit(Event{Kind: kind, Port: n, Endpoint: id, Descr: descr})
	}
}

// emitHash emits a MAC table event for entry k on port.
func (s *Switch) emitHash(kind EventKind, k fdbKey, port int) {
	if s.subscribed() {
		s.emit(Event{Kind: kind, Port: port, MAC: k.mac(), VLAN: k.vlan()})
	}
}
