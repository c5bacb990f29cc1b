// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// wfProc is our wirefilter between pipes the test holds: the test writes L's input (in) and reads
// L's output (out); with bidir also R's input (altIn) and output (altOut).
type wfProc struct {
	*testutil.Proc
	in, altIn   *os.File // written by the test
	out, altOut *os.File // read by the test
}

func startPipes(t *testing.T, bin string, bidir bool, args ...string) *wfProc {
	t.Helper()
	w := &wfProc{}
	var toClose []*os.File
	pipe := func() (*os.File, *os.File) {
		r, wr, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		return r, wr
	}
	inR, inW := pipe()
	outR, outW := pipe()
	w.in, w.out = inW, outR
	toClose = append(toClose, inR, outW)
	var extra []*os.File
	var env []string
	if bidir {
		aInR, aInW := pipe()
		aOutR, aOutW := pipe()
		w.altIn, w.altOut = aInW, aOutR
		extra = []*os.File{aInR, aOutW}
		toClose = append(toClose, aInR, aOutW)
		env = []string{"ALTERNATE_STDIN=3", "ALTERNATE_STDOUT=4"}
	}
	w.Proc = testutil.Start(t, func(c *exec.Cmd) {
		c.Stdin, c.Stdout, c.ExtraFiles = inR, outW, extra
		c.Env = append(os.Environ(), env...)
	}, bin, args...)
	for _, f := range toClose {
		f.Close()
	}
	t.Cleanup(func() {
		for _, f := range []*os.File{w.in, w.out, w.altIn, w.altOut} {
			if f != nil {
				f.Close()
			}
		}
	})
	return w
}

// record is a VDE stream record: the 2-byte length and n bytes of frame (seq in bytes 14..17).
func record(seq uint32, n int) []byte {
	b := make([]byte, 2+n)
	binary.BigEndian.PutUint16(b, uint16(n))
	b[2], b[8] = 2, 2
	if n >= 18 {
		binary.BigEndian.PutUint32(b[16:], seq)
	}
	return b
}

// readRecord reads one record from f, failing the test after 10 s.
func readRecord(t *testing.T, f *os.File) []byte {
	t.Helper()
	b, err := readRecordWithin(f, 10*time.Second)
	if err != nil {
		t.Fatalf("read record: %v", err)
	}
	return b
}

