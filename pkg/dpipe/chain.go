// SPDX-License-Identifier: GPL-2.0-or-later

package dpipe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// AltStdin and AltStdout are the descriptor numbers of a middle command's alternate standard input
// (data from its right neighbour) and output (data to its right neighbour). Every command of a chain
// gets them in the environment variables ALTERNATE_STDIN and ALTERNATE_STDOUT.
const (
	AltStdin  = 3
	AltStdout = 4
)

// ExecFailed is the status of a command that could not be started (as execvp failing in the child).
const ExecFailed = 127

// A Config says how StartChain starts the commands.
type Config struct {
	Env      []string  // base environment; nil means os.Environ(); ALTERNATE_STDIN/STDOUT are added
	Dir      string    // working directory; "" means the current one
	Stderr   io.Writer // every command's stderr, and where start failures are reported; nil means os.Stderr
	ExecLast bool      // do not start the last command: leave its stdin/stdout in Chain.LastStdin/LastStdout
}

// A Chain is a running pipeline. Its methods are safe for concurrent use.
type Chain struct {
	cmds   []*exec.Cmd // nil where the start failed
	status []int       // exit statuses, valid after Wait
	once   sync.Once
	done   chan struct{}

	// LastStdin and LastStdout are the ends the last command must use as stdin and stdout when
	// Config.ExecLast was set; the caller owns them. They are nil otherwise.
	LastStdin, LastStdout *os.File
}

// Env returns env with ALTERNATE_STDIN and ALTERNATE_STDOUT set (replacing earlier values).
func Env(env []string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ALTERNATE_STDIN=") && !strings.HasPrefix(kv, "ALTERNATE_STDOUT=") {
			out = append(out, kv)
		}
	}
	return append(out, fmt.Sprintf("ALTERNATE_STDIN=%d", AltStdin), fmt.Sprintf("ALTERNATE_STDOUT=%d", AltStdout))
}

// plumbing holds the descriptors of one command: stdin, stdout and, for a middle command that sees
// both directions, its alternate input and output.
type plumbing struct {
	in, out       *os.File
	altIn, altOut *os.File
}

// plan creates the pipes for stages and returns each command's descriptors, plus every pipe end made
// (all of which the caller must close once the commands hold their copies).
//
// The walk keeps the pair of descriptors the next command would use towards its left: "in" carries
// the data flowing left to right, "out" the data flowing back right to left.
func plan(stages []Stage) (pl []plumbing, all []*os.File, err error) {
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			all = append(all, r, w)
		}
		return r, w, err
	}
	defer func() {
		if err != nil {
			for _, f := range all {
				f.Close()
			}
			pl, all = nil, nil
		}
	}()
	pl = make([]plumbing, len(stages))
	// First command: stdin from pipe a (written by whoever sits to its right), stdout into pipe b.
	aR, aW, err := pipe()
	if err != nil {
		return nil, nil, err
	}
	bR, bW, err := pipe()
	if err != nil {
		return nil, nil, err
	}
	pl[0] = plumbing{in: aR, out: bW}
	in, out := bR, aW
	for k := 1; k < len(stages)-1; k++ {
		switch stages[k].Flow {
		case Both:
			r1, w1, err := pipe() // right neighbour → this command's fd 3
			if err != nil {
				return nil, nil, err
			}
			r2, w2, err := pipe() // this command's fd 4 → right neighbour
			if err != nil {
				return nil, nil, err
			}
			pl[k] = plumbing{in: in, out: out, altIn: r1, altOut: w2}
			in, out = r2, w1
		case LeftToRight:
			r, w, err := pipe()
			if err != nil {
				return nil, nil, err
			}
			pl[k] = plumbing{in: in, out: w}
			in = r
		case RightToLeft:
			r, w, err := pipe()
			if err != nil {
				return nil, nil, err
			}
			pl[k] = plumbing{in: r, out: out}
			out = w
		}
	}
	pl[len(stages)-1] = plumbing{in: in, out: out}
	return pl, all, nil
}

// StartChain connects and starts the commands of stages (at least two). A command that cannot be
// started is reported on cfg.Stderr and counts as exited with status 127; the others still run and
// see end-of-file from it. Only a failure to create pipes is returned as an error, with nothing
// started. When StartChain returns, the process holds no pipe ends except LastStdin/LastStdout.
func StartChain(stages []Stage, cfg Config) (*Chain, error) {
	if len(stages) < 2 {
		return nil, fmt.Errorf("dpipe chain of %d commands: want at least 2: %w", len(stages), os.ErrInvalid)
	}
	pl, all, err := plan(stages)
	if err != nil {
		return nil, fmt.Errorf("create pipes: %w", err)
	}
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	env = Env(env)
	var stderr io.Writer = os.Stderr
	if cfg.Stderr != nil {
		stderr = cfg.Stderr
	}
	c := &Chain{
		cmds:   make([]*exec.Cmd, len(stages)),
		status: make([]int, len(stages)),
		done:   make(chan struct{}),
	}
	n := len(stages)
	if cfg.ExecLast {
		n--
		c.LastStdin, c.LastStdout = pl[n].in, pl[n].out
	}
	for k := 0; k < n; k++ {
		cmd := exec.Command(stages[k].Args[0], stages[k].Args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pl[k].in, pl[k].out, stderr
		if pl[k].altIn != nil {
			cmd.ExtraFiles = []*os.File{pl[k].altIn, pl[k].altOut}
		}
		cmd.Env, cmd.Dir = env, cfg.Dir
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(stderr, "dpipe: %s\n", startError(stages[k].Args[0], err))
			c.status[k] = ExecFailed
			continue
		}
		c.cmds[k] = cmd
	}
	for _, f := range all {
		if f != c.LastStdin && f != c.LastStdout {
			f.Close()
		}
	}
	return c, nil
}

// startError words a start failure as "exec NAME: reason".
func startError(name string, err error) string {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return fmt.Sprintf("exec %s: %v", name, ee.Err)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("exec %s: %v", name, pe.Err)
	}
	return fmt.Sprintf("exec %s: %v", name, err)
}

// Processes returns the started processes in chain order (nil for a command that failed to start
// or was left to the caller with ExecLast).
func (c *Chain) Processes() []*os.Process {
	ps := make([]*os.Process, len(c.cmds))
	for k, cmd := range c.cmds {
		if cmd != nil {
			ps[k] = cmd.Process
		}
	}
	return ps
}

// SignalLast sends sig to the last command if it was started and has not been reaped.
func (c *Chain) SignalLast(sig os.Signal) {
	if cmd := c.cmds[len(c.cmds)-1]; cmd != nil {
		cmd.Process.Signal(sig) // an error means it has already exited
	}
}

// Wait waits for all the started commands to exit and returns the status of the last one: its exit
// code, 128+N when signal N killed it, 127 when it could not be started. With ExecLast it returns
// the status of the last command that was started. Wait may be called more than once.
func (c *Chain) Wait() int {
	c.once.Do(func() {
		var wg sync.WaitGroup
		for k, cmd := range c.cmds {
			if cmd == nil {
				continue
			}
			wg.Go(func() {
				cmd.Wait()
				c.status[k] = exitStatus(cmd.ProcessState)
			})
		}
		wg.Wait()
		close(c.done)
	})
	last := len(c.cmds) - 1
	if c.LastStdin != nil {
		last--
	}
	return c.status[last]
}

// Done returns a channel closed when every started command has exited (once Wait is running).
func (c *Chain) Done() <-chan struct{} { return c.done }

// exitStatus maps a process state to a shell-style status.
func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return ExecFailed
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
