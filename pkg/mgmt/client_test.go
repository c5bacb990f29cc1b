// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	fakeSwitchBanner = "VDE switch V.2.3.2\n(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2\n"
	fakeWFBanner     = "\nVDE wirefilter V.2.3.2\n(C) R.Davoli 2005,2006 - GPLv2\n"
)

// fakePeer serves one management session per connection with handle, on a socket in a temporary directory.
func fakePeer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mgmt")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); handle(c) })
		}
	})
	return path
}

// writeSlowly writes s in pieces of n bytes, so that the client sees every possible split.
func writeSlowly(c net.Conn, s string, n int) {
	for len(s) > 0 {
		k := min(n, len(s))
		c.Write([]byte(s[:k]))
		s = s[k:]
		time.Sleep(time.Millisecond)
	}
}

// fakeSwitch answers like vde_switch: commands in replies, "" for unknown commands.
func fakeSwitch(replies map[string]string, chunk int) func(net.Conn) {
	return func(c net.Conn) {
		c.Write([]byte(fakeSwitchBanner))
		c.Write([]byte("\nvde$ "))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.TrimSuffix(line, "\n")
			if cmd == "logout" {
				c.Write([]byte("9999 END OF SESSION"))
				return
			}
			out, ok := replies[cmd]
			if !ok {
				out = "1038 Function not implemented\n"
			}
			writeSlowly(c, out+"\nvde$ ", chunk)
		}
	}
}

