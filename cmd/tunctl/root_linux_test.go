// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/govde/govde/internal/testutil"
)

// runIn runs prog args inside ns and returns stdout, stderr and the exit status.
func runIn(t *testing.T, ns, prog string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, prog}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", prog, args, err)
	}
	return out.String(), errb.String(), code
}

// TestSameAsReference runs one sequence of commands with the real vde_tunctl in one namespace and with
// ours in another, and wants the same output lines, exit codes, devices, owners and flags. Our -g and
// -h differ on purpose and are checked separately.
func TestSameAsReference(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ref := testutil.RealTool(t, "vde_tunctl")
	ours := testutil.Bin(t, "tunctl")
	seq := [][]string{
		{"-t", "gvtap0"}, {"-b", "-t", "gvtap1"}, {"-u", "nobody", "-t", "gvtap2"}, {"-u", "123", "-t", "gvtap3"},
		{"-u", "-5", "-t", "gvtap4"}, {"-t", "tun5"}, {"-n", "-t", "gvt6"}, {"-d", "gvtap0"}, {"-d", "nosuch"},
		{"-d", "gvt6"}, {"-n", "-d", "gvt6"}, {"-f", "/nonexistent", "-t", "x"}, {"-u", "nosuchuser", "-t", "x"},
		{"-t", "x", "extra"}, {}, {"-b"}, {"-t", "averyveryverylongname"}, {"-d"}, {"-bttap9"}, {"-i"},
		{"-t", "tun5", "-d", "tun5"}, {"-u", "0x10", "-t", "gvtap7"}, {"-b", "-d", "gvtap1"},
		{"--foo"}, {"-bx"}, {"-t"}, {"x", "-b", "--", "-t"}, {"-b", "--", "x"},
	}
	nsRef, nsOurs := testutil.Netns(t), testutil.Netns(t)
	for _, args := range seq {
		o1, e1, c1 := runIn(t, nsRef, ref, args...)
		o2, e2, c2 := runIn(t, nsOurs, ours, args...)
		e1 = strings.ReplaceAll(e1, ref, "PROG")
		e2 = strings.ReplaceAll(strings.ReplaceAll(e2, ours, "PROG"), "-h print this help\n", "")
		if o1 != o2 || e1 != e2 || c1 != c2 {
			t.Errorf("tunctl %q:\nreference: exit %d stdout %q stderr %q\nours:      exit %d stdout %q stderr %q", args, c1, o1, e1, c2, o2, e2)
		}
	}
	state := func(ns string) string {
		return testutil.Run(t, "ip", "netns", "exec", ns, "sh", "-c",
			`cd /sys/class/net && for d in *; do [ -e $d/tun_flags ] && echo $d $(cat $d/tun_flags $d/owner $d/group); done`)
	}
	if s1, s2 := state(nsRef), state(nsOurs); s1 != s2 {
		t.Errorf("devices differ:\nreference:\n%s\nours:\n%s", s1, s2)
	}
}

// TestGroup checks what the reference cannot do: -g sets the group (TUNSETGROUP), visible in /sys,
// and is printed after the owner.
func TestGroup(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ours := testutil.Bin(t, "tunctl")
	ns := testutil.Netns(t)
	tests := []struct {
		args         []string
		out          string
		owner, group string
	}{
		{[]string{"-u", "nobody", "-g", "nogroup", "-t", "gvg0"}, "Set 'gvg0' persistent and owned by uid 65534 gid 65534\n", "65534", "65534"},
		{[]string{"-g", "7", "-t", "gvg1"}, "Set 'gvg1' persistent and owned by gid 7\n", "-1", "7"},
		{[]string{"-b", "-g", "0", "-t", "gvg2"}, "gvg2\n", "-1", "0"},
	}
	for _, tc := range tests {
		out, errs, code := runIn(t, ns, ours, tc.args...)
		if code != 0 || out != tc.out || errs != "" {
			t.Errorf("tunctl %q: exit %d stdout %q stderr %q; want %q", tc.args, code, out, errs, tc.out)
			continue
		}
		dev := tc.args[len(tc.args)-1]
		owner := strings.TrimSpace(testutil.Run(t, "ip", "netns", "exec", ns, "cat", "/sys/class/net/"+dev+"/owner"))
		group := strings.TrimSpace(testutil.Run(t, "ip", "netns", "exec", ns, "cat", "/sys/class/net/"+dev+"/group"))
		if owner != tc.owner || group != tc.group {
			t.Errorf("tunctl %q: /sys owner %s group %s, want %s %s", tc.args, owner, group, tc.owner, tc.group)
		}
		if out, _, code := runIn(t, ns, ours, "-d", dev); code != 0 || out != "Set '"+dev+"' nonpersistent\n" {
			t.Errorf("tunctl -d %s: exit %d, %q", dev, code, out)
		}
	}
}

// TestArgv0 checks that the program names itself after argv[0] (vde_tunctl, tunctl).
func TestArgv0(t *testing.T) {
	ours := testutil.Bin(t, "tunctl")
	cmd := exec.Command(ours, "-x")
	cmd.Args[0] = "vde_tunctl"
	out, _ := cmd.CombinedOutput()
	if !strings.HasPrefix(string(out), "vde_tunctl: invalid option -- 'x'\nCreate: vde_tunctl [-b]") {
		t.Errorf("as vde_tunctl: %q", out)
	}
}
