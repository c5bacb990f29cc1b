// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	// ErrLogout, returned by a command, ends the session after writing Config.EndOfSession
	// (the console ignores it).
	ErrLogout = errors.New("logout")
	// ErrShutdown, returned by a command, ends the session like ErrLogout and then closes the
	// channel returned by Server.Done: the program should clean up and exit 0.
	ErrShutdown = errors.New("shutdown")
)

// A Command is one entry of the command table. A Command with neither Run nor Builtin is a menu
// header (or any help-only line): it is listed by help but never matched.
type Command struct {
	Path   string // matched as a prefix of the input line, case-sensitive
	Syntax string // shown by help
	Help   string // shown by help
	// HelpFormat, if set, replaces Config.Help.Format for this entry (wirefilter's help has two
	// column widths).
	HelpFormat string
	// Hidden commands are not listed by help (wirefilter's aliases band and capacity).
	Hidden bool
	// Builtin, if set, makes the command one of the server's built-ins (help, logout, shutdown,
	// load, debug/*) under this entry's path and wording; Run is then ignored.
	Builtin Builtin
	// Data wraps the command's output in a DataHeader … DataEnd block, printed even when it fails.
	Data bool
	// Session marks commands that need a live session (load, debug/*): in rc files they fail with EBADF.
	Session bool
	// Run executes the command. w collects the reply data; arg is the rest of the line after the path,
	// leading blanks removed (it may hold more text, such as "\r" or a second line, as in the reference).
	// s is nil in rc files. The result line is "1000 Success" for nil, or "1%03d <strerror>" for the
	// error's errno (see ErrnoOf); ErrLogout and ErrShutdown print no result line.
	// Commands run one at a time, under a lock shared by all sessions. w streams the reply to the
	// client, with no limit on its size: a Write may wait while the client reads, and the lock is
	// then released so that other sessions go on. So Run must not hold a lock of its own across a
	// Write (take a snapshot, then print it), and may stop when Write fails: the session is gone.
	Run func(s *Session, w io.Writer, arg string) error
}

// A DebugCategory is an event class sessions can subscribe to with debug/add. Categories without Help
// cannot be added (debug/add answers EINVAL), as in the reference.
type DebugCategory struct {
	Path string
	Tag  int
	Help string
}

// Config configures a Server for one tool: everything a tool's console shows that is not protocol
// (see protocol.go) is here, so that vde_switch's and wirefilter's consoles are two Configs.
type Config struct {
	Banner string // written to each socket session on connect, e.g. "VDE switch V.2.3.2\n(C) …\n"
	Prompt string // written after each reply, e.g. "\nvde$ " or "\nVDEwf$ "
	// EndOfSession is written by logout and shutdown before closing; "" means EndOfSession.
	EndOfSession string
	// Help is the layout of the help built-in.
	Help HelpLayout
	// LoadEcho is the fmt format of the line load writes before each command of a script, with
	// the operands path and line; "" means DefaultLoadEcho (vde_switch's "vde[path]: line").
	LoadEcho string
	// Commands is the initial command table, in order (Add appends to it).
	Commands []Command
	// Logf logs warnings (nil: discard).
	Logf func(format string, args ...any)
	// QuietShutdown makes shutdown close the session without writing EndOfSession (wirefilter
	// writes nothing before exiting).
	QuietShutdown bool
	// LoadSkipsBlank makes an empty line of a load script silent after its echo (wirefilter); by
	// default a line that is only "\n" runs as an unknown command (vde_switch's 1038).
	LoadSkipsBlank bool
	// StallTimeout is how long a socket session may take no byte of its pending output before it is
	// dropped; 0 means DefaultStallTimeout. A session that reads, however slowly, is never dropped.
	StallTimeout time.Duration
}

// DefaultStallTimeout is the default Config.StallTimeout.
const DefaultStallTimeout = 30 * time.Second

// DefaultLoadEcho is the default Config.LoadEcho, vde_switch's.
const DefaultLoadEcho = "vde[%s]: %s\n"

