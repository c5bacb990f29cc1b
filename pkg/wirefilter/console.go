// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"io"
	"strings"
	"sync"
	"syscall"

	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/mgmt"
)

// Banner and Prompt are those of wirefilter r586's console.
const (
	Banner = "\nVDE wirefilter V.2.3.2\n(C) R.Davoli 2005,2006 - GPLv2\n"
	Prompt = "\nVDEwf$ "
)

// helpMarkov is the help format of the Markov entries, whose syntax is in the first column.
const helpMarkov = "%-18[4]s %[3]s\n"

// A Console is wirefilter's management console over a Filter: the command table and the
// per-session markov-debug levels.
type Console struct {
	f *Filter

	mu    sync.Mutex // guards debug
	debug map[*mgmt.Session]int
}

// NewConsole returns the console of f; it receives f's Markov transitions for the sessions that
// asked for them with markov-debug.
func NewConsole(f *Filter) *Console {
	c := &Console{f: f, debug: map[*mgmt.Session]int{}}
	f.OnTransition(c.transition)
	return c
}

// Config returns the mgmt.Config of the console, logging to logf (nil: discard).
func (c *Console) Config(logf func(string, ...any)) mgmt.Config {
	v := func(p impair.Param) func(*mgmt.Session, io.Writer, string) error {
		return func(_ *mgmt.Session, _ io.Writer, arg string) error { return c.f.e.Set(p, arg) }
	}
	// Matched in the reference's order (band after bandwidth, capacity after chanbufsize); hidden,
	// since help lists the entries below, in the reference's other order.
	match := []mgmt.Command{
		{Path: "help", Data: true, Builtin: mgmt.BuiltinHelp},
		{Path: "showinfo", Data: true, Run: c.showinfo},
		{Path: "load", Data: true, Session: true, Builtin: mgmt.BuiltinLoad},
		{Path: "delay", Run: v(impair.Delay)},
		{Path: "loss", Run: v(impair.Loss)},
		{Path: "lostburst", Run: v(impair.LostBurst)},
		{Path: "dup", Run: v(impair.Dup)},
		{Path: "bandwidth", Run: v(impair.Bandwidth)},
		{Path: "band", Run: v(impair.Bandwidth)},
		{Path: "speed", Run: v(impair.Speed)},
		{Path: "chanbufsize", Run: v(impair.ChanBufSize)},
		{Path: "capacity", Run: v(impair.ChanBufSize)},
		{Path: "noise", Run: v(impair.Noise)},
		{Path: "mtu", Run: v(impair.MTU)},
		{Path: "fifo", Run: c.fifo},
		{Path: "markov-numnodes", Run: c.numNodes},
		{Path: "markov-setnode", Run: c.setNode},
		{Path: "markov-name", Run: c.setName},
		{Path: "markov-time", Run: c.markovTime},
		{Path: "setedge", Run: c.setEdge},
		{Path: "showedges", Data: true, Run: c.showedges},
		{Path: "showcurrent", Data: true, Run: c.showcurrent},
		{Path: "markov-debug", Session: true, Run: c.markovDebug},
		{Path: "logout", Builtin: mgmt.BuiltinLogout},
		{Path: "shutdown", Builtin: mgmt.BuiltinShutdown},
	}
	for i := range match {
		match[i].Hidden = true
	}
	help := []mgmt.Command{
		{Path: "help", Help: "print a summary of mgmt commands"},
		{Path: "load", Help: "load a configuration file"},
		{Path: "showinfo", Help: "show status and parameter values"},
		{Path: "loss", Help: "set loss percentage"},
		{Path: "lostburst", Help: "mean length of lost packet bursts"},
		{Path: "delay", Help: "set delay ms"},
		{Path: "dup", Help: "set dup packet percentage"},
		{Path: "bandwidth", Help: "set channel bandwidth bytes/sec"},
		{Path: "speed", Help: "set interface speed bytes/sec"},
		{Path: "noise", Help: "set noise factor bits/Mbyte"},
		{Path: "mtu", Help: "set channel MTU (bytes)"},
		{Path: "chanbufsize", Help: "set channel buffer size (bytes)"},
		{Path: "fifo", Help: "set channel fifoness"},
		{Path: "shutdown", Help: "shut the channel down"},
		{Path: "logout", Help: "log out from this mgmt session"},
		{Path: "markov-numnodes", Syntax: "n", Help: "markov mode: set number of states", HelpFormat: helpMarkov},
		{Path: "markov-setnode", Syntax: "n", Help: "markov mode: set current state", HelpFormat: helpMarkov},
		{Path: "markov-name", Syntax: "n,name", Help: "markov mode: set state's name", HelpFormat: helpMarkov},
		{Path: "markov-time", Syntax: "ms", Help: "markov mode: transition period", HelpFormat: helpMarkov},
		{Path: "setedge", Syntax: "n1,n2,w", Help: "markov mode: set edge weight", HelpFormat: helpMarkov},
		{Path: "showinfo", Syntax: "n", Help: "markov mode: show parameter values", HelpFormat: helpMarkov},
		{Path: "showedges", Syntax: "n", Help: "markov mode: show edge weights", HelpFormat: helpMarkov},
		{Path: "showcurrent", Help: "markov mode: show current state", HelpFormat: helpMarkov},
		{Path: "markov-debug", Syntax: "n", Help: "markov mode: set debug level", HelpFormat: helpMarkov},
	}
	return mgmt.Config{
		Banner:         Banner,
		Prompt:         Prompt,
		LoadEcho:       Prompt + " (%s) %s\n",
		QuietShutdown:  true,
		LoadSkipsBlank: true,
		Help: mgmt.HelpLayout{Header: []string{"COMMAND      HELP", "------------ ------------"},
			Format: "%-12[1]s %[3]s\n", All: true},
		Commands: append(match, help...),
		Logf:     logf,
	}
}

