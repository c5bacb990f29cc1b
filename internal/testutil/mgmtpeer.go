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

// BinIfBuilds is Bin for a command of ours that may not exist or build yet (the tree grows in parallel):
// it skips the test with a clear message instead of failing. With GOVDE_BIN set it behaves like Bin.
func BinIfBuilds(t testing.TB, name string) string {
	t.Helper()
	if os.Getenv("GOVDE_BIN") != "" {
		p := filepath.Join(os.Getenv("GOVDE_BIN"), name)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("skipped: our %s is not built in GOVDE_BIN (%v)", name, err)
		}
		return p
	}
	root := ModuleRoot(t)
	if _, err := os.Stat(filepath.Join(root, "cmd", name)); err != nil {
		t.Skipf("skipped: cmd/%s is not in the tree yet", name)
	}
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := binDone[name]; ok {
		return p
	}
	if binDir == "" {
		d, err := os.MkdirTemp("", "govde-bin-")
		if err != nil {
			t.Fatal(err)
		}
		binDir = d
	}
	out := filepath.Join(binDir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("skipped: cmd/%s does not build yet: %v\n%s", name, err, b)
	}
	binDone[name] = out
	return out
}
