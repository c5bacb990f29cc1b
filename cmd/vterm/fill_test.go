// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/stream"
)

// testMAC is the n-th locally administered source address used to fill a switch's table.
func testMAC(n int) string {
	return fmt.Sprintf("02:00:5e:%02x:%02x:%02x", n>>16&0xff, n>>8&0xff, n&0xff)
}

// fillHash makes the switch learn n addresses: a vde_plug (stdio, VDE stream framing) sends broadcast
// frames from testMAC(0..n-1), again while some are missing, and stays connected until the test ends
// (the switch forgets a port's addresses when it goes).
func fillHash(t *testing.T, sw *testutil.MgmtPeer, n int) {
	t.Helper()
	c, err := mgmt.Dial(sw.Mgmt, mgmt.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, err := c.Do("hash/setexpire 600"); err != nil || !r.OK() {
		t.Fatalf("hash/setexpire: %+v, %v", r, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	testutil.Start(t, func(c *exec.Cmd) { c.Stdin = pr }, testutil.RealTool(t, "vde_plug"), "vde://"+sw.Ctl)
	pr.Close()
	t.Cleanup(func() { pw.Close() })
	w := stream.NewWriter(pw)
	f := make([]byte, 60)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e})
	f[12], f[13] = 0x88, 0xb5
	deadline := time.Now().Add(20 * time.Second)
	for {
		for i := range n {
			binary.BigEndian.PutUint32(f[8:12], uint32(i)&0xffffff|0x5e<<24)
			if err := w.WriteFrame(f); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		r, err := c.Do("hash/print")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Data) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the switch learnt %d addresses of %d:\n%s", len(r.Data), n, strings.Join(r.Data[:min(5, len(r.Data))], "\n"))
		}
	}
}
