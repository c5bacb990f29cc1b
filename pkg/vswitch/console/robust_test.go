// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vde"
	"github.com/govde/govde/pkg/vswitch"
)

// rig is an in-process switch with its console on a -M socket, as cmd/vswitch wires it.
type rig struct {
	sw   *vswitch.Switch
	ln   *vde.Listener
	cons *Console
	dir  string
	mgmt string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	base := t.TempDir()
	sw, err := vswitch.New(vswitch.Config{MAC: frame.MAC{2, 0, 0x5e, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := vde.Listen(filepath.Join(base, "sw"), vde.ListenOptions{Group: vde.NoGroup, MgmtGroup: vde.NoGroup, Timeout: time.Second})
	if err != nil {
		sw.Close()
		t.Fatal(err)
	}
	r := &rig{sw: sw, ln: ln, dir: ln.Dir(), mgmt: filepath.Join(base, "mgmt")}
	r.cons = New(Config{Switch: sw, CtlDir: ln.Dir(), CtlMode: ln.Mode(), MgmtPath: r.mgmt, MgmtMode: 0o600})
	mln, err := mgmt.Listen(r.mgmt, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { r.cons.Serve(mln); done <- struct{}{} }()
	go func() { sw.Serve(ln); done <- struct{}{} }()
	t.Cleanup(func() {
		r.cons.Close()
		sw.Close()
		ln.Close()
		<-done
		<-done
	})
	return r
}

func (r *rig) session(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", r.mgmt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	readPrompt(t, c)
	return c
}

func readPrompt(t *testing.T, c net.Conn) string {
	t.Helper()
	var b []byte
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !bytes.HasSuffix(b, []byte(Prompt)) {
		n, err := c.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			t.Fatalf("read: %v after %q", err, b)
		}
	}
	return strings.TrimSuffix(string(b), Prompt)
}

func cmd(t *testing.T, c net.Conn, line string) string {
	t.Helper()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	return readPrompt(t, c)
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		if runtime.GOOS == "linux" { // it exists there: a skip would hide the leak check
			t.Fatalf("counting descriptors: %v", err)
		}
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// exchange connects two clients, sends a frame each way and checks it arrives byte for byte.
func exchange(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	a, err := vde.Dial(ctx, dir, vde.DialOptions{Descr: "robust a", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := vde.Dial(ctx, dir, vde.DialOptions{Descr: "robust b", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	macA, macB := frame.MAC{2, 0, 0, 0, 0xa, 1}, frame.MAC{2, 0, 0, 0, 0xb, 1}
	mk := func(dst, src frame.MAC, payload string) []byte {
		f := make([]byte, 60)
		copy(f, dst[:])
		copy(f[6:], src[:])
		f[12], f[13] = 0x88, 0xb5
		copy(f[14:], payload)
		return f
	}
	rx := func(c *vde.Conn) <-chan []byte {
		ch := make(chan []byte, 16)
		go func() {
			defer close(ch)
			buf := make([]byte, frame.MaxLen)
			for {
				n, err := c.ReadFrame(buf)
				if err != nil {
					return
				}
				ch <- append([]byte(nil), buf[:n]...)
			}
		}()
		return ch
	}
	rxA, rxB := rx(a), rx(b)
	var sent [][]byte
	for i, tc := range []struct {
		from *vde.Conn
		to   <-chan []byte
		f    []byte
	}{
		{a, rxB, mk(frame.Broadcast, macA, "hello from a")},
		{b, rxA, mk(macA, macB, "unicast from b")},
		{a, rxB, mk(macB, macA, "unicast from a")},
	} {
		// Resend until it arrives: a port may join the forwarding table just after its client got
		// the switch's reply.
		deadline := time.After(5 * time.Second)
		tick := time.NewTicker(200 * time.Millisecond)
		sent = append(sent, tc.f)
	wait:
		for {
			if err := tc.from.WriteFrame(tc.f); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-tc.to:
				if bytes.Equal(got, tc.f) {
					break wait
				}
				if !slices.ContainsFunc(sent, func(f []byte) bool { return bytes.Equal(f, got) }) {
					t.Fatalf("frame %d: got %x, want %x", i, got, tc.f)
				}
				// a late copy of an earlier, resent frame
			case <-tick.C:
			case <-deadline:
				t.Fatalf("frame %d not delivered in 5 s", i)
			}
		}
		tick.Stop()
	}
}

// TestRobustness abuses the management socket and the control socket, then checks that the switch
// still forwards and answers, and that goroutines and descriptors are back to their baseline.
func TestRobustness(t *testing.T) {
	r := newRig(t)
	good := r.session(t)
	exchange(t, r.dir) // warm up: lazily started goroutines, pools
	time.Sleep(100 * time.Millisecond)
	baseG, baseFD := runtime.NumGoroutine(), countFDs(t)

	// Management garbage: binary junk, 10 KB lines, commands without newline, half-closed sessions.
	var half []net.Conn
	junk := make([]byte, 10<<10)
	for i := range junk {
		junk[i] = byte(i*131 + 7)
	}
	for i := range 100 {
		c, err := net.Dial("unix", r.mgmt)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0:
			c.Write(junk)
		case 1:
			c.Write([]byte(strings.Repeat("port/print ", 1000)))
		case 2:
			c.Write([]byte("debug/add port\x00\xff\xfe"))
			c.Write([]byte("load /dev/null"))
		case 3:
			c.Write([]byte("vlan/create 33\nvlan/remove 33\n"))
		}
		c.(*net.UnixConn).CloseWrite()
		if i%2 == 0 {
			c.Close()
		} else {
			half = append(half, c) // half-closed, never read, until the end
		}
	}
	// 1,000 management connect/close cycles.
	for i := range 1000 {
		c, err := net.Dial("unix", r.mgmt)
		if err != nil {
			t.Fatalf("mgmt connect %d: %v", i, err)
		}
		c.Close()
	}
	// Control socket garbage: truncated, wrong magic, v2, bad type, oversized, nothing at all.
	req := func(magic, version, typ uint32, extra int) []byte {
		b := binary.LittleEndian.AppendUint32(nil, magic)
		b = binary.LittleEndian.AppendUint32(b, version)
		b = binary.LittleEndian.AppendUint32(b, typ)
		return append(b, make([]byte, extra)...)
	}
	bad := [][]byte{
		req(0xfeedface, 3, 0, 0)[:5], req(0xdeadbeef, 3, 0, 110), req(0xfeedface, 2, 0, 110),
		req(0xfeedface, 3, 5, 110), append(req(0xfeedface, 3, 0, 110), junk[:200]...), junk[:300], nil,
	}
	for i := range 1000 {
		c, err := net.Dial("unix", filepath.Join(r.dir, "ctl"))
		if err != nil {
			t.Fatalf("ctl connect %d: %v", i, err)
		}
		if b := bad[i%len(bad)]; b != nil && i < 140 {
			c.Write(b)
		}
		c.Close()
	}
	// Full handshakes: connect and close.
	for i := range 50 {
		c, err := vde.Dial(context.Background(), r.dir, vde.DialOptions{Descr: "cycle", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		c.Close()
	}

	if got := cmd(t, good, "port/showinfo"); got != "0000 DATA END WITH '.'\nNumports=32\nHUB=false\ncounters=true\n.\n1000 Success\n" {
		t.Fatalf("good session: %q", got)
	}
	exchange(t, r.dir)
	// "vlan/create 33\nvlan/remove 33\n" in one write runs only the first command.
	if got := cmd(t, good, "vlan/print 33"); got != "0000 DATA END WITH '.'\nVLAN 0033\n.\n1000 Success\n" {
		t.Errorf("vlan/print 33 = %q, want VLAN 33 to exist (one command per read)", got)
	}
	for _, c := range half {
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseG || countFDs(t) > baseFD {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines %d (baseline %d), fds %d (baseline %d)\n%s",
				runtime.NumGoroutine(), baseG, countFDs(t), baseFD, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
