// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The switch's built-ins, worded as vde_switch r586 words them (reference section 6.2).
var (
	swHelp = HelpLayout{Header: []string{
		"COMMAND PATH       SYNTAX          HELP",
		"------------       --------------  ------------"}, Format: "%-18s %-15s %s\n"}
	swHelpCmd  = Command{Path: "help", Syntax: "[arg]", Help: "Help (limited to arg when specified)", Data: true, Builtin: BuiltinHelp}
	swLogout   = Command{Path: "logout", Help: "logout from this mgmt terminal", Builtin: BuiltinLogout}
	swShutdown = Command{Path: "shutdown", Help: "shutdown of the switch", Builtin: BuiltinShutdown}
	swLoad     = Command{Path: "load", Syntax: "path", Help: "load a configuration script", Session: true, Builtin: BuiltinLoad}
	swDebug    = []Command{
		{Path: "debug", Syntax: "============", Help: "DEBUG MENU"},
		{Path: "debug/list", Help: "list debug categories", Data: true, Session: true, Builtin: BuiltinDebugList},
		{Path: "debug/add", Syntax: "dbgpath", Help: "enable debug info for a given category", Session: true, Builtin: BuiltinDebugAdd},
		{Path: "debug/del", Syntax: "dbgpath", Help: "disable debug info for a given category", Session: true, Builtin: BuiltinDebugDel},
	}
)

const (
	swBanner = "VDE switch V.2.3.2\n(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2\n"
	swPrompt = "\nvde$ "
	wfBanner = "\nVDE wirefilter V.2.3.2\n(C) R.Davoli 2005,2006 - GPLv2\n"
	wfPrompt = "\nVDEwf$ "
)

// switchConfig is a vde_switch-shaped console: its built-ins and one command (vlan/create, atoi).
func switchConfig() Config {
	return Config{Banner: swBanner, Prompt: swPrompt, Help: swHelp, Commands: append([]Command{
		{Path: "ds", Syntax: "============", Help: "DATA SOCKET MENU"},
		{Path: "ds/showinfo", Help: "show ds info", Data: true,
			Run: func(_ *Session, w io.Writer, _ string) error {
				_, err := io.WriteString(w, "ctl dir /tmp/rs\nstd mode 0600\n")
				return err
			}},
		swHelpCmd, swLogout, swShutdown,
		{Path: "showinfo", Help: "show switch version and info", Data: true,
			Run: func(_ *Session, w io.Writer, _ string) error { _, err := io.WriteString(w, swBanner+"\n"); return err }},
		swLoad,
	}, append(swDebug,
		Command{Path: "vlan", Syntax: "============", Help: "VLAN MANAGEMENT MENU"},
		Command{Path: "vlan/create", Syntax: "N", Help: "create the VLAN with tag N",
			Run: func(_ *Session, _ io.Writer, arg string) error {
				if n := Atoi(arg); n < 1 || n > 4093 {
					return syscall.EINVAL
				}
				return nil
			}})...)}
}

// wirefilter is a minimal wirefilter-shaped tool: a delay and a loss value, one Markov node.
type wirefilter struct{ delay, loss float64 }

// value reads a wirefilter value with sscanf("%lf"); like the reference, unparsable input is ignored.
func (wf *wirefilter) value(p *float64) func(*Session, io.Writer, string) error {
	return func(_ *Session, _ io.Writer, arg string) error {
		var v float64
		if Sscanf(arg, "%lf", &v) == 1 {
			*p = v
		}
		return nil
	}
}

func (wf *wirefilter) showinfo(_ *Session, w io.Writer, arg string) error {
	var node int
	if Sscanf(arg, "%d", &node) == 1 && node != 0 { // one Markov node: only node 0 exists
		return syscall.EINVAL
	}
	fmt.Fprintf(w, "WireFilter: monodirectional\nLoss   %g+0U\nDelay  %g+0U\n", wf.loss, wf.delay)
	return nil
}

