// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/ids"
	"github.com/govde/govde/internal/rawfd"
	"github.com/govde/govde/pkg/frame"
)

// DefaultDirs are the switch directories Dial tries, in order, when it is given no directory: vde_switch's
// default as root, then as an ordinary user.
var DefaultDirs = []string{"/var/run/vde.ctl", "/tmp/vde.ctl"}

// fallbackDataDirs hold the client's datagram socket (as vde.PPPPP-NNNNN) when it cannot be bound in the
// switch directory, as in vdeplug4.
var fallbackDataDirs = []string{"/var/run", "/var/tmp", "/tmp"}

// DefaultTimeout bounds the wait for the switch's reply when DialOptions.Timeout is zero. vde_switch r586
// never answers a request it refuses (a port out of range, taken or forbidden), so a bound is needed.
const DefaultTimeout = 5 * time.Second

// DefaultMode is the permission of the client's datagram socket when DialOptions.Mode is zero.
const DefaultMode os.FileMode = 0o700

// ErrRefused is wrapped by Dial's error when the switch closed the control connection without a reply,
// or did not reply within the timeout (then os.ErrDeadlineExceeded is wrapped too).
var ErrRefused = errors.New("switch refused the connection")

// DialOptions are the parameters of a vde:// connection (vdeplug4's port, portgroup, group and mode).
type DialOptions struct {
	// Port is the switch port wanted (bits 8-31 of the request type); 0 means any free port.
	Port int
	// Port0 asks for the management port 0 (REQ_NEW_PORT0), as vdeplug4's "[0]" does.
	Port0 bool
	// PortGroup, when set (and no port is asked for), is tried first as the control socket DIR/PortGroup,
	// as vdeplug4 does for a non-numeric "[name]"; DIR/ctl is used when that fails.
	PortGroup string
	// Group, a group name or number, becomes the group of the client's datagram socket.
	Group string
	// Mode is the permission of the client's datagram socket and of the switch's data socket; 0 means
	// DefaultMode (0700).
	Mode os.FileMode
	// Descr is the complete description sent to the switch; see Description. It is truncated to
	// MaxDescrVDE bytes.
	Descr string
	// Timeout bounds the wait for the switch's reply; 0 means DefaultTimeout.
	Timeout time.Duration
	// Raw keeps the data socket out of the Go runtime's poller: the Conn is then a frame.Raw whose
	// descriptor pkg/relay's poll(2) loop uses directly, and RawData fails.
	Raw bool
}

// A Conn is a client connection to a switch port. It is a frame.Endpoint over the connected datagram
// socket; Done reports the end of the control stream, which is how the switch says the port was closed.
// Opened with DialOptions.Raw it is also a frame.Raw.
type Conn struct {
	*link
	replyPath string
	ctlPath   string
}

var (
	_ frame.Endpoint = (*Conn)(nil)
	_ frame.Hanger   = (*Conn)(nil)
	_ frame.Raw      = (*Conn)(nil)
)

// ReplyPath returns the path of the switch's data socket this Conn is connected to ("DIR/001.6").
func (c *Conn) ReplyPath() string { return c.replyPath }

// CtlPath returns the path of the control socket the Conn connected to ("DIR/ctl").
func (c *Conn) CtlPath() string { return c.ctlPath }

// Port returns the port number encoded in the switch's data socket name "NNN.fd", or -1 when the name
// has another form (vdeplug4 netnodes use "fdN").
func (c *Conn) Port() int { return PortOfPath(c.replyPath) }