func (c Config) withDefaults() Config {
	if c.EndOfSession == "" {
		c.EndOfSession = EndOfSession
	}
	if c.Help.Format == "" {
		c.Help.Format = DefaultHelpFormat
	}
	if c.LoadEcho == "" {
		c.LoadEcho = DefaultLoadEcho
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	c.Commands = append([]Command(nil), c.Commands...)
	return c
}

// Output of a session is queued and written by its own goroutine. A command's reply streams: the
// command writes through a replyWriter, which hands the output over in chunks of replyChunk bytes and,
// past replyHigh queued bytes, waits (without the exec lock, so other sessions go on) until the client
// has read the queue down to replyHigh. Events are dropped past replyHigh+maxQueuedEvents.
const (
	replyChunk      = 32 << 10
	replyHigh       = 256 << 10
	maxQueuedEvents = 256 << 10
)

// A Server runs management sessions over a command table. Add commands and debug categories before
// serving. All methods are safe for concurrent use.
type Server struct {
	cfg Config

	// execMu serialises commands, like the single-threaded reference. It is released while a command
	// waits for its client to read (replyWriter) and between the lines of a script.
	execMu sync.Mutex

	debugOn atomic.Bool // some session is subscribed to a debug category (read per switch event)

	mu        sync.Mutex // guards the fields below
	cmds      []Command
	cats      []*debugCat
	sessions  map[*Session]struct{}
	listeners map[net.Listener]struct{}
	closed    bool

	done     chan struct{} // closed by shutdown
	doneOnce sync.Once
	wg       sync.WaitGroup
}

type debugCat struct {
	DebugCategory
	subs []*Session
}

// New returns a Server configured by cfg, its command table holding cfg.Commands.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		cfg:       cfg,
		cmds:      cfg.Commands,
		sessions:  map[*Session]struct{}{},
		listeners: map[net.Listener]struct{}{},
		done:      make(chan struct{}),
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// Add appends commands to the table, in order.
func (s *Server) Add(cmds ...Command) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmds = append(s.cmds, cmds...)
}

// Commands returns a copy of the command table.
func (s *Server) Commands() []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Command(nil), s.cmds...)
}

// AddDebug appends debug categories, in the order debug/list shows them.
func (s *Server) AddDebug(cats ...DebugCategory) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cats {
		s.cats = append(s.cats, &debugCat{DebugCategory: c})
	}
}

// Event sends "3%03o path msg\n" to every session subscribed to the category path. It never blocks:
// a session that does not read loses events. Unknown paths are ignored.
func (s *Server) Event(path, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cats {
		if c.Path != path || len(c.subs) == 0 {
			continue
		}
		line := []byte(fmt.Sprintf(AsyncFormat, c.Tag&0o777, c.Path, msg))
		for _, sess := range c.subs {
			sess.push(msg0{b: line}, true)
		}
		return
	}
}

// DebugActive reports whether any session is subscribed to a debug category. It takes no lock (the
// switch asks it for every event, from its forwarding goroutines).
func (s *Server) DebugActive() bool { return s.debugOn.Load() }

// updateDebugLocked recomputes debugOn; the caller holds s.mu after changing a subscription.
func (s *Server) updateDebugLocked() {
	on := false
	for _, c := range s.cats {
		if len(c.subs) > 0 {
			on = true
			break
		}
	}
	s.debugOn.Store(on)
}

// Done returns a channel closed when a session ran a command that returned ErrShutdown.
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) shutdown() { s.doneOnce.Do(func() { close(s.done) }) }

// lookup returns the first command with a handler or a built-in whose path is a prefix of line.
func (s *Server) lookup(line string) (Command, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cmds {
		if (c.Run != nil || c.Builtin != 0) && strings.HasPrefix(line, c.Path) {
			return c, true
		}
	}
	return Command{}, false
}

func skipBlanks(s string) string { return strings.TrimLeft(s, " \t") }

// exec runs one command line for sess (nil: rc file) and writes the reply to w. It returns the
// command's error; errNoCommand for empty and comment lines. The caller holds execMu (w may release
// it while the client reads).
func (s *Server) exec(sess *Session, line string, w *replyWriter) error {
	line = skipBlanks(line)
	if line == "" || line[0] == '#' {
		return errNoCommand
	}
	c, ok := s.lookup(line)
	var err error = syscall.ENOSYS
	if ok {
		arg := skipBlanks(line[len(c.Path):])
		run := c.Run
		if c.Builtin != 0 {
			run = func(sess *Session, _ io.Writer, arg string) error { return s.builtin(c.Builtin, sess, w, arg) }
		}
		switch {
		case c.Session && sess == nil:
			err = syscall.EBADF
		case c.Data:
			w.WriteString(DataHeader + "\n")
			err = run(sess, w, arg)
			w.WriteString(DataEnd + "\n")
		default:
			err = run(sess, w, arg)
		}
	}
	if !errors.Is(err, ErrLogout) && !errors.Is(err, ErrShutdown) {
		writeResult(w, err)
	}
	return err
}

var errNoCommand = errors.New("no command")

// Exec runs one command line as sess would (sess may be nil, as for rc files) and returns the reply
// without the prompt, and the command's error (ErrLogout and ErrShutdown are returned, not acted on).
// The whole reply is collected in memory.
func (s *Server) Exec(sess *Session, line string) ([]byte, error) {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	w := &replyWriter{s: s}
	err := s.exec(sess, line, w)
	if err == errNoCommand {
		err = nil
	}
	return w.buf.Bytes(), err
}