// readRecordWithin reads one record from f, giving up after d (before the first byte only).
func readRecordWithin(f *os.File, d time.Duration) ([]byte, error) {
	f.SetReadDeadline(time.Now().Add(d))
	var hdr [2]byte
	if _, err := io.ReadFull(f, hdr[:1]); err != nil {
		return nil, err
	}
	f.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(f, hdr[1:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return b, nil
}

// TestMonoStream: monodirectional stdin → stdout carries records up to 9234 bytes (the reference
// stops at 1521), skips empty records, finds its step again after an impossible header, and exits 0 on
// EOF, even in the middle of a record.
func TestMonoStream(t *testing.T) {
	w := startPipes(t, testutil.Bin(t, "wirefilter"), false, "-d", "1")
	for i, n := range []int{60, 1521, 1522, 9234} {
		if _, err := w.in.Write(record(uint32(i), n)); err != nil {
			t.Fatal(err)
		}
		if got := readRecord(t, w.out); len(got) != n || binary.BigEndian.Uint32(got[14:]) != uint32(i) {
			t.Fatalf("record %d: got %d bytes, want %d", i, len(got), n)
		}
	}
	w.in.Write([]byte{0, 0}) // an empty record: skipped
	// An impossible header (0xffff bytes) means the stream lost its record boundaries: what was read
	// with it is dropped (here 64 KB of 0xee, whose "headers" are impossible too) and the filter is in
	// step again at a read that starts with a record. Of the records written one at a time after it,
	// one comes out intact.
	w.in.Write(append([]byte{0xff, 0xff}, bytes.Repeat([]byte{0xee}, 0xffff)...))
	for seq := uint32(5); ; seq++ {
		if seq == 105 {
			t.Fatal("after an oversize record: none of 100 records came out")
		}
		if _, err := w.in.Write(record(seq, 60)); err != nil {
			t.Fatal(err)
		}
		got, err := readRecordWithin(w.out, 100*time.Millisecond)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil || len(got) != 60 || binary.BigEndian.Uint32(got[14:]) < 5 || binary.BigEndian.Uint32(got[14:]) > seq {
			t.Fatalf("after an oversize record: got %d bytes (%v), want a 60-byte record 5..%d", len(got), err, seq)
		}
		break
	}
	w.in.Write(record(1000, 100)[:50]) // the writer vanishes mid-record
	w.in.Close()
	if err := w.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit: %v (want 0)\n%s", err, w.Stderr.String())
	}
	if !bytes.Contains(w.Stderr.Bytes(), []byte("monodirectional filter starting...")) {
		t.Errorf("stderr %q lacks the start line", w.Stderr.String())
	}
}

// TestBidirectionalStream: as a dpipe middle command (ALTERNATE_STDIN/ALTERNATE_STDOUT), frames from
// stdin go out on ALTERNATE_STDOUT (LR, delayed here) and frames from ALTERNATE_STDIN on stdout (RL);
// the end of either input ends the filter with status 0.
func TestBidirectionalStream(t *testing.T) {
	w := startPipes(t, testutil.Bin(t, "wirefilter"), true, "-d", "LR5", "--seed", "1")
	for i := range 10 {
		w.in.Write(record(uint32(i), 9234))
		w.altIn.Write(record(uint32(100+i), 60))
	}
	for i := range 10 {
		if got := readRecord(t, w.altOut); len(got) != 9234 || binary.BigEndian.Uint32(got[14:]) != uint32(i) {
			t.Fatalf("LR %d: %d bytes seq %d", i, len(got), binary.BigEndian.Uint32(got[14:]))
		}
		if got := readRecord(t, w.out); binary.BigEndian.Uint32(got[14:]) != uint32(100+i) {
			t.Fatalf("RL %d: seq %d", i, binary.BigEndian.Uint32(got[14:]))
		}
	}
	w.altIn.Write(record(7, 100)[:30]) // the right side vanishes mid-record
	w.altIn.Close()
	if err := w.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit: %v\n%s", err, w.Stderr.String())
	}
	if !bytes.Contains(w.Stderr.Bytes(), []byte("bidirectional filter starting...")) {
		t.Errorf("stderr %q lacks the start line", w.Stderr.String())
	}
}

// TestStdinNotPipe: stdin (or stdout) not a pipe gives the reference's error, usage and status.
func TestStdinNotPipe(t *testing.T) {
	run := func(bin string) (string, int) {
		null, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		cmd := exec.Command(bin)
		cmd.Stdin = null
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: %v", bin, err)
		}
		return stderr.String(), ee.ExitCode()
	}
	got, gotCode := run(testutil.Bin(t, "wirefilter"))
	want, wantCode := "wirefilter: Error on stdin: it is not a pipe\n"+usageText, 1
	if real, err := exec.LookPath("wirefilter"); err == nil {
		want, wantCode = run(real)
		// our usage has one more line, --seed
		want = strings.Replace(want, "--blinkid blink_id_string\n", "--blinkid blink_id_string\n\t--seed random_seed\n", 1)
	}
	if got != want || gotCode != wantCode {
		t.Errorf("stderr %q exit %d\nwant %q exit %d", got, gotCode, want, wantCode)
	}
}

// TestSignalCleanup: SIGTERM ends the filter with status 0 and removes its pid file and its
// management socket.
func TestSignalCleanup(t *testing.T) {
	dir := t.TempDir()
	sock, pidfile := filepath.Join(dir, "mgmt"), filepath.Join(dir, "pid")
	w := startPipes(t, testutil.Bin(t, "wirefilter"), false, "-M", sock, "--pidfile", pidfile)
	testutil.WaitListening(t, sock, 10*time.Second)
	testutil.WaitPath(t, pidfile, 10*time.Second)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mgmt socket: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	w.Cmd.Process.Signal(syscall.SIGTERM)
	if err := w.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	for _, p := range []string{sock, pidfile} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after SIGTERM: %v", p, err)
		}
	}
}

