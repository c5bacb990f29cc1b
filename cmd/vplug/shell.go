// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/govde/govde/internal/cmdutil"
)

// Login-shell use (vde_plug as a user's shell in /etc/passwd, so that "ssh user@host vde_plug" is a
// cable and nothing else): sshd runs the shell as "SHELL -c COMMAND", and for an interactive login
// with argv[0] "-NAME".

// brokerMessage is what vde_plug prints, on stderr, when asked to be anything but a cable.
const brokerMessage = "This is a Virtual Distributed Ethernet (vde) tunnel broker. \n" +
	"This is not a login shell, only vde_plug can be executed\n"

// ipLogGroup is the group whose members get -L (IP logging) when vplug runs as their shell.
const ipLogGroup = "vdeplug_iplog"

// shellCommands are the commands "-c" accepts: vde_plug's own name, and ours.
var shellCommands = []string{"vde_plug", "vplug"}

// loginShell reports whether argv0 is that of a login shell ("-vde_plug").
func loginShell(argv0 string) bool { return strings.HasPrefix(argv0, "-") }

// errShell is configFrom's error for "-c" with another command than vde_plug.
var errShell = fmt.Errorf("-c: only vde_plug can be executed")

// refuseShell logs "FAILED: user USER IP ADDR" on syslog, prints brokerMessage on w and returns the
// exit status 255, as vde_plug does.
func refuseShell(ident string, w io.Writer) error {
	lg := newLogger(ident)
	lg.out(fmt.Sprintf("FAILED: user %s IP %s", lg.user, lg.ip))
	lg.w.Close()
	fmt.Fprint(w, brokerMessage)
	return cmdutil.Exit(usageCode)
}

// inIPLogGroup reports whether the real user is a member of ipLogGroup (primary or supplementary).
func inIPLogGroup() bool {
	g, err := user.LookupGroup(ipLogGroup)
	if err != nil {
		return false
	}
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		return false
	}
	gids, err := u.GroupIds()
	if err != nil {
		return u.Gid == g.Gid
	}
	return u.Gid == g.Gid || slices.Contains(gids, g.Gid)
}
