// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// Differential tests: the same console script runs against the real wirefilter and ours, both
// started with -M (monodirectional between two pipes, or bidirectional on dpipe's ALTERNATE_STDIN and
// ALTERNATE_STDOUT descriptors) and driven over the socket one command per write, waiting for the
// prompt. The transcripts must equal testdata/wirefilter/NAME.out, which -update rewrites from the
// real wirefilter. Masked before comparing: the directory of the test files ({dir}), and the
// reference's answer to logout ("1-01 Unknown error -1"), which ours replaces by the end of session.
//
// Script lines are commands, except "!sleep MS". {dir} in a command is the directory holding a copy
// of testdata/wirefilter.

var update = flag.Bool("update", false, "rewrite testdata/wirefilter/*.out from the real wirefilter")

const (
	wfPrompt = "\nVDEwf$ "
	eos      = "9999 END OF SESSION"
	refBye   = "1-01 Unknown error -1\n"
)

// wfRun is one wirefilter under test.
type wfRun struct {
	t     *testing.T
	files string
	conn  net.Conn
	out   bytes.Buffer
}

// startWF starts bin with -M in a fresh directory, bidirectional when bidir is set.
func startWF(t *testing.T, bin string, bidir bool, extra ...string) *wfRun {
	t.Helper()
	base := t.TempDir()
	r := &wfRun{t: t, files: filepath.Join(base, "files")}
	if err := os.CopyFS(r.files, os.DirFS(filepath.Join("..", "..", "testdata", "wirefilter"))); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(base, "mgmt")
	var held []*os.File
	pipe := func() (*os.File, *os.File) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, pr, pw)
		return pr, pw
	}
	inR, _ := pipe()
	var extraFiles []*os.File
	var env []string
	if bidir {
		altIn, _ := pipe()
		_, altOut := pipe()
		extraFiles = []*os.File{altIn, altOut}
		env = []string{"ALTERNATE_STDIN=3", "ALTERNATE_STDOUT=4"}
	}
	t.Cleanup(func() {
		for _, f := range held {
			f.Close()
		}
	})
	args := []string{"-M", sock}
	for _, a := range extra {
		args = append(args, strings.ReplaceAll(a, "{dir}", r.files))
	}
	testutil.Start(t, func(c *exec.Cmd) {
		c.Stdin = inR
		c.ExtraFiles = extraFiles
		c.Env = append(os.Environ(), env...)
	}, bin, args...)
	testutil.WaitListening(t, sock, 10*time.Second)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r.conn = c
	r.out.WriteString(r.readReply())
	return r
}

// readReply reads until the prompt or the end of the session.
func (r *wfRun) readReply() string {
	r.t.Helper()
	var b []byte
	r.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(b, []byte(wfPrompt)) {
		n, err := r.conn.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			if bytes.HasSuffix(b, []byte(eos)) || bytes.HasSuffix(b, []byte(refBye)) {
				break
			}
			r.t.Fatalf("read: %v after %q", err, b)
		}
	}
	return string(b)
}

// runScript runs the script and returns the masked transcript.
func (r *wfRun) runScript(script string) string {
	r.t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		if ms, ok := strings.CutPrefix(line, "!sleep "); ok {
			n, _ := strconv.Atoi(ms)
			time.Sleep(time.Duration(n) * time.Millisecond)
			continue
		}
		cmd := strings.ReplaceAll(line, "{dir}", r.files)
		fmt.Fprintf(&r.out, "%s\n", line)
		if _, err := r.conn.Write([]byte(cmd + "\n")); err != nil {
			r.t.Fatalf("write %q: %v", line, err)
		}
		r.out.WriteString(r.readReply())
	}
	s := strings.ReplaceAll(r.out.String(), r.files, "{dir}")
	return strings.ReplaceAll(s, refBye, eos)
}

// diffScripts are the scripts of testdata/wirefilter run against both, with the mode.
var diffScripts = []struct {
	name  string
	bidir bool
	extra []string // options; {dir} is the directory of the test files
}{
	{"mono", false, nil},
	{"bi", true, nil},
	{"markov", true, nil},
	{"load", false, nil},
	{"blink", true, []string{"--blink", "{dir}/blink.sock", "--blinkid", "cable7", "-N"}},
}

func TestDifferential(t *testing.T) {
	ours := testutil.Bin(t, "wirefilter")
	real, err := exec.LookPath("wirefilter")
	if err != nil && *update {
		t.Fatal("-update needs the real wirefilter")
	}
	for _, sc := range diffScripts {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			script, err := os.ReadFile(filepath.Join("..", "..", "testdata", "wirefilter", sc.name+".script"))
			if err != nil {
				t.Fatal(err)
			}
			script = append(script, "logout\n"...)
			golden := filepath.Join("..", "..", "testdata", "wirefilter", sc.name+".out")
			if real != "" {
				got := startWF(t, real, sc.bidir, sc.extra...).runScript(string(script))
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("the real wirefilter differs from %s (reference changed?):\n%s", golden, lineDiff(string(want), got))
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := startWF(t, ours, sc.bidir, sc.extra...).runScript(string(script)); got != string(want) {
				t.Errorf("ours differs from the real wirefilter (%s):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// TestDivergences checks the deliberate differences from wirefilter r586 against
// testdata/wirefilter/divergent.out (our output; the reference's answers are in the script's
// comments). GOVDE_UPDATE_DIVERGENT=1 rewrites it.
func TestDivergences(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "testdata", "wirefilter", "divergent.script"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("..", "..", "testdata", "wirefilter", "divergent.out")
	got := startWF(t, testutil.Bin(t, "wirefilter"), false).runScript(string(script))
	if os.Getenv("GOVDE_UPDATE_DIVERGENT") != "" {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("ours differs from %s:\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff is testutil.LineDiff with this tool's command lines.
func lineDiff(want, got string) string {
	return testutil.LineDiff(want, got, func(l string) bool { return strings.HasPrefix(l, "VDEwf$ ") })
}
