// SPDX-License-Identifier: GPL-2.0-or-later

package vnetctl

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/govde/govde/pkg/netctl"
)

// startTimeout bounds the wait for a started switch to answer on its management socket, and for a
// stopped one to exit.
const startTimeout = 10 * time.Second

// stateFile is where create notes the TAP, bridge and uplink, for a cancel after the switch died.
func (s *state) stateFile() string { return s.pfile + ".vnetctl" }

// bridgeName is -b, else the first bridge by name, else DefaultBridge.
func (s *state) bridgeName() string {
	if s.Bridge != "" {
		return s.Bridge
	}
	if bs, err := netctl.Bridges(); err == nil && len(bs) > 0 {
		return bs[0]
	}
	return DefaultBridge
}

// run runs a tool and returns its stdout; the error carries its stderr.
func (s *state) run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, msg)
	}
	return out.String(), nil
}

// create makes the bridge when missing, the TAP, and the switch, and gives the user its sockets. A
// failure undoes what this call made and returns 1.
func (s *state) create() int {
	var err error
	s.fwdApplied = -1
	if s.tunctl, err = s.tool("VDE_TUNCTL", "tunctl", "vde_tunctl"); err != nil {
		s.log.err(2, "Cannot get pathname for VDE tool \"vde_tunctl\", check your system.")
		return 2
	}
	if s.sw, err = s.tool("VDE_SWITCH", "vswitch", "vde_switch"); err != nil {
		s.log.err(2, "Cannot get pathname for VDE tool \"vde_switch\", check your system.")
		return 2
	}
	uid, gid, err := s.ids()
	if err != nil {
		s.log.err(1, "%v", err)
		return 1
	}
	bridge := s.bridgeName()
	uplink := s.Interface
	if uplink == "" {
		var uerr error
		if uplink, uerr = netctl.FirstUplink(); uerr != nil && !netctl.IsBridge(bridge) {
			s.log.err(1, "Can not evaluate first interface: %v", uerr)
			return 1
		}
	}
	s.log.info(1, 1, "CREATE:attach switch to bridge:<%s> interface:<%s>", bridge, uplink)

	var undo []func()
	rollback := func() int {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return 1
	}
	madeBridge := false
	if !netctl.IsBridge(bridge) {
		if s.env.Getenv("SSH_TTY") != "" && !s.Force {
			s.log.warn(1, 1, "You are executing the creation of a bridge via a network connection,")
			s.log.warn(1, 1, "which may disconnect your session. Call %q with \"-f\" to proceed anyway.", s.env.Prog)
			return 1
		}
		fd, err := strconv.Atoi(s.fwd)
		if err != nil || fd < 0 {
			s.log.err(1, "BRIDGE_FWDELAY=%q: want seconds", s.fwd)
			return 1
		}
		s.log.info(1, 1, "CREATE:new bridge=%s and exchange with interface:%s", bridge, uplink)
		if fd < netctl.MinSTPForwardDelay {
			s.log.info(2, 1, "CREATE:forward delay %d s raised to %d s, the least the kernel takes with STP on", fd, netctl.MinSTPForwardDelay)
			fd = netctl.MinSTPForwardDelay
		}
		s.fwdApplied = fd
		m, err := netctl.MakeBridge(bridge, uplink, netctl.BridgeSettings{STP: true, ForwardDelay: fd})
		if err != nil {
			s.log.err(1, "Cannot create bridge %s from %s: %v", bridge, uplink, err)
			return 1
		}
		madeBridge = true
		undo = append(undo, func() {
			if err := m.Undo(); err != nil {
				s.log.err(1, "rollback: %v", err)
			}
		})
	} else {
		s.log.info(1, 1, "CREATE:use present bridge:%s", bridge)
	}

	out, err := s.run(s.tunctl, "-b", "-u", s.user)
	tap := strings.TrimSpace(out)
	if err != nil || tap == "" || strings.ContainsAny(tap, " \n/") {
		s.log.err(1, "Failed to create a new TAP device, check:")
		s.log.err(1, "%s -b -u %s: %v", s.tunctl, s.user, err)
		return rollback()
	}
	undo = append(undo, func() { s.removeTap(tap) })
	s.log.info(1, 1, "CREATE:new device TAP=%s for USER=%s", tap, s.user)
	if err := netctl.AttachTap(tap, ""); err != nil {
		s.log.err(1, "Failed to setup a TAP device:%s: %v", tap, err)
		return rollback()
	}
	s.log.info(1, 1, "CREATE:new interface TAP=%s for USER=%s", tap, s.user)
	if err := netctl.AttachTap(tap, bridge); err != nil {
		s.log.err(1, "ATTACH failed:TAP=%s to bridge=%s: %v", tap, bridge, err)
		return rollback()
	}
	s.log.info(1, 1, "CREATE:attach TAP=%s to bridge=%s", tap, bridge)

	if code := s.stalePidfile(); code != 0 {
		return rollback()
	}
	s.log.info(1, 1, "CREATE:new switch %s %s %s", tap, s.ssock, s.msock)
	s.log.info(1, 1, "CREATE: ...may require a short while:")
	if s.fwdApplied >= 0 {
		s.log.info(1, 1, "CREATE:    BRIDGE_FORWARDDELAY=%dsec", s.fwdApplied)
	} else if fd, err := netctl.ForwardDelay(bridge); err == nil {
		s.log.info(1, 1, "CREATE:    BRIDGE_FORWARDDELAY=%dsec", fd)
	}
	if _, err := s.run(s.sw, "-d", "-t", tap, "-s", s.ssock, "-M", s.msock, "-p", s.pfile); err != nil {
		s.log.err(1, "Cannot start the switch: %v", err)
		return rollback()
	}
	undo = append(undo, func() { s.stopSwitch(true) })
	if !s.waitAlive() {
		s.log.err(1, "The switch on TAP=%s does not answer on %s", tap, s.msock)
		return rollback()
	}
	os.WriteFile(s.stateFile(), fmt.Appendf(nil, "tap=%s\nbridge=%s\nuplink=%s\nmadebridge=%v\n", tap, bridge, uplink, madeBridge), 0o644)
	undo = append(undo, func() { os.Remove(s.stateFile()) })

	for _, p := range []string{s.pfile, s.msock, s.ssock} {
		if err := chownR(p, uid, gid); err != nil {
			s.log.err(1, "chown %s.%s %s: %v", s.user, s.group, p, err)
			return rollback()
		}
	}
	if err := chmodR(s.ssock, func(m os.FileMode) os.FileMode { return m &^ (0o077 | os.ModeSetgid) }); err != nil {
		s.log.err(1, "chmod %s: %v", s.ssock, err)
		return rollback()
	}
	s.log.info(1, 1, "CREATE:grant switch-access by chown for USER=%s GROUP=%s", s.user, s.group)
	if s.SbitGroup != "" {
		s.log.info(1, 1, "CREATE:extend switch-access by chmod s-bit for GROUP=%s", s.group)
		sbit := func(m os.FileMode) os.FileMode { return m | os.ModeSetgid }
		if err := chmodR(s.ssock, sbit); err == nil {
			err = chmodR(s.msock, sbit)
		}
		if err != nil {
			s.log.err(1, "chmod g+s: %v", err)
			return rollback()
		}
	}
	return 0
}

