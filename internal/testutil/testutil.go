// SPDX-License-Identifier: GPL-2.0-or-later

// Package testutil holds helpers shared by govde's tests: root and tool checks, our binaries,
// the real VDE tools, network namespaces, and processes that are always reaped.
package testutil

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SkipUnlessRoot skips t with a clear message when the test does not run as root.
func SkipUnlessRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode (make unit): needs root")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (TAP devices, namespaces or socket ownership); run 'make test' as root")
	}
}

// InCI reports whether the tests run under CI (CI=true), where a missing real tool is a failure, not a skip.
func InCI() bool { return os.Getenv("CI") != "" }

// RealTool returns the path of a reference tool such as "vde_switch". When it is missing the test is
// skipped, or fails under CI, where 'make test' must have installed it.
func RealTool(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipped in -short mode (make unit): runs the reference tool %s", name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if InCI() {
			t.Fatalf("reference tool %s not installed (make test installs vde2 when root): %v", name, err)
		}
		t.Skipf("skipped: reference tool %s not installed (apt-get install vde2)", name)
	}
	return p
}

// ModuleRoot returns the directory holding govde's go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above testutil")
		}
		dir = parent
	}
}

var (
	binMu   sync.Mutex
	binDone = map[string]string{}
)

// Bin returns the path of our binary cmd/<name>. It uses $GOVDE_BIN/<name> when GOVDE_BIN is set
// (make test builds bin/ first), otherwise it builds the command once per test process into BinCache.
func Bin(t testing.TB, name string) string {
	t.Helper()
	if d := os.Getenv("GOVDE_BIN"); d != "" {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("GOVDE_BIN=%s: %v (run make first)", d, err)
		}
		return p
	}
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := binDone[name]; ok {
		return p
	}
	root := ModuleRoot(t)
	dir, err := BinCache(root)
	if err != nil {
		t.Fatal(err)
	}
	// Build beside the final name and rename over it, so that another test process building the same
	// command at the same time, or running the one there, never sees a partial file.
	p := filepath.Join(dir, name)
	tmp := p + ".tmp-" + RandName("")
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		t.Fatal(err)
	}
	binDone[name] = p
	return p
}

// BinCache returns the directory Bin builds into when GOVDE_BIN is unset: one per user and module root
// in the temporary directory, shared by every test process, which rebuilds what it uses once (go's
// build cache makes that quick) and so leaves nothing behind but one copy of each command. A directory
// of that name that is not a private one of this user's is an error, not a place to run programs from.
func BinCache(moduleRoot string) (string, error) {
	sum := sha256.Sum256([]byte(moduleRoot))
	d := filepath.Join(os.TempDir(), fmt.Sprintf("govde-bin-%d-%x", os.Getuid(), sum[:6]))
	if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	fi, err := os.Lstat(d)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 || !ok || int(st.Uid) != os.Getuid() {
		return "", fmt.Errorf("%s: not a directory of mode 0700 owned by uid %d; remove it", d, os.Getuid())
	}
	return d, nil
}

// Renamed copies the program prog (from PATH) to a file called name in a temporary directory and
// returns its path: a process started from it has name as its command name. It skips the test when
// prog is not installed.
func Renamed(t testing.TB, prog, name string) string {
	t.Helper()
	src, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("skipped: %s not found", prog)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// RandName returns prefix followed by 8 random hex digits, for namespaces and interfaces
// (keep prefix ≤ 7 bytes for interface names, whose limit is 15).
func RandName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Netns creates a named network namespace (ip netns add), brings its loopback up and deletes it when
// the test ends. It needs root.
func Netns(t testing.TB) string {
	t.Helper()
	SkipUnlessRoot(t)
	name := RandName("govde-")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// Run runs a command to completion (at most 30 s) and fails the test if it fails. It returns stdout.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out.String(), errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %s: timed out after 30s", name, strings.Join(args, " "))
	}
	return out.String()
}

// A Proc is a background process started by a test. It is killed (by PID) and reaped when the test ends.
type Proc struct {
	Cmd    *exec.Cmd
	Stdout SyncBuffer
	Stderr SyncBuffer
	done   chan struct{}
	err    error
}

// Start starts a background process with its output captured. Set fields of the returned Cmd through
// setup (stdin, env, ...) before it starts; setup may be nil.
func Start(t testing.TB, setup func(*exec.Cmd), name string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Cmd: exec.Command(name, args...), done: make(chan struct{})}
	if p.Cmd.Stdout == nil {
		p.Cmd.Stdout = &p.Stdout
	}
	p.Cmd.Stderr = &p.Stderr
	if setup != nil {
		setup(p.Cmd)
	}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("%s %s stderr:\n%s", name, strings.Join(args, " "), p.Stderr.String())
		}
	})
	return p
}

// Wait waits at most d for the process to exit and returns its error; it reports a timeout as an error.
func (p *Proc) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("process %d still running after %v", p.Cmd.Process.Pid, d)
	}
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, then SIGKILL after d, and waits for the process.
func (p *Proc) Stop(d time.Duration) {
	if p.Exited() {
		return
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(d):
		p.Cmd.Process.Kill()
		<-p.done
	}
}

// Eventually polls cond every 10 ms until it is true, failing the test after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitPath waits until path exists.
func WaitPath(t testing.TB, path string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, path, func() bool { _, err := os.Stat(path); return err == nil })
}

// A SyncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns a copy of what has been written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bytes returns a copy of what has been written so far.
func (s *SyncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}
