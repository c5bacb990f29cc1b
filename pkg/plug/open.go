// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/govde/govde/internal/ids"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

// DefaultMode is the permission of the sockets a plug creates when neither the URL nor Options set one.
const DefaultMode os.FileMode = 0o700

// DefaultSwitches are the switch directories tried, in order, for the default switch.
var DefaultSwitches = []string{"/var/run/vde.ctl", "/tmp/vde.ctl"}

// Options are the open arguments that a URL's own parameters override (vdeplug4's vde_open_args).
type Options struct {
	// Descr is the full description sent to a switch (vde://), e.g. vde.Description("vplug:").
	Descr string
	// Group owns the sockets the plug creates (name or number); "" keeps the default.
	Group string
	// Mode is the permission of the sockets the plug creates; 0 means DefaultMode.
	Mode os.FileMode
	// Port is the switch port asked for (vde://) when the URL does not name one; 0 lets the switch choose.
	Port int
	// Timeout bounds connection set-up (switch handshake, qemu dial); 0 means 10 s.
	Timeout time.Duration
	// Stderr receives the "VDE terminated: cmd://…" notice and the stderr of cmd:// co-processes;
	// nil means os.Stderr.
	Stderr io.Writer
	// Raw opens the endpoint for pkg/relay's poll(2) loop where the scheme allows it: vde://, tap:// and
	// cmd:// endpoints then implement frame.Raw, their descriptors kept out of the Go runtime's poller.
	// They still work as ordinary Endpoints (a blocked ReadFrame then holds a thread). Other schemes
	// ignore Raw.
	Raw bool
}

// Open resolves raw (see Resolve), parses it and opens the plug. The Endpoint's ReadFrame returns io.EOF
// (or an error) when the other side goes away: a switch closing the control stream, a co-process exiting.
// A vde:// Endpoint is also a frame.Hanger, a tap:// one a frame.MTUer; see Options.Raw for frame.Raw.
// Errors are *Error values, printed as "vde_open URL: Strerror text…".
func Open(ctx context.Context, raw string, opt Options) (frame.Endpoint, error) {
	ep, err := open(ctx, raw, opt)
	if err != nil {
		return nil, &Error{URL: raw, Err: err}
	}
	return ep, nil
}

func open(ctx context.Context, raw string, opt Options) (frame.Endpoint, error) {
	resolved, err := Resolve(raw)
	if err != nil {
		return nil, err
	}
	u, err := ParseURL(resolved)
	if err != nil {
		return nil, err
	}
	if u.Mode == 0 {
		u.Mode = opt.Mode
	}
	if u.Mode == 0 {
		u.Mode = DefaultMode
	}
	if u.Group == "" {
		u.Group = opt.Group
	}
	if u.Port == 0 && !u.Port0 && u.PortGroup == "" {
		if opt.Port < 0 || opt.Port > maxPort {
			return nil, invalid(fmt.Sprintf("port %d: want 0..%d", opt.Port, maxPort))
		}
		u.Port = opt.Port
	}
	gid := -1
	if u.Group != "" && u.Scheme != "vde" && u.Node == nil {
		if gid, err = LookupGroup(u.Group); err != nil {
			return nil, err
		}
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	switch u.Scheme {
	case "vde":
		if opt.Descr == "" {
			opt.Descr = vde.Description("vplug:")
		}
		return openVDE(ctx, u, opt)
	case "ptp":
		return openPTP(u.Addr, u.Mode, gid)
	case "cmd":
		argv, _ := SplitCommand(u.Addr)
		return startCommand(argv, "cmd://"+u.Addr, opt.Stderr, opt.Raw)
	case "tap":
		return openTAP(u.Addr, opt.Raw)
	case "udp":
		return openUDP(u.Local, u.Remote)
	case "null":
		return newNull(), nil
	case "qemu+unix", "qemu+tcp":
		return openQEMU(ctx, u, gid, opt.Timeout)
	case "hub", "switch", "multi", "bonding":
		return openNode(u)
	case "seqpacket":
		fd, _ := parseFD(u.Addr)
		return OpenSeqpacket(fd)
	case "vxlan", "vxvde":
		return openVX(ctx, u.Scheme, u.Addr)
	}
	return nil, fmt.Errorf("scheme %q not handled", u.Scheme)
}

// Resolve returns the URL that raw stands for. An empty raw means the default switch: the first of
// $HOME/.vdeplug/default and $HOME/.vde2/default.switch that exists (a symbolic link stands for its target,
// a regular file for its first line, anything else for its own path), else "" (the DefaultSwitches).
// A raw naming a regular file is replaced by the file's first line, as vdeplug4 does.
func Resolve(raw string) (string, error) {
	if raw == "" {
		home := os.Getenv("HOME")
		if home == "" {
			return "", nil
		}
		for _, p := range []string{filepath.Join(home, ".vdeplug", "default"), filepath.Join(home, ".vde2", "default.switch")} {
			fi, err := os.Lstat(p)
			if err != nil {
				continue
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				t, err := os.Readlink(p)
				if err != nil {
					return "", err
				}
				if !filepath.IsAbs(t) && !strings.Contains(t, "://") {
					t = filepath.Join(filepath.Dir(p), t)
				}
				raw = t
			} else {
				raw = p
			}
			break
		}
		if raw == "" {
			return "", nil
		}
	}
	fi, err := os.Lstat(raw)
	if err != nil || !fi.Mode().IsRegular() {
		return raw, nil
	}
	f, err := os.Open(raw)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read URL file %s: %w", raw, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// LookupGroup returns the gid of a group name or, failing that, a group number (vdeplug4's order).
func LookupGroup(g string) (int, error) {
	if id, err := ids.Group(g); err == nil {
		return id, nil
	}
	return 0, invalid(fmt.Sprintf("group %q: no such group", g))
}

// setPerm applies mode and, when gid >= 0, the group to a socket file we created.
func setPerm(path string, mode os.FileMode, gid int) error {
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			return err
		}
	}
	return os.Chmod(path, mode)
}