// TestBunchedWrites: carrying a bulk flow with nothing set, the filter writes its records to a pipe
// bunched, more than 2048 bytes to a write (a packet-mode pipe shows each write as packets of up to
// 4096 bytes), once it has seen that no vde2 wirefilter holds its pipes (internal/sched).
func TestBunchedWrites(t *testing.T) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_DIRECT|syscall.O_CLOEXEC); err != nil {
		t.Skipf("no packet-mode pipes here: %v", err)
	}
	syscall.SetNonblock(p[0], true) // for the read deadline
	out, outW := os.NewFile(uintptr(p[0]), "out-r"), os.NewFile(uintptr(p[1]), "out-w")
	defer out.Close()
	floodFilter(t, outW, nil)
	buf := make([]byte, 1<<16)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := out.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := out.Read(buf)
		if err != nil {
			t.Fatalf("read from the filter's output: %v", err)
		}
		if n > 2048 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("after 10 s of a bulk flow, the filter still writes at most 2048 bytes at a time")
		}
	}
}

// flood writes records of 60-byte frames to w until a write fails (w closed), in a goroutine whose
// end closes the returned channel.
func flood(w *os.File) <-chan struct{} {
	var recs []byte
	for i := range 500 {
		recs = append(recs, record(uint32(i), 60)...)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := w.Write(recs); err != nil {
				return
			}
		}
	}()
	return done
}

// floodFilter starts our wirefilter with args and env, its standard output outW (which it closes
// here), and writes records of 60-byte frames to its standard input until the test ends. It returns
// its pid.
func floodFilter(t *testing.T, outW *os.File, env []string, args ...string) int {
	t.Helper()
	inR, in, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, func(c *exec.Cmd) {
		c.Stdin, c.Stdout = inR, outW
		c.Env = append(os.Environ(), env...)
	}, testutil.Bin(t, "wirefilter"), args...)
	inR.Close()
	outW.Close()
	writing := flood(in)
	t.Cleanup(func() { p.Stop(5 * time.Second); in.Close(); <-writing })
	return p.Cmd.Process.Pid
}

// bulkFilter is floodFilter with what comes out drained.
func bulkFilter(t *testing.T, env []string, args ...string) int {
	t.Helper()
	out, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pid := floodFilter(t, outW, env, args...)
	go io.Copy(io.Discard, out)
	t.Cleanup(func() { out.Close() })
	return pid
}

// TestSchedBatch: carrying a bulk flow with nothing set, the filter runs its threads under SCHED_BATCH
// (3); with a delay set, or GOVDE_SCHED=normal, they stay under SCHED_OTHER (0); a bad GOVDE_SCHED is
// a one-line error.
func TestSchedBatch(t *testing.T) {
	pid := bulkFilter(t, nil)
	testutil.Eventually(t, 10*time.Second, "the filter's threads under SCHED_BATCH", func() bool {
		return testutil.AllAre(testutil.ThreadPolicies(pid), "3")
	})
	delayed := bulkFilter(t, nil, "-d", "1")
	normal := bulkFilter(t, []string{"GOVDE_SCHED=normal"})
	time.Sleep(2 * time.Second) // above, the policy changed within a second
	for what, pid := range map[string]int{"-d 1": delayed, "GOVDE_SCHED=normal": normal} {
		if ps := testutil.ThreadPolicies(pid); !testutil.AllAre(ps, "0") {
			t.Errorf("%s: the filter's threads have policies %v, want SCHED_OTHER (0)", what, ps)
		}
	}

	out, err := exec.Command("env", "GOVDE_SCHED=fifo", testutil.Bin(t, "wirefilter")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.TrimSpace(string(out)) != `wirefilter: GOVDE_SCHED="fifo": want batch or normal` {
		t.Errorf("GOVDE_SCHED=fifo: %v, output %q; want exit status 1 and the one-line error", err, out)
	}
}
