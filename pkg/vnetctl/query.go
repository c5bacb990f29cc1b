// SPDX-License-Identifier: GPL-2.0-or-later

package vnetctl

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/govde/govde/pkg/mgmt"
	"github.com/govde/govde/pkg/netctl"
)

// mgmtTimeout bounds connecting to the switch's console and each reply.
const mgmtTimeout = 5 * time.Second

// transcript runs cmd on the management socket and returns what the switch sent, as it sent it: the
// banner, the prompt, the reply and the prompt after it; ok reports a "1000 Success" result.
func transcript(sock, cmd string) (out string, ok bool, err error) {
	var b bytes.Buffer
	var prompt string
	var lines []string
	c, err := mgmt.Dial(sock, mgmt.ClientOptions{Timeout: mgmtTimeout, Trace: func(dir byte, line string) {
		if dir == '<' {
			lines = append(lines, line)
		}
	}})
	if err != nil {
		return "", false, err
	}
	prompt = c.Prompt()
	r, err := c.Do(cmd)
	c.Close()
	<-c.Done()
	for _, l := range lines {
		if l == prompt && prompt != "" {
			b.WriteString(l)
		} else {
			b.WriteString(l + "\n")
		}
	}
	return b.String(), err == nil && r.Code == mgmt.CodeSuccess, err
}

// query prints head, the transcript of cmd and a blank line (info, ports); without the socket it warns
// (level 2: silently by default) and returns 1.
func (s *state) query(head, cmd, missing string) int {
	if _, err := os.Stat(s.msock); err != nil {
		s.log.warn(2, 1, "%s", missing)
		return 1
	}
	fmt.Fprintln(s.env.Stdout, head)
	out, _, err := transcript(s.msock, cmd)
	fmt.Fprint(s.env.Stdout, out)
	if err != nil {
		fmt.Fprintf(s.env.Stdout, "%s: %v\n", s.msock, err)
	} else {
		fmt.Fprintln(s.env.Stdout)
	}
	fmt.Fprintln(s.env.Stdout)
	return 0
}

// alive reports whether a switch answers showinfo with success on the management socket.
func (s *state) alive() bool {
	_, ok, _ := transcript(s.msock, "showinfo")
	return ok
}

// endpoints returns the last word of every port/print line about an endpoint, and the TAP among them
// (the endpoint of a "tuntap" line).
func (s *state) endpoints() (eps []string, tap string) {
	out, _, err := transcript(s.msock, "port/print")
	if err != nil {
		return nil, ""
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if strings.Contains(l, "endpoint") {
			eps = append(eps, f[len(f)-1])
		}
		if strings.Contains(l, "tuntap") && tap == "" {
			tap = f[len(f)-1]
		}
	}
	return eps, tap
}

// check counts the switch's TAP endpoints that exist as interfaces and have a live switch process on
// them. Exit status 1 exactly when there is none.
func (s *state) check() int {
	var eps []string
	if _, err := os.Stat(s.msock); err == nil {
		eps, _ = s.endpoints()
	}
	tapOK, switchOK, missing := 0, 0, 0
	for _, e := range eps {
		if !strings.HasPrefix(e, "tap") {
			continue
		}
		if !netctl.Exists(e) {
			continue
		}
		tapOK++
		if len(switchProcs(e)) > 0 {
			switchOK++
		} else {
			missing++
		}
	}
	if !s.Terse {
		if switchOK == 0 || switchOK != tapOK {
			s.log.warn(1, 1, "switchNOK for USER=%q: #tap=%d  => [NOK]", s.user, tapOK)
			s.log.warn(1, 1, " Missing #switchProc4Tap = %d", missing)
			s.log.warn(1, 1, " Present #switchOK       = %d", switchOK)
			s.log.warn(1, 1, " Present #tapOK          = %d", tapOK)
			s.log.warn(1, 1, " Present #tap            = %d", countTaps())
			s.log.warn(1, 1, " Present #switchProc     = %d", len(switchProcs("")))
		}
	}
	if tapOK == 0 {
		return 1
	}
	if !s.Terse {
		s.log.info(1, 0, "VDE environment  for USER=%q => [OK]", s.user)
	}
	return 0
}

// countTaps counts the interfaces named tapN.
func countTaps() int {
	n := 0
	names, _ := netctl.Names()
	for _, e := range names {
		if strings.HasPrefix(e, "tap") && len(e) > 3 && e[3] >= '0' && e[3] <= '9' {
			n++
		}
	}
	return n
}

// switchProcs returns the pids of switch processes (vswitch or vde_switch, by program name) whose
// arguments include tap (any, when tap is "").
func switchProcs(tap string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		switch filepath.Base(args[0]) {
		case "vswitch", "vde_switch":
		default:
			continue
		}
		if tap == "" {
			pids = append(pids, pid)
			continue
		}
		for _, a := range args[1:] {
			if a == tap {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