// intArg parses a whole decimal integer argument (trailing blanks allowed).
func intArg(arg string) (int, error) {
	arg = strings.TrimRight(arg, " \t\r\n")
	n, used, ok := mgmt.ScanInt(arg, 'd')
	if !ok || used != len(arg) {
		return 0, mgmt.Errorf(syscall.EINVAL, "%q: not a number", arg)
	}
	return n, nil
}

// nodeArg is the node argument of showinfo and showedges: atoi of it, the current node when empty.
func (c *Console) nodeArg(arg string) (int, error) {
	if strings.TrimSpace(arg) == "" {
		return c.f.e.Current(), nil
	}
	n := mgmt.Atoi(arg)
	if n < 0 || n >= c.f.e.NumNodes() {
		return 0, syscall.EINVAL
	}
	return n, nil
}

func (c *Console) fifo(_ *mgmt.Session, _ io.Writer, arg string) error {
	n, err := intArg(arg)
	if err != nil {
		return err
	}
	c.f.e.SetFIFO(n != 0)
	return nil
}

func (c *Console) numNodes(_ *mgmt.Session, _ io.Writer, arg string) error {
	n, err := intArg(arg)
	if err != nil {
		return err
	}
	if err := c.f.e.SetNumNodes(n); err != nil {
		return err
	}
	c.f.Kick()
	return nil
}

func (c *Console) setNode(_ *mgmt.Session, _ io.Writer, arg string) error {
	n, err := intArg(arg)
	if err != nil {
		return err
	}
	return c.f.e.SetNode(n)
}

func (c *Console) setName(_ *mgmt.Session, _ io.Writer, arg string) error {
	num, name, ok := strings.Cut(strings.TrimRight(arg, "\r\n"), ",")
	if !ok {
		return mgmt.Errorf(syscall.EINVAL, "markov-name %q: want n,name", arg)
	}
	n, err := intArg(num)
	if err != nil {
		return err
	}
	return c.f.e.SetName(n, name)
}

func (c *Console) markovTime(_ *mgmt.Session, _ io.Writer, arg string) error {
	arg = strings.TrimRight(arg, " \t\r\n")
	ms, used, ok := mgmt.ScanFloat(arg)
	if !ok || used != len(arg) {
		return mgmt.Errorf(syscall.EINVAL, "markov-time %q: not a number", arg)
	}
	if err := c.f.e.SetMarkovTime(ms); err != nil {
		return err
	}
	c.f.Kick()
	return nil
}

func (c *Console) setEdge(_ *mgmt.Session, _ io.Writer, arg string) error {
	parts := strings.SplitN(strings.TrimRight(arg, " \t\r\n"), ",", 3)
	if len(parts) != 3 {
		return mgmt.Errorf(syscall.EINVAL, "setedge %q: want n1,n2,w", arg)
	}
	n1, err := intArg(parts[0])
	if err != nil {
		return err
	}
	n2, err := intArg(parts[1])
	if err != nil {
		return err
	}
	w, used, ok := mgmt.ScanFloat(parts[2])
	if !ok || used != len(parts[2]) {
		return mgmt.Errorf(syscall.EINVAL, "setedge %q: weight is not a number", arg)
	}
	return c.f.e.SetEdge(n1, n2, w)
}

func (c *Console) markovDebug(s *mgmt.Session, _ io.Writer, arg string) error {
	n, err := intArg(arg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune()
	if n > 0 {
		c.debug[s] = n
	} else {
		delete(c.debug, s)
	}
	return nil
}

// prune forgets the sessions that have ended; the caller holds c.mu.
func (c *Console) prune() {
	for s := range c.debug {
		select {
		case <-s.Done():
			delete(c.debug, s)
		default:
		}
	}
}

// transition sends a markov-debug line to the sessions that asked for it.
func (c *Console) transition(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune()
	for s := range c.debug {
		io.WriteString(s, line)
	}
}
