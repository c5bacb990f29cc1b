// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/mgmt"
)

// switchPeers runs f against the real vde_switch and against our vswitch (skipped until it builds).
func switchPeers(t *testing.T, f func(t *testing.T, p *testutil.MgmtPeer)) {
	t.Run("vde_switch", func(t *testing.T) { f(t, testutil.MgmtSwitch(t, testutil.RealTool(t, "vde_switch"))) })
	t.Run("vswitch", func(t *testing.T) { f(t, testutil.MgmtSwitch(t, testutil.BinIfBuilds(t, "vswitch"))) })
}

// wirefilterPeers runs f against the real wirefilter and against ours (skipped until it builds).
func wirefilterPeers(t *testing.T, f func(t *testing.T, p *testutil.MgmtPeer)) {
	t.Run("wirefilter", func(t *testing.T) { f(t, testutil.MgmtWirefilter(t, testutil.RealTool(t, "wirefilter"))) })
	t.Run("ourwirefilter", func(t *testing.T) { f(t, testutil.MgmtWirefilter(t, testutil.BinIfBuilds(t, "wirefilter"))) })
}

func TestOneShotSwitch(t *testing.T) {
	switchPeers(t, func(t *testing.T, sw *testutil.MgmtPeer) {
		for _, tc := range []struct {
			name      string
			args      []string
			stdin     string
			out, errs string
			code      int
		}{
			{"data", []string{"vterm", sw.Mgmt, "port/showinfo"}, "", "Numports=32\nHUB=false\ncounters=true\n", "", 0},
			{"words joined", []string{"vterm", sw.Mgmt, "vlan/create", "10"}, "", "", "", 0},
			{"errno", []string{"vterm", sw.Mgmt, "vlan/create", "10"}, "",
				"", "vterm: \"vlan/create 10\" failed: File exists (1017)\n", 17},
			{"empty block and errno", []string{"vterm", sw.Mgmt, "port/print", "99"}, "",
				"", "vterm: \"port/print 99\" failed: Invalid argument (1022)\n", 22},
			{"unknown", []string{"vterm", sw.Mgmt, "nosuchcommand"}, "",
				"", "vterm: \"nosuchcommand\" failed: Function not implemented (1038)\n", 38},
			{"json", []string{"vterm", "-j", sw.Mgmt, "port/showinfo"}, "",
				`{"command":"port/showinfo","code":1000,"text":"Success","data":["Numports=32","HUB=false","counters=true"]}` + "\n", "", 0},
			{"json error", []string{"vterm", "--json", sw.Mgmt, "vlan/remove", "99"}, "",
				`{"command":"vlan/remove 99","code":1006,"text":"No such device or address","data":[]}` + "\n",
				"vterm: \"vlan/remove 99\" failed: No such device or address (1006)\n", 6},
			{"stdin script, first failure wins", []string{"vterm", sw.Mgmt}, "# set up\n\nvlan/create 20\nvlan/create 20\nvlan/remove 99\nvlan/print 20\nlogout\nport/showinfo\n",
				"VLAN 0020\n", "vterm: \"vlan/create 20\" failed: File exists (1017)\n" +
					"vterm: \"vlan/remove 99\" failed: No such device or address (1006)\n", 17},
			{"unixcmd", []string{"unixcmd", "-s", sw.Mgmt, "-f", "/etc/vde2/vdecmd", "port/showinfo"}, "",
				"Numports=32\nHUB=false\ncounters=true\n", "unixcmd: note: -f /etc/vde2/vdecmd ignored: vterm needs no parse-machine script\n", 0},
			{"unixcmd errno", []string{"unixcmd", "-s", sw.Mgmt, "vlan/create", "0x20"}, "",
				"", "unixcmd: \"vlan/create 0x20\" failed: Invalid argument (1022)\n", 22},
			{"unixcmd verbose", []string{"unixcmd", "-v", "-s", sw.Mgmt, "ds/showinfo"}, "",
				"ctl dir " + sw.Ctl + "\nstd mode 0600\n", "", 0},
			{"vdeterm script", []string{"vdeterm", sw.Mgmt}, "hash/showinfo\n",
				"Hash size 128\nGC interval 2 secs\nGC expire 100 secs\nMin persistence 3 secs\n", "", 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out, errs, code := runApp(t, tc.args[0], strings.NewReader(tc.stdin), tc.args[1:]...)
				if tc.name == "unixcmd verbose" { // the trace: commands and lines, on stderr
					if !strings.Contains(errs, "> ds/showinfo\n") || !strings.Contains(errs, "< 1000 Success\n") {
						t.Errorf("trace %q lacks the command or the result", errs)
					}
					errs = ""
				}
				if out != tc.out || errs != tc.errs || code != tc.code {
					t.Errorf("%q:\nstdout %q\nstderr %q\nexit %d\nwant\nstdout %q\nstderr %q\nexit %d",
						tc.args, out, errs, code, tc.out, tc.errs, tc.code)
				}
				if strings.Contains(out, "\x00") {
					t.Errorf("NUL in output %q", out)
				}
			})
		}
	})
}