// ids returns the uid and gid of the socket owner and group.
func (s *state) ids() (int, int, error) {
	u, err := user.Lookup(s.user)
	if err != nil {
		return 0, 0, fmt.Errorf("unknown user %q", s.user)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if s.group != "" {
		g, err := user.LookupGroup(s.group)
		if err != nil {
			return 0, 0, fmt.Errorf("unknown group %q", s.group)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}

// stalePidfile removes a pidfile whose process is gone, or that holds no pid, with the sockets its switch
// left; a pidfile of a live process is an error (that switch does not answer, or create would have
// reused it).
func (s *state) stalePidfile() int {
	if _, err := os.Lstat(s.pfile); err != nil {
		return 0
	}
	pid, err := readPid(s.pfile)
	if err == nil && pid > 0 && syscall.Kill(pid, 0) == nil && procIsSwitch(pid) {
		s.log.err(1, "A process with PID=%d holds %s, but no switch answers on %s", pid, s.pfile, s.msock)
		return 1
	}
	s.log.info(1, 1, "CREATE:remove stale pidfile %s", s.pfile)
	s.removeLeftovers()
	return 0
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// waitAlive waits for the switch to answer showinfo.
func (s *state) waitAlive() bool {
	deadline := time.Now().Add(startTimeout)
	for {
		if s.alive() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopSwitch asks the switch to shut down, or kills it by its pidfile when kill is set, and waits for
// it to exit. It reports whether the switch is gone.
func (s *state) stopSwitch(kill bool) bool {
	pid, _ := readPid(s.pfile)
	transcript(s.msock, "shutdown")
	if pid <= 0 {
		return true
	}
	deadline := time.Now().Add(startTimeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			if !kill {
				return false
			}
			syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(startTimeout)
			kill = false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// removeTap takes tap out of its bridge, sets it down and deletes it with tunctl -d.
func (s *state) removeTap(tap string) error {
	if !netctl.Exists(tap) {
		return nil
	}
	if err := netctl.DetachTap(tap); err != nil {
		return err
	}
	if s.tunctl == "" {
		var err error
		if s.tunctl, err = s.tool("VDE_TUNCTL", "tunctl", "vde_tunctl"); err != nil {
			return err
		}
	}
	var err error
	for i := 0; i < 50; i++ { // the switch may still be releasing the TAP
		if _, err = s.run(s.tunctl, "-d", tap); err == nil && !netctl.Exists(tap) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		err = fmt.Errorf("%s still exists after %s -d", tap, s.tunctl)
	}
	return err
}

// removeLeftovers removes the pidfile, the state file and the sockets of a switch that is gone.
func (s *state) removeLeftovers() {
	os.Remove(s.pfile)
	os.Remove(s.stateFile())
	if fi, err := os.Lstat(s.msock); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(s.msock)
	}
	if fi, err := os.Lstat(s.ssock); err == nil && fi.IsDir() {
		ents, _ := os.ReadDir(s.ssock)
		for _, e := range ents {
			if e.Type()&os.ModeSocket != 0 {
				os.Remove(filepath.Join(s.ssock, e.Name()))
			}
		}
		os.Remove(s.ssock)
	}
}

func chownR(root string, uid, gid int) error {
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// chmodR changes the mode of root and everything below it (sockets included) with f.
func chmodR(root string, f func(os.FileMode) os.FileMode) error {
	return filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		return chmodRaw(p, f(fi.Mode()))
	})
}

// chmodRaw sets the permission and setuid/setgid/sticky bits of p from m (os.Chmod on a socket is fine).
func chmodRaw(p string, m os.FileMode) error {
	mode := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		mode |= syscall.S_ISUID
	}
	if m&os.ModeSetgid != 0 {
		mode |= syscall.S_ISGID
	}
	if m&os.ModeSticky != 0 {
		mode |= syscall.S_ISVTX
	}
	if err := syscall.Chmod(p, mode); err != nil {
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	return nil
}
