// SPDX-License-Identifier: GPL-2.0-or-later

package dpipe

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer collects the commands' stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the sorted lines written so far (commands run concurrently, so order is not fixed).
func (l *lockedBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ls := strings.Split(strings.TrimRight(l.b.String(), "\n"), "\n")
	slices.Sort(ls)
	return ls
}

func sh(script string) []string { return []string{"sh", "-c", script} }

// filter returns a line filter that adds prefix and suffix to every line, unbuffered (unlike sed).
func filter(prefix, suffix string) []string {
	return sh(`while read l; do echo "` + prefix + `${l}` + suffix + `"; done`)
}

// runChain runs stages to completion (at most 10 s) and returns the last status and sorted stderr lines.
func runChain(t *testing.T, stages []Stage) (int, []string) {
	t.Helper()
	var errb lockedBuffer
	c, err := StartChain(stages, Config{Stderr: &errb})
	if err != nil {
		t.Fatalf("StartChain: %v", err)
	}
	t.Cleanup(func() {
		for _, p := range c.Processes() {
			if p != nil {
				p.Kill()
			}
		}
	})
	status := make(chan int, 1)
	go func() { status <- c.Wait() }()
	select {
	case s := <-status:
		return s, errb.lines()
	case <-time.After(10 * time.Second):
		t.Fatalf("chain still running after 10s; stderr so far: %q", errb.lines())
	}
	return 0, nil
}

