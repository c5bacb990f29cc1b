// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/frame"
)

func TestEndpointCloseFlushesAndDeactivates(t *testing.T) {
	s := newSwitch(t, Config{})
	var log eventLog
	cancel := s.Subscribe(log.event)
	defer cancel()
	a, b := addHost(t, s, 0), addHost(t, s, 0)
	a.send(eth(frame.Broadcast, mac(0xd1), 60))
	b.expect(eth(frame.Broadcast, mac(0xd1), 60))
	a.ep.Close()
	// The port goes inactive first and its MAC entries are flushed right after, outside the switch
	// lock, so both are waited for, and the flush's event too: it is sent after the entry is gone,
	// and the next host must not join before it.
	hashDel := Event{Kind: EventHashDel, Port: 1, MAC: mac(0xd1)}
	Eventually(t, func() bool {
		p, _ := s.Port(a.port)
		_, ok := s.FindHash(mac(0xd1), 0)
		log.mu.Lock()
		defer log.mu.Unlock()
		return !p.Active && !ok && slices.Contains(log.evs, hashDel)
	})
	p, err := s.Port(a.port)
	if err != nil || p.Active || p.In.Pkts != 1 {
		t.Errorf("port after close = %+v, %v; want allocated, inactive, counters kept", p, err)
	}
	if len(s.Ports(false)) != 1 || len(s.Ports(true)) != 2 {
		t.Errorf("Ports(false)=%d Ports(true)=%d, want 1 2", len(s.Ports(false)), len(s.Ports(true)))
	}
	// The port is reused by the next unnamed request.
	c := addHost(t, s, 0)
	if c.port != a.port {
		t.Errorf("new host on port %d, want reuse of %d", c.port, a.port)
	}
	cancel()
	evs, _ := log.take()
	want := []Event{
		{Kind: EventPortAdd, Port: 1}, {Kind: EventEndpointAdd, Port: 1, Endpoint: 1},
		{Kind: EventPortDescr, Port: 1, Endpoint: 1, Descr: "host0"},
		{Kind: EventPortAdd, Port: 2}, {Kind: EventEndpointAdd, Port: 2, Endpoint: 2},
		{Kind: EventPortDescr, Port: 2, Endpoint: 2, Descr: "host0"},
		{Kind: EventHashAdd, Port: 1, MAC: mac(0xd1)},
		{Kind: EventEndpointDel, Port: 1, Endpoint: 1}, {Kind: EventPortDel, Port: 1},
		hashDel,
	}
	if len(evs) < len(want) || !slices.Equal(evs[:len(want)], want) {
		t.Errorf("events =\n%+v\nwant\n%+v", evs, want)
	}
}

// eventLog collects the events and log lines of a switch.
type eventLog struct {
	mu   sync.Mutex
	evs  []Event
	logs []string
}

func (l *eventLog) event(e Event) { l.mu.Lock(); l.evs = append(l.evs, e); l.mu.Unlock() }

