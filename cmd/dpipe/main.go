// SPDX-License-Identifier: GPL-2.0-or-later

// Command dpipe joins commands with pipes in both directions, as vdeplug4's dpipe does.
//
//	dpipe [OPTIONS] cmd1 [arg1...] = cmd2 [arg2...] [= cmd3 [arg3...]]...
//	dpipe [OPTIONS] cmd1 ... =} filter [args...] }= cmd3 ...
//	dpipe [OPTIONS] cmd1 ... ={ filter [args...] {= cmd3 ...
//
// Options: -p/--pidfile PIDFILE, -P/--pgrpfile PGRPFILE, -d/--daemon, -n/--nowrapproc,
// -N/--nowrapnoclean, -h/--help. See man/dpipe.1.
package main

import "github.com/govde/govde/internal/cmdutil"

func main() { cmdutil.Main(newApp()) }
