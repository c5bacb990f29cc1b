// SPDX-License-Identifier: GPL-2.0-or-later

package vxlan

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/pkg/frame"
)

// A Kind is the flavour of segment a Conn joins.
type Kind int

const (
	// VXLAN is RFC 7348 VXLAN, as vdeplug4's vxlan:// and Linux vxlan devices speak it.
	VXLAN Kind = iota
	// VXVDE is vdeplug4's vxvde:// distributed switch.
	VXVDE
)

// String returns "vxlan" or "vxvde".
func (k Kind) String() string {
	if k == VXVDE {
		return "vxvde"
	}
	return "vxlan"
}

// Default ports and groups, as in vdeplug4.
const (
	// VXLANPort is the IANA VXLAN port.
	VXLANPort = 4789
	// VXVDEPort is vdeplug4's vxvde port.
	VXVDEPort = 14789
	// DefaultTTL is the multicast TTL (hop limit) of both kinds: the local link only.
	DefaultTTL = 1
	// DefaultVNI is the network identifier of both kinds.
	DefaultVNI = 1
)

var (
	// DefaultGroup4 is the IPv4 group of both kinds.
	DefaultGroup4 = netip.MustParseAddr("239.0.0.1")
	// DefaultGroup6 is the IPv6 group of both kinds.
	DefaultGroup6 = netip.MustParseAddr("ff05:56de::1")
)

// Config describes the segment a Conn joins. Open takes it as is: resolving names and applying vdeplug4's
// defaults is the caller's job (pkg/plug does it for the URLs).
type Config struct {
	Kind Kind
	// Group is the multicast group; its family chooses IPv4 or IPv6.
	Group netip.Addr
	// Port is the UDP port of the group (and, for VXLAN, of every VTEP).
	Port uint16
	// VNI is the 24-bit network identifier.
	VNI uint32
	// TTL is the multicast TTL or hop limit (and, for vxvde over IPv4, the unicast TTL).
	TTL int
	// RcvBuf sets SO_RCVBUF of the receiving socket when not 0.
	RcvBuf int
	// IfIndex is the interface to join the group on and send multicast from; 0 lets the kernel choose.
	IfIndex int
	// HashSize is the number of MAC table entries; 0 learns nothing (everything goes to the group).
	HashSize int
	// Expire is how long a learned entry stays valid; 0 means DefaultExpire.
	Expire time.Duration
	// Bind is the local address of the vxvde unicast socket; the zero Addr means any.
	Bind netip.Addr
}

// Stats counts what a Conn did. All fields are safe to read while the Conn runs.
type Stats struct {
	// RxFrames and TxFrames count the frames delivered by ReadFrame and sent by WriteFrame.
	RxFrames, TxFrames atomic.Uint64
	// TxUnicast counts the frames of TxFrames sent to a learned address rather than to the group.
	TxUnicast atomic.Uint64
	// Short, BadFlags and OtherVNI count the datagrams dropped by Decode for each reason.
	Short, BadFlags, OtherVNI atomic.Uint64
	// Self counts vxvde multicast datagrams of our own that came back and were dropped.
	Self atomic.Uint64
	// Byes counts vxvde goodbyes received (the sender's entries are forgotten).
	Byes atomic.Uint64
	// TxDrops counts frames not sent: shorter than an Ethernet header, too long, or refused by the socket.
	TxDrops atomic.Uint64
}

// Malformed returns the number of datagrams dropped as malformed: Short + BadFlags + OtherVNI.
func (s *Stats) Malformed() uint64 { return s.Short.Load() + s.BadFlags.Load() + s.OtherVNI.Load() }

// A Conn is a plug on a VXLAN or vxvde segment, a frame.Endpoint. ReadFrame returns only well-formed
// frames of the segment's VNI (the rest is dropped and counted in Stats) and learns where their source
// MAC lives; WriteFrame sends each frame unicast to where its destination was learned, to the group
// otherwise. ReadFrame must not be called concurrently with itself; WriteFrame is safe for concurrent use.
type Conn struct {
	kind    Kind
	hdr     Header
	group   netip.AddrPort
	port    uint16 // VXLAN: the port learned entries point at
	uniport uint16 // VXVDE: our unicast socket's port
	table   *Table
	stats   Stats

	tx    *net.UDPConn // sends; for VXLAN also the only receiver
	multi *net.UDPConn // VXVDE: the group socket

	rxbuf [MaxDatagram]byte // ReadFrame's buffer
	poll  *poller           // VXVDE: waits on both sockets

	localMu sync.Mutex
	local   atomic.Pointer[[]netip.Addr] // addresses known to be ours (VXVDE self check)

	once sync.Once
	err  error
}

var _ frame.Endpoint = (*Conn)(nil)

var txPool = sync.Pool{New: func() any { return new([MaxDatagram]byte) }}

