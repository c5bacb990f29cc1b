// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// An sshShellLab is a real sshd in a network namespace of its own, with one user whose login shell (in
// /etc/passwd, as sshd reads it) is the plug under test. The user exists only for that sshd: it runs in a
// private mount namespace where /etc/passwd, /etc/group and /etc/shadow are bind-mounted copies of the
// machine's with the user appended, /run is a private directory (sshd's /run/sshd) and /dev is the syslog
// trap's (so the shell's syslog lines come to the test). It also runs in a PID namespace of its own, so
// stopping it ends every session process with it. The machine's files are never written.
type sshShellLab struct {
	ns   string // network namespace: sshd listens on 127.0.0.1:22 there, ssh runs there
	user string
	key  string // the user's private key
	trap *syslogTrap
	sshd *testutil.Proc
}

// newSSHShellLab starts the lab with shell as the user's login shell and home/.vdeplug/default naming
// vde://defaultSwitch. It skips when sshd, ssh or ssh-keygen is missing or the test is not root.
func newSSHShellLab(t *testing.T, shell, defaultSwitch string) *sshShellLab {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	for _, p := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "unshare", "sh", "bash"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipped: %s not installed (apt-get install openssh-server openssh-client): %v", p, err)
		}
	}
	trap := newSyslogTrap(t)
	// The shell, running as the user, writes to the trap's /dev/log.
	if err := os.Chmod(filepath.Join(trap.dev, "log"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"zero", "random", "urandom"} {
		if err := os.WriteFile(filepath.Join(trap.dev, d), nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}

	// A directory the user can traverse (t.TempDir's top is 0700), removed last.
	root, err := os.MkdirTemp("", "govde-sshshell-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(root, 0o755))
	uid := freeID(t)
	name := "govde" + strconv.Itoa(uid)

	// The shell: a copy the user can reach, keeping its name (sshd gives a login shell argv[0] "-NAME").
	bin := filepath.Join(root, "bin")
	must(os.Mkdir(bin, 0o755))
	shellPath := filepath.Join(bin, filepath.Base(shell))
	data, err := os.ReadFile(shell)
	must(err)
	must(os.WriteFile(shellPath, data, 0o755))

	home := filepath.Join(root, "home")
	must(os.MkdirAll(filepath.Join(home, ".vdeplug"), 0o700))
	must(os.WriteFile(filepath.Join(home, ".vdeplug", "default"), []byte("vde://"+defaultSwitch+"\n"), 0o600))
	for _, p := range []string{home, filepath.Join(home, ".vdeplug"), filepath.Join(home, ".vdeplug", "default")} {
		must(os.Chown(p, uid, uid))
	}

	etc := filepath.Join(root, "etc")
	must(os.Mkdir(etc, 0o755))
	for _, f := range []struct {
		name, line string
		mode       os.FileMode
	}{
		{"passwd", fmt.Sprintf("%s:x:%d:%d:govde test:%s:%s\n", name, uid, uid, home, shellPath), 0o644},
		{"group", fmt.Sprintf("%s:x:%d:\n", name, uid), 0o644},
		{"shadow", name + ":*:20000:0:99999:7:::\n", 0o600}, // "*": no password, not locked
	} {
		orig, err := os.ReadFile(filepath.Join("/etc", f.name))
		must(err)
		if len(orig) > 0 && orig[len(orig)-1] != '\n' {
			orig = append(orig, '\n')
		}
		must(os.WriteFile(filepath.Join(etc, f.name), append(orig, f.line...), f.mode))
	}

	keys := filepath.Join(root, "keys")
	must(os.Mkdir(keys, 0o755))
	testutil.Run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(keys, "hostkey"))
	testutil.Run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(keys, "userkey"))
	pub, err := os.ReadFile(filepath.Join(keys, "userkey.pub"))
	must(err)
	// sshd reads authorized_keys as the user.
	ak := filepath.Join(keys, "authorized_keys")
	must(os.WriteFile(ak, pub, 0o600))
	must(os.Chown(ak, uid, uid))
	run := filepath.Join(root, "run")
	must(os.MkdirAll(filepath.Join(run, "sshd"), 0o755))
	cfg := filepath.Join(root, "sshd_config")
	// No pty is ever asked for, so sshd writes no utmp/wtmp/lastlog record.
	must(os.WriteFile(cfg, fmt.Appendf(nil, `ListenAddress 127.0.0.1
Port 22
HostKey %s
AuthorizedKeysFile %s
AllowUsers %s
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
PrintMotd no
PrintLastLog no
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
Subsystem sftp /usr/lib/openssh/sftp-server
`, filepath.Join(keys, "hostkey"), ak, name), 0o644))

	ns := testutil.Netns(t)
	script := `set -e
d=$1 etc=$2 run=$3
shift 3
for f in null zero random urandom; do mount --bind /dev/$f "$d/$f"; done
mount --rbind "$d" /dev
for f in passwd group shadow; do mount --bind "$etc/$f" /etc/$f; done
mount --bind "$run" /run
exec "$@"`
	// ip netns exec execs unshare; unshare's child (sshd, PID 1 of its namespace) is killed when unshare dies.
	p := testutil.Start(t, nil, "ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
		"--pid", "--fork", "--kill-child", "sh", "-c", script, "_", trap.dev, etc, run,
		"/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	testutil.Eventually(t, 30*time.Second, "sshd listening", func() bool {
		if p.Exited() {
			t.Fatalf("sshd exited: %v\n%s", p.Wait(0), p.Stderr.String())
		}
		return exec.Command("ip", "netns", "exec", ns, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22").Run() == nil
	})
	return &sshShellLab{ns: ns, user: name, key: filepath.Join(keys, "userkey"), trap: trap, sshd: p}
}

