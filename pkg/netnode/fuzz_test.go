// SPDX-License-Identifier: GPL-2.0-or-later

package netnode

import (
	"testing"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

// FuzzForward feeds arbitrary frames (runts, tagged, group addresses, jumbo) to a switch node from its
// host side: the node must not panic and must not deliver a frame to the host that came from the host.
func FuzzForward(f *testing.F) {
	f.Add([]byte{}, byte(0))
	f.Add(mkframe(bcast, mac(1), "x"), byte(1))
	f.Add(append(mkframe(mac(2), mac(1), "")[:12], 0x81, 0x00, 0x0f, 0xff, 0x08, 0x00), byte(2))
	f.Add(make([]byte, 13), byte(3))
	f.Fuzz(func(t *testing.T, b []byte, k byte) {
		if len(b) > frame.MaxLen {
			b = b[:frame.MaxLen]
		}
		nd, err := Listen(t.TempDir()+"/n", Config{Kind: Kind(k % 4), Group: vde.NoGroup, HashSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer nd.Close()
		if err := nd.WriteFrame(b); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-nd.hostQ:
			t.Fatalf("a frame from the host came back to it: % x", p.b[:p.n])
		default:
		}
	})
}