// PortOfPath returns the port number NNN of a vde_switch data socket path ".../NNN.fd", or -1.
func PortOfPath(p string) int {
	base := filepath.Base(p)
	num, _, ok := strings.Cut(base, ".")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// Description returns the description vdeplug4 sends for prefix: "prefix user=NAME pid=PID", plus
// " SSH=IP" when $SSH_CLIENT is set, truncated to MaxDescrVDE bytes. NAME is the effective user's name,
// or its number when it has none.
func Description(prefix string) string {
	d := fmt.Sprintf("%s user=%s pid=%d", prefix, ids.UserName(os.Geteuid()), os.Getpid())
	if ssh, ok := os.LookupEnv("SSH_CLIENT"); ok {
		ip, _, _ := strings.Cut(ssh, " ")
		d += " SSH=" + ip
	}
	if len(d) > MaxDescrVDE {
		d = d[:MaxDescrVDE]
	}
	return d
}

// Dial connects to the switch whose control directory is dir, as vdeplug4's vde:// module does, and
// returns the connected port. An empty dir tries DefaultDirs. It fails with an error wrapping ErrRefused
// when the switch closes the control connection or does not answer within opt.Timeout, and with ctx's
// error when ctx ends first.
func Dial(ctx context.Context, dir string, opt DialOptions) (*Conn, error) {
	c, err := dial(ctx, dir, opt)
	if err != nil {
		if dir == "" {
			dir = strings.Join(DefaultDirs, " or ")
		}
		return nil, fmt.Errorf("vde connect %s: %w", dir, err)
	}
	return c, nil
}

func dial(ctx context.Context, dir string, opt DialOptions) (*Conn, error) {
	if opt.Port < 0 || opt.Port > maxPort {
		return nil, fmt.Errorf("port %d: want 0..%d: %w", opt.Port, maxPort, os.ErrInvalid)
	}
	mode := opt.Mode.Perm()
	if opt.Mode == 0 {
		mode = DefaultMode
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	gid := -1
	if opt.Group != "" {
		g, err := lookupGroup(opt.Group)
		if err != nil {
			return nil, err
		}
		gid = g
	}
	dirs := DefaultDirs
	if dir != "" {
		real, err := realpath(dir)
		if err != nil {
			return nil, err
		}
		dirs = []string{real}
	}

	var (
		ctl      *net.UnixConn
		ctlPath  string
		base     string
		viaGroup bool
		err      error
	)
	for _, d := range dirs {
		ctl, ctlPath, viaGroup, err = connectCtl(ctx, d, opt)
		if err == nil {
			base = d
			break
		}
	}
	if ctl == nil {
		return nil, err
	}

	data, bound, err := bindData(base)
	if err != nil {
		ctl.Close()
		return nil, err
	}
	fail := func(err error) (*Conn, error) {
		os.Remove(bound)
		data.Close()
		ctl.Close()
		return nil, err
	}

	// Permissions of our socket (vdeplug4): the switch, possibly another user, must be able to send to it.
	if gid >= 0 {
		if err := os.Chown(bound, -1, gid); err != nil {
			return fail(err)
		}
	} else if mode&0o077 == 0 {
		var st unix.Stat_t
		if unix.Stat(ctlPath, &st) == nil && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
			if os.Chown(bound, -1, int(st.Gid)) == nil {
				mode |= 0o070
			} else {
				mode |= 0o077
			}
		}
	}
	os.Chmod(bound, mode) // vdeplug4 ignores a failure here too

	m := Message{ClientPath: bound, Descr: opt.Descr}
	if len(m.Descr) > MaxDescrVDE {
		m.Descr = m.Descr[:MaxDescrVDE]
	}
	if !viaGroup {
		m.Port, m.Port0 = opt.Port, opt.Port0
	}
	var buf [MaxRequestLen]byte
	req, err := AppendRequest(buf[:0], m)
	if err != nil {
		return fail(err)
	}
	if _, err := ctl.Write(req); err != nil {
		return fail(fmt.Errorf("send request: %w", err))
	}

	path, err := readReply(ctx, ctl, timeout)
	if err != nil {
		return fail(err)
	}
	if err := connectRaw(data, path); err != nil {
		return fail(fmt.Errorf("connect %s: %w", path, err))
	}
	os.Chmod(path, mode) // as vdeplug4; fails harmlessly when the switch runs as another user
	// Both ends are connected: our socket file is no longer needed (vdeplug4 removes it too).
	os.Remove(bound)
	if opt.Raw {
		raw, err := rawData(data)
		if err != nil {
			return fail(err)
		}
		return &Conn{link: newRawLink(raw, ctl), replyPath: path, ctlPath: ctlPath}, nil
	}
	return &Conn{link: newLink(data, ctl), replyPath: path, ctlPath: ctlPath}, nil
}

// rawData takes the descriptor of the connected data socket c out of the runtime poller: it keeps a
// duplicate (non-blocking, as the open file is) and closes c, which deregisters the original.
func rawData(c *net.UnixConn) (*rawfd.FD, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("dup data socket: %w", derr)
	}
	c.Close()
	raw, err := rawfd.New(nfd, true, true)
	if err != nil {
		unix.Close(nfd)
		return nil, err
	}
	return raw, nil
}