func TestClientSwitchSession(t *testing.T) {
	replies := map[string]string{
		"port/showinfo": "0000 DATA END WITH '.'\nNumports=32\nHUB=false\n\ncounters=true\n.\n1000 Success\n",
		// an asynchronous line inside the data block, and one between the block and the result
		"hash/print": "0000 DATA END WITH '.'\nHash: 0043 Addr: 02:00:00:00:00:01 VLAN 0000 to port: 001  age 3 secs\n" +
			"3031 port/ep/+ Port 02 FD 11\nHash: 0060 Addr: 02:00:00:00:00:02 VLAN 0000 to port: 002  age 3 secs\n.\n" +
			"3022 port/- 02\n1000 Success\n",
		"port/print 99": "0000 DATA END WITH '.'\n.\n1022 Invalid argument\n",
		"load /x": "vde[/x]: vlan/create 22\n1017 File exists\nvde[/x]: hash/showinfo\n0000 DATA END WITH '.'\nHash size 128\n.\n" +
			"1000 Success\n1000 Success\n",
	}
	for _, chunk := range []int{1, 7, 1 << 16} {
		var (
			mu    sync.Mutex
			async []string
		)
		path := fakePeer(t, fakeSwitch(replies, chunk))
		c, err := Dial(path, ClientOptions{Timeout: 5 * time.Second, OnAsync: func(l string) {
			mu.Lock()
			async = append(async, l)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatalf("chunk %d: Dial: %v", chunk, err)
		}
		if got, want := c.Prompt(), "vde$ "; got != want {
			t.Errorf("Prompt() = %q, want %q", got, want)
		}
		wantBanner := []string{"VDE switch V.2.3.2", "(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2"}
		if diff := cmp.Diff(wantBanner, c.Banner()); diff != "" {
			t.Errorf("Banner() mismatch (-want +got):\n%s", diff)
		}
		for _, tc := range []Reply{
			{Command: "port/showinfo", Code: 1000, Text: "Success", Data: []string{"Numports=32", "HUB=false", "", "counters=true"}},
			{Command: "hash/print", Code: 1000, Text: "Success", Data: []string{
				"Hash: 0043 Addr: 02:00:00:00:00:01 VLAN 0000 to port: 001  age 3 secs",
				"Hash: 0060 Addr: 02:00:00:00:00:02 VLAN 0000 to port: 002  age 3 secs"}},
			{Command: "port/print 99", Code: 1022, Text: "Invalid argument", Data: []string{}},
			{Command: "nosuch", Code: 1038, Text: "Function not implemented", Data: []string{}},
			{Command: "", Data: []string{}},
			{Command: "# comment", Data: []string{}},
			{Command: "load /x", Code: 1000, Text: "Success", Data: []string{
				"vde[/x]: vlan/create 22", "1017 File exists", "vde[/x]: hash/showinfo", "Hash size 128", "1000 Success"}},
			{Command: "logout", Code: 9999, Text: "END OF SESSION", Data: []string{}},
		} {
			got, err := c.Do(tc.Command)
			if err != nil {
				t.Fatalf("chunk %d: Do(%q): %v", chunk, tc.Command, err)
			}
			if diff := cmp.Diff(tc, got); diff != "" {
				t.Errorf("chunk %d: Do(%q) mismatch (-want +got):\n%s", chunk, tc.Command, diff)
			}
		}
		if _, err := c.Do("help"); !errors.Is(err, ErrSessionEnded) {
			t.Errorf("Do after logout: err = %v, want ErrSessionEnded", err)
		}
		c.Close()
		mu.Lock()
		if diff := cmp.Diff([]string{"3031 port/ep/+ Port 02 FD 11", "3022 port/- 02"}, async); diff != "" {
			t.Errorf("chunk %d: async lines mismatch (-want +got):\n%s", chunk, diff)
		}
		mu.Unlock()
	}
}

func TestClientWirefilter(t *testing.T) {
	path := fakePeer(t, func(c net.Conn) {
		c.Write([]byte(fakeWFBanner))
		c.Write([]byte("\nVDEwf$ "))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch line {
			case "delay 10\n":
				c.Write([]byte("1000 Success\n\nVDEwf$ "))
			case "logout\n":
				c.Write([]byte("1-01 Unknown error -1\n"))
				return
			}
		}
	})
	c, err := Dial(path, ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, want := c.Prompt(), "VDEwf$ "; got != want {
		t.Errorf("Prompt() = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"VDE wirefilter V.2.3.2", "(C) R.Davoli 2005,2006 - GPLv2"}, c.Banner()); diff != "" {
		t.Errorf("Banner() mismatch (-want +got):\n%s", diff)
	}
	if r, err := c.Do("delay 10"); err != nil || r.Code != 1000 {
		t.Errorf("Do(delay 10) = %+v, %v; want code 1000", r, err)
	}
	r, err := c.Do("logout")
	if err != nil || !r.Ended() {
		t.Errorf("Do(logout) = %+v, %v; want end of session", r, err)
	}
}

func TestClientNoPrompt(t *testing.T) {
	path := fakePeer(t, func(c net.Conn) {
		c.Write([]byte(fakeSwitchBanner)) // and never the prompt
		io.Copy(io.Discard, c)
	})
	start := time.Now()
	_, err := Dial(path, ClientOptions{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrNoPrompt) {
		t.Fatalf("Dial: err = %v, want ErrNoPrompt", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Dial took %v with a 200ms timeout", d)
	}
	// a peer that closes without a prompt fails at once
	path = fakePeer(t, func(c net.Conn) { c.Write([]byte("hello\n")) })
	if _, err := Dial(path, ClientOptions{Timeout: 5 * time.Second}); !errors.Is(err, ErrNoPrompt) {
		t.Fatalf("Dial (peer closes): err = %v, want ErrNoPrompt", err)
	}
}

func TestClientPeerDiesMidReply(t *testing.T) {
	path := fakePeer(t, func(c net.Conn) {
		c.Write([]byte("vde$ "))
		bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("0000 DATA END WITH '.'\nline one\nline t"))
	})
	c, err := Dial(path, ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Do("hash/print")
	if !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("Do: err = %v, want ErrPeerClosed", err)
	}
	if diff := cmp.Diff([]string{"line one", "line t"}, r.Data); diff != "" {
		t.Errorf("partial data mismatch (-want +got):\n%s", diff)
	}
	if _, err := c.Do("help"); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("Do after close: err = %v, want ErrSessionEnded", err)
	}
}

func TestClientReplyTimeout(t *testing.T) {
	path := fakePeer(t, func(c net.Conn) {
		c.Write([]byte("\nvde$ "))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "slow\n" {
				time.Sleep(400 * time.Millisecond)
			}
			c.Write([]byte("0000 DATA END WITH '.'\n" + strings.TrimSpace(line) + "\n.\n1000 Success\n\nvde$ "))
		}
	})
	c, err := Dial(path, ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.DoContext(ctx, "slow"); !errors.Is(err, ErrReplyTimeout) {
		t.Fatalf("Do(slow): err = %v, want ErrReplyTimeout", err)
	}
	time.Sleep(500 * time.Millisecond)
	r, err := c.Do("fast")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"fast"}, r.Data); diff != "" {
		t.Errorf("reply after a timeout belongs to the wrong command (-want +got):\n%s", diff)
	}
}

func TestClientBadCommand(t *testing.T) {
	path := fakePeer(t, fakeSwitch(nil, 1<<16))
	c, err := Dial(path, ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range []string{"a\nb", "x\r", strings.Repeat("x", MaxCommandLen+1)} {
		if _, err := c.Do(cmd); !errors.Is(err, ErrBadCommand) {
			t.Errorf("Do(%.20q): err = %v, want ErrBadCommand", cmd, err)
		}
	}
	if r, err := c.Do(strings.Repeat("x", MaxCommandLen)); err != nil || r.Code != 1038 {
		t.Errorf("Do(127 bytes) = %+v, %v, want 1038", r, err)
	}
}

func TestParseResultLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		text string
		ok   bool
	}{
		{"1000 Success", 1000, "Success", true},
		{"1022 Invalid argument", 1022, "Invalid argument", true},
		{"1-01 Unknown error -1", 999, "Unknown error -1", true},
		{"9999 END OF SESSION", 9999, "END OF SESSION", true},
		{"1000", 1000, "", true},
		{"10000 x", 0, "", false},
		{"0000 DATA END WITH '.'", 0, "", false},
		{"3031 port/ep/+", 0, "", false},
		{"1x00 y", 0, "", false},
		{"Hash: 0043", 0, "", false},
		{"", 0, "", false},
	} {
		code, text, ok := parseResultLine(tc.in)
		if code != tc.code || text != tc.text || ok != tc.ok {
			t.Errorf("parseResultLine(%q) = %d, %q, %v; want %d, %q, %v", tc.in, code, text, ok, tc.code, tc.text, tc.ok)
		}
	}
	r := Reply{Code: 999}
	if r.Errno() != -1 || r.OK() {
		t.Errorf("Reply{999}.Errno() = %d, OK() = %v; want -1, false", r.Errno(), r.OK())
	}
}

