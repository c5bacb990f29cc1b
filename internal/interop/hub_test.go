// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
)

// TestHubMode: two namespaced hosts ping each other while a third port, a real vde_plug in stream mode,
// watches. With -x (hub) the watcher receives their unicast ICMP echo frames; as a switch, once the hosts'
// addresses are learned from ARP, it receives none of them.
func TestHubMode(t *testing.T) {
	for _, hub := range []bool{true, false} {
		name := "switch"
		var extra []string
		if hub {
			name, extra = "hub", []string{"-x"}
		}
		t.Run(name, func(t *testing.T) {
			eachSwitch(t, func(t *testing.T, impl switchImpl) {
				testutil.SkipUnlessRoot(t)
				sw := startSwitch(t, impl, extra...)
				a := newHost(t, sw.Dir, 0, "198.18.9.1/24")
				b := newHost(t, sw.Dir, 0, "198.18.9.2/24")
				mon := startPlug(t, "vde://"+sw.Dir)
				for _, d := range []string{hostDescr(t, a), hostDescr(t, b), descr(t, "vdeplug:", mon.Pid())} {
					sw.waitEndpoint(t, d)
				}
				a.Ping(t, b.IP)
				macA, err := frame.ParseMAC(a.MAC)
				if err != nil {
					t.Fatalf("host MAC %q: %v", a.MAC, err)
				}
				macB, err := frame.ParseMAC(b.MAC)
				if err != nil {
					t.Fatalf("host MAC %q: %v", b.MAC, err)
				}
				// isEcho reports whether f is an ICMP frame between the two hosts, either way.
				isEcho := func(f frame.Frame) bool {
					return len(f) >= 34 && f.EtherType() == 0x0800 && f[23] == 1 &&
						(f.Src() == macA && f.Dst() == macB || f.Src() == macB && f.Dst() == macA)
				}
				deadline := time.Now().Add(2 * time.Second)
				for {
					f, err := mon.tryRecv(time.Until(deadline))
					if errors.Is(err, os.ErrDeadlineExceeded) {
						if hub {
							t.Fatalf("%s -x: the third port saw no ICMP frame between %s and %s", impl.name, a.MAC, b.MAC)
						}
						return
					}
					if err != nil {
						t.Fatalf("read from the watching vde_plug: %v", err)
					}
					if isEcho(f) {
						if !hub {
							t.Fatalf("%s: the third port received a unicast ICMP frame between two learned hosts: % x", impl.name, f)
						}
						return
					}
				}
			})
		})
	}
}
