// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bufio"
	"bytes"
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
	// BuiltinLoad runs the script named by the argument: for each line it writes Config.LoadEcho
	// (path, line) and then that command's reply, progressively; its own result follows. Lines are
	// read like fgets(…, ReadSize): longer lines are split, and one trailing newline is removed
	// unless the line is only "\n" (which then runs as an unknown command, as in vde_switch). logout
	// and shutdown inside a script do nothing. Give it Session: true; with Data: true the whole
	// script output is inside one data block (wirefilter).
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

// builtin runs built-in b for sess with the reply buffer out. The caller holds execMu.
func (s *Server) builtin(b Builtin, sess *Session, out *bytes.Buffer, arg string) error {
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

// MaxScript bounds the bytes load and rc files may read, so that "load /dev/zero" cannot hold the
// console (which runs one command at a time) forever; beyond it the script stops with EFBIG.
const MaxScript = 1 << 20

// runScript runs the commands of a file for sess (nil: silently). The caller holds execMu. What out
// holds already (a data header) is sent first, since the script's output is progressive. FIFOs and
// sockets are refused with EINVAL, since reading them could block every session.
func (s *Server) runScript(sess *Session, out *bytes.Buffer, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0 {
		return syscall.EINVAL
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if sess != nil && out != nil && out.Len() > 0 {
		sess.push(msg0{b: bytes.Clone(out.Bytes())}, false)
		out.Reset()
	}
	r := bufio.NewReader(io.LimitReader(f, MaxScript+1))
	total := 0
	for {
		line, err := readCLine(r)
		if line == "" && err != nil {
			return nil
		}
		if total += len(line); total > MaxScript {
			return syscall.EFBIG
		}
		if i := strings.IndexByte(line, 0); i >= 0 {
			line = line[:i] // a C string ends at the first NUL
		}
		if n := len(line); n > 1 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		var reply bytes.Buffer
		if sess != nil {
			fmt.Fprintf(&reply, s.cfg.LoadEcho, path, line)
			sess.push(msg0{b: reply.Bytes()}, false)
			reply = bytes.Buffer{}
		}
		if line == "\n" && s.cfg.LoadSkipsBlank {
			continue // echoed, but silent (wirefilter)
		}
		s.exec(sess, line, &reply)
		if sess != nil && reply.Len() > 0 {
			sess.push(msg0{b: reply.Bytes()}, false)
		}
	}
}

// readCLine reads like fgets(buf, ReadSize, f): up to MaxCommandLen bytes, stopping after a newline.
func readCLine(r *bufio.Reader) (string, error) {
	var b []byte
	for len(b) < MaxCommandLen {
		c, err := r.ReadByte()
		if err != nil {
			return string(b), err
		}
		b = append(b, c)
		if c == '\n' {
			break
		}
	}
	return string(b), nil
}

// RunScript runs the commands of an rc file silently, as at switch startup: output and errors are
// discarded, and commands that need a session fail. It reports only a file that cannot be opened.
func (s *Server) RunScript(path string) error {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	return s.runScript(nil, nil, path)
}
