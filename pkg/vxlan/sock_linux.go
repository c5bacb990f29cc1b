// SPDX-License-Identifier: GPL-2.0-or-later

package vxlan

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openVXLAN opens the one socket of a VXLAN plug as vdeplug4 does: bound to the wildcard address and the
// group's port, group joined on cfg.IfIndex, multicast TTL, no multicast loop (our own datagrams would come
// back to us), multicast sent from cfg.IfIndex when set.
func openVXLAN(cfg Config) (*net.UDPConn, error) {
	v6 := cfg.Group.Is6()
	wild := netip.IPv4Unspecified()
	if v6 {
		wild = netip.IPv6Unspecified()
	}
	return udpSocket(v6, netip.AddrPortFrom(wild, cfg.Port), func(fd int) error {
		if err := setRcvBuf(fd, cfg.RcvBuf); err != nil {
			return err
		}
		if v6 {
			if err := setInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, cfg.TTL, "IPV6_MULTICAST_HOPS"); err != nil {
				return err
			}
			return setInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP")
		}
		if err := setInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, cfg.TTL, "IP_MULTICAST_TTL"); err != nil {
			return err
		}
		return setInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP")
	}, func(fd int) error {
		if err := join(fd, cfg.Group, cfg.IfIndex); err != nil {
			return err
		}
		return multicastIf(fd, v6, cfg.IfIndex)
	})
}

// openVXVDE opens the two sockets of a vxvde plug as vdeplug4 does: the group socket bound to the group
// address and port with SO_REUSEADDR (every plug of the host shares it) and joined to the group on
// cfg.IfIndex; the unicast socket on an ephemeral port of cfg.Bind, with the TTLs and the multicast
// interface, which sends everything. Multicast loop stays on, so that plugs on one host hear each other.
func openVXVDE(cfg Config) (multi, uni *net.UDPConn, err error) {
	v6 := cfg.Group.Is6()
	multi, err = udpSocket(v6, netip.AddrPortFrom(cfg.Group, cfg.Port), func(fd int) error {
		return setInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR")
	}, func(fd int) error {
		return join(fd, cfg.Group, cfg.IfIndex)
	})
	if err != nil {
		return nil, nil, err
	}
	bind := cfg.Bind
	if !bind.IsValid() {
		bind = netip.IPv4Unspecified()
		if v6 {
			bind = netip.IPv6Unspecified()
		}
	}
	if bind.Is4() == v6 {
		multi.Close()
		return nil, nil, fmt.Errorf("vxvde bind address %s: not of the group's family", bind)
	}
	uni, err = udpSocket(v6, netip.AddrPortFrom(bind, 0), func(fd int) error {
		if err := setRcvBuf(fd, cfg.RcvBuf); err != nil {
			return err
		}
		if v6 {
			return setInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, cfg.TTL, "IPV6_MULTICAST_HOPS")
		}
		if err := setInt(fd, unix.IPPROTO_IP, unix.IP_TTL, cfg.TTL, "IP_TTL"); err != nil {
			return err
		}
		return setInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, cfg.TTL, "IP_MULTICAST_TTL")
	}, func(fd int) error {
		return multicastIf(fd, v6, cfg.IfIndex)
	})
	if err != nil {
		multi.Close()
		return nil, nil, err
	}
	return multi, uni, nil
}

// udpSocket makes a UDP socket, applies before, binds it to addr, applies after, and hands it to the Go
// runtime. The descriptor is closed on every error path.
func udpSocket(v6 bool, addr netip.AddrPort, before, after func(fd int) error) (*net.UDPConn, error) {
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	f := os.NewFile(uintptr(fd), "udp:"+addr.String())
	defer f.Close() // FilePacketConn holds a duplicate
	if err := before(fd); err != nil {
		return nil, err
	}
	var sa unix.Sockaddr
	if v6 {
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	if err := after(fd); err != nil {
		return nil, err
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

func setInt(fd, level, opt, v int, name string) error {
	if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
		return fmt.Errorf("setsockopt %s=%d: %w", name, v, err)
	}
	return nil
}

func setRcvBuf(fd, n int) error {
	if n == 0 {
		return nil
	}
	return setInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n, "SO_RCVBUF")
}

// join joins group on the interface ifindex (0: the kernel's choice).
func join(fd int, group netip.Addr, ifindex int) error {
	var err error
	if group.Is6() {
		err = unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP,
			&unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(ifindex)})
	} else {
		err = unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP,
			&unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(ifindex)})
	}
	if err != nil {
		return fmt.Errorf("join group %s: %w", group, err)
	}
	return nil
}

