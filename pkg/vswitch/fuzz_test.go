// SPDX-License-Identifier: GPL-2.0-or-later

package vswitch

import (
	"bytes"
	"net"
	"sync"
	"testing"

	"github.com/govde/govde/pkg/frame"
)

// recEndpoint records the frames written to it (a direct endpoint: written inline).
type recEndpoint struct {
	mu     sync.Mutex
	got    [][]byte
	closed chan struct{}
	once   sync.Once
}

func (r *recEndpoint) ReadFrame([]byte) (int, error) { <-r.closed; return 0, net.ErrClosed }
func (r *recEndpoint) WriteFrame(b []byte) error {
	r.mu.Lock()
	r.got = append(r.got, bytes.Clone(b))
	r.mu.Unlock()
	return nil
}
func (r *recEndpoint) Close() error { r.once.Do(func() { close(r.closed) }); return nil }

func (r *recEndpoint) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.got
	r.got = nil
	return g
}

// FuzzForward feeds arbitrary frames into a switch with an access port of VLAN 10, a trunk
// tagged in VLAN 10 and a VLAN 0 port, and checks the tag rules on what comes out.
func FuzzForward(f *testing.F) {
	f.Add(byte(0), eth(frame.Broadcast, mac(1), 60))
	f.Add(byte(1), tag(eth(frame.Broadcast, mac(2), 60), 0xe00a))
	f.Add(byte(1), tag(eth(mac(1), mac(2), 64), 0))
	f.Add(byte(2), []byte{0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x00, 0x0f})
	f.Fuzz(func(t *testing.T, from byte, b []byte) {
		if len(b) > frame.MaxLen {
			return
		}
		s, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var recs [3]*recEndpoint
		var eps [3]*endpoint
		for i := range recs {
			recs[i] = &recEndpoint{closed: make(chan struct{})}
			eps[i], err = s.attach(epSpec{ep: recs[i], id: -1, module: ModuleUnix, uid: -1, direct: true})
			if err != nil {
				t.Fatal(err)
			}
		}
		access, trunk := eps[0].port.num, eps[1].port.num
		must(t, s.CreateVLAN(10))
		must(t, s.SetPortVLAN(access, 10))
		must(t, s.AddVLANPort(10, trunk))
		src := int(from) % 3
		r := newRx(s, eps[src])
		in := append([]byte(nil), b...)
		r.begin()
		r.handle(0, in)
		r.flush()
		if !bytes.Equal(in, b) {
			t.Fatalf("input buffer modified")
		}
		// An untagged broadcast always has somewhere to go (each port shares an untagged VLAN or
		// the trunk with another): without this, a switch that forwards nothing would pass.
		outs := 0
		for i, rec := range recs {
			got := rec.take()
			outs += len(got)
			for _, out := range got {
				if i == src {
					t.Fatalf("frame sent back to its ingress port %d", i)
				}
				if len(out) < frame.HeaderLen || len(out) > frame.MaxLen {
					t.Fatalf("output of %d bytes", len(out))
				}
				switch d := len(out) - len(b); d {
				case 0:
					if !bytes.Equal(out, b) {
						t.Fatalf("same-length output differs from input")
					}
				case frame.TagLen:
					if !bytes.Equal(out[12:16], []byte{0x81, 0, 0, 10}) || !bytes.Equal(out[16:], b[12:]) || i != 1 {
						t.Fatalf("tag inserted wrongly on port %d: %x from %x", i, out, b)
					}
				case -frame.TagLen:
					if !bytes.Equal(out[12:], b[16:]) || b[12] != 0x81 || b[13] != 0 {
						t.Fatalf("tag stripped wrongly on port %d: %x from %x", i, out, b)
					}
				default:
					t.Fatalf("length changed by %d", d)
				}
				if !bytes.Equal(out[:12], b[:12]) {
					t.Fatalf("addresses changed")
				}
			}
		}
		if fr := frame.Frame(b); len(b) >= frame.HeaderLen && len(b) <= frame.MaxLen-frame.TagLen && !fr.HasTPID() && fr.Dst() == frame.Broadcast && outs == 0 {
			t.Fatalf("untagged broadcast from port %d forwarded nowhere", src)
		}
	})
}
