// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// TestSIGKILLedClients: real vde_plug clients are killed with SIGKILL while they send; the
// switch drops their endpoints, its goroutines and descriptors return to the baseline, and it
// still forwards between the survivors.
func TestSIGKILLedClients(t *testing.T) {
	plug := testutil.RealTool(t, "vde_plug")
	s, dir := startServed(t, Config{})
	a := dial(t, s, dir, 0)
	f := eth(frame.Broadcast, mac(1), 60)
	arx := make(chan []byte, 1024)
	go func() { // a's reader, started before the baseline
		buf := make([]byte, frame.MaxLen)
		for {
			n, err := a.ReadFrame(buf)
			if err != nil {
				return
			}
			select {
			case arx <- bytes.Clone(buf[:n]):
			default:
			}
		}
	}()
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), countFDs(t)
	for round := range 3 {
		var procs []*testutil.Proc
		var pipes []*os.File
		for range 3 {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = r }, plug, "vde://"+dir)
			r.Close()
			procs = append(procs, p)
			pipes = append(pipes, w)
		}
		testutil.Eventually(t, 10*time.Second, "plugs connected", func() bool { return len(s.Ports(false)) == 4 })
		// Traffic from every plug (a broadcast each, read by a), then kill them mid-stream.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				for j, w := range pipes {
					select {
					case <-stop:
						return
					default:
					}
					sw := stream.NewWriter(w)
					if sw.WriteFrame(eth(frame.Broadcast, mac(byte(10+j)), 60+i%100)) != nil {
						return
					}
				}
			}
		}()
		select {
		case <-arx:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no traffic from the plugs", round)
		}
		for _, p := range procs {
			p.Cmd.Process.Kill()
			p.Wait(5 * time.Second)
		}
		close(stop)
		for _, w := range pipes {
			w.Close()
		}
		<-done
		testutil.Eventually(t, 10*time.Second, "killed plugs' ports inactive", func() bool { return len(s.Ports(false)) == 1 })
	}
	settle(t, g0, fd0)
	// Still forwards: drain what a received, then a new client's frame must arrive.
	for len(arx) > 0 {
		<-arx
	}
	b := dial(t, s, dir, 0)
	must(t, b.WriteFrame(f))
	for {
		select {
		case got := <-arx:
			if bytes.Equal(got, f) {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no frame from a new client after the kills")
		}
	}
}