// freeID returns a number that is neither a user id nor a group id on this machine.
func freeID(t *testing.T) int {
	t.Helper()
	for id := 47000 + os.Getpid()%1000; id < 60000; id++ {
		_, errU := user.LookupId(strconv.Itoa(id))
		_, errG := user.LookupGroupId(strconv.Itoa(id))
		if errU != nil && errG != nil {
			return id
		}
	}
	t.Fatal("no free user id in 47000-60000")
	return 0
}

// ssh returns argv that runs "ssh USER@127.0.0.1 command..." with the user's key, in the lab's namespace.
func (l *sshShellLab) ssh(command ...string) []string { return l.sshOpts(nil, command...) }

// sshOpts is ssh with more ssh options (before the destination).
func (l *sshShellLab) sshOpts(opts []string, command ...string) []string {
	argv := append([]string{"ip", "netns", "exec", l.ns, "ssh", "-F", "none", "-T", "-i", l.key,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30"}, opts...)
	return append(append(argv, l.user+"@127.0.0.1"), command...)
}

// refused runs argv (an ssh command line) and checks the shell refused it as vde_plug does: the broker
// message on stderr (what ssh passes on), exit status 255, "FAILED: user USER IP 127.0.0.1" on syslog.
// For a subsystem sshd drops the shell's stderr: nothing comes through.
func (l *sshShellLab) refused(t *testing.T, argv []string, subsystem bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	what := strings.Join(argv[4:], " ")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 255 {
		t.Fatalf("%s: %v, want exit status 255\nstderr: %s", what, err, stderr.String())
	}
	want := "This is a Virtual Distributed Ethernet (vde) tunnel broker. \nThis is not a login shell, only vde_plug can be executed\n"
	if subsystem {
		want = ""
	}
	if stderr.String() != want || stdout.Len() != 0 {
		t.Fatalf("%s: stdout %q, stderr %q; want no output and stderr %q", what, stdout.String(), stderr.String(), want)
	}
	if got, want := l.trap.lines(t, 1)[0], "14 FAILED: user "+l.user+" IP 127.0.0.1"; got != want {
		t.Fatalf("%s: syslog %q, want %q", what, got, want)
	}
}

// TestLoginShellSSH: a plug as a user's login shell behind a real sshd makes "ssh user@host vde_plug" a
// cable and nothing else. "dpipe vplug SW1 = ssh user@127.0.0.1 vde_plug" joins two switches (the far end
// is the user's ~/.vdeplug/default) and frames cross it both ways; syslog gets START and STOP with the
// address sshd put in $SSH_CLIENT. An interactive login, another command, vde_plug with an argument or the
// sftp subsystem are refused with vde_plug's broker message (which sshd drops for a subsystem), exit
// status 255 and a FAILED syslog line. The real vde_plug as the shell is the
// reference; the description each sends to the far switch must be the same but for the pid and the
// program's prefix ("vdeplug:" and ours "vplug:"): "user=USER pid=PID SSH=127.0.0.1".
func TestLoginShellSSH(t *testing.T) {
	skipIfShort(t)
	testutil.SkipUnlessRoot(t)
	passwd := func() [32]byte {
		h := sha256.New()
		for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/shadow"} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
		return [32]byte(h.Sum(nil))
	}
	before := passwd()
	descrs := map[string]string{}
	for _, impl := range plugImpls {
		t.Run(impl.name, func(t *testing.T) {
			sw1 := startSwitch(t, ourSwitch)
			sw2 := startSwitch(t, ourSwitch, "-m", "0666")
			// The user reaches sw2 through the test's temporary directories.
			for d := filepath.Dir(sw2.Dir); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			l := newSSHShellLab(t, impl.bin(t), sw2.Dir)

			l.refused(t, l.ssh(), false)                          // interactive login: argv[0] "-vde_plug" or "-vplug"
			l.refused(t, l.ssh("ls", "-l"), false)                // a command
			l.refused(t, l.ssh("vde_plug", "/tmp/x"), false)      // vde_plug, but not alone
			l.refused(t, l.ssh("sh"), false)                      // a shell
			l.refused(t, l.sshOpts([]string{"-s"}, "sftp"), true) // sftp (and scp): SHELL -c /usr/lib/openssh/sftp-server

			vplug := ourPlug.bin(t)
			a := startPlugCmd(t, vplug, "vde://"+sw1.Dir)
			b := startPlugCmd(t, vplug, "vde://"+sw2.Dir)
			cable := testutil.Start(t, nil, testutil.Bin(t, "dpipe"),
				append([]string{vplug, "vde://" + sw1.Dir, "="}, l.ssh("vde_plug")...)...)
			var remote string
			testutil.Eventually(t, 60*time.Second, "the cable on both switches", func() bool {
				if cable.Exited() {
					t.Fatalf("dpipe ... = ssh %s@127.0.0.1 vde_plug exited: %v\n%s", l.user, cable.Wait(0), cable.Stderr.String())
				}
				for d := range sw2.endpoints(t) {
					if strings.Contains(d, "user="+l.user+" ") {
						remote = d
					}
				}
				return remote != "" && len(sw1.endpoints(t)) == 2
			})
			if got, want := l.trap.lines(t, 1)[0], "14 START: user "+l.user+" IP 127.0.0.1"; got != want {
				t.Fatalf("syslog %q, want %q", got, want)
			}
			if !regexp.MustCompile(`^\S+ user=` + l.user + ` pid=\d+ SSH=127\.0\.0\.1$`).MatchString(remote) {
				t.Errorf("switch 2 lists the shell as %q, want \"PREFIX user=%s pid=PID SSH=127.0.0.1\"", remote, l.user)
			}
			// The program's own prefix ("vdeplug:", ours "vplug:", see -D) aside.
			_, descrs[impl.name], _ = strings.Cut(regexp.MustCompile(`pid=\d+`).ReplaceAllString(remote, "pid=N"), " ")

			fa := testFrame(bcast, nnA, 100, 1)
			a.send(t, fa)
			expectFrame(t, "the client on switch 2", b, fa)
			fb := testFrame(nnA, nnB, 1400, 2) // to the MAC switch 2 learned through the cable
			b.send(t, fb)
			expectFrame(t, "the client on switch 1", a, fb)
			fa = testFrame(nnB, nnA, 60, 3)
			a.send(t, fa)
			expectFrame(t, "the client on switch 2", b, fa)

			// The near switch goes: its vplug ends, ssh passes on the EOF, the shell logs STOP and ends the session.
			sw1.Proc.Stop(10 * time.Second)
			if err := cable.Wait(30 * time.Second); err != nil {
				t.Fatalf("dpipe after its switch went: %v\n%s", err, cable.Stderr.String())
			}
			if got, want := l.trap.lines(t, 1)[0], "14 STOP: user "+l.user+" IP 127.0.0.1"; got != want {
				t.Fatalf("syslog %q, want %q", got, want)
			}
			testutil.Eventually(t, 30*time.Second, "the remote end off switch 2", func() bool {
				_, on := sw2.endpoints(t)[remote]
				return !on
			})
			if s := strings.TrimSpace(cable.Stderr.String()); s != "" {
				t.Errorf("dpipe ... = ssh ... vde_plug: stderr %q, want nothing", s)
			}
			l.sshd.Stop(10 * time.Second)
		})
	}
	if r, o := descrs[realPlug.name], descrs[ourPlug.name]; r != "" && o != "" && r != o {
		t.Errorf("description sent to the switch by the shell: vde_plug %q, vplug %q", r, o)
	}
	t.Logf("descriptions: %q", descrs)
	if passwd() != before {
		t.Errorf("/etc/passwd, /etc/group or /etc/shadow changed during the test")
	}
}
