// SPDX-License-Identifier: GPL-2.0-or-later

package vnetctl

import (
	"os"
	"strings"
	"syscall"

	"github.com/govde/govde/pkg/netctl"
)

// cancel stops the answering switch, removes its TAP and, when it is DefaultBridge with no other user,
// the bridge (the uplink gets its addresses and routes back).
func (s *state) cancel() int {
	if fi, err := os.Stat(s.msock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		s.log.err(1, "Missing management socket for vde_switch=%q", s.msock)
		return 1
	}
	_, tap := s.endpoints()
	if tap == "" {
		pid, err := readPid(s.pfile)
		if err != nil {
			s.log.err(1, "Cannot find run-file:_pfile=%q", s.pfile)
			return 1
		}
		if !s.Force {
			s.log.err(1, "The switch on %q has no TAP port.", s.msock)
			s.log.err(1, "Use \"-f\" for forced kill of the process by it's PID=%d", pid)
			return 1
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if !s.stopSwitch(s.Force) {
		s.log.err(1, "Failed to \"shutdown\" vde_switch for TAP=%q.", tap)
		s.log.err(1, "Use \"-f\" for forced kill of the process")
		return 1
	}
	s.log.info(2, 0, "CANCEL:virtual switch for TAP=%q on QEMUMGMT=%q", tap, s.msock)
	return s.teardown(tap)
}

// cancelDead handles a call with no switch answering: nothing to do, unless a switch died and left its
// pidfile: then -f removes its TAP, sockets and pidfile (the original leaves them for good).
func (s *state) cancelDead() int {
	pid, err := readPid(s.pfile)
	_, serr := os.Lstat(s.msock)
	if err != nil && serr != nil {
		s.log.info(1, 0, "No switch found, nothing to do.")
		return 0
	}
	if err == nil && pid > 0 && syscall.Kill(pid, 0) == nil && len(switchProcs("")) > 0 && procIsSwitch(pid) {
		if !s.Force {
			s.log.err(1, "The switch with PID=%d does not answer on %q; use \"-f\" to kill it.", pid, s.msock)
			return 1
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
	st := s.readState()
	if !s.Force {
		s.log.info(1, 0, "No switch found, nothing to do.")
		s.log.warn(1, 1, "A dead switch left %s%s; \"-f cancel\" removes them.", s.pfile, quoteIf(" and TAP=", st["tap"]))
		return 0
	}
	s.log.info(1, 0, "CANCEL:remove what the dead switch left: pidfile %s, sockets, TAP=%q", s.pfile, st["tap"])
	return s.teardown(st["tap"])
}

// procIsSwitch reports whether pid runs a switch program.
func procIsSwitch(pid int) bool {
	for _, p := range switchProcs("") {
		if p == pid {
			return true
		}
	}
	return false
}

// readState reads the state file create wrote.
func (s *state) readState() map[string]string {
	m := map[string]string{}
	b, err := os.ReadFile(s.stateFile())
	if err != nil {
		return m
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// teardown removes the TAP, the switch's leftovers and, when unused, the default bridge.
func (s *state) teardown(tap string) int {
	st := s.readState()
	code := 0
	bridge := s.bridgeName()
	s.log.info(1, 0, "CANCEL:User provided bridge=%s", bridge)
	if tap != "" {
		if netctl.IsBridge(bridge) {
			s.log.info(1, 0, "CANCEL:bridge=%s remove TAP=%q", bridge, tap)
		}
		if err := s.removeTap(tap); err != nil {
			s.log.err(1, "Failed to CANCEL TAP=%q: %v", tap, err)
			code = 1
		} else {
			s.log.info(1, 0, "CANCEL:interface shutdown TAP=%q", tap)
			s.log.info(1, 0, "CANCEL:device remove TAP=%q", tap)
		}
	}
	s.removeLeftovers()
	if bridge != DefaultBridge {
		s.log.info(1, 0, "CANCEL:keep pre-present/non-standard bridge:%s != %s", bridge, DefaultBridge)
		return code
	}
	if !netctl.IsBridge(bridge) {
		return code
	}
	ports, err := netctl.Ports(bridge)
	if err != nil {
		s.log.err(1, "%v", err)
		return 1
	}
	taps, others := 0, []string{}
	for _, p := range ports {
		if strings.HasPrefix(p, "tap") {
			taps++
		} else {
			others = append(others, p)
		}
	}
	if taps > 0 {
		s.log.info(1, 0, "CANCEL:Still in use(%d) bridge:%s", taps, bridge)
		return code
	}
	if len(others) > 1 {
		s.log.info(1, 0, "CANCEL:Matched more non-TAP interfaces(%d=>1) than expected bridge:%s", len(others), bridge)
		return code
	}
	uplink := st["uplink"]
	if len(others) == 1 {
		uplink = others[0]
	}
	if uplink == "" {
		uplink = s.Interface
	}
	s.log.info(1, 0, "CANCEL:remove standard-created bridge:%s == %s", bridge, DefaultBridge)
	if uplink == "" {
		s.log.err(1, "No uplink known for bridge %s; not removed", bridge)
		return 1
	}
	if err := netctl.Reclaim(bridge, uplink); err != nil {
		s.log.err(1, "Cannot remove bridge %s: %v", bridge, err)
		return 1
	}
	return code
}
