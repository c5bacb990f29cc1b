// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/internal/sockfile"
)

// NoGroup in ListenOptions leaves the group of a file unchanged.
const NoGroup = -1

// Default permissions of vde_switch.
const (
	DefaultCtlMode  uint32 = 0o600  // control and data sockets, with neither -m nor --dirmode
	DefaultDirMode  uint32 = 0o2700 // the switch directory, with neither -m nor --dirmode
	DefaultMgmtMode uint32 = 0o600  // data socket of a management port 0 request (--mgmtmode)
)

// maxDirLen is the longest switch directory whose data socket names "DIR/NNN.fd" fit sun_path
// (vde_switch keeps 8 bytes for them).
const maxDirLen = 108 - 8

// Modes derives the socket mode and the directory mode of a switch from its -m and --dirmode options, as
// vde_switch does; nil means the option was not given.
//   - neither: 0600 and 02700;
//   - only mode M: the directory gets setgid plus, for each of user, group and other with any permission
//     in M, those permissions and x: M=0660 gives 02770;
//   - only dirmode D: the mode is D&0666;
//   - both: as given.
func Modes(mode, dirmode *uint32) (m, d uint32) {
	switch {
	case mode == nil && dirmode == nil:
		return DefaultCtlMode, DefaultDirMode
	case dirmode == nil:
		m, d = *mode, 0o2000
		for _, class := range []uint32{0o600, 0o060, 0o006} {
			if m&class != 0 {
				d |= m&class | (class>>1)&^class // the class's bits of m plus its x bit
			}
		}
		return m, d
	case mode == nil:
		return *dirmode & 0o666, *dirmode
	}
	return *mode, *dirmode
}

// ListenOptions are the permissions and limits of a switch's control directory.
type ListenOptions struct {
	// Mode and DirMode are the permissions of the sockets and of the directory. A zero value is derived by
	// Modes from the other one, as if its option had not been given.
	Mode, DirMode uint32
	// Group is the gid given to the directory, the control socket and the data sockets, or NoGroup.
	// Note that the zero value is gid 0.
	Group int
	// MgmtMode and MgmtGroup are applied to the data socket of a REQ_NEW_PORT0 request (--mgmtmode,
	// --mgmtgroup). MgmtMode 0 means DefaultMgmtMode; MgmtGroup is a gid or NoGroup.
	MgmtMode  uint32
	MgmtGroup int
	// Timeout bounds the wait for a client's request after it connected, and for writing the reply;
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// DataName, if set, names the data socket of an accepted connection inside the directory, from the
	// port it was accepted on, its descriptor number and that of its control connection. nil gives
	// vde_switch's "NNN.FD" (port, data descriptor); vdeplug4's netnodes use "fd<ctl descriptor>".
	DataName func(port, dataFD, ctlFD int) string
	// OnBadRequest, if set, is called (from a handshake goroutine) with the reason for each connection
	// closed without a reply because its request was malformed, unsupported or came too late, or its
	// client socket was not accessible. vswitch logs these.
	OnBadRequest func(error)
}

// A Listener is the switch side of the control socket DIR/ctl. Connections are read and checked in their
// own goroutines, so a slow or hostile client never delays the others; Accept returns the requests that
// passed. Its methods are safe for concurrent use.
type Listener struct {
	ln      *net.UnixListener
	dir     string
	dirNode sockfile.Node // the directory dir named when Listen opened it
	ctlPath string
	ctlNode sockfile.Node // the control socket file, removed by Close only while it is still ours
	opt     ListenOptions

	refused atomic.Uint64 // connections closed without a reply by the listener itself

	reqs      chan *Request
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu      sync.Mutex
	pending map[*net.UnixConn]struct{} // connections whose request is being read
}

// Listen creates the switch directory dir (mkdir, then chown to the group and chmod to the directory
// mode), resolves it to its real path, and listens on dir/ctl with the socket mode and group. A stale
// control socket (nobody listening) is replaced; a live one gives an error wrapping syscall.EADDRINUSE.
func Listen(dir string, opt ListenOptions) (*Listener, error) {
	var mp, dp *uint32
	if opt.Mode != 0 {
		mp = &opt.Mode
	}
	if opt.DirMode != 0 {
		dp = &opt.DirMode
	}
	opt.Mode, opt.DirMode = Modes(mp, dp)
	if opt.MgmtMode == 0 {
		opt.MgmtMode = DefaultMgmtMode
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	d, real, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if len(real) > maxDirLen {
		return nil, fmt.Errorf("switch directory %s: %d bytes, at most %d fit a socket address: %w", real, len(real), maxDirLen, os.ErrInvalid)
	}
	if err := chmodDir(d, opt.Group, opt.DirMode); err != nil {
		return nil, err
	}
	dn, err := dirNode(d)
	if err != nil {
		return nil, err
	}
	ctlPath := filepath.Join(real, "ctl")
	ln, ctlNode, err := listenCtl(d, ctlPath, opt)
	if err != nil {
		return nil, err
	}
	l := &Listener{
		ln: ln, dir: real, dirNode: dn, ctlPath: ctlPath, ctlNode: ctlNode, opt: opt,
		reqs: make(chan *Request), closing: make(chan struct{}), pending: map[*net.UnixConn]struct{}{},
	}
	l.wg.Go(l.acceptLoop)
	return l, nil
}

// listenCtl binds the control socket in the open switch directory d, taking over a stale one, with its
// final mode and group from the start (internal/sockfile). Anything else at the name, or a live control
// socket, is left alone.
func listenCtl(d *os.File, path string, opt ListenOptions) (*net.UnixListener, sockfile.Node, error) {
	fail := func(err error) (*net.UnixListener, sockfile.Node, error) {
		return nil, sockfile.Node{}, fmt.Errorf("could not bind to socket '%s': %w", path, err)
	}
	replace := sockfile.NoReplace
	switch _, isSock, err := sockfile.Lstat(path); {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fail(err)
	case !isSock:
		return fail(fmt.Errorf("it exists and is not a socket: %w", syscall.EEXIST))
	default:
		c, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			c.Close()
			return fail(syscall.EADDRINUSE)
		}
		if !errors.Is(derr, syscall.ECONNREFUSED) {
			return fail(derr)
		}
		replace = sockfile.ReplaceAny // stale
	}
	ln, n, err := sockfile.Listen(d, "ctl", sockfile.Perm{Mode: opt.Mode, UID: -1, GID: opt.Group}, replace)
	if err != nil {
		if errors.Is(err, syscall.EEXIST) {
			err = syscall.EADDRINUSE // another switch was quicker
		}
		return fail(err)
	}
	return ln, n, nil
}

