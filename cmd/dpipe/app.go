// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"fmt"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/dpipe"
	"github.com/urfave/cli/v2"
)

// runPipeline runs a parsed command line (runChain) and returns nil or the exit status as a
// cmdutil.ExitError; tests replace it.
var runPipeline = runChain

func newApp() *cli.App {
	app := cmdutil.NewApp("dpipe", "bi-directional pipe between commands")
	app.ArgsUsage = "cmd1 [arg1...] = cmd2 [arg2...] [= cmd3 [arg3...]]..."
	// dpipe parses its own getopt-style options ("+dp:P:hnN") and stops at the first command word,
	// so that the commands' own options reach them untouched.
	app.SkipFlagParsing = true
	app.HideHelp = true
	app.HideVersion = true
	app.Action = run
	return app
}

func run(c *cli.Context) error {
	p, err := dpipe.Parse(c.Args().Slice())
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "dpipe: %v\n%s", err, dpipe.Usage)
		return cmdutil.Exit(cmdutil.UsageCode)
	}
	if p.Help {
		// Like the reference, the help goes to stderr; unlike it, nothing is killed and the status is 0.
		fmt.Fprint(c.App.ErrWriter, dpipe.Usage)
		return nil
	}
	return runPipeline(c.Context, p)
}
