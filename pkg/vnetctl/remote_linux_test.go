// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package vnetctl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// startSSHD starts an sshd on 127.0.0.1:2222 inside the lab's host namespace that lets root in with a
// key made here, and returns the VNETCTL_SSH and VNETCTL_REMOTE settings for vnetctl -r: ssh with that
// key, and a wrapper that runs the vnetctl under test with the lab's /var/tmp and /run. It skips when
// sshd or ssh is not installed.
func (l *lab) startSSHD() []string {
	t := l.t
	t.Helper()
	for _, p := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipped: %s not installed (apt-get install openssh-server openssh-client)", p)
		}
	}
	d := t.TempDir()
	os.Chmod(d, 0o755)
	testutil.Run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(d, "hostkey"))
	testutil.Run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(d, "userkey"))
	pub, err := os.ReadFile(filepath.Join(d, "userkey.pub"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d, "authorized_keys"), pub, 0o600)
	sshRun := filepath.Join(d, "run")
	os.MkdirAll(filepath.Join(sshRun, "sshd"), 0o755)
	cfg := filepath.Join(d, "sshd_config")
	os.WriteFile(cfg, fmt.Appendf(nil, `ListenAddress 127.0.0.1
Port 2222
HostKey %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
`, filepath.Join(d, "hostkey"), filepath.Join(d, "authorized_keys")), 0o644)
	// sshd wants /run/sshd: it gets a /run of its own, never the machine's.
	p := testutil.Start(t, nil, "ip", "netns", "exec", l.host, "unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /run && shift && exec "$@"`, "_", sshRun, "/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	testutil.Eventually(t, 10*time.Second, "sshd listening", func() bool {
		if p.Exited() {
			t.Fatalf("sshd exited: %v\n%s", p.Wait(0), p.Stderr.String())
		}
		return exec.Command("ip", "netns", "exec", l.host, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/2222").Run() == nil
	})
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	wrapper := filepath.Join(d, "vnetctl-remote")
	os.WriteFile(wrapper, fmt.Appendf(nil, "#!/bin/sh\nexec unshare -m --propagation private sh -c 'mount --bind \"$1\" /var/tmp && mount --bind \"$2\" /run && shift 2 && exec \"$@\"' _ %s %s %s \"$@\"\n",
		l.tmp, l.run, l.bin), 0o755)
	l.sshd = p
	ssh := strings.Join([]string{"ssh", "-F", "none", "-p", "2222", "-i", filepath.Join(d, "userkey"),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR"}, " ")
	return []string{"VNETCTL_SSH=" + ssh, "VNETCTL_REMOTE=" + wrapper}
}

func TestRemote(t *testing.T) {
	l := newLab(t)
	env := l.startSSHD()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errs := l.vnetctl(env, args...)
		if code != want {
			t.Fatalf("vnetctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
		}
		return out, errs
	}
	run(0, "-r", "127.0.0.1", "-u", "nobody", "create")
	if !strings.Contains(l.ip("-o", "link", "show"), "ctysbr0") {
		t.Fatalf("remote create made no bridge")
	}
	remote, errs := run(0, "-r", "127.0.0.1", "list")
	if !strings.Contains(errs, "Remote execution on:127.0.0.1") {
		t.Errorf("remote list said:\n%s", errs)
	}
	local, _ := l.mustRun(0, "list")
	if remote != local {
		t.Errorf("remote list differs from the local one (header once, here):\nremote:\n%s\nlocal:\n%s", remote, local)
	}
	// -l is honoured: root gets in, a user without a key does not.
	if out, errs := run(0, "-l", "root", "-r", "127.0.0.1", "-u", "nobody", "-X", "check"); out != "" || errs != "" {
		t.Errorf("-l root -X check printed %q %q", out, errs)
	}
	if code, _, _ := l.vnetctl(env, "-l", "nosuchuser", "-r", "127.0.0.1", "-X", "check"); code == 0 {
		t.Errorf("-l nosuchuser: exit 0, want a failure (the user has no key there)")
	}
	if code, _, errs := l.vnetctl(env, "-l", "root", "list"); code != 1 || !strings.Contains(errs, `No remote host("-r") for "-l root"`) {
		t.Errorf("-l without -r: exit %d, %s", code, errs)
	}
	run(0, "-r", "root@127.0.0.1", "-u", "nobody", "cancel")
	l.sshd.Stop(5 * time.Second)
	l.checkClean()
}
