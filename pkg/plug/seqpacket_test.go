// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package plug

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
)

func socketpair(t *testing.T, typ int) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fds[0], fds[1]
}

func TestSeqpacket(t *testing.T) {
	mine, theirs := socketpair(t, unix.SOCK_SEQPACKET)
	defer func() {
		if theirs >= 0 {
			unix.Close(theirs)
		}
	}()
	ep, err := Open(context.Background(), "seqpacket://"+strconv.Itoa(mine), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	// The descriptor number given is closed: the Endpoint works on a close-on-exec duplicate.
	if _, err := unix.FcntlInt(uintptr(mine), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("fd %d still open after Open (F_GETFD: %v)", mine, err)
	}
	f := bytes.Repeat([]byte{0xab}, 1514)
	if err := ep.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	if err := ep.WriteFrame(nil); err != nil { // never sent
		t.Fatal(err)
	}
	var b [frame.MaxLen]byte
	n, err := unix.Read(theirs, b[:])
	if err != nil || !bytes.Equal(b[:n], f) {
		t.Fatalf("peer read %d bytes, %v; want the 1514-byte frame", n, err)
	}
	// An empty packet is skipped; the next one is read.
	unix.Write(theirs, nil)
	g := bytes.Repeat([]byte{0x11}, 60)
	unix.Write(theirs, g)
	got, err := frametest.ReadWithin(ep, 10*time.Second)
	if err != nil || !bytes.Equal(got, g) {
		t.Fatalf("ReadFrame = % x, %v; want the 60-byte frame", got, err)
	}
	// The peer closing its end is the end of the plug.
	unix.Close(theirs)
	theirs = -1
	if _, err := frametest.ReadWithin(ep, 10*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("ReadFrame after the peer closed: %v, want io.EOF", err)
	}
}

func TestSeqpacketErrors(t *testing.T) {
	a, b := socketpair(t, unix.SOCK_STREAM)
	defer unix.Close(a)
	defer unix.Close(b)
	p, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p)
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"seqpacket://" + strconv.Itoa(a), syscall.EPROTOTYPE},
		{"seqpacket://" + strconv.Itoa(p), syscall.ENOTSOCK},
		{"seqpacket://999999", syscall.EBADF},
		{"seqpacket://-1", syscall.EINVAL},
		{"seqpacket://x", syscall.EINVAL},
		{"seqpacket://", syscall.EINVAL},
	} {
		ep, err := Open(context.Background(), tc.url, Options{})
		if err == nil {
			ep.Close()
			t.Errorf("Open(%q) succeeded", tc.url)
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("Open(%q) = %v, want %v", tc.url, err, tc.want)
		}
	}
}

func TestParseFD(t *testing.T) {
	for in, want := range map[string]int{"3": 3, "0x10": 16, "010": 8, "0": 0} {
		if got, err := parseFD(in); err != nil || got != want {
			t.Errorf("parseFD(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