// openDir opens the switch directory for binding a data socket, and checks it is still the one Listen
// made (the name could have been swapped by whoever may write its parent).
func (l *Listener) openDir() (*os.File, error) {
	d, err := sockfile.OpenDir(l.dir)
	if err != nil {
		return nil, err
	}
	if !sameDir(d, l.dirNode) {
		d.Close()
		return nil, fmt.Errorf("switch directory %s was replaced: %w", l.dir, os.ErrNotExist)
	}
	return d, nil
}

// Dir returns the real path of the switch directory.
func (l *Listener) Dir() string { return l.dir }

// CtlPath returns the path of the control socket, Dir()+"/ctl".
func (l *Listener) CtlPath() string { return l.ctlPath }

// Mode returns the socket mode in effect (what ds/showinfo prints as "std mode").
func (l *Listener) Mode() uint32 { return l.opt.Mode }

// DirMode returns the directory mode in effect.
func (l *Listener) DirMode() uint32 { return l.opt.DirMode }

// Accept blocks until a client sends a well-formed request, and returns it; the caller must then call
// its Accept or Reject. Malformed requests never reach the caller: their connections are closed (see
// ListenOptions.OnBadRequest). After Close, Accept returns an error wrapping net.ErrClosed.
func (l *Listener) Accept() (*Request, error) {
	select {
	case r := <-l.reqs:
		return r, nil
	case <-l.closing:
		return nil, fmt.Errorf("accept %s: %w", l.ctlPath, net.ErrClosed)
	}
}

// Close stops listening and removes the control socket. Requests being read are dropped; requests
// already returned by Accept and accepted connections are not affected. It is idempotent.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closing)
		err = l.ln.Close()
		sockfile.Remove(l.ctlPath, l.ctlNode) // unless another switch has taken it over
		l.mu.Lock()
		for c := range l.pending {
			c.SetDeadline(time.Unix(1, 0))
		}
		l.mu.Unlock()
		l.wg.Wait()
	})
	return err
}

// RemoveDir removes the switch directory if it is empty and no switch listens on its ctl any more (another
// switch may have taken it over), as vde_switch does at exit. Call it after closing every connection and
// the Listener.
func (l *Listener) RemoveDir() error {
	if c, err := net.DialTimeout("unix", l.ctlPath, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("remove %s: %s is in use: %w", l.dir, l.ctlPath, syscall.EADDRINUSE)
	}
	return os.Remove(l.dir)
}

func (l *Listener) acceptLoop() {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: wait and retry, as net/http does.
			select {
			case <-l.closing:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		l.mu.Lock()
		l.pending[c] = struct{}{}
		l.mu.Unlock()
		l.wg.Go(func() { l.handshake(c) })
	}
}

// Refused returns the number of connections the listener closed without a reply: malformed, unsupported
// or late requests, and requests naming a client socket their requester may not name (see Request).
func (l *Listener) Refused() uint64 { return l.refused.Load() }

func (l *Listener) bad(err error) {
	l.refused.Add(1)
	if l.opt.OnBadRequest != nil {
		l.opt.OnBadRequest(err)
	}
}

// handshake reads and checks one request, then hands it to Accept.
func (l *Listener) handshake(c *net.UnixConn) {
	r, err := l.readRequest(c)
	l.mu.Lock()
	delete(l.pending, c)
	l.mu.Unlock()
	if r == nil {
		if err != nil {
			l.bad(err)
		}
		c.Close()
		return
	}
	select {
	case l.reqs <- r:
	case <-l.closing:
		r.data.Close()
		c.Close()
	}
}

// readRequest reads a request with a single read, as vde_switch does. It returns a nil Request and a nil
// error for a client that hung up without sending anything.
func (l *Listener) readRequest(c *net.UnixConn) (*Request, error) {
	c.SetReadDeadline(time.Now().Add(l.opt.Timeout))
	var buf [MaxRequestLen]byte
	n, err := c.Read(buf[:])
	if err != nil {
		select {
		case <-l.closing:
			return nil, nil
		default:
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("%w: no request within %v", ErrBadRequest, l.opt.Timeout)
		}
		return nil, nil // EOF or closed: nothing to report
	}
	m, err := ParseRequest(buf[:n])
	if err != nil {
		return nil, err
	}
	cred, err := peerCred(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrBadRequest, m.Descr, err)
	}
	data, err := dialClient(m.ClientPath, cred)
	if err != nil {
		return nil, fmt.Errorf("%w: %q from pid %d uid %d: client socket: %w", ErrBadRequest, m.Descr, cred.PID, cred.UID, err)
	}
	c.SetReadDeadline(time.Time{})
	return &Request{Message: m, Cred: cred, UID: cred.UID, data: data, ctl: c, l: l}, nil
}
