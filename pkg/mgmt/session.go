// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"io"
	"sync"
	"time"
)

// A Session is one management connection (or the console). Its output goes through a queue drained by
// its own writer goroutine, so that a client that stops reading never blocks commands or events for
// the others: its events are dropped, and it is disconnected if its pending replies grow too large.
type Session struct {
	srv     *Server
	out     io.Writer // replies and events
	promptW io.Writer // the prompt (the console writes it to fd 0)
	closer  io.Closer // the connection; nil for the console

	qmu    sync.Mutex // guards q, qbytes, ended
	q      []msg0
	qbytes int
	ended  bool
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

// Write sends p to the session at once, outside the reply of the running command (load uses it for
// its progressive output). It never blocks and always reports success, like a write to a
// non-blocking socket whose errors are ignored.
func (sess *Session) Write(p []byte) (int, error) {
	sess.push(msg0{b: append([]byte(nil), p...)}, false)
	return len(p), nil
}

// Done returns a channel that is closed once the session has ended and its output is flushed (a
// tool keeping per-session state, such as wirefilter's markov-debug level, forgets it then).
func (sess *Session) Done() <-chan struct{} { return sess.done }

// push queues m. Events are dropped when the queue is full; an oversized reply backlog kills the session.
func (sess *Session) push(m msg0, event bool) {
	sess.qmu.Lock()
	if sess.ended {
		sess.qmu.Unlock()
		return
	}
	limit := maxQueuedReply
	if event {
		limit = maxQueuedEvents
	}
	if sess.qbytes+len(m.b) > limit {
		sess.qmu.Unlock()
		if !event {
			sess.srv.logf("mgmt session not reading, dropped")
			sess.kill()
		}
		return
	}
	sess.q = append(sess.q, m)
	sess.qbytes += len(m.b)
	if m.end {
		sess.ended = true
	}
	sess.qmu.Unlock()
	select {
	case sess.wake <- struct{}{}:
	default:
	}
}

func (sess *Session) writeLoop() {
	defer close(sess.done)
	for {
		select {
		case <-sess.wake:
		}
		sess.qmu.Lock()
		q := sess.q
		sess.q = nil
		sess.qbytes = 0
		sess.qmu.Unlock()
		for _, m := range q {
			if m.end {
				return
			}
			w := sess.out
			if m.prompt {
				w = sess.promptW
			}
			if w == nil {
				continue
			}
			if _, err := w.Write(m.b); err != nil && sess.closer != nil && !m.prompt {
				sess.kill()
			}
		}
	}
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
