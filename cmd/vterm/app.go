// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chzyer/readline"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/urfave/cli/v2"
)

// ExitSession is the exit status when the session itself fails: connect, no prompt, timeout, peer gone.
const ExitSession = 255

var (
	rawFlag = &cli.BoolFlag{Name: "raw", Aliases: []string{"r"},
		Usage: "relay bytes between the terminal and SOCK unchanged, like unixterm"}
	jsonFlag = &cli.BoolFlag{Name: "json", Aliases: []string{"j"},
		Usage: "print each reply as a JSON object {command, code, text, data}"}
	timeoutFlag = &cli.StringFlag{Name: "timeout", Aliases: []string{"t"}, Value: "10s",
		Usage: "wait at most `TIME` (seconds, or a duration such as 500ms) to connect and for each reply"}
	sockFlag = &cli.StringFlag{Name: "sock", Aliases: []string{"s"},
		Usage: "management socket `PATH` (default /var/run/NAME, NAME being the program name)"}
	rcFlag = &cli.StringFlag{Name: "rcfile", Aliases: []string{"f"},
		Usage: "unixcmd's parse-machine `FILE`: accepted and ignored (vterm needs no script)"}
	verboseFlag = &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"},
		Usage: "trace the commands sent and the lines received on stderr"}
	// versionFlag replaces urfave's, whose -v alias is unixcmd's (and vterm's) verbose flag.
	versionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
)

// newApp builds the App for the name the program was invoked as.
func newApp() *cli.App { return newAppAs(cmdutil.ProgName()) }

// newAppAs builds the App for name: vdeterm, unixterm and unixcmd (or vdecmd) are the compat personalities,
// anything else is vterm.
func newAppAs(name string) *cli.App {
	switch name {
	case "unixterm":
		app := cmdutil.NewApp(name, "relay bytes between the terminal and a management socket (vterm -r)")
		app.ArgsUsage = "SOCK"
		app.HideVersion = true
		app.Action = func(c *cli.Context) error {
			if c.NArg() > 1 {
				return cmdutil.UsageErrorf("%q: unixterm takes one socket path", c.Args().Get(1))
			}
			return runRaw(c, c.Args().First())
		}
		return app
	case "unixcmd", "vdecmd":
		app := cmdutil.NewApp(name, "run one management command (vterm SOCK COMMAND)")
		app.ArgsUsage = "COMMAND [ARG...]"
		app.Flags = []cli.Flag{sockFlag, rcFlag, verboseFlag, jsonFlag, timeoutFlag, versionFlag}
		app.HideVersion = true
		app.Action = withVersion(runUnixcmd)
		return app
	}
	app := cmdutil.NewApp(name, "VDE management console: interactive, one-shot, scripted or raw")
	app.ArgsUsage = "SOCK [COMMAND [ARG...]]"
	app.Description = "With only SOCK and a terminal on stdin, vterm is interactive (history, tab completion).\n" +
		"With a COMMAND, it runs it, prints its data lines and exits with its errno (0 on success).\n" +
		"Without a COMMAND, when stdin is not a terminal or with -j, it runs each line of stdin as a command.\n" +
		"Invoked as vdeterm it is vterm, as unixterm vterm -r, as unixcmd a one-shot client. See vterm(1)."
	app.Flags = []cli.Flag{rawFlag, jsonFlag, timeoutFlag, verboseFlag, versionFlag}
	app.HideVersion = true
	app.Action = withVersion(runVterm)
	return app
}

// withVersion handles --version before action.
func withVersion(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.Bool(versionFlag.Name) {
			fmt.Fprintf(c.App.Writer, "%s version %s\n", c.App.Name, c.App.Version)
			return nil
		}
		return action(c)
	}
}

// config is what the flags and arguments say, checked.
type config struct {
	name    string // program name, for messages
	sock    string
	command string // one-shot command ("" = interactive or stdin)
	raw     bool
	json    bool
	verbose bool
	timeout time.Duration
}

// configFrom checks the flags and arguments of vterm (and vdeterm) without touching any socket.
func configFrom(c *cli.Context) (config, error) {
	cfg := config{name: c.App.Name, raw: c.Bool(rawFlag.Name), json: c.Bool(jsonFlag.Name), verbose: c.Bool(verboseFlag.Name)}
	if c.NArg() == 0 {
		return cfg, cmdutil.UsageErrorf("missing management socket path")
	}
	cfg.sock = c.Args().First()
	cfg.command = strings.Join(c.Args().Tail(), " ")
	if cfg.raw && cfg.command != "" {
		return cfg, cmdutil.UsageErrorf("%q: -r takes only the socket path", cfg.command)
	}
	d, err := parseTimeout(c.String(timeoutFlag.Name))
	if err != nil {
		return cfg, err
	}
	cfg.timeout = d
	return cfg, nil
}

// parseTimeout accepts seconds ("5", "0.5") or a Go duration ("500ms", "1m"); it must be positive.
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, cmdutil.UsageErrorf("-t %q: want seconds or a duration such as 500ms", s)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d <= 0 {
		return 0, cmdutil.UsageErrorf("-t %q: want a positive time", s)
	}
	return d, nil
}

func runVterm(c *cli.Context) error {
	cfg, err := configFrom(c)
	if err != nil {
		return err
	}
	if cfg.raw {
		return runRaw(c, cfg.sock)
	}
	w, ew := c.App.Writer, c.App.ErrWriter
	switch {
	case cfg.command != "":
		return runCommands(cfg, strings.NewReader(cfg.command+"\n"), w, ew)
	case !cfg.json && isTerminal(os.Stdin) && isTerminal(os.Stdout):
		return runInteractive(cfg, ew)
	default:
		return runCommands(cfg, c.App.Reader, w, ew)
	}
}

func runUnixcmd(c *cli.Context) error {
	name := c.App.Name
	if c.NArg() == 0 {
		return &cmdutil.UsageError{Err: fmt.Errorf("missing command"), ShowUsage: true}
	}
	if f := c.String(rcFlag.Name); f != "" {
		fmt.Fprintf(c.App.ErrWriter, "%s: note: -f %s ignored: vterm needs no parse-machine script\n", name, f)
	}
	cfg := config{
		name:    name,
		sock:    c.String(sockFlag.Name),
		command: strings.Join(c.Args().Slice(), " "),
		json:    c.Bool(jsonFlag.Name),
		verbose: c.Bool(verboseFlag.Name),
	}
	if cfg.sock == "" {
		cfg.sock = "/var/run/" + name
	}
	d, err := parseTimeout(c.String(timeoutFlag.Name))
	if err != nil {
		return err
	}
	cfg.timeout = d
	return runCommands(cfg, strings.NewReader(cfg.command+"\n"), c.App.Writer, c.App.ErrWriter)
}

// dial opens the session, tracing on ew when verbose.
func dial(cfg config, ew io.Writer, onAsync func(string)) (*mgmt.Client, error) {
	opt := mgmt.ClientOptions{Timeout: cfg.timeout, OnAsync: onAsync}
	if cfg.verbose {
		opt.Trace = func(dir byte, line string) { fmt.Fprintf(ew, "%c %s\n", dir, line) }
	}
	c, err := mgmt.Dial(cfg.sock, opt)
	if err != nil {
		return nil, cmdutil.Exitf(ExitSession, "%v", err)
	}
	return c, nil
}

func isTerminal(f *os.File) bool { return readline.IsTerminal(int(f.Fd())) }
