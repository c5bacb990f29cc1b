// SPDX-License-Identifier: GPL-2.0-or-later

package vnetctl

import (
	"os"
	"os/exec"
	"strings"
)

// remote runs the same command line, without -r and -l and with -n added, on each host of -r through
// ssh (VNETCTL_SSH, default "ssh", split at blanks), as -l's user or the user@ of the host. The remote
// program is VNETCTL_REMOTE (default "vnetctl"). It returns the first failing host's exit status.
func (s *state) remote() int {
	sshCmd := strings.Fields(s.env.Getenv("VNETCTL_SSH"))
	if len(sshCmd) == 0 {
		sshCmd = []string{"ssh"}
	}
	prog := s.env.Getenv("VNETCTL_REMOTE")
	if prog == "" {
		prog = "vnetctl"
	}
	var rargs []string
	for i := 0; i < len(s.Args); i++ {
		switch s.Args[i] {
		case "-r", "-l":
			i++
			continue
		}
		rargs = append(rargs, shellQuote(s.Args[i]))
	}
	rargs = append(rargs, "-n")
	code := 0
	for _, h := range strings.Split(s.RHosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		args := append([]string{}, sshCmd[1:]...)
		if s.RUser != "" {
			args = append(args, "-l", s.RUser)
		}
		args = append(args, h, shellQuote(prog)+" "+strings.Join(rargs, " "))
		cmd := exec.CommandContext(s.ctx, sshCmd[0], args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, s.env.Stdout, s.env.Stderr
		err := cmd.Run()
		if err != nil && code == 0 {
			code = 1
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
				code = ee.ExitCode()
			} else {
				s.log.err(1, "%s %s: %v", sshCmd[0], h, err)
			}
		}
	}
	return code
}

// shellQuote quotes v for the remote shell.
func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// sudo re-runs the whole command through sudo or ksu when the caller is not root, the action changes the
// system (create, cancel), and -Z or USE_SUDO/USE_K5USERS ask for it. ok is false when nothing was run.
func (s *state) sudo(args []string) (code int, ok bool) {
	if s.env.Euid == 0 || (s.Action != Create && s.Action != Cancel) {
		return 0, false
	}
	useSudo := s.env.Getenv("USE_SUDO") != ""
	useKsu := s.env.Getenv("USE_K5USERS") != ""
	for _, z := range strings.Split(strings.ToUpper(s.SuOpts), ",") {
		switch z {
		case "SUDO":
			useSudo = true
		case "NOSUDO":
			useSudo = false
		case "KSU":
			useKsu = true
		case "NOKSU":
			useKsu = false
		case "ALL":
			useSudo, useKsu = true, true
		}
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	var cmd *exec.Cmd
	switch {
	case useKsu:
		cmd = exec.CommandContext(s.ctx, "ksu", append([]string{"root", "-q", "-e", self}, args...)...)
	case useSudo:
		cmd = exec.CommandContext(s.ctx, "sudo", append([]string{"-n", "--preserve-env=USER,QEMUSOCK,QEMUMGMT,CTYS_SOCKBASE,BRIDGE_FWDELAY,VDE_SWITCH,VDE_TUNCTL", self}, args...)...)
	default:
		return 0, false
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, s.env.Stdout, s.env.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), true
		}
		s.log.err(1, "%s: %v", cmd.Path, err)
		return 1, true
	}
	return 0, true
}