// wirefilterConfig is a wirefilter-shaped console (reference section 10.5), built from the same
// server: its own banner, prompt, help layout (two widths, argument ignored), load echo and wording.
func wirefilterConfig(wf *wirefilter) Config {
	const markov = "%-18[4]s %[3]s\n"
	node := func(_ *Session, _ io.Writer, arg string) error {
		if Atoi(arg) != 0 {
			return syscall.EINVAL
		}
		return nil
	}
	return Config{Banner: wfBanner, Prompt: wfPrompt, LoadEcho: wfPrompt + " (%s) %s\n",
		Help: HelpLayout{Header: []string{"COMMAND      HELP", "------------ ------------"}, Format: "%-12[1]s %[3]s\n", All: true},
		Commands: []Command{
			{Path: "help", Help: "print a summary of mgmt commands", Data: true, Builtin: BuiltinHelp},
			{Path: "load", Help: "load a configuration file", Data: true, Session: true, Builtin: BuiltinLoad},
			{Path: "showinfo", Help: "show status and parameter values", Data: true, Run: wf.showinfo},
			{Path: "loss", Help: "set loss percentage", Run: wf.value(&wf.loss)},
			{Path: "delay", Help: "set delay ms", Run: wf.value(&wf.delay)},
			{Path: "shutdown", Help: "shut the channel down", Builtin: BuiltinShutdown},
			{Path: "logout", Help: "log out from this mgmt session", Builtin: BuiltinLogout},
			{Path: "markov-setnode", Syntax: "n", Help: "markov mode: set current state", HelpFormat: markov, Run: node},
			{Path: "showinfo", Syntax: "n", Help: "markov mode: show parameter values", HelpFormat: markov},
			{Path: "ploss", Help: "a hidden alias", Hidden: true, Run: wf.value(&wf.loss)},
		}}
}

