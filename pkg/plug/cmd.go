// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// A Command is a co-process that speaks the VDE 2-byte stream on its stdin and stdout: cmd:// URLs and
// vplug's "= command" form. ReadFrame returns io.EOF when the command closes its stdout (usually by
// exiting). Close closes both pipes, gives the command a second to exit, then sends SIGTERM (and SIGKILL
// two seconds later) and reaps it. The concurrency rules are those of frame.Endpoint.
type Command struct {
	conn   frame.Endpoint
	raw    *rawStream // the same as conn when started raw
	cmd    *exec.Cmd
	note   string
	stderr io.Writer

	noteOnce  sync.Once
	closeOnce sync.Once
	waited    chan struct{}
	waitErr   error
}

var (
	_ frame.Endpoint = (*Command)(nil)
	_ frame.Raw      = (*Command)(nil)
)

// StartCommand starts argv (looked up in $PATH) with pipes on its stdin and stdout; its stderr goes to
// stderr (nil: os.Stderr). When note is not empty, "VDE terminated: note" is printed on stderr when the
// command ends its output (by ReadFrame, or by Close when a relay read the pipe), as vdeplug4's cmd:// does.
func StartCommand(argv []string, note string, stderr io.Writer) (*Command, error) {
	return startCommand(argv, note, stderr, false)
}

// StartCommandRaw is StartCommand with our ends of the pipes kept out of the Go runtime's poller: the
// Command is then a frame.Raw for pkg/relay's poll(2) loop (see Options.Raw).
func StartCommandRaw(argv []string, note string, stderr io.Writer) (*Command, error) {
	return startCommand(argv, note, stderr, true)
}

func startCommand(argv []string, note string, stderr io.Writer, raw bool) (*Command, error) {
	if len(argv) == 0 {
		return nil, invalid("empty command")
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	inR, inW, err := os.Pipe() // the command's stdin
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe() // the command's stdout
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, stderr
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	c := &Command{
		cmd:    cmd,
		note:   note,
		stderr: stderr,
		waited: make(chan struct{}),
	}
	if raw {
		c.raw, err = rawPipes(outR, inW)
		c.conn = c.raw
	} else {
		c.conn = stream.NewConn(outR, inW, multiCloser{outR, inW})
	}
	if err != nil { // the command sees its stdin end and exits; reap it
		go cmd.Wait()
		return nil, err
	}
	go func() { c.waitErr = cmd.Wait(); close(c.waited) }()
	return c, nil
}

// ReadFrame implements frame.Endpoint.
func (c *Command) ReadFrame(b []byte) (int, error) {
	n, err := c.conn.ReadFrame(b)
	if err != nil && c.note != "" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		c.noteOnce.Do(func() { fmt.Fprintf(c.stderr, "VDE terminated: %s\n", c.note) })
	}
	return n, err
}

// WriteFrame implements frame.Endpoint.
func (c *Command) WriteFrame(b []byte) error { return c.conn.WriteFrame(b) }

// Oversize returns the number of stream headers from the command that declared more than frame.MaxLen
// bytes (read on the goroutine path; pkg/relay's fast path counts its own in its Stats).
func (c *Command) Oversize() uint64 {
	if o, ok := c.conn.(interface{ Oversize() uint64 }); ok {
		return o.Oversize()
	}
	return 0
}

// RawDesc implements frame.Raw for a Command started with StartCommandRaw.
func (c *Command) RawDesc() (frame.RawDesc, bool) {
	if c.raw == nil {
		return frame.RawDesc{}, false
	}
	return c.raw.RawDesc()
}

// rawPipes moves our ends of the pipes (os.Pipe registers them with the runtime poller) to raw
// non-blocking duplicates, closing the originals.
func rawPipes(r, w *os.File) (*rawStream, error) {
	defer r.Close()
	defer w.Close()
	var fds [2]int
	for i, f := range []*os.File{r, w} {
		rc, err := f.SyscallConn()
		if err == nil {
			cerr := rc.Control(func(fd uintptr) { fds[i], err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) })
			if err == nil {
				err = cerr
			}
		}
		if err != nil {
			if i == 1 {
				unix.Close(fds[0])
			}
			return nil, err
		}
	}
	s, err := newRawStream(fds[0], fds[1], true)
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
	return s, err
}

// ended reports whether the command closed its output: a read of the (non-blocking) pipe finds its end.
// Used by Close when a relay, not ReadFrame, read the pipe.
func (c *Command) ended() bool {
	d, ok := c.raw.RawDesc()
	if !ok {
		return false
	}
	var b [512]byte
	for {
		n, err := unix.Read(d.Read, b[:])
		if err == unix.EINTR {
			continue
		}
		return n == 0 && err == nil
	}
}

// Pid returns the command's process id.
func (c *Command) Pid() int { return c.cmd.Process.Pid }

// Exited returns a channel closed once the command has exited and been reaped.
func (c *Command) Exited() <-chan struct{} { return c.waited }

// Close implements frame.Endpoint. It returns nil however the command ended.
func (c *Command) Close() error {
	c.closeOnce.Do(func() {
		if c.raw != nil && c.note != "" && c.ended() {
			c.noteOnce.Do(func() { fmt.Fprintf(c.stderr, "VDE terminated: %s\n", c.note) })
		}
		c.conn.Close()
		select {
		case <-c.waited:
			return
		case <-time.After(time.Second):
		}
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.waited:
		case <-time.After(2 * time.Second):
			c.cmd.Process.Kill()
			<-c.waited
		}
	})
	return nil
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
