// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// A tmuxTerm is a private tmux server (its own socket) running one program in a real terminal.
type tmuxTerm struct {
	t    *testing.T
	bin  string
	sock string
}

// newTmux starts cmdline in a detached 150x50 tmux session on a private server, killed when the test ends.
func newTmux(t *testing.T, cmdline string) *tmuxTerm {
	t.Helper()
	bin, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("skipped: tmux not installed (apt-get install tmux)")
	}
	tm := &tmuxTerm{t: t, bin: bin, sock: filepath.Join(t.TempDir(), "tmux")}
	tm.run("new-session", "-d", "-x", "150", "-y", "50", cmdline)
	t.Cleanup(func() { exec.Command(bin, "-S", tm.sock, "kill-server").Run() })
	return tm
}

func (tm *tmuxTerm) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command(tm.bin, append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys sends tmux key names or literal text.
func (tm *tmuxTerm) keys(keys ...string) {
	tm.t.Helper()
	tm.run(append([]string{"send-keys", "-t", "0"}, keys...)...)
}

// text types s literally.
func (tm *tmuxTerm) text(s string) { tm.t.Helper(); tm.run("send-keys", "-t", "0", "-l", s) }

func (tm *tmuxTerm) screen() string {
	out, err := exec.Command(tm.bin, "-S", tm.sock, "capture-pane", "-p", "-t", "0").CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}

// lastLine is the last non-blank line on the screen: the one being edited.
func (tm *tmuxTerm) lastLine() string {
	lines := strings.Split(strings.TrimRight(tm.screen(), "\n "), "\n")
	return strings.TrimRight(lines[len(lines)-1], " ")
}

func (tm *tmuxTerm) waitFor(what string, cond func(screen string) bool) {
	tm.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(tm.screen()) {
		if time.Now().After(deadline) {
			tm.t.Fatalf("timed out waiting for %s; screen:\n%s", what, tm.screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *tmuxTerm) waitLast(want string) {
	tm.t.Helper()
	tm.waitFor("edited line "+want, func(string) bool { return tm.lastLine() == want })
}

func (tm *tmuxTerm) waitText(want string) {
	tm.t.Helper()
	tm.waitFor(want, func(s string) bool { return strings.Contains(s, want) })
}

// gone reports whether the program (and so the tmux session) has exited.
func (tm *tmuxTerm) gone() bool {
	return exec.Command(tm.bin, "-S", tm.sock, "has-session").Run() != nil
}

func vtermCmdline(t *testing.T, state, sock string) string {
	return "env XDG_STATE_HOME=" + state + " " + testutil.Bin(t, "vterm") + " " + sock
}

func TestInteractiveSwitch(t *testing.T) {
	switchPeers(t, func(t *testing.T, sw *testutil.MgmtPeer) {
		state := t.TempDir()
		tm := newTmux(t, vtermCmdline(t, state, sw.Mgmt))
		prompt := "vde[" + sw.Mgmt + "]:"
		tm.waitLast(prompt)

		// completion of a command path learnt from help, then its result
		tm.text("port/sh")
		tm.keys("Tab")
		tm.waitLast(prompt + " port/showinfo")
		tm.keys("Enter")
		tm.waitFor("port/showinfo output", func(s string) bool {
			return strings.Contains(s, "\nNumports=32\nHUB=false\ncounters=true\nSuccess\n")
		})
		// completion of an argument from its syntax ("0/1")
		tm.text("port/sethub ")
		tm.keys("Tab")
		tm.waitFor("choices 0 and 1 under the edited line", func(s string) bool {
			return strings.Contains(s, prompt+" port/sethub\n0  1\n")
		})
		tm.text("1")
		tm.keys("Tab")
		tm.waitLast(prompt + " port/sethub 1")
		tm.keys("C-u")
		// an error is shown distinctly; the DATA framing never is
		tm.text("vlan/create x")
		tm.keys("Enter")
		tm.waitText("Error: Invalid argument (1022)")
		if s := tm.screen(); strings.Contains(s, "0000 DATA") || strings.Contains(s, "1000 Success") {
			t.Errorf("protocol framing shown:\n%s", s)
		}
		// history recall
		tm.waitLast(prompt)
		tm.keys("Up")
		tm.waitLast(prompt + " vlan/create x")
		tm.keys("C-u")

		// a debug line arrives while a command is being typed: shown above, the typed line intact
		tm.text("debug/add po")
		tm.keys("Tab") // debug categories learnt from debug/list
		tm.waitLast(prompt + " debug/add port/")
		tm.keys("BSpace", "Enter")
		tm.waitFor("debug/add result", func(s string) bool { return strings.Count(s, "Success") == 2 })
		tm.text("hash/sh")
		tm.waitLast(prompt + " hash/sh")
		startPlugFor(t, sw)
		tm.waitText("** DBG MSG: port/ep/+ Port")
		tm.waitLast(prompt + " hash/sh")
		tm.text("owinfo")
		tm.keys("Enter")
		tm.waitText("Hash size 128")

		// Ctrl-D logs out; the history is kept per socket for the next session
		tm.waitLast(prompt)
		tm.keys("C-d")
		testutil.Eventually(t, 5*time.Second, "vterm to exit on Ctrl-D", tm.gone)
		hist, err := historyPath(sw.Mgmt, func(k string) string { return map[string]string{"XDG_STATE_HOME": state}[k] })
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(hist)
		if err != nil || !strings.Contains(string(b), "vlan/create x\n") || !strings.HasSuffix(string(b), "hash/showinfo\n") {
			t.Fatalf("history file %s: %q, %v", hist, b, err)
		}
		tm = newTmux(t, vtermCmdline(t, state, sw.Mgmt))
		tm.waitLast(prompt)
		tm.keys("Up")
		tm.waitLast(prompt + " hash/showinfo")
		tm.keys("C-u")
		tm.text("logout")
		tm.keys("Enter")
		testutil.Eventually(t, 5*time.Second, "vterm to exit on logout", tm.gone)
		if sw.Proc.Exited() {
			t.Error("logout shut the switch down")
		}
	})
}

// startPlugFor connects a vde_plug to the switch until the test ends.
func startPlugFor(t *testing.T, sw *testutil.MgmtPeer) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	testutil.Start(t, func(c *exec.Cmd) { c.Stdin = pr }, testutil.RealTool(t, "vde_plug"), "vde://"+sw.Ctl)
	pr.Close()
	t.Cleanup(func() { pw.Close() })
}

func TestInteractiveShutdown(t *testing.T) {
	switchPeers(t, func(t *testing.T, sw *testutil.MgmtPeer) {
		tm := newTmux(t, vtermCmdline(t, t.TempDir(), sw.Mgmt))
		tm.waitLast("vde[" + sw.Mgmt + "]:")
		tm.text("shutdown")
		tm.keys("Enter")
		testutil.Eventually(t, 5*time.Second, "vterm to exit on shutdown", tm.gone)
		if err := sw.Proc.Wait(5 * time.Second); err != nil {
			t.Errorf("switch after shutdown: %v", err)
		}
	})
}

func TestInteractiveWirefilter(t *testing.T) {
	wirefilterPeers(t, func(t *testing.T, wf *testutil.MgmtPeer) {
		tm := newTmux(t, vtermCmdline(t, t.TempDir(), wf.Mgmt))
		prompt := "VDEwf[" + wf.Mgmt + "]:"
		tm.waitLast(prompt)
		tm.text("markov-n")
		tm.keys("Tab")
		tm.waitFor("both markov-n commands listed", func(s string) bool {
			return strings.Contains(s, prompt+" markov-n\nmarkov-name") && strings.Contains(s, "markov-numnodes")
		})
		tm.text("a")
		tm.keys("Tab")
		tm.waitLast(prompt + " markov-name")
		tm.keys("C-u")
		tm.text("dela")
		tm.keys("Tab")
		tm.waitLast(prompt + " delay")
		tm.text("10")
		tm.keys("Enter")
		tm.waitText("\nSuccess\n")
		tm.text("showinfo")
		tm.keys("Enter")
		tm.waitText("Delay  10+0U")
		tm.text("logout")
		tm.keys("Enter")
		testutil.Eventually(t, 5*time.Second, "vterm to exit on logout", tm.gone)
	})
}

func TestInteractivePeerGone(t *testing.T) {
	switchPeers(t, func(t *testing.T, sw *testutil.MgmtPeer) {
		tm := newTmux(t, vtermCmdline(t, t.TempDir(), sw.Mgmt)+"; echo vterm exit $?; sleep 10")
		tm.waitLast("vde[" + sw.Mgmt + "]:")
		tm.text("hash/sh")
		sw.Proc.Stop(5 * time.Second)
		tm.waitText("vterm: connection closed by the peer")
		tm.waitText("vterm exit 255")
	})
}
