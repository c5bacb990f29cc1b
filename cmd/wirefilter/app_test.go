// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/impair"
)

func TestConfigFrom(t *testing.T) {
	def := func(c config) config {
		if c.mgmtMode == 0 {
			c.mgmtMode = defaultMgmtMode
		}
		return c
	}
	tests := []struct {
		args []string
		want config
	}{
		{nil, def(config{})},
		{[]string{"-d", "40+5", "-l", "30", "-L", "3", "-b", "1M", "-s", "10K", "-c", "64K", "-n", "5", "-m", "1000", "-D", "2"},
			def(config{sets: []setting{{impair.Delay, "40+5"}, {impair.Loss, "30"}, {impair.LostBurst, "3"},
				{impair.Bandwidth, "1M"}, {impair.Speed, "10K"}, {impair.ChanBufSize, "64K"}, {impair.Noise, "5"},
				{impair.MTU, "1000"}, {impair.Dup, "2"}}})},
		// getopt_long_only: single-dash long names, abbreviations, --capacity = -c.
		{[]string{"-delay", "LR10", "-loss=RL5", "--capacity", "1k", "-chanbuf", "2k", "-band", "9"},
			def(config{sets: []setting{{impair.Delay, "LR10"}, {impair.Loss, "RL5"}, {impair.ChanBufSize, "1k"},
				{impair.ChanBufSize, "2k"}, {impair.Bandwidth, "9"}}})},
		{[]string{"-v", "/tmp/sw1:vde:///tmp/sw2", "-N", "-M", "m", "--mgmtmode", "660", "-daemon", "-pidfile", "p",
			"--blink", "b", "--blinkid", "x", "--seed", "42", "-f", "rc"},
			config{plugs: true, left: "/tmp/sw1", right: "vde:///tmp/sw2", nofifo: true, mgmt: "m", mgmtMode: 0o660,
				daemon: true, pidfile: "p", blink: "b", blinkID: "x", seed: 42, seeded: true, rcfile: "rc"}},
		{[]string{"-v", "-:/tmp/sw"}, def(config{plugs: true, left: "-", right: "/tmp/sw"})},
		{[]string{"-d", "20", "/tmp/a", "tap://t0"}, def(config{sets: []setting{{impair.Delay, "20"}}, plugs: true, left: "/tmp/a", right: "tap://t0"})},
		{[]string{"/tmp/a"}, def(config{plugs: true, left: "/tmp/a", right: "-"})},
		{[]string{"-h", "x", "y", "z"}, def(config{help: true})},
	}
	for _, tt := range tests {
		got, err := configFrom(tt.args)
		if err != nil {
			t.Errorf("configFrom(%q): %v", tt.args, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(config{}, setting{})); diff != "" {
			t.Errorf("configFrom(%q) mismatch (-want +got):\n%s", tt.args, diff)
		}
	}
}

// TestSplitPlugs: -v's argument splits at the first colon for paths, as the reference does, and
// between two URLs that have schemes.
func TestSplitPlugs(t *testing.T) {
	for _, tc := range []struct{ in, l, r string }{
		{"/tmp/sw1:/tmp/sw2", "/tmp/sw1", "/tmp/sw2"},
		{"sw1:sw2", "sw1", "sw2"},
		{"-:/tmp/sw", "-", "/tmp/sw"},
		{"/tmp/sw:-", "/tmp/sw", "-"},
		{"vde:///tmp/sw1:vde:///tmp/sw2", "vde:///tmp/sw1", "vde:///tmp/sw2"},
		{"vde:///tmp/sw1[2]:tap://tap0", "vde:///tmp/sw1[2]", "tap://tap0"},
		{"/tmp/sw1:udp://5000->127.0.0.1:5001", "/tmp/sw1", "udp://5000->127.0.0.1:5001"},
		{"udp://5000->127.0.0.1:5001:/tmp/sw1", "udp://5000->127.0.0.1:5001", "/tmp/sw1"},
		{"ptp:///tmp/p:null://", "ptp:///tmp/p", "null://"},
	} {
		l, r, ok := splitPlugs(tc.in)
		if !ok || l != tc.l || r != tc.r {
			t.Errorf("splitPlugs(%q) = %q, %q, %v; want %q, %q", tc.in, l, r, ok, tc.l, tc.r)
		}
	}
}

// TestRunErrors: usage errors print the message and the usage on stderr (exit 1, as the
// reference); a bad value is one line and exit 1 (the reference ignores it).
func TestRunErrors(t *testing.T) {
	tests := []struct {
		args      []string
		wantErr   string // the one line Main prints ("" for none)
		wantUsage bool
	}{
		{[]string{"-h"}, "", true},
		{[]string{"--nosuch"}, "", true},
		{[]string{"-x"}, "", true},
		{[]string{"-d"}, "", true},
		{[]string{"-v", "nocolon"}, "", true},
		{[]string{"a", "b", "c"}, "", true},
		{[]string{"-v", "a:b", "c"}, "", true},
		{[]string{"-d", "abc"}, `--delay: wirefilter value "abc": no number`, false},
		{[]string{"-loss", "10[1]"}, `--loss: wirefilter value "10[1]": no such Markov node`, false},
		{[]string{"--seed", "x"}, "--seed x: want an unsigned integer", false},
		{[]string{"--mgmtmode", "9"}, "--mgmtmode 9: not an octal permission", false},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		app := newApp()
		app.Writer, app.ErrWriter = &stderr, &stderr
		err := app.Run(append([]string{"wirefilter"}, tt.args...))
		code := cmdutil.Report(app, err)
		if code != 1 {
			t.Errorf("%q: exit %d, want 1", tt.args, code)
		}
		out := stderr.String()
		if got := strings.Contains(out, "Usage: wirefilter OPTIONS\n"); got != tt.wantUsage {
			t.Errorf("%q: usage printed %v, want %v:\n%s", tt.args, got, tt.wantUsage, out)
		}
		if tt.wantErr != "" && out != "wirefilter: "+tt.wantErr+"\n" {
			t.Errorf("%q: stderr %q, want the one line %q", tt.args, out, "wirefilter: "+tt.wantErr+"\n")
		}
	}
}

// FuzzConfigFrom: no command line panics, and a value accepted on the command line is accepted by
// the engine.
func FuzzConfigFrom(f *testing.F) {
	for _, s := range []string{"-d 40+5", "-l 30 -L 3", "-b 1M", "-s 10k", "-delay LR10+2N[0]", "-v a:b", "--seed 7 x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := configFrom(strings.Fields(s))
		if err != nil {
			return
		}
		if _, err := newEngine(cfg); err != nil {
			t.Fatalf("configFrom(%q) accepted values newEngine refuses: %v", s, err)
		}
	})
}