// TestConfigs builds two consoles from configuration alone and checks their bytes over a real
// socket session: the switch's against vde_switch r586 (reference 6.1, 6.2), the wirefilter-shaped
// one against wirefilter r586 (reference 10.5, and captures of /usr/bin/wirefilter -M), except for
// logout, where ours ends the session properly instead of answering "1-01 Unknown error -1".
func TestConfigs(t *testing.T) {
	dir := t.TempDir()
	swRC := filepath.Join(dir, "sw.rc")
	wfRC := filepath.Join(dir, "wf.rc")
	os.WriteFile(swRC, []byte("# comment line\nvlan/create 22\n"), 0o600)
	os.WriteFile(wfRC, []byte("delay 5\nnosuch\nshowinfo 3\n"), 0o600)
	const data, ok, eos = "0000 DATA END WITH '.'\n", "1000 Success\n", "9999 END OF SESSION"
	swHelpAll := data + "COMMAND PATH       SYNTAX          HELP\n" +
		"------------       --------------  ------------\n" +
		"ds                 ============    DATA SOCKET MENU\n" +
		"ds/showinfo                        show ds info\n" +
		"help               [arg]           Help (limited to arg when specified)\n" +
		"logout                             logout from this mgmt terminal\n" +
		"shutdown                           shutdown of the switch\n" +
		"showinfo                           show switch version and info\n" +
		"load               path            load a configuration script\n" +
		"debug              ============    DEBUG MENU\n" +
		"debug/list                         list debug categories\n" +
		"debug/add          dbgpath         enable debug info for a given category\n" +
		"debug/del          dbgpath         disable debug info for a given category\n" +
		"vlan               ============    VLAN MANAGEMENT MENU\n" +
		"vlan/create        N               create the VLAN with tag N\n" + ".\n" + ok
	wfHelp := data + "COMMAND      HELP\n------------ ------------\n" +
		"help         print a summary of mgmt commands\n" +
		"load         load a configuration file\n" +
		"showinfo     show status and parameter values\n" +
		"loss         set loss percentage\n" +
		"delay        set delay ms\n" +
		"shutdown     shut the channel down\n" +
		"logout       log out from this mgmt session\n" +
		"markov-setnode n   markov mode: set current state\n" +
		"showinfo n         markov mode: show parameter values\n" + ".\n" + ok
	type step struct{ cmd, want string }
	for _, tc := range []struct {
		name           string
		cfg            func() Config
		banner, prompt string
		steps          []step
	}{
		{"switch", switchConfig, swBanner, swPrompt, []step{
			{"help", swHelpAll},
			{"help ds", data + "COMMAND PATH       SYNTAX          HELP\n------------       --------------  ------------\n" +
				"ds                 ============    DATA SOCKET MENU\nds/showinfo                        show ds info\n.\n" + ok},
			{"ds/showinfo", data + "ctl dir /tmp/rs\nstd mode 0600\n.\n" + ok},
			{"", ""},
			{"nosuchcommand", "1038 Function not implemented\n"},
			{"vlan/create abc", "1022 Invalid argument\n"},
			{"vlan/create 0x20", "1022 Invalid argument\n"}, // atoi
			{"vlan/create 22", ok},
			{"load " + swRC, "vde[" + swRC + "]: # comment line\nvde[" + swRC + "]: vlan/create 22\n" + ok + ok},
			{"load /nonexistent", "1002 No such file or directory\n"},
			{"logout", eos},
		}},
		{"wirefilter", func() Config { return wirefilterConfig(&wirefilter{}) }, wfBanner, wfPrompt, []step{
			{"help", wfHelp},
			{"help lo", wfHelp}, // wirefilter ignores help's argument
			{"", ""},
			{"nosuch", "1038 Function not implemented\n"},
			{"delay abc", ok}, // unparsable values are ignored, as in the reference
			{"delay 10", ok},
			{"lossy 2.5", ok}, // runs loss (prefix match) with "y 2.5": ignored
			{"ploss 2.5", ok},
			{"showinfo", data + "WireFilter: monodirectional\nLoss   2.5+0U\nDelay  10+0U\n.\n" + ok},
			{"showinfo 5", data + ".\n1022 Invalid argument\n"},
			{"markov-setnode 3", "1022 Invalid argument\n"},
			{"load " + wfRC, data + wfPrompt + " (" + wfRC + ") delay 5\n" + ok +
				wfPrompt + " (" + wfRC + ") nosuch\n1038 Function not implemented\n" +
				wfPrompt + " (" + wfRC + ") showinfo 3\n" + data + ".\n1022 Invalid argument\n.\n" + ok},
			{"load /nonexist", data + ".\n1002 No such file or directory\n"},
			{"logout", eos},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.cfg())
			sock := filepath.Join(t.TempDir(), "mgmt")
			ln, err := Listen(sock, 0o600, -1)
			if err != nil {
				t.Fatal(err)
			}
			go s.Serve(ln)
			defer s.Close()
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := readN(t, c, len(tc.banner+tc.prompt)); got != tc.banner+tc.prompt {
				t.Fatalf("greeting = %q, want %q", got, tc.banner+tc.prompt)
			}
			for _, st := range tc.steps {
				if _, err := c.Write([]byte(st.cmd + "\n")); err != nil {
					t.Fatal(err)
				}
				want := st.want + tc.prompt
				if st.want == eos {
					want = eos
				}
				if got := readN(t, c, len(want)); got != want {
					t.Errorf("%q: got\n%q\nwant\n%q", st.cmd, got, want)
				}
			}
			// after logout: end of file, nothing more
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 64)); n != 0 || !errors.Is(err, io.EOF) {
				t.Errorf("after logout: read %d, %v; want EOF", n, err)
			}
		})
	}
}

// readN reads n bytes from c, or what arrived before a 5 s timeout or EOF.
func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	m, _ := io.ReadFull(c, b)
	return string(b[:m])
}

// TestFormatHelp: the three operands of a plain format, the fourth (path and syntax) of an indexed one.
func TestFormatHelp(t *testing.T) {
	c := Command{Path: "markov-name", Syntax: "n,name", Help: "markov mode: set state's name"}
	for _, tc := range []struct{ format, want string }{
		{DefaultHelpFormat, "markov-name        n,name          markov mode: set state's name\n"},
		{"%-18[4]s %[3]s\n", "markov-name n,name markov mode: set state's name\n"},
		{"%-12[1]s %[3]s\n", "markov-name  markov mode: set state's name\n"},
	} {
		if got := FormatHelp(tc.format, c); got != tc.want {
			t.Errorf("FormatHelp(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
	if got := FormatHelp("%-18[4]s %[3]s\n", Command{Path: "showcurrent", Help: "x"}); got != "showcurrent        x\n" {
		t.Errorf("no syntax: %q", got)
	}
	var b bytes.Buffer
	s := New(Config{})
	s.help(&b, "")
	if b.Len() != 0 {
		t.Errorf("empty table, default layout: help printed %q", b.String())
	}
}
