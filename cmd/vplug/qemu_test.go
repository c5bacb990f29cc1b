// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
)

// TestRealQEMU cables vplug to a real QEMU -netdev stream, as server and as client. QEMU runs no guest:
// its stream netdev shares a hub with its user-mode (slirp) network, whose gateway 10.0.2.2 answers the
// ARP request we send. The reply coming back proves frames cross in both directions with QEMU's framing.
func TestRealQEMU(t *testing.T) {
	skipShort(t)
	qemu := testutil.RealTool(t, "qemu-system-x86_64")
	for _, server := range []bool{true, false} {
		name := map[bool]string{true: "vplug server", false: "vplug client"}[server]
		t.Run(name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "q.sock")
			qargs := func(srv string) []string {
				return []string{"-machine", "none", "-nodefaults", "-display", "none",
					"-netdev", "stream,id=s0,server=" + srv + ",addr.type=unix,addr.path=" + sock,
					"-netdev", "user,id=u0,net=10.0.2.0/24,restrict=on",
					"-netdev", "hubport,id=p0,hubid=0,netdev=s0",
					"-netdev", "hubport,id=p1,hubid=0,netdev=u0"}
			}
			var sio *stdio
			if server {
				_, sio = startPlug(t, "qemu+unix://"+sock+"[server]")
				testutil.WaitPath(t, sock, 10*time.Second)
				testutil.Start(t, nil, qemu, qargs("off")...)
			} else {
				q := testutil.Start(t, nil, qemu, qargs("on")...)
				testutil.Eventually(t, 10*time.Second, "QEMU socket "+sock, func() bool {
					if q.Exited() {
						t.Fatalf("qemu exited: %s", q.Stderr.String())
					}
					return pathExists(sock)
				})
				_, sio = startPlug(t, "qemu+unix://"+sock)
			}
			mac := [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
			req := arpRequest(mac, [4]byte{10, 0, 2, 15}, [4]byte{10, 0, 2, 2})
			// Frames sent before QEMU is connected are dropped: repeat the request until the reply comes.
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				rec := binary.BigEndian.AppendUint16(nil, uint16(len(req)))
				rec = append(rec, req...)
				for {
					if _, err := sio.in.Write(rec); err != nil {
						return
					}
					select {
					case <-stop:
						return
					case <-time.After(200 * time.Millisecond):
					}
				}
			}()
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				b := sio.read(t, 15*time.Second)
				f, err := frame.Parse(b)
				if err != nil || f.EtherType() != 0x0806 || len(f) < 42 {
					continue
				}
				if binary.BigEndian.Uint16(f[20:22]) == 2 && bytes.Equal(f[28:32], []byte{10, 0, 2, 2}) &&
					f.Dst() == frame.MAC(mac) && bytes.Equal(f[38:42], []byte{10, 0, 2, 15}) {
					return
				}
			}
			t.Fatal("no ARP reply from QEMU's slirp gateway 10.0.2.2")
		})
	}
}

func arpRequest(mac [6]byte, sender, target [4]byte) []byte {
	r := make([]byte, 60)
	copy(r[0:6], frame.Broadcast[:])
	copy(r[6:12], mac[:])
	binary.BigEndian.PutUint16(r[12:14], 0x0806)
	copy(r[14:22], []byte{0, 1, 8, 0, 6, 4, 0, 1})
	copy(r[22:28], mac[:])
	copy(r[28:32], sender[:])
	copy(r[38:42], target[:])
	return r
}
