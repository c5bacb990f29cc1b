// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"slices"
	"strings"

	"github.com/govde/govde/pkg/mgmt"
)

// A completer completes command paths segment by segment ("po" → "port/", "port/sh" → "port/showinfo "),
// the arguments whose syntax lists the choices ("0/1"), and the command argument of help; for other
// arguments it shows the command's syntax and help through hint.
type completer struct {
	entries   []mgmt.HelpEntry
	debugCats []string // debug categories from debug/list, for debug/add and debug/del
	hint      func(string)
}

// Do implements readline.AutoCompleter: it returns the candidates' remaining runes and the length of the
// word being completed.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	before := string(line[:pos])
	trimmed := strings.TrimLeft(before, " \t")
	fields := strings.Fields(trimmed)
	if len(fields) == 0 || (len(fields) == 1 && !strings.HasSuffix(trimmed, " ")) {
		prefix := ""
		if len(fields) == 1 {
			prefix = fields[0]
		}
		return suffixes(c.paths(prefix), prefix)
	}
	cmd, cur := fields[0], ""
	if !strings.HasSuffix(before, " ") {
		cur = fields[len(fields)-1]
		fields = fields[:len(fields)-1]
	}
	argIdx := len(fields) - 1
	e, ok := c.lookup(cmd)
	if !ok {
		return nil, 0
	}
	if e.Path == "help" && argIdx == 0 {
		return suffixes(c.paths(cur), cur)
	}
	if (e.Path == "debug/add" || e.Path == "debug/del") && argIdx == 0 && len(c.debugCats) > 0 {
		return suffixes(completePaths(c.debugCats, cur), cur)
	}
	if choices := argChoices(e.Syntax, argIdx); len(choices) > 0 {
		var cands []string
		for _, ch := range choices {
			if strings.HasPrefix(ch, cur) {
				cands = append(cands, ch+" ")
			}
		}
		return suffixes(cands, cur)
	}
	if c.hint != nil {
		if e.Syntax == "" {
			c.hint("  " + e.Path + ": no arguments. " + e.Help)
		} else {
			c.hint("  " + e.Path + " " + e.Syntax + "    " + e.Help)
		}
	}
	return nil, 0
}

// paths returns the completions of a command path prefix: the next path segment ("port/") when several
// commands continue it, or the full command followed by a space.
func (c *completer) paths(prefix string) []string {
	var cmds []string
	for _, e := range c.entries {
		if !e.Menu {
			cmds = append(cmds, e.Path)
		}
	}
	return completePaths(cmds, prefix)
}

// completePaths completes prefix among slash-separated paths, one segment at a time.
func completePaths(paths []string, prefix string) []string {
	var out []string
	for _, p := range paths {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		cand := p + " "
		if i := strings.IndexByte(p[len(prefix):], '/'); i >= 0 {
			cand = p[:len(prefix)+i+1]
		}
		if !slices.Contains(out, cand) {
			out = append(out, cand)
		}
	}
	slices.Sort(out)
	return out
}

// parseDebugList returns the categories of a debug/list reply (after the dashed rule, the first word of
// each line).
func parseDebugList(data []string) []string {
	var out []string
	rule := false
	for _, l := range data {
		switch f := strings.Fields(l); {
		case len(f) == 0:
		case !rule:
			rule = strings.HasPrefix(f[0], "----")
		default:
			out = append(out, f[0])
		}
	}
	return out
}

// lookup finds the entry for a typed command word: exact, else the one the server would run (the first
// path that prefixes the word, as the servers match).
func (c *completer) lookup(cmd string) (mgmt.HelpEntry, bool) {
	for _, e := range c.entries {
		if !e.Menu && e.Path == cmd {
			return e, true
		}
	}
	for _, e := range c.entries {
		if !e.Menu && strings.HasPrefix(cmd, e.Path) {
			return e, true
		}
	}
	return mgmt.HelpEntry{}, false
}

// argChoices returns the choices of argument i when the syntax spells them ("0/1", "1/0"), else nil.
func argChoices(syntax string, i int) []string {
	f := strings.Fields(syntax)
	if i < 0 || i >= len(f) {
		return nil
	}
	arg := strings.Trim(f[i], "[]")
	if !strings.Contains(arg, "/") {
		return nil
	}
	choices := strings.Split(arg, "/")
	for _, ch := range choices {
		if ch == "" || strings.ToUpper(ch) != ch { // "0/1" yes, "n1/n2" no
			return nil
		}
	}
	return choices
}

// suffixes turns full candidates into what readline inserts after the typed word.
func suffixes(cands []string, typed string) ([][]rune, int) {
	var out [][]rune
	for _, c := range cands {
		if strings.HasPrefix(c, typed) {
			out = append(out, []rune(c[len(typed):]))
		}
	}
	return out, len([]rune(typed))
}