// connectCtl connects to the portgroup socket or to DIR/ctl. viaGroup reports a portgroup connection, on
// which vdeplug4 sends no port number.
func connectCtl(ctx context.Context, dir string, opt DialOptions) (c *net.UnixConn, path string, viaGroup bool, err error) {
	var d net.Dialer
	if opt.PortGroup != "" && opt.Port == 0 && !opt.Port0 {
		path = filepath.Join(dir, opt.PortGroup)
		if nc, err := d.DialContext(ctx, "unix", path); err == nil {
			return nc.(*net.UnixConn), path, true, nil
		}
	}
	path = filepath.Join(dir, "ctl")
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, "", false, err
	}
	return nc.(*net.UnixConn), path, false, nil
}

// bindData binds the client's datagram socket at DIR/.PPPPP-NNNNN, counting NNNNN up while the name is
// taken; when DIR refuses, it tries the fallback directories with vde.PPPPP-NNNNN, the counter restarting
// at 0 once and then carrying on from one directory to the next (as observed with vdeplug4 4.0.1).
func bindData(dir string) (*net.UnixConn, string, error) {
	pid := os.Getpid()
	n := 0
	try := func(format, d string) (*net.UnixConn, string, error) {
		for range 100000 {
			p := fmt.Sprintf(format, d, pid, n)
			n++
			c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
			if err == nil {
				return c, p, nil
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				return nil, "", err
			}
		}
		return nil, "", fmt.Errorf("bind in %s: %w", d, syscall.EADDRINUSE)
	}
	c, p, err := try("%s/.%05d-%05d", dir)
	if err == nil {
		return c, p, nil
	}
	n = 0
	for _, d := range fallbackDataDirs {
		if c, p, err = try("%s/vde.%05d-%05d", d); err == nil {
			return c, p, nil
		}
	}
	return nil, "", err
}

// readReply reads the 110-byte reply, bounded by timeout and ctx.
func readReply(ctx context.Context, ctl *net.UnixConn, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctl.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { ctl.SetReadDeadline(time.Unix(1, 0)) })
	var b [SockaddrLen]byte
	n, err := io.ReadFull(ctl, b[:])
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return "", fmt.Errorf("%w: no reply within %v (port unavailable or not allowed?): %w", ErrRefused, timeout, os.ErrDeadlineExceeded)
		case n == 0 && errors.Is(err, io.EOF):
			return "", fmt.Errorf("%w: control socket closed without a reply", ErrRefused)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return "", fmt.Errorf("%w: reply of %d bytes, want %d", ErrBadReply, n, SockaddrLen)
		}
		return "", fmt.Errorf("read reply: %w", err)
	}
	ctl.SetReadDeadline(time.Time{})
	return ParseReply(b[:])
}

// connectRaw connects the (bound, unconnected) datagram socket c to path.
func connectRaw(c *net.UnixConn, path string) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), &unix.SockaddrUnix{Name: path}) }); err != nil {
		return err
	}
	return cerr
}

// realpath resolves dir to an absolute path without symbolic links, as realpath(3) does.
func realpath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// lookupGroup resolves a group name, or else a number, to a gid.
func lookupGroup(g string) (int, error) { return ids.Group(g) }
