// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/testutil"
)

// policies returns the policy and nice value of every thread of the process.
func policies(t *testing.T) map[int]*unix.SchedAttr {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]*unix.SchedAttr{}
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		if a, err := unix.SchedGetAttr(tid, 0); err == nil {
			m[tid] = a
		}
	}
	return m
}

// inParent runs the calling test again in a child process, where it may change the policy of the
// whole process, and reports true in the parent, having checked that the child passed; in the child
// it reports false.
func inParent(t *testing.T) bool {
	t.Helper()
	if os.Getenv("SCHED_TEST_CHILD") != "" {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), "SCHED_TEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return true
}

func TestParseMode(t *testing.T) {
	for v, want := range map[string]Mode{"": Batch, "batch": Batch, "BATCH": Batch, "normal": Normal, "other": Normal} {
		if got, err := ParseMode(v); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	_, err := ParseMode("fifo")
	if err == nil || !strings.Contains(err.Error(), `GOVDE_SCHED="fifo"`) {
		t.Errorf(`ParseMode("fifo") error = %v; want one naming GOVDE_SCHED="fifo"`, err)
	}
}

// TestApply runs in a child process: the policy it sets is the whole process's.
func TestApply(t *testing.T) {
	if inParent(t) {
		return
	}

	// A thread the user put under SCHED_IDLE keeps it, and one with a nice value keeps that.
	idle, niced := make(chan int), make(chan int)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_IDLE}, 0); err != nil {
			t.Error(err)
		}
		idle <- unix.Gettid()
		<-done
	}()
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, 5); err != nil {
			t.Error(err)
		}
		niced <- unix.Gettid()
		<-done
	}()
	idleTid, nicedTid := <-idle, <-niced
	defer func() { close(done); wg.Wait() }()

	if n, err := Apply(Normal); n != 0 || err != nil {
		t.Fatalf("Apply(Normal) = %d, %v", n, err)
	}
	before := policies(t)
	for tid, a := range before {
		if tid != idleTid && a.Policy != unix.SCHED_NORMAL {
			t.Fatalf("after Apply(Normal), thread %d has policy %d", tid, a.Policy)
		}
	}

	n, err := Apply(Batch)
	if err != nil {
		t.Fatal(err)
	}
	after := policies(t)
	// Every thread there before and after (but the SCHED_IDLE one) was there for Apply to change; the
	// runtime may start a thread meanwhile, which inherits its starter's policy (checked below).
	stayed := 0
	for tid := range before {
		if _, ok := after[tid]; ok && tid != idleTid {
			stayed++
		}
	}
	if n < stayed {
		t.Errorf("Apply(Batch) changed %d threads; %d were there before and after it", n, stayed)
	}
	for tid, a := range after {
		switch {
		case tid == idleTid:
			if a.Policy != unix.SCHED_IDLE {
				t.Errorf("the SCHED_IDLE thread now has policy %d", a.Policy)
			}
		case a.Policy != unix.SCHED_BATCH:
			t.Errorf("thread %d has policy %d, want SCHED_BATCH (%d)", tid, a.Policy, unix.SCHED_BATCH)
		}
	}
	if a := after[nicedTid]; a == nil || a.Nice != 5 {
		t.Errorf("the thread at nice 5 now has %+v", a)
	}

	// A thread started now inherits the policy of the one that starts it.
	tid := make(chan int)
	go func() {
		runtime.LockOSThread()
		tid <- unix.Gettid()
		<-done
	}()
	if a, err := unix.SchedGetAttr(<-tid, 0); err != nil || a.Policy != unix.SCHED_BATCH {
		t.Errorf("a new thread: %+v, %v; want SCHED_BATCH", a, err)
	}

	// A child process started now runs under SCHED_BATCH too (hence Apply after starting commands).
	out, err := exec.Command("cat", "/proc/self/stat").Output()
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(out)); len(f) < 41 || f[40] != "3" {
		t.Errorf("child's policy field: %v", f[40:41])
	}

	// And back: every thread moved returns to SCHED_OTHER, the idle one stays, nice values too.
	if _, err := Apply(Normal); err != nil {
		t.Fatal(err)
	}
	for tid, a := range policies(t) {
		want := uint32(unix.SCHED_NORMAL)
		if tid == idleTid {
			want = unix.SCHED_IDLE
		}
		if a.Policy != want {
			t.Errorf("after Apply(Normal), thread %d has policy %d, want %d", tid, a.Policy, want)
		}
		if tid == nicedTid && a.Nice != 5 {
			t.Errorf("after Apply(Normal), the thread at nice 5 has %d", a.Nice)
		}
	}
}

// mainPolicy returns the policy of the process's main thread.
func mainPolicy(t *testing.T) uint32 {
	a, err := unix.SchedGetAttr(os.Getpid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return a.Policy
}

// TestFollow runs in a child process: the policy it sets is the whole process's. A frame count that
// grows fast puts the process under SCHED_BATCH; one that stops brings it back; the end of the
// context leaves it under SCHED_OTHER.
func TestFollow(t *testing.T) {
	if inParent(t) {
		return
	}
	var frames atomic.Uint64
	stop := make(chan struct{})
	go func() { // twice batchAbove
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				frames.Add(2 * batchAbove / 100)
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Follow(ctx, Batch, Flow{Frames: frames.Load}); close(done) }()
	testutil.Eventually(t, 10*time.Second, "SCHED_BATCH under load", func() bool { return mainPolicy(t) == unix.SCHED_BATCH })
	close(stop)
	testutil.Eventually(t, 10*time.Second, "SCHED_OTHER without load", func() bool { return mainPolicy(t) == unix.SCHED_NORMAL })

	// Under load again, then the end.
	for range 200 {
		frames.Add(batchAbove)
		if mainPolicy(t) == unix.SCHED_BATCH {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if mainPolicy(t) != unix.SCHED_BATCH {
		t.Fatal("not under SCHED_BATCH after a second burst")
	}
	cancel()
	<-done
	if p := mainPolicy(t); p != unix.SCHED_NORMAL {
		t.Errorf("after the end, policy %d", p)
	}
}

// TestFollowAllow runs in a child process: under load, Flow.Allow keeps the process under SCHED_OTHER
// while it says no, lets it go under SCHED_BATCH when it says yes, and brings it back when it says
// no again.
func TestFollowAllow(t *testing.T) {
	if inParent(t) {
		return
	}
	var frames atomic.Uint64
	var allow atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // twice batchAbove
		for ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			frames.Add(2 * batchAbove / 100)
		}
	}()
	done := make(chan struct{})
	go func() { Follow(ctx, Batch, Flow{Frames: frames.Load, Allow: allow.Load}); close(done) }()
	time.Sleep(4 * window)
	if p := mainPolicy(t); p != unix.SCHED_NORMAL {
		t.Fatalf("under load, not allowed: policy %d", p)
	}
	allow.Store(true)
	testutil.Eventually(t, 10*time.Second, "SCHED_BATCH once allowed", func() bool { return mainPolicy(t) == unix.SCHED_BATCH })
	allow.Store(false)
	testutil.Eventually(t, 10*time.Second, "SCHED_OTHER once no longer allowed", func() bool { return mainPolicy(t) == unix.SCHED_NORMAL })
	cancel()
	<-done
}
