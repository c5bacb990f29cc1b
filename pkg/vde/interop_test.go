// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package vde

// Interoperability with the reference tools (vde2 r586 vde_switch and wirefilter, vdeplug4 vde_plug): our
// client against the real switch, and our switch side against the real clients. These tests need root
// (the real tools' default paths and file ownership) and the vde2 package.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// realSwitch starts the reference vde_switch on a fresh directory, its stdin a pipe kept open (stdin EOF
// stops it), and returns the directory.
func realSwitch(t *testing.T, args ...string) string {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	bin := testutil.RealTool(t, "vde_switch")
	dir := filepath.Join(t.TempDir(), "rs")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	testutil.Start(t, func(c *exec.Cmd) { c.Stdin = r }, bin, append([]string{"-s", dir}, args...)...)
	r.Close()
	t.Cleanup(func() { w.Close() })
	waitListening(t, filepath.Join(dir, "ctl"))
	return dir
}

// waitListening waits until the socket at path accepts connections (the switch binds before it listens).
func waitListening(t *testing.T, path string) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, path+" listening", func() bool {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func dialT(t *testing.T, dir string, opt DialOptions) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestInteropRealSwitchExchange(t *testing.T) {
	dir := realSwitch(t)
	a := dialT(t, dir, DialOptions{Descr: Description("govde-a:")})
	b := dialT(t, dir, DialOptions{Descr: Description("govde-b:")})
	if a.Port() < 1 || b.Port() < 1 || a.Port() == b.Port() {
		t.Fatalf("ports %d (%s) and %d (%s)", a.Port(), a.ReplyPath(), b.Port(), b.ReplyPath())
	}
	real, _ := filepath.EvalSymlinks(dir)
	if filepath.Dir(a.ReplyPath()) != real {
		t.Errorf("reply path %s not in %s", a.ReplyPath(), real)
	}
	// The client's socket is unlinked once connected.
	if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
		t.Errorf("leftover client sockets: %v", m)
	}
	// Broadcast from a (teaches the switch a's MAC), then unicast back from b.
	bc := testFrame(100, 0x11)
	copy(bc[0:6], frame.Broadcast[:])
	uni := testFrame(1000, 0x22)
	copy(uni[0:6], bc[6:12])
	for _, tc := range []struct {
		name     string
		from, to *Conn
		f        []byte
	}{{"a→b broadcast", a, b, bc}, {"b→a unicast", b, a, uni}} {
		if err := tc.from.WriteFrame(tc.f); err != nil {
			t.Fatal(err)
		}
		got, err := readWithin(t, tc.to, 5*time.Second)
		if err != nil || !bytes.Equal(got, tc.f) {
			t.Fatalf("%s: got %d bytes %v, want the %d-byte frame sent", tc.name, len(got), err, len(tc.f))
		}
	}
}

func TestInteropRealSwitchPort(t *testing.T) {
	dir := realSwitch(t, "-n", "8")
	c := dialT(t, dir, DialOptions{Port: 5, Descr: Description("govde:")})
	if c.Port() != 5 || !strings.Contains(filepath.Base(c.ReplyPath()), "005.") {
		t.Errorf("asked for port 5, got %d (%s)", c.Port(), c.ReplyPath())
	}
	m := dialT(t, dir, DialOptions{Port0: true, Descr: Description("govde-mgmt:")})
	if m.Port() != 0 {
		t.Errorf("asked for the management port, got %d (%s)", m.Port(), m.ReplyPath())
	}
	// r586 never answers a refused request: port 8 on a -n 8 switch. We must time out, not hang.
	start := time.Now()
	_, err := Dial(context.Background(), dir, DialOptions{Port: 8, Timeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrRefused) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Dial port 8 of 8 = %v, want ErrRefused after the timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refusal took %v", d)
	}
}

func TestInteropRealSwitchHangup(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	bin := testutil.RealTool(t, "vde_switch")
	dir := filepath.Join(t.TempDir(), "rs")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = r }, bin, "-s", dir)
	r.Close()
	defer w.Close()
	waitListening(t, filepath.Join(dir, "ctl"))
	c := dialT(t, dir, DialOptions{})
	w.Close() // stdin EOF: the switch shuts down and closes our control stream
	if _, err := readWithin(t, c, 5*time.Second); err == nil || !c.HungUp() {
		t.Errorf("ReadFrame after switch exit = %v, HungUp %v; want io.EOF, true", err, c.HungUp())
	}
	if err := p.Wait(5 * time.Second); err != nil {
		t.Logf("vde_switch exit: %v", err)
	}
}

// realPlug starts the reference vde_plug with url, and returns our ends of its stdin and stdout as a
// stream endpoint.
func realPlug(t *testing.T, url string) (*testutil.Proc, *stream.Conn) {
	t.Helper()
	bin := testutil.RealTool(t, "vde_plug")
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin, c.Stdout = inR, outW }, bin, url)
	inR.Close()
	outW.Close()
	sc := stream.NewConn(outR, inW, closers{inW, outR})
	t.Cleanup(func() { sc.Close() })
	return p, sc
}

