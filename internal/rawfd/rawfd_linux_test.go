// SPDX-License-Identifier: GPL-2.0-or-later

package rawfd

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCloseUnblocks: Close wakes a Read blocked on a blocking and on a non-blocking descriptor, and
// later I/O fails with net.ErrClosed.
func TestCloseUnblocks(t *testing.T) {
	for _, nb := range []bool{false, true} {
		var p [2]int
		flags := unix.O_CLOEXEC
		if nb {
			flags |= unix.O_NONBLOCK
		}
		if err := unix.Pipe2(p[:], flags); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(p[1])
		f, err := New(p[0], true, false)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { _, err := f.Read(make([]byte, 10)); errc <- err }()
		time.Sleep(20 * time.Millisecond)
		f.Close()
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("nonblocking=%v: Read after Close = %v, want net.ErrClosed", nb, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("nonblocking=%v: Close did not unblock Read", nb)
		}
		if _, err := f.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Close = %v", err)
		}
	}
}

// TestReadWrite: data both ways, io.EOF at the end of a stream, an empty datagram is not an end, and
// neither Read nor Write allocates.
func TestReadWrite(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(fds[0], true, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(fds[1], true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	buf := make([]byte, 64)
	msg := []byte("hello")
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
		if n, err := b.Read(buf); err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
	}); allocs != 0 {
		t.Errorf("allocs per write+read = %v, want 0", allocs)
	}
	a.Write(nil) // an empty datagram
	if n, err := b.Read(buf); n != 0 || err != nil {
		t.Errorf("empty datagram: Read = %d, %v; want 0, nil", n, err)
	}

	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, err := New(p[0], true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	unix.Write(p[1], msg)
	unix.Close(p[1])
	if n, err := r.Read(buf); err != nil || n != len(msg) {
		t.Fatalf("pipe Read = %d, %v", n, err)
	}
	if _, err := r.Read(buf); !errors.Is(err, io.EOF) {
		t.Errorf("Read at the end of the pipe = %v, want io.EOF", err)
	}
}

// TestRecvSendOne: SendOne sends one datagram on a connected socket and RecvOne receives it whole; a
// longer one is cut to the buffer and reported truncated; an empty socket gives EAGAIN; a closed peer
// gives an error, not a signal.
func TestRecvSendOne(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	msg := []byte("a lone frame")
	if e := SendOne(fds[0], msg, true); e != 0 {
		t.Fatalf("SendOne: %v", e)
	}
	buf := make([]byte, 64)
	if n, trunc, e := RecvOne(fds[1], buf, true); e != 0 || trunc || string(buf[:n]) != string(msg) {
		t.Fatalf("RecvOne = %q, %v, %v; want %q", buf[:n], trunc, e, msg)
	}
	if _, _, e := RecvOne(fds[1], buf, true); e != unix.EAGAIN {
		t.Fatalf("RecvOne on an empty socket: %v, want EAGAIN", e)
	}
	if e := SendOne(fds[0], make([]byte, 100), false); e != 0 {
		t.Fatalf("SendOne: %v", e)
	}
	if n, trunc, e := RecvOne(fds[1], buf, false); e != 0 || !trunc || n != len(buf) {
		t.Fatalf("RecvOne of 100 bytes into 64 = %d, %v, %v; want 64, truncated", n, trunc, e)
	}
	unix.Close(fds[1])
	if e := SendOne(fds[0], msg, true); e == 0 {
		t.Fatal("SendOne to a closed peer succeeded")
	}
}
