// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/mgmt"
	"github.com/urfave/cli/v2"
)

// runRaw relays bytes between stdin/stdout and sock, like unixterm: same error text, exit 255 when the
// connect fails, exit 0 on EOF or hang-up of either side.
func runRaw(c *cli.Context, sock string) error {
	if sock == "" { // unixterm without an argument connects to "(null)"
		sock = "(null)"
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "Socket connecting error: %s\n", strerror(err))
		return cmdutil.Exit(ExitSession)
	}
	if err := mgmt.Relay(conn, c.App.Reader, c.App.Writer); err != nil {
		return cmdutil.Exitf(ExitSession, "%s: %v", sock, err)
	}
	return nil
}

// strerror renders err's errno as glibc's strerror does ("No such file or directory").
func strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
