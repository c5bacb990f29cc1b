// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// TestRootTapOption runs "vswitch -t TAP" in a fresh network namespace: the TAP gets a port shown
// with module tuntap, and the TAP the switch created disappears when it exits.
func TestRootTapOption(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("skipped: no /dev/net/tun: %v", err)
	}
	ns := testutil.Netns(t)
	bin := testutil.Bin(t, "vswitch")
	base := t.TempDir()
	mgmt := filepath.Join(base, "mgmt")
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = inR }, "ip", "netns", "exec", ns,
		bin, "-s", filepath.Join(base, "sw"), "-M", mgmt, "-t", "vswtap0", "-tap", "vswtap1")
	testutil.WaitListening(t, mgmt, 10*time.Second)
	got := testutil.MgmtCommand(t, mgmt, "port/print")
	for i, tap := range []string{"vswtap0", "vswtap1"} {
		want := "Port 000" + string(rune('1'+i)) + " untagged_vlan=0000 ACTIVE - Unnamed Allocatable\n" +
			" Current User: NONE Access Control: (User: NONE - Group: NONE)\n"
		if !strings.Contains(got, want) || !strings.Contains(got, "module tuntap      : "+tap+"\n") {
			t.Errorf("port/print lacks %s on port %d:\n%s", tap, i+1, got)
		}
	}
	testutil.Run(t, "ip", "-n", ns, "link", "show", "vswtap0")
	inW.Close() // EOF on the console: clean exit
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.Stderr.String())
	}
	if out, err := exec.Command("ip", "-n", ns, "link", "show", "vswtap0").CombinedOutput(); err == nil {
		t.Errorf("the TAP vswitch created survived its exit:\n%s", out)
	}
}

// TestRootAccessControl sets port/setuser and port/setgroup through the console and checks that the
// switch enforces them on connect (section 1.6: the owner of the client's socket file decides), using
// the real vde_plug run under other uids.
func TestRootAccessControl(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	plug := testutil.RealTool(t, "vde_plug")
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("skipped: setpriv not installed")
	}
	bin := testutil.Bin(t, "vswitch")
	base := t.TempDir()
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir, mgmt := filepath.Join(base, "sw"), filepath.Join(base, "mgmt")
	inR, inW, _ := os.Pipe()
	defer inR.Close()
	defer inW.Close()
	testutil.Start(t, func(c *exec.Cmd) { c.Stdin = inR; c.Env = append(os.Environ(), "HOME="+base) },
		bin, "-s", dir, "-M", mgmt, "-m", "666")
	testutil.WaitListening(t, mgmt, 10*time.Second)
	for _, c := range []string{"port/create 3", "port/setuser 3 nobody", "port/create 4", "port/setgroup 4 nogroup"} {
		if got := testutil.MgmtCommand(t, mgmt, c); got != "1000 Success\n" {
			t.Fatalf("%s: %q", c, got)
		}
	}
	// connect runs vde_plug as uid:gid on port and reports whether the switch accepted it.
	connect := func(uid, gid, port int) bool {
		t.Helper()
		pr, pw, _ := os.Pipe()
		defer pr.Close()
		defer pw.Close()
		p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin = pr }, setpriv,
			"--reuid="+itoa(uid), "--regid="+itoa(gid), "--clear-groups", plug, "vde://"+dir+"["+itoa(port)+"]")
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(testutil.MgmtCommand(t, mgmt, "port/print "+itoa(port)), " ACTIVE - ") {
				p.Stop(5 * time.Second)
				return true
			}
			if p.Exited() {
				return false
			}
			time.Sleep(50 * time.Millisecond)
		}
		p.Stop(5 * time.Second)
		return false
	}
	for _, tt := range []struct {
		uid, gid, port int
		want           bool
	}{
		{65534, 65534, 3, true},  // the port's user
		{12345, 12345, 3, false}, // another user
		{65534, 65534, 4, true},  // primary group nogroup
		{12345, 12345, 4, false}, // not in the group
		{0, 0, 3, true},          // root may use any port
	} {
		if got := connect(tt.uid, tt.gid, tt.port); got != tt.want {
			t.Errorf("uid %d on port %d: accepted = %v, want %v", tt.uid, tt.port, got, tt.want)
		}
		testutil.Eventually(t, 5*time.Second, "port inactive again", func() bool {
			return !strings.Contains(testutil.MgmtCommand(t, mgmt, "port/print "+itoa(tt.port)), " ACTIVE - ")
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