// Open joins the segment cfg describes. Its errors name the step that failed (socket options, bind, join).
func Open(cfg Config) (*Conn, error) {
	if !cfg.Group.IsValid() {
		return nil, fmt.Errorf("%s: no group address", cfg.Kind)
	}
	if cfg.VNI > MaxVNI {
		return nil, fmt.Errorf("%s: vni %d: want 0..%d", cfg.Kind, cfg.VNI, MaxVNI)
	}
	if cfg.Expire <= 0 {
		cfg.Expire = DefaultExpire
	}
	c := &Conn{
		kind:  cfg.Kind,
		hdr:   NewHeader(cfg.VNI),
		group: netip.AddrPortFrom(cfg.Group, cfg.Port),
		port:  cfg.Port,
		table: NewTable(cfg.HashSize, cfg.Expire),
	}
	var err error
	if cfg.Kind == VXVDE {
		c.multi, c.tx, err = openVXVDE(cfg)
		if err != nil {
			return nil, err
		}
		c.uniport = c.tx.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		if c.poll, err = newPoller(c.tx, c.multi); err != nil {
			c.tx.Close()
			c.multi.Close()
			return nil, err
		}
		return c, nil
	}
	if c.tx, err = openVXLAN(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Stats returns the Conn's counters.
func (c *Conn) Stats() *Stats { return &c.stats }

// Table returns the Conn's MAC table (nil when it learns nothing).
func (c *Conn) Table() *Table { return c.table }

// LocalAddr returns the address of the socket frames are sent from.
func (c *Conn) LocalAddr() net.Addr { return c.tx.LocalAddr() }

// ReadFrame implements frame.Endpoint: it blocks until a valid frame arrives and copies it into b.
func (c *Conn) ReadFrame(b []byte) (int, error) {
	if c.kind == VXVDE {
		for {
			n, from, idx, err := c.poll.read(c.rxbuf[:])
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return 0, fmt.Errorf("vxvde read: %w", net.ErrClosed)
				}
				if isTransient(err) {
					continue
				}
				return 0, err
			}
			if f, ok := c.accept(c.rxbuf[:n], from, idx == 1); ok {
				return copy(b, f), nil
			}
		}
	}
	for {
		n, from, err := c.tx.ReadFromUDPAddrPort(c.rxbuf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return 0, fmt.Errorf("vxlan read: %w", net.ErrClosed)
			}
			if isTransient(err) {
				continue
			}
			return 0, err
		}
		if f, ok := c.accept(c.rxbuf[:n], from, false); ok {
			return copy(b, f), nil
		}
	}
}

// accept decodes a received datagram, counts and drops what is not for us, and learns the frame's source.
func (c *Conn) accept(d []byte, from netip.AddrPort, multi bool) ([]byte, bool) {
	f, err := Decode(d, c.hdr, c.kind == VXVDE)
	if err != nil {
		switch err {
		case ErrShort:
			c.stats.Short.Add(1)
		case ErrFlags:
			c.stats.BadFlags.Add(1)
		case ErrVNI:
			c.stats.OtherVNI.Add(1)
		case ErrBye:
			c.stats.Byes.Add(1)
			c.table.Forget(unmap(from))
		}
		return nil, false
	}
	from = unmap(from)
	if c.kind == VXLAN {
		// VTEPs send from any port but listen on the VXLAN port.
		from = netip.AddrPortFrom(from.Addr(), c.port)
	} else if multi && from.Port() == c.uniport && c.isLocal(from.Addr()) {
		c.stats.Self.Add(1)
		return nil, false
	}
	c.table.Learn(frame.MAC(f[6:12]), from, time.Now())
	c.stats.RxFrames.Add(1)
	return f, true
}

func unmap(a netip.AddrPort) netip.AddrPort {
	if a.Addr().Is4In6() {
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	}
	return a
}

// isLocal reports whether a is an address of this host (of the network namespace the process runs in).
// Addresses found are cached; the interface list is read only when a is not in the cache.
func (c *Conn) isLocal(a netip.Addr) bool {
	a = a.WithZone("")
	if l := c.local.Load(); l != nil && slices.Contains(*l, a) {
		return true
	}
	c.localMu.Lock()
	defer c.localMu.Unlock()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	var l []netip.Addr
	for _, ia := range addrs {
		if p, ok := ia.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(p.IP); ok {
				l = append(l, x.Unmap())
			}
		}
	}
	c.local.Store(&l)
	return slices.Contains(l, a)
}

// WriteFrame implements frame.Endpoint. A frame that cannot be sent (shorter than an Ethernet header,
// longer than frame.MaxLen, refused by the socket) is dropped and counted; WriteFrame only fails once the
// Conn is closed.
func (c *Conn) WriteFrame(f []byte) error {
	if len(f) < frame.HeaderLen || len(f) > frame.MaxLen {
		c.stats.TxDrops.Add(1)
		return nil
	}
	dst := c.group
	if a, ok := c.table.Lookup(frame.MAC(f[0:6]), time.Now()); ok {
		dst = a
		c.stats.TxUnicast.Add(1)
	}
	bp := txPool.Get().(*[MaxDatagram]byte)
	copy(bp[:], c.hdr[:])
	n := copy(bp[HeaderLen:], f)
	_, err := c.tx.WriteToUDPAddrPort(bp[:HeaderLen+n], dst)
	txPool.Put(bp)
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("%s write: %w", c.kind, net.ErrClosed)
		}
		c.stats.TxDrops.Add(1)
		return nil
	}
	c.stats.TxFrames.Add(1)
	return nil
}

// Close implements frame.Endpoint. A vxvde Conn first tells the group it leaves (a bare header), so that
// the other plugs forget its MACs at once.
func (c *Conn) Close() error {
	c.once.Do(func() {
		if c.kind == VXVDE {
			c.tx.WriteToUDPAddrPort(c.hdr[:], c.group)
			c.poll.close()
		}
		c.err = c.tx.Close()
		if c.multi != nil {
			if err := c.multi.Close(); c.err == nil {
				c.err = err
			}
		}
	})
	return c.err
}
