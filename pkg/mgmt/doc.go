// SPDX-License-Identifier: GPL-2.0-or-later

// Package mgmt is the VDE text management console: a server configurable for any tool (vswitch,
// wirefilter), the client used by vterm (client*.go), and C-compatible argument scanning for the
// tools' commands (cparse.go, scanf.go: atoi, strtol, strtod, sscanf).
//
// protocol.go holds the wire constants every VDE console shares. Each read from a session is one
// command line (at most ReadSize bytes, one trailing newline stripped, leading blanks skipped, empty
// and '#' lines silent); the first command whose path is a prefix of the line runs, with the rest of
// the line as its argument. Commands that print data have their output wrapped in a DataHeader …
// DataEnd block; every command ends with ResultSuccess or ResultFormat (errno, glibc strerror) and
// the prompt. logout and shutdown end the session with EndOfSession. Sessions that did debug/add
// receive asynchronous AsyncFormat event lines.
//
// What differs per tool is a Config: banner, prompt, end-of-session text, help layout (header lines,
// entry format), the line load echoes, and the command table. The built-ins (help, logout, shutdown,
// load, debug/*) are Builtin kinds placed in the tool's table under the tool's own path and wording,
// so vde_switch's console and wirefilter's are two Configs of one Server.
//
// The same engine serves Unix socket sessions (Serve), the console on a foreground program's stdin
// and stdout (ServeConsole) and rc files run silently at startup (RunScript). Replies have no size
// limit: they stream to the client with back-pressure, and a command waiting for its client to read
// does not hold the other sessions (session.go); scripts of any length run line by line.
package mgmt