// A replyWriter is where a command writes its reply. For a session (sess set) it streams: output is
// handed to the session's queue in chunks, and when the client lags replyHigh bytes behind, Write waits
// for it, releasing execMu meanwhile (held must say whether the caller holds it). Otherwise output is
// collected in buf (Exec) or, with discard, dropped (rc files). Write never fails: a session that is
// gone discards what it is given.
type replyWriter struct {
	s       *Server
	sess    *Session
	held    bool
	discard bool
	buf     bytes.Buffer
}

// Write implements io.Writer. Once the session is gone it returns net.ErrClosed (and discards p), so
// that a long command may stop early.
func (w *replyWriter) Write(p []byte) (int, error) {
	if w.discard {
		return len(p), nil
	}
	w.buf.Write(p)
	return len(p), w.maybeFlush()
}

// WriteString implements io.StringWriter, like Write.
func (w *replyWriter) WriteString(p string) (int, error) {
	if w.discard {
		return len(p), nil
	}
	w.buf.WriteString(p)
	return len(p), w.maybeFlush()
}

// maybeFlush hands a full chunk to the session, then lets other sessions' commands in (the exec lock
// is released for a moment, or for as long as the client lags).
func (w *replyWriter) maybeFlush() error {
	if w.sess == nil || w.buf.Len() < replyChunk {
		return nil
	}
	w.flush()
	if w.sess.gone() {
		w.discard = true
		w.buf = bytes.Buffer{}
		return net.ErrClosed
	}
	w.wait()
	return nil
}

// flush hands what is buffered to the session.
func (w *replyWriter) flush() {
	if w.sess == nil || w.buf.Len() == 0 {
		return
	}
	w.sess.push(msg0{b: bytes.Clone(w.buf.Bytes())}, false)
	w.buf.Reset()
}

// wait releases execMu (when held) for as long as the session's queue is over replyHigh, and at least
// for a moment: a long reply does not hold the other sessions.
func (w *replyWriter) wait() {
	if !w.held {
		w.sess.waitRoom()
		return
	}
	w.s.execMu.Unlock()
	w.sess.waitRoom()
	w.s.execMu.Lock()
}

// cLine turns the bytes of one read into the command line the reference sees: the C string up to the
// first NUL, with one trailing newline removed.
func cLine(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return string(b)
}

// Serve accepts management sessions on ln until ln or the Server is closed. Each session gets the
// banner and the prompt, then one command per read. Serve returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// EMFILE and friends: back off and keep serving, like the reference's poll loop.
			s.logf("mgmt accept %v", err)
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		sess := s.newSession(c, c, c)
		if sess == nil {
			c.Close()
			continue
		}
		sess.push(msg0{b: []byte(s.cfg.Banner)}, false)
		sess.push(msg0{b: []byte(s.cfg.Prompt)}, false)
		s.wg.Go(func() { s.readLoop(sess, c, false) })
	}
}

// ServeConsole runs the console of a foreground switch: commands read from in (one per read), replies
// and events written to out, the prompt written to promptW (the reference writes it to fd 0, which
// works on a terminal). There is no banner and no initial prompt; logout is ignored. It returns io.EOF
// when in ends (the caller logs "EOF on stdin, cleaning up and exiting" and exits 0) or ErrShutdown.
func (s *Server) ServeConsole(in io.Reader, out, promptW io.Writer) error {
	sess := s.newSession(out, promptW, nil)
	if sess == nil {
		return net.ErrClosed
	}
	return s.readLoop(sess, in, true)
}

// readLoop reads commands from r for sess until EOF, logout or shutdown.
func (s *Server) readLoop(sess *Session, r io.Reader, console bool) error {
	buf := make([]byte, ReadSize)
	var result error = io.EOF
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w := &replyWriter{s: s, sess: sess, held: true}
			s.execMu.Lock()
			cerr := s.exec(sess, cLine(buf[:n]), w)
			s.execMu.Unlock()
			w.flush()
			switch {
			case errors.Is(cerr, ErrShutdown):
				if !console && !s.cfg.QuietShutdown {
					sess.push(msg0{b: []byte(s.cfg.EndOfSession)}, false)
				}
				sess.end()
				s.shutdown()
				return ErrShutdown
			case errors.Is(cerr, ErrLogout):
				if console {
					continue
				}
				sess.push(msg0{b: []byte(s.cfg.EndOfSession)}, false)
				sess.end()
				return ErrLogout
			}
			sess.push(msg0{b: []byte(s.cfg.Prompt), prompt: true}, false)
			sess.waitRoom() // a client that sends commands without reading replies is held back here
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !console {
				s.logf("Reading from mgmt %v", err)
			}
			if console && !errors.Is(err, io.EOF) {
				result = err
			}
			break
		}
	}
	sess.end()
	return result
}

// Close stops every listener and session and waits for their goroutines. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	lns := make([]net.Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	sess := make([]*Session, 0, len(s.sessions))
	for ss := range s.sessions {
		sess = append(sess, ss)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, ss := range sess {
		ss.kill()
	}
	s.wg.Wait()
	return nil
}
