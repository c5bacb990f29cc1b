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

// TestLoneThenBurst: frames that come one at a time, each answered, as pings (read with one recvfrom
// each when they come more than rawfd.SparseGap apart), a burst after them (read with recvmmsg) and pings
// once more all arrive once and in order; an oversize datagram, read alone (it comes a millisecond
// after the frame before), is dropped and counted on its port.
func TestLoneThenBurst(t *testing.T) {
	s, dir := startServed(t, Config{})
	a, b := dial(t, s, dir, 0), dial(t, s, dir, 0)
	learn := eth(frame.Broadcast, mac(2), 60)
	must(t, b.WriteFrame(learn))
	expectSock(t, a, learn)
	seq := 0
	next := func() []byte {
		f := eth(mac(2), mac(1), 60)
		f[20] = byte(seq)
		seq++
		return f
	}
	pings := func() {
		for range 3 {
			f := next()
			must(t, a.WriteFrame(f))
			expectSock(t, b, f)
			r := eth(mac(1), mac(2), 60)
			must(t, b.WriteFrame(r))
			expectSock(t, a, r)
		}
	}
	pings()
	var burst [][]byte
	for range 40 {
		f := next()
		burst = append(burst, f)
		must(t, a.WriteFrame(f))
	}
	for _, f := range burst {
		expectSock(t, b, f)
	}
	pings()
	// More than rawfd.SparseGap after the frame before, so read with recvfrom; sent to 00:00:00:00:00:00, it
	// would be flooded were it kept.
	time.Sleep(time.Millisecond)
	must(t, a.WriteFrame(make([]byte, frame.MaxLen+1)))
	pings()
	p, err := s.Port(a.Port())
	if err != nil {
		t.Fatal(err)
	}
	if p.In.Drops != 1 {
		t.Errorf("port %d counted %d frames dropped on input, want the oversize one", a.Port(), p.In.Drops)
	}
}
