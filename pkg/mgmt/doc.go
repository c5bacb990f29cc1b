// SPDX-License-Identifier: GPL-2.0-or-later

// Package mgmt is the VDE text management console: the server side shared by vswitch and wirefilter
// (Server), and the client side used by vterm (client*.go).
//
// A Server holds a command table in registration order. Each read from a session is one command line
// (at most 128 bytes, one trailing newline stripped, leading blanks skipped, empty and '#' lines silent);
// the first command whose path is a prefix of the line runs, with the rest of the line as its argument.
// Commands that print data have their output wrapped in a "0000 DATA END WITH '.'" block; every command
// ends with "1000 Success" or "1%03d <glibc strerror>" and the prompt. Sessions that did debug/add
// receive asynchronous "3%03o path msg" event lines.
//
// The same engine serves Unix socket sessions (Serve), the console on a foreground switch's stdin and
// stdout (ServeConsole) and rc files run silently at startup (RunScript).
package mgmt
