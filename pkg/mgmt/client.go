// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// promptGrace is how long the client waits for the prompt after a complete result line. The real vde_switch
// writes its prompt with a separate non-blocking write, which it loses (EAGAIN) when a long reply has filled a
// slow client's socket buffer; the reply is then complete without its prompt. A prompt arriving later is
// swallowed.
const promptGrace = 500 * time.Millisecond

// DefaultClientTimeout bounds Dial (connect and banner) and each Do when ClientOptions.Timeout is 0.
const DefaultClientTimeout = 10 * time.Second

// Errors a Client returns (wrapped with the operand). Callers branch on them with errors.Is.
var (
	// ErrNoPrompt: the peer did not send its prompt within the timeout.
	ErrNoPrompt = errors.New("no prompt from management peer")
	// ErrReplyTimeout: the reply did not end (with the prompt) within the timeout.
	ErrReplyTimeout = errors.New("timed out waiting for the reply")
	// ErrPeerClosed: the peer closed the connection before the reply ended.
	ErrPeerClosed = errors.New("management connection closed by the peer")
	// ErrSessionEnded: the session is over (after "9999 END OF SESSION" or a close by the peer).
	ErrSessionEnded = errors.New("management session ended")
	// ErrBadCommand: the command cannot be sent as one command (newline inside, or too long).
	ErrBadCommand = errors.New("bad management command")
)

// ClientOptions configure a Client. The zero value is usable.
type ClientOptions struct {
	// Timeout bounds connecting plus reading the banner, and each command's reply (DefaultClientTimeout if 0).
	Timeout time.Duration
	// OnAsync, if set, receives every asynchronous line ("3031 port/ep/+ Port 02 FD 11"), as it arrives, even
	// in the middle of a reply. It runs on the Client's reader goroutine: it must not block for long nor call
	// the Client. Asynchronous lines are discarded when it is nil.
	OnAsync func(line string)
	// Trace, if set, sees every command sent (dir '>') and every line or prompt received (dir '<'), for
	// debugging. It runs on the caller's goroutine for '>' and on the reader goroutine for '<'.
	Trace func(dir byte, line string)
}

// A Client is a management session with a vde_switch, wirefilter, vswitch or any server that speaks the VDE
// management protocol (section 6.1 of the reference): it reads the banner up to the prompt, then sends one
// command per write and collects its reply up to the next prompt.
//
// Do is safe for concurrent use (commands are serialised). A reader goroutine owns the connection's read
// side and delivers asynchronous lines to ClientOptions.OnAsync as they arrive.
type Client struct {
	conn    net.Conn
	opt     ClientOptions
	banner  []string
	prompt  string
	replies chan Reply
	done    chan struct{} // closed when the reader goroutine ends
	readErr error         // why the reader ended; read only after done is closed
	partial Reply         // what the reader had of an unfinished reply at the end; read after done
	closeMu sync.Once
	wg      sync.WaitGroup

	outstanding atomic.Int32 // commands sent whose reply the reader has not published

	mu    sync.Mutex // serialises Do; guards skip and ended
	skip  int        // replies still due for commands that timed out
	ended bool
}

// Dial connects to the management socket at path and reads the banner up to the prompt.
func Dial(path string, opt ClientOptions) (*Client, error) {
	d := net.Dialer{Timeout: opt.timeout()}
	conn, err := d.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(conn, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// NewClient starts a session on an established connection, reading the banner up to the prompt. The Client
// owns conn from then on, and closes it on error.
func NewClient(conn net.Conn, opt ClientOptions) (*Client, error) {
	c := &Client{
		conn:    conn,
		opt:     opt,
		replies: make(chan Reply, 16),
		done:    make(chan struct{}),
	}
	banner := make(chan Reply, 1)
	c.wg.Add(1)
	go c.readLoop(banner)
	t := time.NewTimer(opt.timeout())
	defer t.Stop()
	select {
	case r := <-banner:
		c.banner = trimBlankLines(r.Data)
		return c, nil
	case <-c.done:
		select {
		case r := <-banner:
			c.banner = trimBlankLines(r.Data)
			return c, nil
		default:
		}
		c.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoPrompt, c.readErr)
	case <-t.C:
		c.Close()
		return nil, fmt.Errorf("%w within %v", ErrNoPrompt, opt.timeout())
	}
}

func (o *ClientOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultClientTimeout
	}
	return o.Timeout
}

// Banner returns the lines the peer sent before its first prompt, without leading and trailing blank lines.
func (c *Client) Banner() []string { return c.banner }

// Prompt returns the peer's prompt as sent, e.g. "vde$ " or "VDEwf$ " (without the newline before it).
func (c *Client) Prompt() string { return c.prompt }

// Done returns a channel closed when the connection's read side ends (peer closed, error or Close).
func (c *Client) Done() <-chan struct{} { return c.done }

// Do sends cmd and waits for its reply, at most the Client's timeout. See DoContext.
func (c *Client) Do(cmd string) (Reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opt.timeout())
	defer cancel()
	return c.DoContext(ctx, cmd)
}

