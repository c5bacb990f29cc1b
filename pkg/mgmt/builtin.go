// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// A Builtin names one of the commands the Server implements itself. A tool puts it in a Command of
// its table, with its own path, syntax, help text and flags, so that the wording stays the tool's.
type Builtin int

const (
	// BuiltinHelp lists the command table with Config.Help: the header lines, then every entry
	// (menu headers included, Hidden ones excluded) whose path starts with the argument, in table
	// order; HelpLayout.All lists every entry whatever the argument. No match still succeeds.
	BuiltinHelp Builtin = iota + 1
	// BuiltinLogout ends a socket session with Config.EndOfSession (the console ignores it).
	BuiltinLogout
	// BuiltinShutdown logs "Shutdown from mgmt command", ends the session with
	// Config.EndOfSession and closes Server.Done.
	BuiltinShutdown
	// BuiltinLoad runs the script named by the argument, a regular file of any length, line by line:
	// for each line it writes Config.LoadEcho (path, line) and then that command's reply,
	// progressively; its own result follows. One trailing newline is removed unless the line is only
	// "\n" (which then runs as an unknown command, as in vde_switch). A command line longer than
	// MaxCommandLen bytes, which vde_switch's fgets(…, ReadSize) would cut into several commands, is
	// not run: it is echoed, followed by "line N of PATH: longer than 127 bytes, not run" and the result
	// line of E2BIG, and load's own result is then E2BIG; comment lines may be of any length. logout
	// and shutdown inside a script do nothing. Other sessions' commands may run between two lines.
	// Give it Session: true; with Data: true the whole script output is inside one data block
	// (wirefilter).
	BuiltinLoad
	// BuiltinDebugList lists the debug categories whose path starts with the argument (ENOENT if
	// none). Give it Data: true and Session: true.
	BuiltinDebugList
	// BuiltinDebugAdd subscribes the session to every addable category matching the argument:
	// EINVAL when none matches, EEXIST when all were already on. Give it Session: true.
	BuiltinDebugAdd
	// BuiltinDebugDel unsubscribes the session from every category matching the argument: EINVAL
	// when none matches, ENOENT when none was on. Give it Session: true.
	BuiltinDebugDel
)

// A HelpLayout is how BuiltinHelp prints the command table.
type HelpLayout struct {
	// Header lines are printed first, each followed by "\n".
	Header []string
	// Format is the fmt format of one entry (Command.HelpFormat overrides it), with the operands
	// path, syntax and help. A format that uses explicit argument indexes gets a fourth operand,
	// path and syntax joined by a space ("%-18[4]s %[3]s\n" prints "markov-name n,name …").
	// "" means DefaultHelpFormat.
	Format string
	// All lists every entry whatever help's argument (wirefilter ignores it).
	All bool
}

// DefaultHelpFormat is the default HelpLayout.Format: the three columns of vde_switch's help.
const DefaultHelpFormat = "%-18s %-15s %s\n"

// builtin runs built-in b for sess with the reply writer out. The caller holds execMu.
func (s *Server) builtin(b Builtin, sess *Session, out *replyWriter, arg string) error {
	switch b {
	case BuiltinHelp:
		s.help(out, arg)
		return nil
	case BuiltinLogout:
		return ErrLogout
	case BuiltinShutdown:
		s.logf("Shutdown from mgmt command")
		return ErrShutdown
	case BuiltinLoad:
		return s.runScript(sess, out, arg)
	case BuiltinDebugList:
		return s.debugList(sess, out, arg)
	case BuiltinDebugAdd:
		return s.debugAdd(sess, out, arg)
	case BuiltinDebugDel:
		return s.debugDel(sess, out, arg)
	}
	return syscall.ENOSYS
}

func (s *Server) help(w io.Writer, arg string) {
	lay := s.cfg.Help
	for _, h := range lay.Header {
		io.WriteString(w, h+"\n")
	}
	for _, c := range s.Commands() {
		if c.Hidden || (!lay.All && !strings.HasPrefix(c.Path, arg)) {
			continue
		}
		f := c.HelpFormat
		if f == "" {
			f = lay.Format
		}
		io.WriteString(w, FormatHelp(f, c))
	}
}

