// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// Debug categories: sessions subscribe with the debug/add built-in (BuiltinDebugAdd) and receive the
// events Server.Event reports as AsyncFormat lines.

// debugFormat is the line format of debug/list: category, tag, status, help.
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
	s.updateDebugLocked()
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
	s.updateDebugLocked()
	return err
}

func (s *Server) unsubscribeAll(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsubscribe(sess, "")
}
