// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"fmt"
	"io"
	"os"

	"github.com/govde/govde/internal/buildinfo"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/vswitch"
)

// Prompt is the switch console's prompt.
const Prompt = "\nvde$ "

// EndOfSession is written by logout and shutdown before the session closes.
const EndOfSession = mgmt.EndOfSession

// helpLayout is vde_switch's help: three columns under a header.
var helpLayout = mgmt.HelpLayout{Header: []string{
	"COMMAND PATH       SYNTAX          HELP",
	"------------       --------------  ------------"}, Format: "%-18s %-15s %s\n"}

// Banner returns the greeting written to each management session (and by showinfo): the shape of
// vde_switch's two lines, with our name and version.
func Banner() string {
	return fmt.Sprintf("%s switch V.%s\n(C) The %s authors 2026 - GPLv2\n", buildinfo.Name, buildinfo.Version, buildinfo.Name)
}

// Config describes what the console shows besides the switch state.
type Config struct {
	Switch   *vswitch.Switch
	CtlDir   string // real path of the control directory (ds/showinfo)
	CtlMode  uint32 // data/ctl socket mode (ds/showinfo "std mode")
	MgmtPath string // -M path, "" without a management socket (showinfo)
	MgmtMode uint32 // --mgmtmode (showinfo)
	// Logf logs like the switch ("Shutdown from mgmt command", hash size warnings); nil discards.
	Logf func(format string, args ...any)
}

// A Console is the switch's management command set. Its embedded *mgmt.Server serves sockets
// (Serve), the stdin console (ServeConsole) and rc files (RunScript).
type Console struct {
	*mgmt.Server
	cfg    Config
	sw     *vswitch.Switch
	cancel func() // ends the subscription to the switch's events
}

// New returns the console of cfg.Switch, subscribed to its debug events. Close unsubscribes.
func New(cfg Config) *Console {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	c := &Console{cfg: cfg, sw: cfg.Switch}
	c.Server = mgmt.New(mgmt.Config{Banner: Banner(), Prompt: Prompt, EndOfSession: EndOfSession, Help: helpLayout,
		Logf: cfg.Logf, Commands: []mgmt.Command{
			{Path: "ds", Syntax: "============", Help: "DATA SOCKET MENU"},
			{Path: "ds/showinfo", Help: "show ds info", Data: true, Run: c.dsShowinfo},
			{Path: "help", Syntax: "[arg]", Help: "Help (limited to arg when specified)", Data: true, Builtin: mgmt.BuiltinHelp},
			{Path: "logout", Help: "logout from this mgmt terminal", Builtin: mgmt.BuiltinLogout},
			{Path: "shutdown", Help: "shutdown of the switch", Builtin: mgmt.BuiltinShutdown},
			{Path: "showinfo", Help: "show switch version and info", Data: true, Run: c.showinfo},
			{Path: "load", Syntax: "path", Help: "load a configuration script", Session: true, Builtin: mgmt.BuiltinLoad},
			{Path: "debug", Syntax: "============", Help: "DEBUG MENU"},
			{Path: "debug/list", Help: "list debug categories", Data: true, Session: true, Builtin: mgmt.BuiltinDebugList},
			{Path: "debug/add", Syntax: "dbgpath", Help: "enable debug info for a given category", Session: true, Builtin: mgmt.BuiltinDebugAdd},
			{Path: "debug/del", Syntax: "dbgpath", Help: "disable debug info for a given category", Session: true, Builtin: mgmt.BuiltinDebugDel},
		}})
	s := c.Server
	s.Add(pluginCommands()...)
	s.Add(c.hashCommands()...)
	s.Add(c.fstpCommands()...)
	s.Add(c.portCommands()...)
	s.Add(c.vlanCommands()...)
	s.Add(c.runtimeCommands()...)
	s.AddDebug(
		mgmt.DebugCategory{Path: "mgmt/+", Tag: 0o2001},
		mgmt.DebugCategory{Path: "mgmt/-", Tag: 0o2002},
		mgmt.DebugCategory{Path: "sig/hup", Tag: 0o3001},
		mgmt.DebugCategory{Path: "hash/+", Tag: tagHashAdd, Help: "hash: new element"},
		mgmt.DebugCategory{Path: "hash/-", Tag: tagHashDel, Help: "hash: discarded element"},
		mgmt.DebugCategory{Path: "fstp/status", Tag: 0o44, Help: "fstp: status change"},
		mgmt.DebugCategory{Path: "fstp/root", Tag: 0o45, Help: "fstp: rootswitch/port change"},
		mgmt.DebugCategory{Path: "fstp/+", Tag: 0o41, Help: "fstp: port becomes active"},
		mgmt.DebugCategory{Path: "fstp/-", Tag: 0o42, Help: "fstp: port becomes inactive"},
		mgmt.DebugCategory{Path: "port/+", Tag: tagPortAdd, Help: "new port"},
		mgmt.DebugCategory{Path: "port/-", Tag: tagPortDel, Help: "closed port"},
		mgmt.DebugCategory{Path: "port/descr", Tag: tagPortDescr, Help: "set port description"},
		mgmt.DebugCategory{Path: "port/ep/+", Tag: tagEPAdd, Help: "new endpoint"},
		mgmt.DebugCategory{Path: "port/ep/-", Tag: tagEPDel, Help: "closed endpoint"},
		mgmt.DebugCategory{Path: "packet/in", Tag: 0o1001},
		mgmt.DebugCategory{Path: "packet/out", Tag: 0o1002},
	)
	c.cancel = c.sw.Subscribe(c.event)
	return c
}

// Event reports a debug event of the program itself (such as sig/hup) to subscribed sessions.
func (c *Console) Event(path, msg string) { c.Server.Event(path, msg) }

// Close unsubscribes from the switch and closes every session and listener.
func (c *Console) Close() error {
	c.cancel()
	return c.Server.Close()
}

func (c *Console) dsShowinfo(_ *mgmt.Session, w io.Writer, _ string) error {
	fmt.Fprintf(w, "ctl dir %s\nstd mode 0%03o\n", c.cfg.CtlDir, c.cfg.CtlMode)
	return nil
}

func (c *Console) showinfo(_ *mgmt.Session, w io.Writer, _ string) error {
	m := c.sw.MAC()
	fmt.Fprintf(w, "%s\n", Banner())
	fmt.Fprintf(w, "pid %d MAC %s uptime %d\n", os.Getpid(), m, int(c.sw.Uptime().Seconds()))
	if c.cfg.MgmtPath != "" {
		fmt.Fprintf(w, "mgmt %s perm 0%03o\n", c.cfg.MgmtPath, c.cfg.MgmtMode)
	}
	return nil
}