// multicastIf makes the socket send multicast from interface ifindex; 0 leaves the kernel's choice.
func multicastIf(fd int, v6 bool, ifindex int) error {
	if ifindex == 0 {
		return nil
	}
	if v6 {
		return setInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF")
	}
	if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifindex)}); err != nil {
		return fmt.Errorf("setsockopt IP_MULTICAST_IF %d: %w", ifindex, err)
	}
	return nil
}

// isTransient reports a receive error that concerns one earlier datagram, not the socket.
func isTransient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EMSGSIZE)
}

// A poller waits for datagrams on several sockets at once without a goroutine per socket: an epoll
// descriptor, registered with the Go runtime's poller (it is readable while any of its sockets is), and
// non-blocking recvfrom(2) on the sockets. read must not be called concurrently with itself.
type poller struct {
	ep  *os.File
	rc  syscall.RawConn
	fds []int
	mu  sync.RWMutex // read holds it shared; close takes it to know that no read uses fds any more
	rsa unix.RawSockaddrAny
	sl  uint32

	// read's state, for tryRead
	tryReadFn func(uintptr) bool
	buf       []byte
	n, idx    int
	rerr      syscall.Errno
}

// newPoller watches conns, which must stay open until close returns.
func newPoller(conns ...*net.UDPConn) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	p := &poller{ep: os.NewFile(uintptr(epfd), "epoll")}
	p.tryReadFn = p.tryRead
	for _, c := range conns {
		sc, err := c.SyscallConn()
		if err != nil {
			p.ep.Close()
			return nil, err
		}
		sc.Control(func(fd uintptr) {
			p.fds = append(p.fds, int(fd))
			err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, int(fd), &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
		})
		if err != nil {
			p.ep.Close()
			return nil, os.NewSyscallError("epoll_ctl", err)
		}
	}
	if p.rc, err = p.ep.SyscallConn(); err != nil {
		p.ep.Close()
		return nil, err
	}
	return p, nil
}

// read blocks until a datagram arrives on one of the sockets, copies it into b and returns its length,
// its sender and the index of the socket. After close it returns net.ErrClosed.
func (p *poller) read(b []byte) (n int, from netip.AddrPort, idx int, err error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	p.buf = b
	err = p.rc.Read(p.tryReadFn)
	p.buf = nil
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			err = net.ErrClosed
		}
		return 0, netip.AddrPort{}, 0, err
	}
	if p.rerr != 0 {
		return 0, netip.AddrPort{}, p.idx, p.rerr
	}
	n, idx = p.n, p.idx
	switch p.rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&p.rsa))
		from = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), netPort(&sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&p.rsa))
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 { // a link-local sender: answering it needs the interface
			a = a.WithZone(zoneName(sa.Scope_id))
		}
		from = netip.AddrPortFrom(a, netPort(&sa.Port))
	}
	return n, from, idx, nil
}

// tryRead is rc.Read's callback (a method value made once: a closure per read would allocate): it
// takes one datagram from the first socket that has one, or reports that none has.
func (p *poller) tryRead(uintptr) bool {
	b := p.buf
	for i, fd := range p.fds {
		for {
			p.sl = unix.SizeofSockaddrAny
			r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
				unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&p.rsa)), uintptr(unsafe.Pointer(&p.sl)))
			if e == unix.EINTR {
				continue
			}
			if e == unix.EAGAIN {
				break
			}
			p.n, p.idx, p.rerr = int(r), i, e
			return true
		}
	}
	return false
}

// close unblocks read and waits until no read uses the sockets; the caller closes them afterwards.
func (p *poller) close() error {
	err := p.ep.Close()
	p.mu.Lock()
	p.mu.Unlock()
	return err
}

// netPort reads a port stored in network byte order.
func netPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

var zones sync.Map // uint32 interface index → string name

// zoneName returns the name of interface index i (its number when it has none), cached.
func zoneName(i uint32) string {
	if z, ok := zones.Load(i); ok {
		return z.(string)
	}
	z := strconv.FormatUint(uint64(i), 10)
	if ifi, err := net.InterfaceByIndex(int(i)); err == nil {
		z = ifi.Name
	}
	zones.Store(i, z)
	return z
}
