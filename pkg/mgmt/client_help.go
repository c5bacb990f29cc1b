// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"strings"
	"unicode"
)

// A HelpEntry is one line of a management peer's help listing, as the client understands it.
type HelpEntry struct {
	Path   string // command path, e.g. "port/setvlan"
	Syntax string // argument syntax, e.g. "N VLAN"; "" when the command takes none
	Help   string // one-line description
	Menu   bool   // a menu header ("port  ============  PORT STATUS MENU"), not a command
}

// ParseHelp parses the data lines of a "help" reply in either known format and returns the entries in order,
// one per path (a later line for the same path, such as wirefilter's "showinfo n", adds its syntax as
// optional). It understands the switch format, with a "COMMAND PATH  SYNTAX  HELP" header and columns
// "%-18s %-15s %s", and the wirefilter format, with a "COMMAND  HELP" header, "%-12s %s" lines and
// "cmd args  help" lines. Lines before the header and the dashed rule are skipped; unparsable lines are ignored.
func ParseHelp(data []string) []HelpEntry {
	var (
		out      []HelpEntry
		idx      = map[string]int{}
		syntaxAt = -1
		helpAt   = -1
		header   bool
	)
	for _, line := range data {
		line = strings.TrimRight(line, " \t")
		switch {
		case !header && strings.HasPrefix(line, "COMMAND"):
			header = true
			syntaxAt = strings.Index(line, "SYNTAX")
			helpAt = strings.Index(line, "HELP")
			continue
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "----"):
			continue
		}
		var e HelpEntry
		if syntaxAt > 0 && helpAt > syntaxAt {
			e = parseSwitchHelp(line, syntaxAt, helpAt)
		} else {
			e = parseWirefilterHelp(line)
		}
		if e.Path == "" {
			continue
		}
		if i, ok := idx[e.Path]; ok {
			if out[i].Syntax == "" && e.Syntax != "" {
				out[i].Syntax = "[" + e.Syntax + "]"
			}
			continue
		}
		idx[e.Path] = len(out)
		out = append(out, e)
	}
	return out
}

// parseSwitchHelp parses "%-18s %-15s %s" with the column starts taken from the header line.
func parseSwitchHelp(line string, syntaxAt, helpAt int) HelpEntry {
	path, start, end := firstField(line)
	if path == "" {
		return HelpEntry{}
	}
	e := HelpEntry{Path: path}
	if start == 0 && end < syntaxAt && len(line) > syntaxAt && line[syntaxAt-1] == ' ' &&
		(len(line) <= helpAt || line[helpAt-1] == ' ') {
		end := min(helpAt, len(line))
		e.Syntax = strings.TrimSpace(line[syntaxAt:end])
		if len(line) > helpAt {
			e.Help = strings.TrimSpace(line[helpAt:])
		}
	} else { // a path too long for its column: split on runs of two spaces
		parts := splitHelpColumns(strings.TrimSpace(line[end:]))
		switch len(parts) {
		case 0:
		case 1:
			e.Help = parts[0]
		default:
			e.Syntax, e.Help = parts[0], strings.Join(parts[1:], "  ")
		}
	}
	if strings.Trim(e.Syntax, "=") == "" && e.Syntax != "" {
		e.Syntax, e.Menu = "", true
	}
	return e
}

// parseWirefilterHelp parses "%-12s %s" and "cmd args  help" (which wirefilter pads to 18 columns).
func parseWirefilterHelp(line string) HelpEntry {
	word, _, end := firstField(line)
	if word == "" {
		return HelpEntry{}
	}
	head, help := word, strings.TrimSpace(line[end:])
	if i := strings.Index(line[end:], "  "); i >= 0 {
		head, help = line[:end+i], strings.TrimSpace(line[end+i:])
	} else if len(line) > 19 && line[18] == ' ' && strings.Contains(strings.TrimSpace(line[:18]), " ") {
		head, help = line[:18], strings.TrimSpace(line[18:])
	}
	hf := strings.Fields(head)
	return HelpEntry{Path: hf[0], Syntax: strings.Join(hf[1:], " "), Help: help}
}

// firstField returns the first space-separated word of line and its byte offsets.
func firstField(line string) (word string, start, end int) {
	start = len(line) - len(strings.TrimLeftFunc(line, unicode.IsSpace))
	end = start + strings.IndexFunc(line[start:], unicode.IsSpace)
	if end < start { // no space after the word
		end = len(line)
	}
	return line[start:end], start, end
}

// splitHelpColumns splits s at runs of two or more spaces.
func splitHelpColumns(s string) []string {
	var out []string
	for s != "" {
		i := strings.Index(s, "  ")
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i])
		s = strings.TrimLeft(s[i:], " ")
	}
	return out
}