func (l *eventLog) logf(format string, args ...any) {
	l.mu.Lock()
	l.logs = append(l.logs, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *eventLog) take() (evs []Event, logs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs, logs = l.evs, l.logs
	l.evs, l.logs = nil, nil
	return evs, logs
}

// directPorts attaches n recording direct endpoints and returns them with a forwarding state each,
// so that a test forwards frames synchronously (also inside a synctest bubble).
func directPorts(t *testing.T, s *Switch, n int) ([]*recEndpoint, []*rx) {
	t.Helper()
	var recs []*recEndpoint
	var rxs []*rx
	for range n {
		r := &recEndpoint{closed: make(chan struct{})}
		e, err := s.attach(epSpec{ep: r, id: -1, module: ModuleUnix, uid: -1, direct: true})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
		rxs = append(rxs, newRx(s, e))
	}
	return recs, rxs
}

func (r *rx) forwardOne(b []byte) {
	r.begin()
	r.handle(0, b)
	r.flush()
}

// TestMACMovedRateLimited: a MAC flapping between two ports (a loop) is counted on every frame
// but reported (log line and EventMACMoved) at most once per MACMoveInterval per port, the report
// carrying the number of moves it covers.
func TestMACMovedRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l eventLog
		s, err := New(Config{Logf: l.logf})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, rxs := directPorts(t, s, 3)
		cancel := s.Subscribe(l.event)
		defer cancel()
		f := eth(frame.Broadcast, mac(0x10), 60)
		rxs[0].forwardOne(f) // learned on port 1
		const flaps = 100
		for range flaps {
			rxs[1].forwardOne(f)
			rxs[0].forwardOne(f)
		}
		evs, logs := l.take()
		// The table keeps the MAC on port 1 during min-persistence: every frame from port 2 is a
		// sighting on another port, every frame from port 1 none, so only port 2 counts and reports.
		wantLogs := []string{"MAC 02:00:00:00:00:10 moved from port 1 to port 2"}
		if !slices.Equal(logs, wantLogs) {
			t.Errorf("logs = %q, want %q", logs, wantLogs)
		}
		var moved []Event
		for _, e := range evs {
			if e.Kind == EventMACMoved {
				moved = append(moved, e)
			}
		}
		want := []Event{{Kind: EventMACMoved, Port: 2, FromPort: 1, MAC: mac(0x10), Count: 1}}
		if !slices.Equal(moved, want) {
			t.Errorf("EventMACMoved = %+v, want %+v", moved, want)
		}
		if p, _ := s.Port(2); p.MACMoves != flaps {
			t.Errorf("port 2 MACMoves = %d, want %d", p.MACMoves, flaps)
		}

		// Within the interval: counted, not reported. After it: one report covering them all.
		time.Sleep(MACMoveInterval - time.Nanosecond)
		rxs[1].forwardOne(f)
		if evs, logs := l.take(); len(logs) != 0 || len(evs) != 0 {
			t.Errorf("reported within the interval: %q %+v", logs, evs)
		}
		time.Sleep(time.Nanosecond)
		rxs[1].forwardOne(f)
		evs, logs = l.take()
		wantLog := fmt.Sprintf("MAC 02:00:00:00:00:10 moved from port 1 to port 2 (%d earlier moves to port 2 not logged)", flaps)
		if len(logs) != 1 || logs[0] != wantLog {
			t.Errorf("logs = %q, want [%q]", logs, wantLog)
		}
		if len(evs) != 1 || evs[0].Count != flaps+1 {
			t.Errorf("events = %+v, want one EventMACMoved with Count %d", evs, flaps+1)
		}
		if p, _ := s.Port(2); p.MACMoves != flaps+2 {
			t.Errorf("port 2 MACMoves = %d, want %d", p.MACMoves, flaps+2)
		}
		must(t, s.ResetCounters(2))
		if p, _ := s.Port(2); p.MACMoves != 0 {
			t.Errorf("MACMoves after ResetCounters = %d", p.MACMoves)
		}
	})
}

// TestMACMovedLogsEachPort: reports are limited per port, not globally.
func TestMACMovedLogsEachPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l eventLog
		s, err := New(Config{Logf: l.logf})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		must(t, s.SetMinPersist(0))
		_, rxs := directPorts(t, s, 3)
		f := eth(frame.Broadcast, mac(0x20), 60)
		rxs[0].forwardOne(f)
		time.Sleep(time.Millisecond) // past min-persistence 0: the MAC really moves
		rxs[1].forwardOne(f)
		time.Sleep(time.Millisecond)
		rxs[2].forwardOne(f)
		_, logs := l.take()
		want := []string{
			"MAC 02:00:00:00:00:20 moved from port 1 to port 2",
			"MAC 02:00:00:00:00:20 moved from port 2 to port 3",
		}
		if !slices.Equal(logs, want) {
			t.Errorf("logs = %q, want %q", logs, want)
		}
		if e, ok := s.FindHash(mac(0x20), 0); !ok || e.Port != 3 {
			t.Errorf("entry = %+v, %v; want port 3", e, ok)
		}
	})
}

// TestNoSubscriberNoEvent: without subscribers nothing is delivered, and a cancelled
// subscription receives nothing more.
func TestNoSubscriberNoEvent(t *testing.T) {
	s := newSwitch(t, Config{})
	if s.subscribed() {
		t.Fatal("subscribed() without subscribers")
	}
	var l eventLog
	cancel := s.Subscribe(l.event)
	must(t, s.CreatePort(5))
	cancel()
	cancel() // idempotent
	must(t, s.CreatePort(6))
	if s.subscribed() {
		t.Error("subscribed() after cancel")
	}
	evs, _ := l.take()
	if want := []Event{{Kind: EventPortAdd, Port: 5}}; !slices.Equal(evs, want) {
		t.Errorf("events = %+v, want %+v", evs, want)
	}
}
