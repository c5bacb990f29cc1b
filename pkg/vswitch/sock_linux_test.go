// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

// TestParkedSourceDoesNotStallOthers: a source whose batch waits for a full destination is parked, and
// only it: the other ports go on meanwhile, and the wait ends when the destination goes away. The wait
// is made an hour long, so a switch that waited for the destination on its forwarding thread would not
// deliver the other port's frame within the test's 5-second read timeout.
func TestParkedSourceDoesNotStallOthers(t *testing.T) {
	s, dir := startServed(t, Config{})
	s.congWait = time.Hour
	a, b, c, stuck := dial(t, s, dir, 0), dial(t, s, dir, 0), dial(t, s, dir, 0), dial(t, s, dir, 0)
	all := []*vde.Conn{a, b, c, stuck}
	for i, cl := range all[1:] { // learn b, c and stuck as mac(2), mac(3), mac(4)
		f := eth(frame.Broadcast, mac(byte(i+2)), 60)
		must(t, cl.WriteFrame(f))
		for _, o := range all {
			if o != cl {
				expectSock(t, o, f)
			}
		}
	}
	sent := make(chan error, 1)
	go func() { // far more than the sockets between the switch and stuck hold; blocks once a is parked
		var err error
		for i := 0; i < 5000 && err == nil; i++ {
			err = a.WriteFrame(eth(mac(4), mac(1), 60))
		}
		sent <- err
	}()
	for end := time.Now().Add(10 * time.Second); s.plane.nparked.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the source of frames for a full destination was not parked")
		}
	}
	f := eth(mac(3), mac(2), 100)
	must(t, b.WriteFrame(f))
	expectSock(t, c, f)
	stuck.Close()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("a: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the parked source was not read again after its destination went away")
	}
	if n := s.plane.nparked.Load(); n != 0 {
		t.Errorf("%d sources still parked", n)
	}
}