// FormatHelp formats the help entry of c with format, as HelpLayout.Format describes.
func FormatHelp(format string, c Command) string {
	if strings.Contains(format, "%[") {
		return fmt.Sprintf(format, c.Path, c.Syntax, c.Help, strings.TrimSpace(c.Path+" "+c.Syntax))
	}
	return fmt.Sprintf(format, c.Path, c.Syntax, c.Help)
}

// ErrLineTooLong reports a script line longer than MaxCommandLen bytes (errno E2BIG).
var ErrLineTooLong = &Error{Errno: syscall.E2BIG, Err: fmt.Errorf("line longer than %d bytes", MaxCommandLen)}

// runScript runs the commands of a file for sess (nil: silently, rc file). The caller holds execMu; for
// a session it is released between lines (and while the client reads), so that a long script does not
// hold the other sessions. Only regular files are read: a FIFO, socket or device (/dev/zero) could
// block or never end. A line longer than MaxCommandLen is logged with its number and not run; the
// result is then ErrLineTooLong (after the whole script ran).
func (s *Server) runScript(sess *Session, out *replyWriter, path string) error {
	// O_NONBLOCK: opening a FIFO must not wait for a writer (regular files ignore the flag).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return syscall.EINVAL
	}
	out.flush() // a data header, when load is a data command
	r := bufio.NewReader(f)
	var result error
	for n := 1; ; n++ {
		line, long, err := readScriptLine(r)
		if line == "" && err != nil {
			return result
		}
		if i := strings.IndexByte(line, 0); i >= 0 {
			line = line[:i] // a C string ends at the first NUL
		}
		if k := len(line); k > 1 && line[k-1] == '\n' {
			line = line[:k-1]
		}
		if sess != nil {
			fmt.Fprintf(out, s.cfg.LoadEcho, path, line)
		}
		if line == "\n" && s.cfg.LoadSkipsBlank {
			continue // echoed, but silent (wirefilter)
		}
		if long {
			s.logf("%s: line %d longer than %d bytes, not run", path, n, MaxCommandLen)
			if sess != nil {
				fmt.Fprintf(out, "line %d of %s: longer than %d bytes, not run\n", n, path, MaxCommandLen)
				writeResult(out, ErrLineTooLong)
			}
			result = ErrLineTooLong
		} else {
			s.exec(sess, line, out)
		}
		if out.sess != nil && out.held {
			// Between two lines: let other sessions in, and wait for this client if it lags. The
			// output is handed over in chunks (replyWriter), not a write per line.
			s.execMu.Unlock()
			out.sess.waitRoom()
			s.execMu.Lock()
		}
	}
}

// readScriptLine reads one line of a script, newline included. A comment line (# after blanks) is
// returned whole whatever its length; a command line longer than MaxCommandLen bytes (newline not
// counted) is returned cut, with long set, the rest of it read and discarded.
func readScriptLine(r *bufio.Reader) (line string, long bool, err error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(b) <= MaxCommandLen+1 {
			b = append(b, frag[:min(len(frag), MaxCommandLen+2-len(b))]...)
		}
		if err != bufio.ErrBufferFull {
			line = string(b)
			body := strings.TrimSuffix(line, "\n")
			if c := skipBlanks(body); len(body) > MaxCommandLen && (c == "" || c[0] != '#') {
				return body[:MaxCommandLen], true, err
			}
			if len(body) > MaxCommandLen {
				return body[:MaxCommandLen] + "\n", false, err // a comment: only its start matters
			}
			return line, false, err
		}
	}
}

// RunScript runs the commands of an rc file silently, as at switch startup: output and errors are
// discarded, and commands that need a session fail. It reports only a file that cannot be opened.
func (s *Server) RunScript(path string) error {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	return s.runScript(nil, &replyWriter{s: s, discard: true}, path)
}