// DoContext sends cmd (one write, newline added) and waits for its reply until the next prompt, or until
// ctx ends (the error then wraps ErrReplyTimeout; a late reply is skipped by the next command). An empty
// command or a comment ("#...") is not sent, because the real switch does not answer it; its Reply has Code 0.
// After "9999 END OF SESSION" the Reply has Code CodeEndOfSession and the next call returns ErrSessionEnded.
// If the connection closes before the reply ends the error wraps ErrPeerClosed, except after logout or
// shutdown, which wirefilter answers by closing: their Reply then has Code CodeEndOfSession and no error.
func (c *Client) DoContext(ctx context.Context, cmd string) (Reply, error) {
	r := Reply{Command: cmd, Data: []string{}}
	if strings.ContainsAny(cmd, "\r\n") {
		return r, fmt.Errorf("%q: %w: contains a newline", cmd, ErrBadCommand)
	}
	if len(cmd) > MaxCommandLen {
		return r, fmt.Errorf("%.20q...: %w: %d bytes, at most %d", cmd, ErrBadCommand, len(cmd), MaxCommandLen)
	}
	if t := strings.TrimLeft(cmd, " \t"); t == "" || t[0] == '#' {
		return r, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return r, fmt.Errorf("%s: %w", cmd, ErrSessionEnded)
	}
	if c.opt.Trace != nil {
		c.opt.Trace('>', cmd)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetWriteDeadline(dl)
	}
	c.outstanding.Add(1)
	if _, err := c.conn.Write([]byte(cmd + "\n")); err != nil {
		c.outstanding.Add(-1)
		return r, fmt.Errorf("send %q: %w", cmd, err)
	}
	for {
		select {
		case got := <-c.replies:
			if c.skip > 0 {
				c.skip--
				continue
			}
			return c.reply(cmd, got), nil
		case <-c.done:
			select { // a reply sent just before the reader ended comes first
			case got := <-c.replies:
				if c.skip > 0 {
					c.skip--
					continue
				}
				return c.reply(cmd, got), nil
			default:
			}
			c.ended = true
			if isEnding(cmd) && errors.Is(c.readErr, io.EOF) {
				r.Code, r.Text = CodeEndOfSession, endText
				return r, nil
			}
			r = c.partial
			r.Command = cmd
			if r.Data == nil {
				r.Data = []string{}
			}
			return r, fmt.Errorf("%s: %w: %v", cmd, ErrPeerClosed, c.readErr)
		case <-ctx.Done():
			c.skip++
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return r, fmt.Errorf("%s: %w", cmd, ErrReplyTimeout)
			}
			return r, fmt.Errorf("%s: %w", cmd, ctx.Err())
		}
	}
}

func (c *Client) reply(cmd string, r Reply) Reply {
	r.Command = cmd
	if r.Ended() {
		c.ended = true
	}
	return r
}

// isEnding reports whether cmd is logout or shutdown (prefix-matched by the servers, like all commands).
func isEnding(cmd string) bool {
	cmd = strings.TrimLeft(cmd, " \t")
	return strings.HasPrefix(cmd, "logout") || strings.HasPrefix(cmd, "shutdown")
}

// Close closes the connection and waits for the reader goroutine. It does not send logout: closing the
// socket ends the session on every known server. It is idempotent.
func (c *Client) Close() error {
	var err error
	c.closeMu.Do(func() {
		err = c.conn.Close()
		c.wg.Wait()
	})
	return err
}

// readLoop reads the connection until EOF or error, sending the banner (the first prompt) to banner and every
// later Reply to c.replies, and asynchronous lines to OnAsync.
func (c *Client) readLoop(banner chan<- Reply) {
	defer c.wg.Done()
	defer close(c.done)
	var (
		sc          replyScanner
		as          replyAssembler
		gotBanner   bool
		awaitPrompt bool // a reply was completed by promptGrace: its prompt may still come
		armed       bool // a read deadline for promptGrace is set
	)
	sc.holdPrompt = func() bool { return as.inData }
	emit := func(k replyTok, line string) {
		if c.opt.Trace != nil {
			c.opt.Trace('<', line)
		}
		if k == tokPrompt && awaitPrompt && !as.pending() {
			awaitPrompt = false // the late prompt of a reply already published
			return
		}
		async, done, r := as.token(k, line)
		switch {
		case async:
			if c.opt.OnAsync != nil {
				c.opt.OnAsync(line)
			}
			return
		case done && !gotBanner:
			gotBanner = true
			c.prompt = sc.prompt
			banner <- r
		case done:
			c.publish(r)
		}
		if line != "" {
			awaitPrompt = false
		}
	}
	buf := make([]byte, 64<<10)
	for {
		switch complete := gotBanner && as.complete() && len(sc.buf) == 0 && c.outstanding.Load() > 0; {
		case complete && !armed:
			c.conn.SetReadDeadline(time.Now().Add(promptGrace))
			armed = true
		case !complete && armed:
			c.conn.SetReadDeadline(time.Time{})
			armed = false
		}
		n, err := c.conn.Read(buf)
		if n > 0 {
			if ferr := sc.feed(buf[:n], emit); ferr != nil {
				c.readErr = ferr
				c.conn.Close()
				return
			}
		}
		if err != nil && armed && errors.Is(err, os.ErrDeadlineExceeded) {
			c.conn.SetReadDeadline(time.Time{})
			armed = false
			c.publish(as.finish())
			awaitPrompt = true
			continue
		}
		if err != nil {
			sc.eof(emit)
			if as.pending() {
				c.partial = as.finish()
			}
			if errors.Is(err, net.ErrClosed) {
				err = io.EOF
			}
			c.readErr = err
			return
		}
	}
}

// publish queues a Reply for Do. A peer that sends prompts nobody asked for cannot block the reader (and
// with it asynchronous lines and Close): when the queue is full the oldest Reply is dropped.
func (c *Client) publish(r Reply) {
	if c.outstanding.Add(-1) < 0 {
		c.outstanding.Store(0) // a reply nobody asked for
	}
	for {
		select {
		case c.replies <- r:
			return
		default:
		}
		select {
		case <-c.replies:
		default:
		}
	}
}

// trimBlankLines drops leading and trailing empty lines.
func trimBlankLines(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
