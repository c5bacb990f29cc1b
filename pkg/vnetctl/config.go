// SPDX-License-Identifier: GPL-2.0-or-later

package vnetctl

import (
	"strings"
)

// An Action is what one call does. Exactly one is given on the command line, in any letter case.
type Action string

// The actions.
const (
	Cancel  Action = "CANCEL"
	Check   Action = "CHECK"
	Create  Action = "CREATE"
	Info    Action = "INFO"
	Ports   Action = "PORTS"
	List    Action = "LIST"
	ListAll Action = "LISTALL"
)

// DefaultBridge is the bridge created when none is given and none exists; only it is removed by cancel.
const DefaultBridge = "ctysbr0"

// Config is a parsed command line. Empty strings mean "not given".
type Config struct {
	Action    Action
	Bridge    string // -b
	Debug     string // -d (accepted, as the original, without effect)
	Force     bool   // -f
	SbitGroup string // -g
	Help      bool   // -h
	HelpEx    string // -H
	Interface string // -i
	RUser     string // -l
	RHosts    string // -r
	Sock      string // -s
	Mgmt      string // -S
	User      string // -u user part
	Group     string // -u .group part
	NoHead    bool   // -n
	Version   bool   // -V
	Terse     bool   // -X
	SuOpts    string // -Z

	Args []string // the command line as given (without the program name)
}

// A UsageError is a command line the original rejects; Lines are its error messages, exit code 1.
type UsageError struct{ Lines []string }

func (e *UsageError) Error() string { return strings.Join(e.Lines, "; ") }

// actions maps the lower-cased action words.
var actions = map[string]Action{
	"cancel": Cancel, "check": Check, "create": Create, "info": Info, "ports": Ports,
	"list": List, "listall": ListAll,
}

// Parse parses args (without the program name) as the original does: options and the action in any
// order, each option with an argument taking the next word (an option at the end takes ""), "-h"
// "--help" "-help" for help and "-H" "--helpEx" "-helpEx" for extended help. Errors, in the original's
// order: an unknown option; more than one action; stray arguments. A missing action is not an error here
// (help and version need none); Run reports it.
func Parse(args []string) (Config, error) {
	c := Config{Args: args}
	nact := 0
	var stray []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			i++
			if i < len(args) {
				return args[i]
			}
			return ""
		}
		switch a {
		case "-b":
			c.Bridge = next()
		case "-f":
			c.Force = true
		case "-i":
			c.Interface = next()
		case "-s":
			c.Sock = next()
		case "-S":
			c.Mgmt = next()
		case "-g":
			c.SbitGroup = next()
		case "-u":
			v := next()
			c.User, c.Group, _ = strings.Cut(v, ".")
		case "-n":
			c.NoHead = true
		case "-l":
			c.RUser = next()
		case "-r":
			c.RHosts = next()
		case "-H", "--helpEx", "-helpEx":
			c.HelpEx = next()
			if c.HelpEx == "" {
				c.HelpEx = "vnetctl"
			}
		case "-h", "--help", "-help":
			c.Help = true
		case "-V":
			c.Version = true
		case "-X":
			c.Terse = true
		case "-Z":
			c.SuOpts = next()
		case "-d":
			c.Debug = next()
		case "":
			// The original's loop stops at an empty word; what follows is "remaining arguments".
			if i < len(args)-1 {
				return c, &UsageError{[]string{"Remaining arguments:" + strings.Join(args, " ")}}
			}
		default:
			if strings.HasPrefix(a, "-") {
				return c, &UsageError{[]string{"Unkown option:\"" + a + "\""}}
			}
			if act, ok := actions[strings.ToLower(a)]; ok {
				c.Action = act
				nact++
			} else {
				stray = append(stray, a)
			}
		}
	}
	if nact > 1 {
		return c, &UsageError{[]string{"Single actions are suppored only:" + strings.Join(args, " ")}}
	}
	if len(stray) > 0 {
		return c, &UsageError{[]string{"Unexpected arguments: " + strings.Join(stray, " ")}}
	}
	return c, nil
}
