// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// A syslogTrap receives what programs started through it send to /dev/log: they run in a private mount
// namespace whose /dev holds only null and the trap's socket.
type syslogTrap struct {
	dev  string
	conn *net.UnixConn
}

func newSyslogTrap(t *testing.T) *syslogTrap {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	for _, tool := range []string{"unshare", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipped: %s not installed: %v", tool, err)
		}
	}
	dev := filepath.Join(t.TempDir(), "dev")
	if err := os.Mkdir(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dev, "null"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dev, "log"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &syslogTrap{dev: dev, conn: c}
}

// command returns argv that runs name args (with argv[0] set to arg0 when not empty) under the trap.
func (s *syslogTrap) command(arg0, name string, args ...string) []string {
	script := `mount --bind /dev/null "$0/null" && mount --rbind "$0" /dev && exec "$@"`
	if arg0 != "" {
		script = `mount --bind /dev/null "$0/null" && mount --rbind "$0" /dev && exec -a "$A0" "$@"`
	}
	return append([]string{"unshare", "--mount", "--propagation", "private", "bash", "-c", script, s.dev, name}, args...)
}

// syslogLine matches a local syslog message: priority, timestamp, ident (with a pid or not), message.
var syslogLine = regexp.MustCompile(`^<(\d+)>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d (vde_plug|vplug)(\[\d+\])?: (.*?)\n?$`)

// lines returns the "<priority> message" of every syslog message received until want messages came or
// the wait ended.
func (s *syslogTrap) lines(t *testing.T, want int) []string {
	t.Helper()
	var got []string
	b := make([]byte, 4096)
	for len(got) < want {
		s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := s.conn.Read(b)
		if err != nil {
			t.Fatalf("syslog: got %q, then %v (want %d messages)", got, err, want)
		}
		m := syslogLine.FindStringSubmatch(string(b[:n]))
		if m == nil {
			t.Fatalf("syslog message %q does not look like one", b[:n])
		}
		got = append(got, m[1]+" "+m[4])
	}
	return got
}

// TestLoginShell: vplug as a user's shell. An interactive login (argv[0] "-vde_plug") and "-c" with any
// other command print vde_plug's broker message and exit 255, logging "FAILED: user USER IP ADDR" with the
// address from $SSH_CLIENT; "-c vde_plug" (what "ssh user@host vde_plug" runs) is a cable to the default
// switch (here a hub node named by ~/.vdeplug/default) on stdin/stdout, logging START and STOP. The
// real vde_plug is the reference for all three: same stderr, exit status and syslog messages.
func TestLoginShell(t *testing.T) {
	skipIfShort(t)
	const ssh = "SSH_CLIENT=198.18.0.9 40000 22"
	for _, impl := range plugImpls {
		t.Run(impl.name, func(t *testing.T) {
			trap := newSyslogTrap(t)
			bin := impl.bin(t)
			refused := func(what, arg0 string, args ...string) {
				t.Helper()
				argv := trap.command(arg0, bin, args...)
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Env = append(os.Environ(), ssh, "A0="+arg0)
				var stderr bytes.Buffer
				cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, &stderr
				err := cmd.Run()
				ee, _ := err.(*exec.ExitError)
				if ee == nil || ee.ExitCode() != 255 {
					t.Fatalf("%s: %s: %v, want exit status 255\nstderr: %s", impl.name, what, err, stderr.String())
				}
				want := "This is a Virtual Distributed Ethernet (vde) tunnel broker. \nThis is not a login shell, only vde_plug can be executed\n"
				if stderr.String() != want {
					t.Fatalf("%s: %s: stderr %q, want %q", impl.name, what, stderr.String(), want)
				}
				if got := trap.lines(t, 1); got[0] != "14 FAILED: user root IP 198.18.0.9" {
					t.Fatalf("%s: %s: syslog %q, want %q", impl.name, what, got, "14 FAILED: user root IP 198.18.0.9")
				}
			}
			refused("argv[0] -vde_plug", "-vde_plug")
			refused("-c ls", "", "-c", "ls")
			refused("-c 'vde_plug /tmp/x'", "", "-c", "vde_plug /tmp/x")

			// The cable: -c vde_plug with ~/.vdeplug/default naming a hub node.
			node, dir := startNode(t, realPlug, "hub")
			home := t.TempDir()
			os.Mkdir(filepath.Join(home, ".vdeplug"), 0o700)
			if err := os.WriteFile(filepath.Join(home, ".vdeplug", "default"), []byte("vde://"+dir+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			inR, inW, _ := os.Pipe()
			outR, outW, _ := os.Pipe()
			defer outR.Close()
			argv := trap.command("", bin, "-c", "vde_plug")
			p := testutil.Start(t, func(c *exec.Cmd) {
				c.Stdin, c.Stdout = inR, outW
				c.Env = append(os.Environ(), ssh, "HOME="+home)
			}, argv[0], argv[1:]...)
			inR.Close()
			outW.Close()
			if got := trap.lines(t, 1); got[0] != "14 START: user root IP 198.18.0.9" {
				t.Fatalf("%s: -c vde_plug: syslog %q, want START", impl.name, got)
			}
			testutil.Eventually(t, 10*time.Second, "the shell plug on the node", func() bool {
				if p.Exited() {
					t.Fatalf("%s -c vde_plug exited: %v\n%s", impl.name, p.Wait(0), p.Stderr.String())
				}
				return len(dataSockets(t, dir)) == 1 && settled(t, dir)
			})
			conn := stream.NewConn(outR, inW, nil)
			f := testFrame(bcast, nnA, 100, 9)
			if err := conn.WriteFrame(f); err != nil {
				t.Fatal(err)
			}
			expectFrame(t, "node host", node, f)
			g := testFrame(nnA, nnH, 200, 10)
			node.send(t, g)
			outR.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := make([]byte, frame.MaxLen)
			n, err := conn.ReadFrame(b)
			if err != nil || !bytes.Equal(b[:n], g) {
				t.Fatalf("%s: -c vde_plug stdout: %d bytes, %v; want the node's frame", impl.name, n, err)
			}
			inW.Close() // the ssh session ends
			if err := p.Wait(10 * time.Second); err != nil {
				t.Fatalf("%s: -c vde_plug after stdin EOF: %v, want exit 0\n%s", impl.name, err, p.Stderr.String())
			}
			if got := trap.lines(t, 1); got[0] != "14 STOP: user root IP 198.18.0.9" {
				t.Fatalf("%s: -c vde_plug: syslog %q, want STOP", impl.name, got)
			}
			if s := p.Stderr.String(); strings.TrimSpace(s) != "" {
				t.Errorf("%s: -c vde_plug: stderr %q, want nothing", impl.name, s)
			}
		})
	}
}
