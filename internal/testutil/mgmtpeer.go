// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A MgmtPeer is a management server started by a test: a switch (vde_switch or vswitch) or a wirefilter.
type MgmtPeer struct {
	Name string // the tool, for test names
	Mgmt string // the management socket
	Ctl  string // the switch's ctl directory ("" for a wirefilter)
	Proc *Proc
}

// MgmtSwitch starts the switch bin ("vde_switch" path or our vswitch) as "bin -s DIR/ctl -M DIR/mgmt extra..."
// in the foreground, with a stdin pipe held open until the test ends (a switch exits on EOF on its console),
// and waits for both sockets.
func MgmtSwitch(t testing.TB, bin string, extra ...string) *MgmtPeer {
	t.Helper()
	dir := t.TempDir()
	p := &MgmtPeer{Name: filepath.Base(bin), Mgmt: filepath.Join(dir, "mgmt"), Ctl: filepath.Join(dir, "ctl")}
	args := append([]string{"-s", p.Ctl, "-M", p.Mgmt}, extra...)
	p.Proc = startWithStdinPipe(t, bin, args...)
	waitMgmt(t, p, filepath.Join(p.Ctl, "ctl"))
	return p
}

// MgmtWirefilter starts the wirefilter bin as "bin -M DIR/mgmt extra..." between two pipes held open until
// the test ends (monodirectional stdin to stdout), and waits for its management socket.
func MgmtWirefilter(t testing.TB, bin string, extra ...string) *MgmtPeer {
	t.Helper()
	dir := t.TempDir()
	p := &MgmtPeer{Name: filepath.Base(bin), Mgmt: filepath.Join(dir, "mgmt")}
	args := append([]string{"-M", p.Mgmt}, extra...)
	p.Proc = startWithStdinPipe(t, bin, args...) // stdout is a pipe to the captured buffer
	waitMgmt(t, p, "")
	return p
}

func startWithStdinPipe(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := Start(t, func(c *exec.Cmd) { c.Stdin = pr }, bin, args...)
	pr.Close()
	t.Cleanup(func() { pw.Close() })
	return p
}

func waitMgmt(t testing.TB, p *MgmtPeer, also string) {
	t.Helper()
	Eventually(t, 10*time.Second, p.Name+" management socket", func() bool {
		if p.Proc.Exited() {
			t.Fatalf("%s exited early: %v\n%s", p.Name, p.Proc.Wait(0), p.Proc.Stderr.String())
		}
		c, err := net.Dial("unix", p.Mgmt) // bound is not enough: it must listen
		if err != nil {
			return false
		}
		c.Close()
		if also != "" {
			if _, err := os.Stat(also); err != nil {
				return false
			}
		}
		return true
	})
}

// BinIfBuilds is Bin for a tool of ours that may not be in the tree yet (such as wirefilter, planned but not
// written): it skips the test with a clear message when cmd/<name> does not exist. A tool that exists but does
// not build, or is missing from GOVDE_BIN, fails the test as with Bin.
func BinIfBuilds(t testing.TB, name string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(ModuleRoot(t), "cmd", name, "main.go")); err != nil {
		t.Skipf("skipped: our %s does not exist yet (no cmd/%s)", name, name)
	}
	return Bin(t, name)
}
