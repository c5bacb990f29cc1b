// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// A Session is one management connection (or the console). Its output goes through a queue drained by
// its own writer goroutine, so that a client that stops reading never blocks commands or events for
// the others: a command whose reply the client lags behind on waits for it (without the exec lock),
// its events are dropped, and a socket session that takes no byte for Config.StallTimeout is dropped.
type Session struct {
	srv     *Server
	out     io.Writer // replies and events
	promptW io.Writer // the prompt (the console writes it to fd 0)
	closer  io.Closer // the connection; nil for the console

	qmu    sync.Mutex // guards q, qbytes, ended
	q      []msg0
	qbytes int // queued or being written
	ended  bool
	room   *sync.Cond    // on qmu: qbytes went down, or the session ended
	wake   chan struct{} // cap 1: work for the writer

	done     chan struct{} // closed when the writer has exited
	killOnce sync.Once
}

type msg0 struct {
	b      []byte
	prompt bool // write to promptW
	end    bool // stop after writing what came before
}

func (s *Server) newSession(out, promptW io.Writer, c io.Closer) *Session {
	sess := &Session{srv: s, out: out, promptW: promptW, closer: c,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	sess.room = sync.NewCond(&sess.qmu)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	s.wg.Go(sess.writeLoop)
	return sess
}

// Write sends p to the session at once, outside the reply of the running command. It never blocks and
// always reports success, like a write to a non-blocking socket whose errors are ignored.
func (sess *Session) Write(p []byte) (int, error) {
	sess.push(msg0{b: append([]byte(nil), p...)}, false)
	return len(p), nil
}

// Done returns a channel that is closed once the session has ended and its output is flushed (a
// tool keeping per-session state, such as wirefilter's markov-debug level, forgets it then).
func (sess *Session) Done() <-chan struct{} { return sess.done }

// push queues m. Events are dropped when the client lags too far behind; replies are always queued
// (their writers wait for room: see lagging and waitRoom).
func (sess *Session) push(m msg0, event bool) {
	sess.qmu.Lock()
	if sess.ended {
		sess.qmu.Unlock()
		return
	}
	if event && sess.qbytes+len(m.b) > replyHigh+maxQueuedEvents {
		sess.qmu.Unlock()
		return
	}
	sess.q = append(sess.q, m)
	sess.qbytes += len(m.b)
	if m.end {
		sess.ended = true
		sess.room.Broadcast()
	}
	sess.qmu.Unlock()
	select {
	case sess.wake <- struct{}{}:
	default:
	}
}

// gone reports whether the session ended (its output is discarded).
func (sess *Session) gone() bool {
	sess.qmu.Lock()
	defer sess.qmu.Unlock()
	return sess.ended
}

// waitRoom blocks until at most replyHigh bytes wait for the client, or the session ended (the writer
// drops a socket session that takes nothing for Config.StallTimeout, so this wait is bounded).
func (sess *Session) waitRoom() {
	sess.qmu.Lock()
	for sess.qbytes > replyHigh && !sess.ended {
		sess.room.Wait()
	}
	sess.qmu.Unlock()
}

func (sess *Session) writeLoop() {
	defer close(sess.done)
	defer func() {
		sess.qmu.Lock()
		sess.ended = true
		sess.q, sess.qbytes = nil, 0
		sess.room.Broadcast()
		sess.qmu.Unlock()
	}()
	for range sess.wake {
		sess.qmu.Lock()
		q := sess.q
		sess.q = nil
		sess.qmu.Unlock()
		for _, m := range q {
			if m.end {
				return
			}
			w := sess.out
			if m.prompt {
				w = sess.promptW
			}
			if w != nil {
				if err := sess.write(w, m.b); err != nil && sess.closer != nil && !m.prompt {
					if errors.Is(err, os.ErrDeadlineExceeded) {
						sess.srv.logf("mgmt session not reading for %v, dropped", sess.srv.cfg.StallTimeout)
					}
					sess.kill()
				}
			}
			sess.qmu.Lock()
			sess.qbytes -= len(m.b)
			sess.room.Broadcast()
			sess.qmu.Unlock()
		}
	}
}

// write writes b to w. On a socket session it gives up when no byte goes out for StallTimeout.
func (sess *Session) write(w io.Writer, b []byte) error {
	d, ok := w.(interface{ SetWriteDeadline(time.Time) error })
	if !ok || sess.closer == nil {
		_, err := w.Write(b)
		return err
	}
	for len(b) > 0 {
		if err := d.SetWriteDeadline(time.Now().Add(sess.srv.cfg.StallTimeout)); err != nil {
			_, err := w.Write(b)
			return err
		}
		n, err := w.Write(b)
		b = b[n:]
		if err != nil {
			if n > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				continue // it reads, slowly: a new deadline for the rest
			}
			return err
		}
	}
	return nil
}

// end unsubscribes the session from all debug categories, flushes its queue (waiting at most a
// second) and closes its connection.
func (sess *Session) end() {
	sess.srv.unsubscribeAll(sess)
	sess.push(msg0{end: true}, false)
	select {
	case <-sess.done:
	case <-time.After(time.Second):
	}
	sess.kill()
}

// kill closes the connection at once; the writer stops after draining what it can.
func (sess *Session) kill() {
	sess.killOnce.Do(func() {
		sess.qmu.Lock()
		if !sess.ended {
			sess.ended = true
			sess.q = append(sess.q, msg0{end: true})
		}
		sess.room.Broadcast()
		sess.qmu.Unlock()
		select {
		case sess.wake <- struct{}{}:
		default:
		}
		if sess.closer != nil {
			sess.closer.Close()
		}
		sess.srv.mu.Lock()
		delete(sess.srv.sessions, sess)
		sess.srv.mu.Unlock()
		sess.srv.unsubscribeAll(sess)
	})
}