type closers []interface{ Close() error }

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

func TestInteropRealPlugOnOurSwitch(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	l, reqs := listen(t, ListenOptions{})
	for _, tc := range []struct {
		url         string
		port        int
		port0       bool
		acceptPort  int
		wantPrefix  string
		description string
	}{
		{"vde://" + l.Dir(), 0, false, 1, "001.", "any port"},
		{"vde://" + l.Dir() + "[5]", 5, false, 5, "005.", "port 5"},
		{l.Dir() + "[0]", 0, true, 0, "000.", "management port"},
	} {
		t.Run(tc.description, func(t *testing.T) {
			p, plug := realPlug(t, tc.url)
			r := nextRequest(t, reqs)
			want := fmt.Sprintf("vdeplug: user=root pid=%d", p.Cmd.Process.Pid)
			if r.Version != 3 || r.Descr != want || r.Port != tc.port || r.Port0 != tc.port0 || r.UID != 0 {
				t.Errorf("request %+v UID %d; want port %d port0 %v descr %q", r.Message, r.UID, tc.port, tc.port0, want)
			}
			sc, err := r.Accept(tc.acceptPort)
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			if !strings.HasPrefix(filepath.Base(sc.Path()), tc.wantPrefix) {
				t.Errorf("data socket %s", sc.Path())
			}
			// vde_plug → our switch.
			up := testFrame(60, 0x33)
			if err := plug.WriteFrame(up); err != nil {
				t.Fatal(err)
			}
			if got, err := readWithin(t, sc, 5*time.Second); err != nil || !bytes.Equal(got, up) {
				t.Fatalf("switch read %x, %v; want %x", got, err, up)
			}
			// Our switch → vde_plug, including a frame too short for vde_plug to pass on first.
			sc.WriteFrame(make([]byte, 10))
			down := testFrame(1518, 0x44)
			if err := sc.WriteFrame(down); err != nil {
				t.Fatal(err)
			}
			if got, err := readWithin(t, plug, 5*time.Second); err != nil || !bytes.Equal(got, down) {
				t.Fatalf("vde_plug wrote %d bytes %v; want the 1518-byte frame", len(got), err)
			}
			// Closing the port (control stream) makes vde_plug exit 0.
			sc.Close()
			if err := p.Wait(5 * time.Second); err != nil {
				t.Errorf("vde_plug after our close: %v (want exit 0)", err)
			}
		})
	}
	// vde_plug exiting (stdin EOF) closes its control stream: Done fires.
	p, plug := realPlug(t, l.Dir())
	sc, err := nextRequest(t, reqs).Accept(2)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	plug.Close()
	select {
	case <-sc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after vde_plug exited")
	}
	p.Wait(5 * time.Second)
}

func TestInteropRealPlugRefused(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	l, reqs := listen(t, ListenOptions{})
	p, _ := realPlug(t, l.Dir()+"[9]")
	nextRequest(t, reqs).Reject()
	if err := p.Wait(5 * time.Second); err == nil {
		t.Error("vde_plug exited 0 after a refusal")
	} else if strings.Contains(err.Error(), "still running") {
		t.Errorf("vde_plug hangs after a refusal: %v", err)
	}
}

func TestInteropWirefilterCable(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	bin := testutil.RealTool(t, "wirefilter")
	l1, reqs1 := listen(t, ListenOptions{})
	l2, reqs2 := listen(t, ListenOptions{})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	testutil.Start(t, func(c *exec.Cmd) { c.Stdin = r }, bin, "-v", l1.Dir()+"[3]:"+l2.Dir()+"[4]")
	r.Close()
	defer w.Close()
	var ends [2]*ServerConn
	for i, tc := range []struct {
		reqs <-chan *Request
		port int
	}{{reqs1, 3}, {reqs2, 4}} {
		req := nextRequest(t, tc.reqs)
		if req.Port != tc.port || !strings.HasPrefix(req.Descr, "vde_crosscable user=root pid=") {
			t.Errorf("wirefilter request %+v", req.Message)
		}
		sc, err := req.Accept(req.Port)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		ends[i] = sc
	}
	f := testFrame(200, 0x55)
	ends[0].WriteFrame(f)
	if got, err := readWithin(t, ends[1], 5*time.Second); err != nil || !bytes.Equal(got, f) {
		t.Fatalf("through wirefilter: %d bytes %v", len(got), err)
	}
	g := testFrame(300, 0x66)
	ends[1].WriteFrame(g)
	if got, err := readWithin(t, ends[0], 5*time.Second); err != nil || !bytes.Equal(got, g) {
		t.Fatalf("back through wirefilter: %d bytes %v", len(got), err)
	}
}
