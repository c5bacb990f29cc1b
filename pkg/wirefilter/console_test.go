// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/relay"
)

// syncBuf is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestMarkovDebug: a session that asked for markov-debug receives one line per transition, at the
// transition times (every markov-time), with code 3800+node and the nodes' names; a session that
// did not ask receives none.
func TestMarkovDebug(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := New(Config{Engine: impair.New(impair.Config{Rand: impair.NewSource(1)}), Bidirectional: true})
		defer f.Close()
		srv := mgmt.New(NewConsole(f).Config(nil))
		defer srv.Close()
		inR, inW := io.Pipe()
		defer inW.Close()
		out := &syncBuf{}
		go srv.ServeConsole(inR, out, out)
		other := &syncBuf{}
		inR2, inW2 := io.Pipe()
		defer inW2.Close()
		go srv.ServeConsole(inR2, other, other)
		cmd := func(w io.Writer, line string) {
			w.Write([]byte(line + "\n"))
			synctest.Wait()
		}
		cmd(inW2, "showcurrent")
		for _, c := range []string{"markov-numnodes 2", "markov-name 1,bad", "setedge 0,1,100", "setedge 1,0,100", "markov-debug 1"} {
			cmd(inW, c)
		}
		start := time.Now() // the chain's clock started at markov-numnodes, at this same fake instant
		var lines []string
		var at []time.Duration
		for range 3 {
			before := len(out.String())
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			for _, l := range debugRe.FindAllString(out.String()[before:], -1) {
				lines = append(lines, l)
				at = append(at, time.Since(start))
			}
		}
		want := []string{`3801 Node 0 "" -> 1 "bad"`, `3800 Node 1 "bad" -> 0 ""`, `3801 Node 0 "" -> 1 "bad"`}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Fatalf("debug lines:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		for i, d := range at {
			if want := time.Duration(i+1) * 100 * time.Millisecond; d != want {
				t.Errorf("transition %d seen at %v, want %v", i, d, want)
			}
		}
		if strings.Contains(other.String(), "Node 0") && strings.Contains(other.String(), "->") {
			t.Errorf("a session without markov-debug got transitions: %q", other.String())
		}
		cmd(inW, "markov-debug 0")
		n := len(out.String())
		time.Sleep(time.Second)
		synctest.Wait()
		if extra := out.String()[n:]; strings.Contains(extra, "->") {
			t.Errorf("after markov-debug 0: %q", extra)
		}
	})
}

var debugRe = regexp.MustCompile(`38\d\d Node [^\n]*`)

// TestBlink: each frame sent gives one datagram "ID DIR SIZE\n" (SIZE with the 2-byte header), DIR
// "--" for a monodirectional filter; the default ID is the pid as %06d; showinfo lists the socket.
func TestBlink(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "blink")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	recv := func() string {
		t.Helper()
		ln.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 256)
		n, err := ln.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		return string(b[:n])
	}
	for _, tc := range []struct {
		bidir bool
		id    string
		dir   relay.Dir
		want  string
	}{
		{false, "abc", relay.AtoB, "abc -- 62\n"},
		{true, "abc", relay.AtoB, "abc LR 62\n"},
		{true, "", relay.BtoA, "000042 RL 62\n"},
	} {
		b, err := NewBlink(sock, tc.id, 42)
		if err != nil {
			t.Fatal(err)
		}
		f := New(Config{Bidirectional: tc.bidir, Blink: b})
		f.Hook(tc.dir, testFrame(1, 60), &fakeEmitter{})
		if got := recv(); got != tc.want {
			t.Errorf("blink (bidir %v, id %q) = %q, want %q", tc.bidir, tc.id, got, tc.want)
		}
		var info bytes.Buffer
		f.WriteInfo(&info, 0)
		wantInfo := "Blink socket: " + sock + "\nBlink id:     " + b.ID + " \n" // as wirefilter r586 prints them
		if !strings.HasSuffix(info.String(), wantInfo) {
			t.Errorf("showinfo ends\n%s\nwant the blink lines\n%s", info.String(), wantInfo)
		}
		f.Close()
		b.Close()
	}
}

// TestShowinfoReference is the reference's bidirectional showinfo example (vde-protocol.md 10.5).
func TestShowinfoReference(t *testing.T) {
	f := New(Config{Bidirectional: true})
	defer f.Close()
	srv := mgmt.New(NewConsole(f).Config(nil))
	for _, c := range []string{"delay 100+20N", "loss LR10", "loss RL5.5", "bandwidth 128K", "speed 1+0.5M", "mtu 1000",
		"noise 5", "dup 2", "chanbufsize 64K", "lostburst 3", "fifo 0"} {
		if out, err := srv.Exec(nil, c); err != nil {
			t.Fatalf("%s: %v %q", c, err, out)
		}
	}
	out, err := srv.Exec(nil, "showinfo")
	if err != nil {
		t.Fatal(err)
	}
	want := "0000 DATA END WITH '.'\n" +
		"WireFilter: bidirectional\n" +
		"Loss   L->R 10+0U   R->L 5.5+0U\n" +
		"Lburst L->R 3+0U   R->L 3+0U\n" +
		"Delay  L->R 100+20N   R->L 100+20N\n" +
		"Dup    L->R 2+0U   R->L 2+0U\n" +
		"Bandw  L->R 131072+0U   R->L 131072+0U\n" +
		"Speed  L->R 1.04858e+06+524288U   R->L 1.04858e+06+524288U\n" +
		"Noise  L->R 5+0U   R->L 5+0U\n" +
		"MTU    L->R 1000     R->L 1000   \n" +
		"Cap.   L->R 65536+0U   R->L 65536+0U\n" +
		"Current Delay Queue size:   L->R 0      R->L 0   \n" +
		"Fifoness FALSE\n" +
		"Waiting packets in delay queues 0\n" +
		".\n1000 Success\n"
	if string(out) != want {
		t.Errorf("showinfo:\n%s\nwant\n%s", out, want)
	}
}

// FuzzConsole: no command line crashes the console, and each one gets a result line.
func FuzzConsole(f *testing.F) {
	for _, s := range []string{"delay 100+20N", "loss LR10[0]", "markov-numnodes 3", "setedge 0,1,30", "markov-name 1,x",
		"showinfo 2", "showedges", "fifo 0", "markov-time 0.001", "speed 1+0.5M", "mtu RL64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fl := New(Config{Engine: impair.New(impair.Config{Rand: impair.NewSource(1)}), Bidirectional: true})
		defer fl.Close()
		srv := mgmt.New(NewConsole(fl).Config(nil))
		srv.Exec(nil, "markov-numnodes 2")
		out, _ := srv.Exec(nil, line)
		if len(out) > 0 && !regexp.MustCompile(`(?m)^1\d{3} [^\n]*\n$`).Match(out) {
			t.Fatalf("%q: reply without a result line: %q", line, out)
		}
		srv.Exec(nil, "showinfo")
	})
}
