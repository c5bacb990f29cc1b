// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package vnetctl

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// lab is a host namespace with a veth uplink eth0 (198.18.0.1/24, a route to 198.19.0.0/24 via the LAN
// host) to a LAN namespace (198.18.0.2/24). vnetctl runs inside the host namespace with /var/tmp and /run
// replaced by the test's folders, so its fixed paths never touch the machine.
type lab struct {
	t             *testing.T
	host, lan     string
	tmp, run      string
	bin           string
	env           []string
	uplinkMAC     string
	plug2tap, tun string
	vplug, dpipe  string
	sshd          *testutil.Proc
}

func newLab(t *testing.T, env ...string) *lab {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	for _, p := range []string{"unshare", "setpriv", "ping"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipped: %s not installed", p)
		}
	}
	l := &lab{t: t, host: testutil.Netns(t), lan: testutil.Netns(t), env: env}
	d := t.TempDir()
	os.Chmod(filepath.Dir(d), 0o755) // the TempDir parent is private; nobody must reach the sockets
	os.Chmod(d, 0o755)
	l.tmp, l.run = filepath.Join(d, "tmp"), filepath.Join(d, "run")
	os.Mkdir(l.tmp, 0o1777)
	os.Mkdir(l.run, 0o755)
	os.Chmod(l.tmp, 0o1777)
	l.bin = testutil.Bin(t, "vnetctl")
	testutil.Bin(t, "vswitch")
	l.tun = testutil.Bin(t, "tunctl")
	l.plug2tap = testutil.Bin(t, "plug2tap")
	l.vplug = testutil.Bin(t, "vplug")
	l.dpipe = testutil.Bin(t, "dpipe")
	t.Cleanup(func() { // processes left in the host namespace are ours (a failed test's switch)
		out, _ := exec.Command("ip", "netns", "pids", l.host).Output()
		for _, f := range strings.Fields(string(out)) {
			var pid int
			fmt.Sscan(f, &pid)
			if pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	testutil.Run(t, "ip", "link", "add", "eth0", "netns", l.host, "type", "veth", "peer", "name", "lan0", "netns", l.lan)
	testutil.Run(t, "ip", "-n", l.host, "link", "set", "eth0", "address", "02:00:c6:12:00:01")
	testutil.Run(t, "ip", "-n", l.host, "addr", "add", "198.18.0.1/24", "brd", "198.18.0.255", "dev", "eth0")
	testutil.Run(t, "ip", "-n", l.host, "link", "set", "eth0", "up")
	testutil.Run(t, "ip", "-n", l.host, "route", "add", "198.19.0.0/24", "via", "198.18.0.2", "dev", "eth0")
	testutil.Run(t, "ip", "-n", l.lan, "addr", "add", "198.18.0.2/24", "dev", "lan0")
	testutil.Run(t, "ip", "-n", l.lan, "link", "set", "lan0", "up")
	return l
}

// vnetctl runs the binary under test in the host namespace as root with USER=root.
func (l *lab) vnetctl(extraEnv []string, args ...string) (int, string, string) {
	l.t.Helper()
	argv := append([]string{"netns", "exec", l.host, "unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /var/tmp && mount --bind "$2" /run && shift 2 && exec "$@"`, "_", l.tmp, l.run, l.bin}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "USER=root", "HOME=/root"}, l.env...)
	cmd.Env = append(cmd.Env, extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		l.t.Fatalf("vnetctl %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// realSwitch reports whether the lab runs vde_switch, as the original did.
func (l *lab) realSwitch() bool {
	for _, e := range l.env {
		if e == "VDE_SWITCH=vde_switch" {
			return true
		}
	}
	return false
}

// ip runs ip in the host namespace.
func (l *lab) ip(args ...string) string {
	l.t.Helper()
	return testutil.Run(l.t, "ip", append([]string{"-n", l.host}, args...)...)
}

func (l *lab) sys(path string) string {
	l.t.Helper()
	return strings.TrimSpace(testutil.Run(l.t, "ip", "netns", "exec", l.host, "cat", path))
}

func (l *lab) mustRun(want int, args ...string) (string, string) {
	l.t.Helper()
	code, out, errs := l.vnetctl(nil, args...)
	if code != want {
		l.t.Fatalf("vnetctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out, errs
}

var (
	hostMask = regexp.MustCompile(`\|[^|\n]*$`)
)

// maskHost replaces the machine-address column, as the recording's mask does.
func maskHost(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Count(l, "|") == 4 && !strings.HasPrefix(l, "switch ") {
			lines[i] = hostMask.ReplaceAllString(l, "|HOST")
		}
	}
	return strings.Join(lines, "\n")
}

// checkClean fails unless nothing of a create is left: no TAP, no bridge, no socket or pidfile, no
// process in the host namespace, and the uplink has its address and routes back.
func (l *lab) checkClean() {
	l.t.Helper()
	links := l.ip("-o", "link", "show")
	if strings.Contains(links, "ctysbr0") || strings.Contains(links, "tap") {
		l.t.Errorf("links left:\n%s", links)
	}
	for _, d := range []string{l.tmp, l.run} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			l.t.Errorf("left in %s: %s", d, e.Name())
		}
	}
	if out := strings.TrimSpace(testutil.Run(l.t, "ip", "netns", "pids", l.host)); out != "" {
		l.t.Errorf("processes left in the host namespace: %s", out)
	}
	if a := l.ip("-4", "-o", "addr", "show", "dev", "eth0"); !strings.Contains(a, "198.18.0.1/24") {
		l.t.Errorf("eth0 lost its address: %s", a)
	}
	if r := l.ip("-4", "route", "show", "dev", "eth0"); !strings.Contains(r, "198.19.0.0/24 via 198.18.0.2") {
		l.t.Errorf("eth0 lost its route: %s", r)
	}
}

// guest starts the guest stand-in in its own namespace: vplug run as nobody on the switch socket, piped
// to plug2tap on a TAP with 198.18.0.10/24, and pings the LAN host through the switch, TAP, bridge and
// uplink. It returns the namespace.
func (l *lab) guest() string {
	l.t.Helper()
	g := testutil.Netns(l.t)
	// The switch names its data sockets by its own view of /var/tmp: the guest gets the same view. The
	// switch side runs as nobody (vplug); the TAP side (plug2tap on the VDE stream) as root, since
	// /dev/net/tun may be closed to other users.
	p := testutil.Start(l.t, nil, "ip", "netns", "exec", g, "unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /var/tmp && shift && exec "$@"`, "_", l.tmp, l.dpipe,
		"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", l.vplug, "/var/tmp/vde_switch0.nobody",
		"=", l.plug2tap, "-s", "-", "gtap0")
	testutil.Eventually(l.t, 10*time.Second, "guest TAP", func() bool {
		return exec.Command("ip", "-n", g, "link", "show", "gtap0").Run() == nil || p.Exited()
	})
	if p.Exited() {
		l.t.Fatalf("guest plug exited: %v\n%s", p.Wait(0), p.Stderr.String())
	}
	testutil.Run(l.t, "ip", "-n", g, "addr", "add", "198.18.0.10/24", "dev", "gtap0")
	testutil.Run(l.t, "ip", "-n", g, "link", "set", "gtap0", "up")
	l.t.Cleanup(func() { p.Stop(5 * time.Second) })
	deadline := time.Now().Add(30 * time.Second) // the bridge ports pass listening and learning first
	for {
		err := exec.Command("ip", "netns", "exec", g, "ping", "-n", "-c", "1", "-W", "1", "198.18.0.2").Run()
		if err == nil {
			break
		}
		if p.Exited() {
			l.t.Fatalf("guest plug (vplug as nobody) exited: %v\n%s", p.Wait(0), p.Stderr.String())
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("guest cannot reach the LAN host 198.18.0.2 through vswitch, TAP, bridge and uplink")
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.Stop(5 * time.Second)
	return g
}

func TestCreateCancel(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"ours", nil},
		{"vde2", []string{"VDE_SWITCH=vde_switch", "VDE_TUNCTL=vde_tunctl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "vde2" {
				testutil.RealTool(t, "vde_switch")
				testutil.RealTool(t, "vde_tunctl")
			}
			testCreateCancel(t, newLab(t, tc.env...))
		})
	}
}

func testCreateCancel(t *testing.T, l *lab) {
	// A stale pidfile of a switch long gone must not stop create.
	os.WriteFile(filepath.Join(l.run, "vde_mgmt0.nobody"), []byte("999999\n"), 0o644)

	_, errs := l.mustRun(0, "-u", "nobody", "create")
	sameMessages(t, "create", errs, "remove stale pidfile")
	// The bridge: STP on, the forward delay applied (0 raised to the kernel's least, 2 s), the uplink's MAC,
	// address and routes.
	if got := l.sys("/sys/class/net/ctysbr0/bridge/stp_state"); got != "1" {
		t.Errorf("stp_state = %s, want 1", got)
	}
	if got := l.sys("/sys/class/net/ctysbr0/bridge/forward_delay"); got != "200" {
		t.Errorf("forward_delay = %s, want 200 (2 s)", got)
	}
	if got := l.sys("/sys/class/net/ctysbr0/address"); got != "02:00:c6:12:00:01" {
		t.Errorf("bridge MAC = %s, want the uplink's 02:00:c6:12:00:01", got)
	}
	if a := l.ip("-4", "-o", "addr", "show", "dev", "ctysbr0"); !strings.Contains(a, "198.18.0.1/24") {
		t.Errorf("bridge has no uplink address: %s", a)
	}
	if r := l.ip("-4", "route", "show", "dev", "ctysbr0"); !strings.Contains(r, "198.19.0.0/24 via 198.18.0.2") {
		t.Errorf("route not moved to the bridge: %s", r)
	}
	checkModes(t, l, "drwx------", "srw-------")

	_, errs = l.mustRun(0, "-u", "nobody", "create")
	sameMessages(t, "create-again", errs)
	l.guest()

	for _, name := range []string{"list", "list-nohead", "listall"} {
		rec := loadRecording(t, name)
		out, _ := l.mustRun(rec.rc, rec.args...)
		if maskHost(out) != rec.stdout {
			t.Errorf("%s: stdout differs from the original's:\nwant:\n%s\ngot:\n%s", name, rec.stdout, out)
		}
	}
	for _, name := range []string{"info", "ports"} {
		rec := loadRecording(t, name)
		out, _ := l.mustRun(rec.rc, rec.args...)
		checkTranscript(t, name, out, rec.stdout, name == "ports" || l.realSwitch())
	}
	if out, errs := l.mustRun(0, "-u", "nobody", "check"); out != "" {
		t.Errorf("check: stdout %q", out)
	} else {
		sameMessages(t, "check", errs)
	}
	if out, errs := l.mustRun(0, "-u", "nobody", "-X", "check"); out != "" || errs != "" {
		t.Errorf("-X check printed %q %q, want nothing", out, errs)
	}
	_, errs = l.mustRun(1, "-u", "nobody", "-g", "root", "create")
	sameMessages(t, "create-g-wrong", errs)
	_, errs = l.mustRun(0, "-u", "nobody", "cancel")
	sameMessages(t, "cancel", errs)
	l.checkClean()
	_, errs = l.mustRun(0, "-u", "nobody", "cancel")
	sameMessages(t, "cancel-again", errs)
	if out, errs := l.mustRun(1, "-u", "nobody", "-X", "check"); out != "" || errs != "" {
		t.Errorf("-X check without a switch printed %q %q", out, errs)
	}

	// -g: the socket directory and the management socket get the setgid bit.
	_, errs = l.mustRun(0, "-u", "nobody", "-g", "nogroup", "create")
	sameMessages(t, "create-g", errs)
	checkModes(t, l, "drwx--S---", "srw---S---")
	_, errs = l.mustRun(0, "-u", "nobody", "cancel")
	sameMessages(t, "cancel-g", errs)
	l.checkClean()

	// -u user.group: the group is honoured (the original drops it), and -g must match it.
	l.mustRun(0, "-u", "nobody.daemon", "-g", "daemon", "create")
	checkModesGroup(t, l, "drwx--S---", "srw---S---", "daemon")
	l.mustRun(0, "-u", "nobody", "cancel")
	l.checkClean()

	// A switch killed with -9: cancel without -f leaves it (as the original), with -f removes it all.
	l.mustRun(0, "-u", "nobody", "create")
	var pid int
	b, _ := os.ReadFile(filepath.Join(l.run, "vde_mgmt0.nobody"))
	fmt.Sscan(string(b), &pid)
	if pid <= 0 {
		t.Fatalf("no pid in the pidfile: %q", b)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	testutil.Eventually(t, 10*time.Second, "switch killed", func() bool { return syscall.Kill(pid, 0) != nil })
	_, errs = l.mustRun(0, "-u", "nobody", "cancel")
	sameMessages(t, "cancel-killed", errs, "A dead switch left")
	if !strings.Contains(errs, "-f cancel") {
		t.Errorf("cancel of a dead switch does not point at -f:\n%s", errs)
	}
	l.mustRun(0, "-u", "nobody", "-f", "cancel")
	l.checkClean()

	// A switch that does not start: create rolls back everything it made.
	code, _, errs := l.vnetctl([]string{"VDE_SWITCH=false"}, "-u", "nobody", "create")
	if code != 1 {
		t.Errorf("create with a failing switch: exit %d, want 1\n%s", code, errs)
	}
	l.checkClean()

	// Inside an ssh session a bridge is not made without -f, and that is a failure.
	code, _, errs = l.vnetctl([]string{"SSH_TTY=/dev/pts/9"}, "-u", "nobody", "create")
	if code != 1 {
		t.Errorf("create in an ssh session: exit %d, want 1\n%s", code, errs)
	}
	l.checkClean()
}

var (
	tapName = regexp.MustCompile(`\btap[0-9]+`)
	fwdSecs = regexp.MustCompile(`BRIDGE_FORWARDDELAY=[0-9]+sec`)
)

// sameMessages compares the diagnostics of a call with the recorded original's (kind, code and text,
// TAP names and the forward delay masked), leaving out our lines that contain one of extra. The
// original's "device remove" line names tunctl's output instead of the TAP (a defect fixed here).
func sameMessages(t *testing.T, name, stderr string, extra ...string) {
	t.Helper()
	rec := loadRecording(t, name)
	norm := func(ms []string) []string {
		for i, m := range ms {
			m = strings.ReplaceAll(m, `"Set 'TAP' nonpersistent"`, `"TAP"`)
			m = tapName.ReplaceAllString(m, "TAP")
			ms[i] = fwdSecs.ReplaceAllString(m, "BRIDGE_FORWARDDELAY=Nsec")
		}
		return ms
	}
	var got []string
next:
	for _, m := range messages(stderr) {
		for _, x := range extra {
			if strings.Contains(m, x) {
				continue next
			}
		}
		got = append(got, m)
	}
	got, want := norm(got), norm(messages(rec.stderr))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: messages differ from the original's:\nwant:\n%s\ngot:\n%s", name, strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

func checkModes(t *testing.T, l *lab, dirMode, mgmtMode string) {
	t.Helper()
	checkModesGroup(t, l, dirMode, mgmtMode, "nogroup")
}

func checkModesGroup(t *testing.T, l *lab, dirMode, mgmtMode, group string) {
	t.Helper()
	for path, want := range map[string]string{
		filepath.Join(l.tmp, "vde_switch0.nobody"): dirMode,
		filepath.Join(l.tmp, "vde_mgmt0.nobody"):   mgmtMode,
	} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		u, g := owner(fi)
		if got := lsMode(fi.Mode()); got != want || u != "nobody" || g != group {
			t.Errorf("%s: %s %s %s, want %s nobody %s", path, got, u, g, want, group)
		}
	}
}

var transcriptMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`([0-9a-f]{2}:){5}[0-9a-f]{2}`), "MAC"},
	{regexp.MustCompile(`\btap[0-9]+`), "TAP"},
	{regexp.MustCompile(`pid [0-9]+`), "pid PID"},
	{regexp.MustCompile(`uptime [0-9]+`), "uptime N"},
	{regexp.MustCompile(`pkts +[0-9]+ +bytes +[0-9]+`), "pkts N bytes N"},
	{regexp.MustCompile(`endpoint ID [0-9]+`), "endpoint ID N"},
	{regexp.MustCompile(`(?m)^(VDE|govde) switch V\..*$`), "SWITCH VERSION"},
	{regexp.MustCompile(`(?m)^\(C\) .*$`), "(C)"},
}

// maskTranscript masks what differs between runs and between switch implementations' banners.
func maskTranscript(s string) string {
	for _, m := range transcriptMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// checkTranscript compares an info/ports output with the original's after masking pids, MACs, uptime,
// counters, TAP names and the banner's version and copyright lines: the whole of it (exact) when the
// switch is the one the original ran (vde_switch) or for ports, and the frame around the console
// transcript otherwise (vswitch's showinfo says other things).
func checkTranscript(t *testing.T, name, got, want string, exact bool) {
	t.Helper()
	got, want = maskTranscript(got), maskTranscript(want)
	if exact {
		if got != want {
			t.Errorf("%s: differs from the original's (masked):\nwant:\n%s\ngot:\n%s", name, want, got)
		}
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(gl) < 4 || gl[0] != wl[0] {
		t.Errorf("%s: first line %q, want %q", name, gl[0], wl[0])
		return
	}
	if tail := strings.Join(gl[len(gl)-5:], "\n"); tail != strings.Join(wl[len(wl)-5:], "\n") {
		t.Errorf("%s: ends %q, want %q (as the original)", name, tail, strings.Join(wl[len(wl)-5:], "\n"))
	}
}
