// SPDX-License-Identifier: GPL-2.0-or-later

// Command vterm is a client for the management sockets of vde_switch, wirefilter, vswitch and any server
// that speaks the VDE management protocol. It replaces vdeterm, unixterm and unixcmd, and answers to those
// names when invoked through links.
//
//	vterm [-t TIMEOUT] SOCK                      interactive when stdin is a terminal, else commands from stdin
//	vterm [-j] [-t TIMEOUT] SOCK COMMAND [ARG...]  one command, its data on stdout, its errno as exit status
//	vterm -r SOCK                                raw byte relay (unixterm)
//	vdeterm SOCK | unixterm SOCK | unixcmd [-s SOCK] [-f FILE] [-v] COMMAND [ARG...]
package main

import "github.com/govde/govde/internal/cmdutil"

func main() { cmdutil.Main(newApp()) }
