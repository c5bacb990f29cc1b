// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// TestSeqpacketFD: the parent (the test) makes a SOCK_SEQPACKET socketpair and passes one end as fd 3 to
// "PLUG seqpacket://3" in stream mode: a packet written on the parent's end comes out of the plug's stdout
// and a frame written to its stdin arrives as one packet, with the real vde_plug and with ours; when the
// parent closes its end the plug exits 0.
func TestSeqpacketFD(t *testing.T) {
	skipIfShort(t)
	for _, impl := range plugImpls {
		t.Run(impl.name, func(t *testing.T) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			parent := os.NewFile(uintptr(fds[0]), "parent")
			child := os.NewFile(uintptr(fds[1]), "child")
			defer parent.Close()
			inR, inW, _ := os.Pipe()
			outR, outW, _ := os.Pipe()
			defer inW.Close()
			defer outR.Close()
			p := testutil.Start(t, func(c *exec.Cmd) {
				c.Stdin, c.Stdout, c.ExtraFiles = inR, outW, []*os.File{child}
			}, impl.bin(t), "seqpacket://3")
			inR.Close()
			outW.Close()
			child.Close()
			conn := stream.NewConn(outR, inW, nil)

			f1 := testFrame(bcast, nnA, 1500, 1)
			if _, err := parent.Write(f1); err != nil {
				t.Fatal(err)
			}
			outR.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := make([]byte, frame.MaxLen)
			n, err := conn.ReadFrame(b)
			if err != nil || !bytes.Equal(b[:n], f1) {
				t.Fatalf("%s: stdout gave %d bytes, %v; want the 1514-byte frame\nstderr: %s", impl.name, n, err, p.Stderr.String())
			}
			f2 := testFrame(nnA, nnB, 46, 2)
			if err := conn.WriteFrame(f2); err != nil {
				t.Fatal(err)
			}
			parent.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err = parent.Read(b)
			if err != nil || !bytes.Equal(b[:n], f2) {
				t.Fatalf("%s: parent read %d bytes, %v; want the 60-byte frame as one packet", impl.name, n, err)
			}
			parent.Close()
			if err := p.Wait(10 * time.Second); err != nil {
				t.Fatalf("%s: after the parent closed its end: %v, want exit 0", impl.name, err)
			}
		})
	}
}