func TestChainPlumbing(t *testing.T) {
	tests := []struct {
		name   string
		stages []Stage
		want   []string
	}{
		{
			name: "two commands",
			stages: []Stage{
				{Args: sh(`echo ping; read r; echo "left got $r" >&2`)},
				{Args: sh(`read l; echo "right got $l" >&2; echo pong`)},
			},
			want: []string{"left got pong", "right got ping"},
		},
		{
			name: "middle on alternate descriptors",
			stages: []Stage{
				{Args: sh(`echo from-left; read r; echo "left got $r" >&2`)},
				{Args: sh(`read a; echo "mid got $a from left" >&2
					echo to-right >&$ALTERNATE_STDOUT; read b <&$ALTERNATE_STDIN; echo "mid got $b from right" >&2
					echo "env $ALTERNATE_STDIN $ALTERNATE_STDOUT" >&2; echo to-left`)},
				{Args: sh(`read c; echo "right got $c" >&2; echo from-right`)},
			},
			want: []string{"env 3 4", "left got to-left", "mid got from-left from left", "mid got from-right from right", "right got to-right"},
		},
		{
			name: "four commands, two middles",
			stages: []Stage{
				{Args: sh(`echo L; read r; echo "left got $r" >&2`)},
				{Args: sh(`read a; echo "m1:$a" >&4; read b <&3; echo "m1:$b"`)},
				{Args: sh(`read a; echo "m2:$a" >&4; read b <&3; echo "m2:$b"`)},
				{Args: sh(`read c; echo "right got $c" >&2; echo R`)},
			},
			want: []string{"left got m1:m2:R", "right got m2:m1:L"},
		},
		{
			name: "left to right filter",
			stages: []Stage{
				{Args: sh(`echo data; read r; echo "left got $r" >&2`)},
				{Args: filter("filtered-", ""), Flow: LeftToRight},
				{Args: sh(`read l; echo "right got $l" >&2; echo reply`)},
			},
			want: []string{"left got reply", "right got filtered-data"},
		},
		{
			name: "right to left filter",
			stages: []Stage{
				{Args: sh(`echo data; read r; echo "left got $r" >&2`)},
				{Args: filter("filtered-", ""), Flow: RightToLeft},
				{Args: sh(`read l; echo "right got $l" >&2; echo reply`)},
			},
			want: []string{"left got filtered-reply", "right got data"},
		},
		{
			name: "two filters in one bracket",
			stages: []Stage{
				{Args: sh(`echo x; read r; echo "left got $r" >&2`)},
				{Args: filter("", "1"), Flow: LeftToRight},
				{Args: filter("", "2"), Flow: LeftToRight},
				{Args: sh(`read l; echo "right got $l" >&2; echo y`)},
			},
			want: []string{"left got y", "right got x12"},
		},
		{
			// dpipe a =} b }={ c {= d = e: a -> b -> d -> c -> a, e on d's alternate descriptors.
			name: "man page mix",
			stages: []Stage{
				{Args: sh(`echo A; read r; echo "a got $r" >&2`)},
				{Args: filter("", "B"), Flow: LeftToRight},
				{Args: filter("", "C"), Flow: RightToLeft},
				{Args: sh(`read x; echo "d got $x" >&2; echo "${x}D" >&4; read y <&3; echo "$y"`)},
				{Args: sh(`read z; echo "e got $z" >&2; echo E`)},
			},
			want: []string{"a got EC", "d got AB", "e got ABD"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, got := runChain(t, tc.stages)
			if status != 0 {
				t.Errorf("status = %d, want 0", status)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("stderr lines = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestChainNoLeakedFDs checks that each command holds only its own descriptors: 0 1 2, plus 3 4 for
// a middle command, plus whatever this test process itself passes to every child.
func TestChainNoLeakedFDs(t *testing.T) {
	fds := func(pid int) []string {
		t.Helper()
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		slices.SortFunc(names, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
		return names
	}
	base := exec.Command("cat")
	in, err := base.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := base.Start(); err != nil {
		t.Fatal(err)
	}
	// What every child inherits from the test process, beyond 0 1 2. Right after exec the dynamic
	// loader may briefly hold a library open: wait until two looks 50 ms apart agree.
	inherited := fds(base.Process.Pid)
	for range 50 {
		time.Sleep(50 * time.Millisecond)
		again := fds(base.Process.Pid)
		if slices.Equal(again, inherited) {
			break
		}
		inherited = again
	}
	inherited = inherited[3:]
	in.Close()
	base.Wait()

	c, err := StartChain([]Stage{{Args: []string{"cat"}}, {Args: []string{"cat"}}, {Args: []string{"cat"}, Flow: LeftToRight}, {Args: []string{"cat"}}}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ps := c.Processes()
	defer func() {
		for _, p := range ps {
			p.Kill()
		}
		c.Wait()
	}()
	for k, want := range [][]string{{"0", "1", "2"}, {"0", "1", "2", "3", "4"}, {"0", "1", "2"}, {"0", "1", "2"}} {
		want = append(want, inherited...)
		// Right after exec the dynamic loader may briefly hold a library open: retry for a while.
		var got []string
		for range 50 {
			if got = fds(ps[k].Pid); slices.Equal(got, want) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !slices.Equal(got, want) {
			t.Errorf("command %d has descriptors %v, want %v", k, got, want)
		}
	}
}

func TestChainStatus(t *testing.T) {
	tests := []struct {
		name   string
		stages []Stage
		want   int
	}{
		{"last exits 7", []Stage{{Args: []string{"true"}}, {Args: sh("exit 7")}}, 7},
		{"first exits 7", []Stage{{Args: sh("exit 7")}, {Args: []string{"true"}}}, 0},
		{"last not found", []Stage{{Args: []string{"cat"}}, {Args: []string{"/nonexistent/govde-cmd"}}}, ExecFailed},
		{"first not found", []Stage{{Args: []string{"/nonexistent/govde-cmd"}}, {Args: []string{"cat"}}}, 0},
		{"middle not found", []Stage{{Args: []string{"cat"}}, {Args: []string{"/nonexistent/govde-cmd"}}, {Args: sh("cat; exit 3")}}, 3},
		{"last killed", []Stage{{Args: []string{"cat"}}, {Args: sh("kill -9 $$")}}, 128 + 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, lines := runChain(t, tc.stages)
			if status != tc.want {
				t.Errorf("status = %d, want %d (stderr %q)", status, tc.want, lines)
			}
		})
	}
}

func TestChainStartErrorReported(t *testing.T) {
	_, lines := runChain(t, []Stage{{Args: []string{"cat"}}, {Args: []string{"govde-no-such-command"}}})
	want := "dpipe: exec govde-no-such-command: executable file not found in $PATH"
	if !slices.Contains(lines, want) {
		t.Errorf("stderr = %q, want the line %q", lines, want)
	}
}

// TestChainCollapse kills one command of "cat = cat" (and of a filtered chain) and checks that the
// others see end-of-file and the whole chain exits within 1 s.
func TestChainCollapse(t *testing.T) {
	tests := []struct {
		name   string
		stages []Stage
		kill   int
	}{
		{"left dies", []Stage{{Args: []string{"cat"}}, {Args: []string{"cat"}}}, 0},
		{"right dies", []Stage{{Args: []string{"cat"}}, {Args: []string{"cat"}}}, 1},
		{"filter dies", []Stage{{Args: []string{"cat"}}, {Args: []string{"cat"}, Flow: LeftToRight}, {Args: []string{"cat"}}}, 1},
		{"left of filter dies", []Stage{{Args: []string{"cat"}}, {Args: []string{"cat"}, Flow: LeftToRight}, {Args: []string{"cat"}}}, 0},
		{"right of filter dies", []Stage{{Args: []string{"cat"}}, {Args: []string{"cat"}, Flow: RightToLeft}, {Args: []string{"cat"}}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := StartChain(tc.stages, Config{})
			if err != nil {
				t.Fatal(err)
			}
			ps := c.Processes()
			t.Cleanup(func() {
				for _, p := range ps {
					p.Kill()
				}
			})
			done := make(chan int, 1)
			go func() { done <- c.Wait() }()
			time.Sleep(100 * time.Millisecond)
			select {
			case <-done:
				t.Fatal("chain ended before anything was killed")
			default:
			}
			start := time.Now()
			ps[tc.kill].Signal(syscall.SIGTERM)
			select {
			case <-done:
				if d := time.Since(start); d > time.Second {
					t.Errorf("chain collapsed after %v, want < 1s", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("chain still running 5s after one command was killed")
			}
		})
	}
}

func TestChainExecLast(t *testing.T) {
	c, err := StartChain([]Stage{{Args: sh("echo hi; read r; echo got-$r > " + filepath.Join(t.TempDir(), "x"))}, {Args: []string{"cat"}}},
		Config{ExecLast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.LastStdin.Close()
	defer c.LastStdout.Close()
	if ps := c.Processes(); ps[0] == nil || ps[1] != nil {
		t.Fatalf("processes = %v, want only the first started", ps)
	}
	// We play the last command: read from the first, answer it.
	buf := make([]byte, 16)
	n, err := c.LastStdin.Read(buf)
	if err != nil || string(buf[:n]) != "hi\n" {
		t.Fatalf("read from first command = %q, %v; want \"hi\\n\"", buf[:n], err)
	}
	if _, err := c.LastStdout.Write([]byte("back\n")); err != nil {
		t.Fatal(err)
	}
	if s := c.Wait(); s != 0 {
		t.Errorf("status = %d, want 0 (the first command's)", s)
	}
}

func TestEnv(t *testing.T) {
	got := Env([]string{"A=1", "ALTERNATE_STDIN=9", "B=2", "ALTERNATE_STDOUT=8"})
	want := []string{"A=1", "B=2", "ALTERNATE_STDIN=3", "ALTERNATE_STDOUT=4"}
	if !slices.Equal(got, want) {
		t.Errorf("Env = %q, want %q", got, want)
	}
}

func TestStartChainTooShort(t *testing.T) {
	if _, err := StartChain([]Stage{{Args: []string{"cat"}}}, Config{}); err == nil {
		t.Fatal("StartChain with one command succeeded")
	}
	_ = os.ErrInvalid
}
