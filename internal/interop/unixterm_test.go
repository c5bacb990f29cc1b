// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// TestUnixterm drives the switch's -M socket through the real unixterm (a raw relay between its stdio and
// the socket): the banner ends in the "\nvde$ " prompt, port/showinfo answers exactly the reference's block
// for a default switch, and logout ends the session (unixterm then exits 0).
func TestUnixterm(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		sw := startSwitch(t, impl)
		bin := testutil.RealTool(t, "unixterm")
		inR, inW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		outR, outW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { inW.Close(); outR.Close() })
		p := testutil.Start(t, func(c *exec.Cmd) { c.Stdin, c.Stdout = inR, outW }, bin, sw.Mgmt)
		inR.Close()
		outW.Close()

		// readUntil reads unixterm's stdout until it ends with suffix (at most 5 s) and returns all of it.
		readUntil := func(what, suffix string) string {
			t.Helper()
			var got bytes.Buffer
			buf := make([]byte, 4096)
			outR.SetReadDeadline(time.Now().Add(5 * time.Second))
			for !strings.HasSuffix(got.String(), suffix) {
				n, err := outR.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					t.Fatalf("%s: unixterm output for %s: %v after %q, want it to end with %q", impl.name, what, err, got.String(), suffix)
				}
			}
			return got.String()
		}

		banner := readUntil("the banner", "\nvde$ ")
		if lines := strings.Split(strings.TrimSuffix(banner, "\n\nvde$ "), "\n"); len(lines) != 2 || !strings.Contains(lines[0], " V.") {
			t.Errorf("%s: banner %q: want two lines, the first naming the version (\"... V.x.y\"), then \"\\n\\nvde$ \"", impl.name, banner)
		}

		if _, err := inW.Write([]byte("port/showinfo\n")); err != nil {
			t.Fatal(err)
		}
		got := readUntil("port/showinfo", "\nvde$ ")
		want := "0000 DATA END WITH '.'\nNumports=32\nHUB=false\ncounters=true\n.\n1000 Success\n\nvde$ "
		if got != want {
			t.Errorf("%s: port/showinfo through unixterm:\n%q\nwant\n%q", impl.name, got, want)
		}

		if _, err := inW.Write([]byte("logout\n")); err != nil {
			t.Fatal(err)
		}
		// unixterm exits on POLLHUP before reading what came with it, so the session's last words
		// ("9999 END OF SESSION", then close) reach its stdout only when it polls between the two.
		rest, err := io.ReadAll(io.LimitReader(outR, 1<<10))
		if err != nil {
			t.Fatalf("%s: unixterm output after logout: %v", impl.name, err)
		}
		if got := string(rest); got != "" && got != "9999 END OF SESSION" {
			t.Errorf("%s: logout through unixterm: %q, want %q", impl.name, got, "9999 END OF SESSION")
		}
		if err := p.Wait(5 * time.Second); err != nil {
			t.Errorf("%s: unixterm after logout: %v, want exit status 0", impl.name, err)
		}
	})
}

// TestUnixcmd runs the real unixcmd with Debian's vdecmd script against the switch's -M socket: the data
// lines of port/showinfo come out each followed by a NUL byte, exactly as from the reference. unixcmd exits
// 255 whatever the reply (the script's EXITATOI verb does not exist), so only its output is compared.
func TestUnixcmd(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		bin := testutil.RealTool(t, "unixcmd")
		const script = "/etc/vde2/vdecmd"
		if _, err := os.Stat(script); err != nil {
			t.Skipf("skipped: unixcmd's script %s is not installed: %v", script, err)
		}
		sw := startSwitch(t, impl)
		p := testutil.Start(t, nil, bin, "-f", script, "-s", sw.Mgmt, "port/showinfo")
		if err := p.Wait(10 * time.Second); err == nil {
			t.Fatalf("%s: unixcmd exited 0, want 255 (Debian's vdecmd always exits -1)", impl.name)
		} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 255 {
			t.Fatalf("%s: unixcmd: %v, want exit status 255\nstderr: %s", impl.name, err, p.Stderr.String())
		}
		if got, want := p.Stdout.String(), "Numports=32\n\x00HUB=false\n\x00counters=true\n\x00"; got != want {
			t.Errorf("%s: unixcmd port/showinfo printed %q, want %q", impl.name, got, want)
		}
	})
}
