// SPDX-License-Identifier: GPL-2.0-or-later

// Package dpipe implements the bi-directional pipe of vdeplug4's dpipe(1): the command-line syntax
// (Parse, a pure function) and the plumbing that connects a chain of commands with pipes (StartChain).
// The process-level behaviour of the dpipe program (process group, pid files, daemon, signals, exec of
// the last command, exit status) is the command's, in cmd/dpipe.
//
// In "a = b" the standard output of a feeds the standard input of b and vice versa. In "a = b = c" the
// middle command b talks to a on its standard input and output and to c on the alternate descriptors
// 3 (read from c) and 4 (write to c), whose numbers are also exported to every command as the
// environment variables ALTERNATE_STDIN and ALTERNATE_STDOUT. "a =} b }= c" makes b a one-way filter on
// the data flowing from a to c (c's output goes straight back to a); "a ={ b {= c" is the mirror image.
// Inside brackets "=" chains further one-way filters in the same direction, and "}={" (or "{=}") closes
// one bracket and opens the other.
//
// dpipe does no framing of its own: it only connects pipes.
package dpipe