func TestOneShotShutdown(t *testing.T) {
	switchPeers(t, func(t *testing.T, sw *testutil.MgmtPeer) {
		out, errs, code := runApp(t, "vterm", strings.NewReader("shutdown\nport/showinfo\n"), "-j", sw.Mgmt)
		want := `{"command":"shutdown","code":9999,"text":"END OF SESSION","data":[]}` + "\n"
		if out != want || errs != "" || code != 0 {
			t.Errorf("stdout %q, stderr %q, exit %d; want %q, \"\", 0", out, errs, code, want)
		}
		if err := sw.Proc.Wait(5 * time.Second); err != nil {
			t.Errorf("switch after shutdown: %v", err)
		}
	})
}

func TestOneShotHashPrintLong(t *testing.T) {
	// thousands of lines through vterm -j: the JSON carries all of them, in order
	switchPeers(t, func(t *testing.T, sw *testutil.MgmtPeer) {
		const n = 2000
		fillHash(t, sw, n)
		out, errs, code := runApp(t, "vterm", nil, "-j", sw.Mgmt, "hash/print")
		var r mgmt.Reply
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || errs != "" {
			t.Fatalf("vterm -j hash/print: %v, exit %d, stderr %q", err, code, errs)
		}
		if len(r.Data) != n || r.Code != 1000 {
			t.Fatalf("hash/print: code %d, %d lines, want 1000 and %d", r.Code, len(r.Data), n)
		}
		seen := map[string]bool{}
		for _, l := range r.Data {
			f := strings.Fields(l)
			if len(f) < 4 || f[2] != "Addr:" {
				t.Fatalf("line %q", l)
			}
			seen[f[3]] = true
		}
		for i := range n {
			if !seen[testMAC(i)] {
				t.Fatalf("%s missing from hash/print", testMAC(i))
			}
		}
	})
}

func TestRawSwitch(t *testing.T) {
	switchPeers(t, func(t *testing.T, sw *testutil.MgmtPeer) {
		for _, name := range []string{"vterm", "unixterm"} {
			t.Run(name, func(t *testing.T) {
				pr, pw := io.Pipe()
				var out testutil.SyncBuffer
				app := newAppAs(name)
				app.Reader, app.Writer, app.ErrWriter = pr, &out, &out
				args := []string{name, sw.Mgmt}
				if name == "vterm" {
					args = []string{name, "-r", sw.Mgmt}
				}
				done := make(chan error, 1)
				go func() { done <- app.Run(args) }()
				testutil.Eventually(t, 5*time.Second, "prompt", func() bool { return strings.HasSuffix(out.String(), "\nvde$ ") })
				pw.Write([]byte("port/showinfo\n"))
				want := "\nvde$ 0000 DATA END WITH '.'\nNumports=32\nHUB=false\ncounters=true\n.\n1000 Success\n\nvde$ "
				testutil.Eventually(t, 5*time.Second, "raw reply", func() bool { return strings.HasSuffix(out.String(), want) })
				pw.Close() // EOF on stdin: exit 0
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("exit: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("raw relay did not end on EOF of stdin")
				}
			})
		}
		// the peer hangs up: logout ends the relay with status 0
		pr, pw := io.Pipe()
		defer pw.Close()
		app := newAppAs("unixterm")
		var out testutil.SyncBuffer
		app.Reader, app.Writer, app.ErrWriter = pr, &out, &out
		done := make(chan error, 1)
		go func() { done <- app.Run([]string{"unixterm", sw.Mgmt}) }()
		testutil.Eventually(t, 5*time.Second, "prompt", func() bool { return strings.HasSuffix(out.String(), "vde$ ") })
		pw.Write([]byte("logout\n"))
		select {
		case err := <-done:
			if err != nil || !strings.HasSuffix(out.String(), "9999 END OF SESSION") {
				t.Errorf("after logout: %v, output %q", err, out.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("raw relay did not end when the peer hung up")
		}
	})
}

func TestOneShotWirefilter(t *testing.T) {
	wirefilterPeers(t, func(t *testing.T, wf *testutil.MgmtPeer) {
		out, errs, code := runApp(t, "vterm", strings.NewReader("delay 10\nloss LR5\nshowinfo\nlogout\n"), wf.Mgmt)
		if code != 0 || errs != "" || !strings.Contains(out, "\nDelay  10+0U\n") {
			t.Errorf("stdout %q, stderr %q, exit %d", out, errs, code)
		}
		out, _, code = runApp(t, "vterm", nil, "-j", wf.Mgmt, "logout")
		if code != 0 || out != "" {
			t.Errorf("vterm -j logout: stdout %q, exit %d; want nothing sent and 0", out, code)
		}
		out, errs, code = runApp(t, "vterm", nil, "-j", wf.Mgmt, "help")
		var r mgmt.Reply
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
			t.Fatalf("help: %v, exit %d, stderr %q", err, code, errs)
		}
		e := mgmt.ParseHelp(r.Data)
		if len(e) < 10 || !cmp.Equal(e[0], mgmt.HelpEntry{Path: "help", Help: "print a summary of mgmt commands"}) {
			t.Errorf("ParseHelp(wirefilter help) = %+v", e)
		}
	})
}
