// SPDX-License-Identifier: GPL-2.0-or-later

package testutil

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// InNetns runs fn on an OS thread that has entered the named namespace; sockets fn creates belong to
// that namespace and keep working from any thread. The thread is never given back to the runtime (the
// goroutine exits locked), so the test process's own namespace is untouched.
func InNetns(t testing.TB, ns string, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no Unlock: the thread dies with the goroutine
		h, err := netns.GetFromName(ns)
		if err != nil {
			done <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			done <- err
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("enter netns %s: %v", ns, err)
	}
}

// Payload returns n bytes of a fixed pseudo-random pattern, distinct per seed.
func Payload(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TransferBoth opens a TCP connection from namespace nsA to dstIP (an address in namespace nsB), sends
// n bytes each way at the same time and fails the test unless both arrive intact (compared by SHA-256
// and length). The whole exchange is bounded by timeout.
func TransferBoth(t testing.TB, nsA, nsB, dstIP string, n int, timeout time.Duration) {
	t.Helper()
	if err := TryTransferBoth(t, nsA, nsB, dstIP, n, timeout); err != nil {
		t.Error(err)
	}
}

// TryTransferBoth is TransferBoth reporting what went wrong (a connection that could not be opened,
// a side that did not arrive intact or in time) as its error instead of failing the test.
func TryTransferBoth(t testing.TB, nsA, nsB, dstIP string, n int, timeout time.Duration) error {
	t.Helper()
	return tryTransfer(t, nsA, nsB, dstIP, n, n, timeout)
}

// TryTransfer is TryTransferBoth with the n bytes going from nsA to nsB only: the other way carries
// nothing but TCP's acknowledgements (and the end of the stream).
func TryTransfer(t testing.TB, nsA, nsB, dstIP string, n int, timeout time.Duration) error {
	t.Helper()
	return tryTransfer(t, nsA, nsB, dstIP, n, 0, timeout)
}

// tryTransfer sends n bytes from nsA to nsB and m bytes back over one connection, at the same time.
func tryTransfer(t testing.TB, nsA, nsB, dstIP string, n, m int, timeout time.Duration) error {
	t.Helper()
	var ln net.Listener
	var err error
	InNetns(t, nsB, func() { ln, err = net.Listen("tcp", net.JoinHostPort(dstIP, "0")) })
	if err != nil {
		return fmt.Errorf("listen in %s on %s: %w", nsB, dstIP, err)
	}
	defer ln.Close()
	var c net.Conn
	d := net.Dialer{Timeout: timeout}
	InNetns(t, nsA, func() { c, err = d.Dial("tcp", ln.Addr().String()) })
	if err != nil {
		return fmt.Errorf("dial %s from %s: %w", ln.Addr(), nsA, err)
	}
	defer c.Close()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout))
	s, err := ln.Accept()
	if err != nil {
		return fmt.Errorf("accept in %s: %w", nsB, err)
	}
	defer s.Close()
	deadline := time.Now().Add(timeout)
	c.SetDeadline(deadline)
	s.SetDeadline(deadline)

	ab, ba := Payload(n, 1), Payload(m, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	send := func(conn net.Conn, p []byte, what string) {
		if _, err := conn.Write(p); err != nil {
			errs <- fmt.Errorf("send %s: %w", what, err)
			return
		}
		conn.(*net.TCPConn).CloseWrite()
	}
	recv := func(conn net.Conn, want []byte, what string) {
		h := sha256.New()
		got, err := io.Copy(h, conn)
		if err != nil {
			errs <- fmt.Errorf("receive %s after %d bytes: %w", what, got, err)
			return
		}
		w := sha256.Sum256(want)
		if got != int64(len(want)) || !bytes.Equal(h.Sum(nil), w[:]) {
			errs <- fmt.Errorf("%s: received %d bytes, sha256 %x; want %d bytes, sha256 %x", what, got, h.Sum(nil), len(want), w)
		}
	}
	wg.Go(func() { send(c, ab, nsA+"->"+nsB) })
	wg.Go(func() { send(s, ba, nsB+"->"+nsA) })
	wg.Go(func() { recv(s, ab, nsA+"->"+nsB) })
	wg.Go(func() { recv(c, ba, nsB+"->"+nsA) })
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}