func TestIsAsyncLine(t *testing.T) {
	for in, want := range map[string]bool{
		"3031 port/ep/+ Port 02 FD 11": true,
		"3801 Node 1 \"a\" -> 2 \"b\"": true,
		"3012":                         true,
		"30 x":                         false,
		"3abc d":                       false,
		"30311 x":                      false,
		"1000 Success":                 false,
		"":                             false,
	} {
		if got := IsAsyncLine(in); got != want {
			t.Errorf("IsAsyncLine(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestClientPromptThenAsyncInOneRead(t *testing.T) {
	replies, async, err := parseAll([]byte("1000 Success\n\nvde$ 3031 port/ep/+ Port 02 FD 11\n3022 port/- 02\n"), 1<<10,
		[]byte(fakeSwitchBanner+"\nvde$ "))
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 2 || replies[1].Code != 1000 || len(replies[1].Data) != 0 {
		t.Errorf("replies = %+v, want banner and one 1000 reply without data", replies)
	}
	if diff := cmp.Diff([]string{"3031 port/ep/+ Port 02 FD 11", "3022 port/- 02"}, async); diff != "" {
		t.Errorf("async mismatch (-want +got):\n%s", diff)
	}
}

// TestClientLostPrompt: vde_switch loses its prompt when a long reply fills a slow client's socket buffer.
// The reply is complete at its result line; the prompt, if it comes late, is not taken for another reply.
func TestClientLostPrompt(t *testing.T) {
	path := fakePeer(t, func(c net.Conn) {
		c.Write([]byte("\nvde$ "))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch line {
			case "lost\n":
				c.Write([]byte("0000 DATA END WITH '.'\nx\n.\n1000 Success\n"))
			case "late\n":
				c.Write([]byte("0000 DATA END WITH '.'\ny\n.\n1000 Success\n"))
				time.Sleep(promptGrace + 300*time.Millisecond)
				c.Write([]byte("\nvde$ "))
			default:
				c.Write([]byte("1022 Invalid argument\n\nvde$ "))
			}
		}
	})
	c, err := Dial(path, ClientOptions{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []Reply{
		{Command: "lost", Code: 1000, Text: "Success", Data: []string{"x"}},
		{Command: "other", Code: 1022, Text: "Invalid argument", Data: []string{}},
		{Command: "late", Code: 1000, Text: "Success", Data: []string{"y"}},
		{Command: "other", Code: 1022, Text: "Invalid argument", Data: []string{}},
	} {
		start := time.Now()
		got, err := c.Do(tc.Command)
		if err != nil {
			t.Fatalf("Do(%q): %v", tc.Command, err)
		}
		if diff := cmp.Diff(tc, got); diff != "" {
			t.Errorf("Do(%q) mismatch (-want +got):\n%s", tc.Command, diff)
		}
		if d := time.Since(start); d > promptGrace+time.Second { // not the 3s timeout
			t.Errorf("Do(%q) took %v", tc.Command, d)
		}
		if tc.Command == "late" {
			time.Sleep(500 * time.Millisecond) // the late prompt arrives now
		}
	}
}
