// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vswitch"
)

// TestHashPrint200kStreams: a switch that learned 200,000 MACs prints them all with hash/print to a
// console client that reads slowly but steadily (16 KiB, then a pause), and the session goes on:
// the reply streams with back-pressure instead of being built whole and capped.
func TestHashPrint200kStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: learns 200,000 MACs")
	}
	const n = 200_000
	sw, err := vswitch.New(vswitch.Config{NumPorts: 4, MAC: testMAC})
	if err != nil {
		t.Fatal(err)
	}
	cons := New(Config{Switch: sw, CtlDir: "/run/sw", CtlMode: 0o660})
	a, b := frametest.Pipe(64)
	if _, _, err := sw.AddEndpoint(a, 0, vswitch.ModuleUnix, "flood"); err != nil {
		t.Fatal(err)
	}
	f := make([]byte, 60)
	copy(f, frame.Broadcast[:])
	for i := range n {
		copy(f[6:12], []byte{0x02, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)})
		if err := b.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	for end := time.Now().Add(time.Minute); sw.HashStats().Entries < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the switch learned %d of %d MACs within a minute", sw.HashStats().Entries, n)
		}
	}

	path := filepath.Join(t.TempDir(), "mgmt")
	ln, err := mgmt.Listen(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { cons.Serve(ln); close(served) }()
	t.Cleanup(func() {
		cons.Close()
		<-served
		b.Close()
		sw.Close()
	})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Minute))
	readUntil := func(suffix string) string {
		t.Helper()
		var got bytes.Buffer
		buf := make([]byte, 16<<10)
		for !strings.HasSuffix(got.String(), suffix) {
			k, err := c.Read(buf)
			got.Write(buf[:k])
			if err != nil {
				t.Fatalf("after %d bytes: %v", got.Len(), err)
			}
			time.Sleep(time.Millisecond) // slow but steady
		}
		return got.String()
	}
	readUntil(Prompt)
	io.WriteString(c, "hash/print\n")
	reply := readUntil("1000 Success\n" + Prompt)
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(reply))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Hash: ") && strings.Contains(sc.Text(), " to port: 001 ") {
			lines++
		}
	}
	if lines != n {
		t.Errorf("hash/print listed %d entries, want %d", lines, n)
	}
	io.WriteString(c, "showinfo\n") // the session goes on
	if got := readUntil(Prompt); !strings.Contains(got, "1000 Success") {
		t.Errorf("showinfo after hash/print: %q", got)
	}
}
