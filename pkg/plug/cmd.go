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

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/stream"
)

// A Command is a co-process that speaks the VDE 2-byte stream on its stdin and stdout: cmd:// URLs and
// vplug's "= command" form. ReadFrame returns io.EOF when the command closes its stdout (usually by
// exiting). Close closes both pipes, gives the command a second to exit, then sends SIGTERM (and SIGKILL
// two seconds later) and reaps it. The concurrency rules are those of frame.Endpoint.
type Command struct {
	conn   *stream.Conn
	cmd    *exec.Cmd
	note   string
	stderr io.Writer

	noteOnce  sync.Once
	closeOnce sync.Once
	waited    chan struct{}
	waitErr   error
}

var _ frame.Endpoint = (*Command)(nil)

// StartCommand starts argv (looked up in $PATH) with pipes on its stdin and stdout; its stderr goes to
// stderr (nil: os.Stderr). When note is not empty, ReadFrame prints "VDE terminated: note" on stderr when
// the command ends its output, as vdeplug4's cmd:// does.
func StartCommand(argv []string, note string, stderr io.Writer) (*Command, error) {
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
		conn:   stream.NewConn(outR, inW, multiCloser{outR, inW}),
		cmd:    cmd,
		note:   note,
		stderr: stderr,
		waited: make(chan struct{}),
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

// Pid returns the command's process id.
func (c *Command) Pid() int { return c.cmd.Process.Pid }

// Exited returns a channel closed once the command has exited and been reaped.
func (c *Command) Exited() <-chan struct{} { return c.waited }

// Close implements frame.Endpoint. It returns nil however the command ended.
func (c *Command) Close() error {
	c.closeOnce.Do(func() {
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
