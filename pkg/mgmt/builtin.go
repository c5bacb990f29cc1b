// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// HelpFormat is the line format of the switch's help command: path, syntax, help.
const HelpFormat = "%-18s %-15s %s\n"

// HelpCommand returns the "help [arg]" command: a header, then every table entry (menu headers
// included) whose path starts with arg, in table order. No match still succeeds.
func (s *Server) HelpCommand() Command {
	return Command{Path: "help", Syntax: "[arg]", Help: "Help (limited to arg when specified)", Data: true,
		Run: func(_ *Session, w io.Writer, arg string) error {
			fmt.Fprintf(w, HelpFormat, "COMMAND PATH", "SYNTAX", "HELP")
			fmt.Fprintf(w, HelpFormat, "------------", "--------------", "------------")
			for _, c := range s.Commands() {
				if strings.HasPrefix(c.Path, arg) {
					fmt.Fprintf(w, HelpFormat, c.Path, c.Syntax, c.Help)
				}
			}
			return nil
		}}
}

// LogoutCommand returns "logout", which ends a socket session with Config.EndOfSession.
func LogoutCommand() Command {
	return Command{Path: "logout", Help: "logout from this mgmt terminal",
		Run: func(*Session, io.Writer, string) error { return ErrLogout }}
}

// ShutdownCommand returns "shutdown": it logs "Shutdown from mgmt command", ends the session and
// closes Server.Done.
func (s *Server) ShutdownCommand() Command {
	return Command{Path: "shutdown", Help: "shutdown of the switch",
		Run: func(*Session, io.Writer, string) error {
			s.logf("Shutdown from mgmt command")
			return ErrShutdown
		}}
}

// LoadCommand returns "load path": for each line of the file it writes "vde[path]: line\n" and then
// that command's reply, progressively; its own result follows. Lines are read like fgets(…, 128):
// longer lines are split, and one trailing newline is removed unless the line is only "\n" (which
// then runs as an unknown command, as in the reference). logout and shutdown inside a script do nothing.
func (s *Server) LoadCommand() Command {
	return Command{Path: "load", Syntax: "path", Help: "load a configuration script", Session: true,
		Run: func(sess *Session, _ io.Writer, arg string) error {
			return s.runScript(sess, arg)
		}}
}

// MaxScript bounds the bytes load and rc files may read, so that "load /dev/zero" cannot hold the
// console (which runs one command at a time) forever; beyond it the script stops with EFBIG.
const MaxScript = 1 << 20

// runScript runs the commands of a file for sess (nil: silently). The caller holds execMu. FIFOs and
// sockets are refused with EINVAL, since reading them could block every session.
func (s *Server) runScript(sess *Session, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0 {
		return syscall.EINVAL
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
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
		var out bytes.Buffer
		if sess != nil {
			fmt.Fprintf(&out, "vde[%s]: %s\n", path, line)
			sess.push(msg0{b: out.Bytes()}, false)
			out = bytes.Buffer{}
		}
		s.exec(sess, line, &out)
		if sess != nil && out.Len() > 0 {
			sess.push(msg0{b: out.Bytes()}, false)
		}
	}
}

// readCLine reads like fgets(buf, MaxCmd, f): up to MaxCmd-1 bytes, stopping after a newline.
func readCLine(r *bufio.Reader) (string, error) {
	var b []byte
	for len(b) < MaxCmd-1 {
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
	return s.runScript(nil, path)
}

// DebugCommands returns the debug menu header and debug/list, debug/add and debug/del.
func (s *Server) DebugCommands() []Command {
	return []Command{
		{Path: "debug", Syntax: "============", Help: "DEBUG MENU"},
		{Path: "debug/list", Help: "list debug categories", Data: true, Session: true, Run: s.debugList},
		{Path: "debug/add", Syntax: "dbgpath", Help: "enable debug info for a given category", Session: true, Run: s.debugAdd},
		{Path: "debug/del", Syntax: "dbgpath", Help: "disable debug info for a given category", Session: true, Run: s.debugDel},
	}
}

const debugFormat = "%-22s %-3s %-6s %s\n"

func (s *Server) debugList(sess *Session, w io.Writer, arg string) error {
	fmt.Fprintf(w, debugFormat, "CATEGORY", "TAG", "STATUS", "HELP")
	fmt.Fprintf(w, debugFormat, "------------", "---", "------", "----")
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error = syscall.ENOENT
	for _, c := range s.cats {
		if c.Help == "" || !strings.HasPrefix(c.Path, arg) {
			continue
		}
		err = nil
		status := "OFF"
		if c.has(sess) {
			status = "ON"
		}
		fmt.Fprintf(w, "%-22s %03o %-6s %s\n", c.Path, c.Tag&0o777, status, c.Help)
	}
	return err
}

func (c *debugCat) has(sess *Session) bool {
	for _, x := range c.subs {
		if x == sess {
			return true
		}
	}
	return false
}

// debugAdd subscribes sess to every addable category matching the prefix arg: EINVAL when none
// matches, EEXIST when all were already on.
func (s *Server) debugAdd(sess *Session, _ io.Writer, arg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error = syscall.EINVAL
	for _, c := range s.cats {
		if c.Help == "" || !strings.HasPrefix(c.Path, arg) {
			continue
		}
		if errors.Is(err, syscall.EINVAL) {
			err = syscall.EEXIST
		}
		if !c.has(sess) {
			c.subs = append(c.subs, sess)
			err = nil
		}
	}
	return err
}

// debugDel unsubscribes sess from every category matching the prefix arg: EINVAL when none
// matches, ENOENT when none was on.
func (s *Server) debugDel(sess *Session, _ io.Writer, arg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsubscribe(sess, arg)
}

func (s *Server) unsubscribe(sess *Session, prefix string) error {
	var err error = syscall.EINVAL
	for _, c := range s.cats {
		if !strings.HasPrefix(c.Path, prefix) {
			continue
		}
		if errors.Is(err, syscall.EINVAL) {
			err = syscall.ENOENT
		}
		for i, x := range c.subs {
			if x == sess {
				c.subs = append(c.subs[:i], c.subs[i+1:]...)
				err = nil
				break
			}
		}
	}
	return err
}

func (s *Server) unsubscribeAll(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsubscribe(sess, "")
}
