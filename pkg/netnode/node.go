// SPDX-License-Identifier: GPL-2.0-or-later

package netnode

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

// A Kind is what a node does with frames (see the package documentation).
type Kind int

// The kinds of node, named as vdeplug4's schemes.
const (
	Hub Kind = iota
	Switch
	Multi
	Bonding
)

// String returns the scheme name: hub, switch, multi or bonding.
func (k Kind) String() string {
	switch k {
	case Hub:
		return "hub"
	case Switch:
		return "switch"
	case Multi:
		return "multi"
	case Bonding:
		return "bonding"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Defaults of vdeplug4's netnodes.
const (
	DefaultMode     uint32 = 0o600  // control and data sockets
	DefaultDirMode  uint32 = 0o2700 // the directory
	DefaultHashSize        = 256
	DefaultExpire          = 120 * time.Second
	// DefaultMaxPorts bounds the clients of a node: each costs two goroutines and two sockets.
	DefaultMaxPorts = 1024
	// QueueLen is the length of each out-queue (per client, and the host's).
	QueueLen = 256
)

// Config configures a node. The zero value of each field but Group selects the default.
type Config struct {
	Kind Kind
	// Mode is the permission of the control and data sockets (default DefaultMode); DirMode that of
	// the directory (default DefaultDirMode, or derived from Mode when only Mode is set: see Modes).
	Mode, DirMode uint32
	// Group is the gid of the directory and the control socket, or vde.NoGroup. Note that the zero
	// value is gid 0.
	Group int
	// HashSize, HashSeed and Expire configure a Switch's MAC table.
	HashSize int
	HashSeed uint64
	Expire   time.Duration
	// MaxPorts bounds the number of clients; more are refused. Default DefaultMaxPorts.
	MaxPorts int
	// OnBadRequest, if set, is called with the reason for each connection refused (malformed or
	// unsupported request, too many clients).
	OnBadRequest func(error)
}

// Modes derives the socket and directory modes of a netnode as vdeplug4 does from its mode= and
// dirmode= parameters (nil: not given): mode loses its x bits; with mode but no dirmode the directory
// gets setgid and, for each class with any permission, that permission plus x (0660 gives 02770).
func Modes(mode, dirmode *uint32) (m, d uint32) {
	m, d = DefaultMode, DefaultDirMode
	if mode != nil {
		m = *mode &^ 0o111
		d = 0o2000 | m | (m&0o444)>>2 | (m&0o222)>>1
	}
	if dirmode != nil {
		d = *dirmode
	}
	return m, d
}

// A pkt is a frame queued for one destination.
type pkt struct {
	n int
	b [frame.MaxLen]byte
}

var pktPool = sync.Pool{New: func() any { return new(pkt) }}

// A port is one connected client.
type port struct {
	id    int // the descriptor number of its control connection, as in its data socket's name
	sc    *vde.ServerConn
	out   chan *pkt
	done  chan struct{} // closed when the port is removed
	drops atomic.Uint64
}

// Stats are a node's counters.
type Stats struct {
	// Ports is the number of connected clients.
	Ports int
	// Refused counts the connections refused (bad request, too many clients).
	Refused uint64
	// Drops counts frames dropped because their destination's queue was full.
	Drops uint64
}

// A Node is a running netnode. As a frame.Endpoint it is the host side: ReadFrame returns the frames
// the node delivers to the host, WriteFrame hands a frame from the host to the node. ReadFrame must be
// called from one goroutine at a time; WriteFrame is safe for concurrent use.
type Node struct {
	kind   Kind
	ln     *vde.Listener
	table  *table // Switch only
	start  time.Time
	max    int
	onBad  func(error)
	hostQ  chan *pkt
	bond   atomic.Uint64 // Bonding: round robin counter
	drops  atomic.Uint64
	refuse atomic.Uint64

	mu    sync.Mutex
	ports map[int]*port
	snap  atomic.Pointer[[]*port] // the ports, for the forwarding path

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

var _ frame.Endpoint = (*Node)(nil)

// ErrClosed is wrapped by ReadFrame and WriteFrame errors after Close.
var ErrClosed = net.ErrClosed

// Listen creates the node's directory dir (an existing one is reused, a live control socket in it is an
// error wrapping syscall.EADDRINUSE, a stale one is replaced) and starts serving dir/ctl.
func Listen(dir string, cfg Config) (*Node, error) {
	if cfg.Mode == 0 && cfg.DirMode == 0 {
		cfg.Mode, cfg.DirMode = DefaultMode, DefaultDirMode
	} else if cfg.Mode == 0 {
		cfg.Mode = DefaultMode
	} else if cfg.DirMode == 0 {
		m := cfg.Mode
		cfg.Mode, cfg.DirMode = Modes(&m, nil)
	}
	if cfg.HashSize <= 0 {
		cfg.HashSize = DefaultHashSize
	}
	if cfg.HashSize > 1<<24 {
		return nil, fmt.Errorf("hash size %d: want at most %d: %w", cfg.HashSize, 1<<24, os.ErrInvalid)
	}
	if cfg.Expire <= 0 {
		cfg.Expire = DefaultExpire
	}
	if cfg.MaxPorts <= 0 {
		cfg.MaxPorts = DefaultMaxPorts
	}
	if cfg.Kind < Hub || cfg.Kind > Bonding {
		return nil, fmt.Errorf("netnode kind %v: %w", cfg.Kind, os.ErrInvalid)
	}
	n := &Node{
		kind: cfg.Kind, start: time.Now(), max: cfg.MaxPorts, onBad: cfg.OnBadRequest,
		hostQ: make(chan *pkt, QueueLen), ports: map[int]*port{}, closing: make(chan struct{}),
	}
	if cfg.Kind == Switch {
		n.table = newTable(cfg.HashSize, cfg.HashSeed, int64(cfg.Expire))
	}
	n.snap.Store(new([]*port))
	ln, err := vde.Listen(dir, vde.ListenOptions{
		Mode: cfg.Mode, DirMode: cfg.DirMode, Group: cfg.Group, MgmtGroup: vde.NoGroup,
		DataName:     func(_, _, ctlFD int) string { return "fd" + strconv.Itoa(ctlFD) },
		OnBadRequest: n.bad,
	})
	if err != nil {
		return nil, err
	}
	n.ln = ln
	n.wg.Go(n.acceptLoop)
	return n, nil
}

// Dir returns the real path of the node's directory.
func (n *Node) Dir() string { return n.ln.Dir() }

// Kind returns what the node does.
func (n *Node) Kind() Kind { return n.kind }

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	np := len(n.ports)
	n.mu.Unlock()
	return Stats{Ports: np, Refused: n.refuse.Load() + n.ln.Refused(), Drops: n.drops.Load()}
}

func (n *Node) bad(err error) {
	if n.onBad != nil {
		n.onBad(err)
	}
}

// now is the clock of the MAC table: nanoseconds since Listen, plus one (0 marks an empty slot).
func (n *Node) now() int64 { return int64(time.Since(n.start)) + 1 }

func (n *Node) acceptLoop() {
	for {
		req, err := n.ln.Accept()
		if err != nil {
			return // closed
		}
		n.handle(req)
	}
}

// errRefused is the cause given to OnBadRequest for the requests a netnode does not serve.
var errRefused = errors.New("netnode: request refused")

func (n *Node) handle(req *vde.Request) {
	if req.Version != 3 || req.Port0 {
		n.refuse.Add(1)
		n.bad(fmt.Errorf("%w: %q: a netnode serves only version 3 requests for a normal port", errRefused, req.Descr))
		req.Reject()
		return
	}
	var p *port
	_, err := req.AcceptWith(0, func(sc *vde.ServerConn) error {
		n.mu.Lock()
		defer n.mu.Unlock()
		select {
		case <-n.closing:
			return net.ErrClosed
		default:
		}
		if len(n.ports) >= n.max {
			return fmt.Errorf("%w: %d clients already", errRefused, n.max)
		}
		p = &port{id: sc.ID(), sc: sc, out: make(chan *pkt, QueueLen), done: make(chan struct{})}
		n.ports[p.id] = p
		n.publishLocked()
		n.wg.Go(func() { n.readLoop(p) })
		n.wg.Go(func() { n.writeLoop(p) })
		return nil
	})
	if err != nil {
		n.refuse.Add(1)
		n.bad(err)
	}
}

// publishLocked stores a fresh snapshot of the ports for the forwarding path.
func (n *Node) publishLocked() {
	s := make([]*port, 0, len(n.ports))
	for _, p := range n.ports {
		s = append(s, p)
	}
	n.snap.Store(&s)
}

// remove takes p out of the node and closes its connection (which unlinks its data socket).
func (n *Node) remove(p *port) {
	n.mu.Lock()
	if n.ports[p.id] != p {
		n.mu.Unlock()
		return
	}
	delete(n.ports, p.id)
	n.publishLocked()
	close(p.done)
	n.mu.Unlock()
	if n.table != nil {
		n.table.forget(p.id)
	}
	p.sc.Close()
}

// readLoop forwards the frames of one client until it hangs up or the node closes.
func (n *Node) readLoop(p *port) {
	var buf [frame.MaxLen]byte
	for {
		m, err := p.sc.ReadFrame(buf[:])
		if err != nil {
			n.remove(p)
			return
		}
		n.forward(p, buf[:m])
	}
}

// writeLoop sends one client its queued frames.
func (n *Node) writeLoop(p *port) {
	for {
		select {
		case <-p.done:
			return
		case k := <-p.out:
			p.sc.WriteFrame(k.b[:k.n]) // a failure is the client going away: readLoop sees it
			pktPool.Put(k)
		}
	}
}

// send queues f for p, or drops it when p's queue is full.
func (n *Node) send(p *port, f []byte) {
	if !n.enqueue(p.out, f) {
		p.drops.Add(1)
	}
}

// toHost queues f for the host, or drops it when the host's queue is full.
func (n *Node) toHost(f []byte) { n.enqueue(n.hostQ, f) }

// enqueue queues a copy of f on q; false: q was full, and f is dropped and counted.
func (n *Node) enqueue(q chan<- *pkt, f []byte) bool {
	k := pktPool.Get().(*pkt)
	k.n = copy(k.b[:], f)
	select {
	case q <- k:
		return true
	default:
		pktPool.Put(k)
		n.drops.Add(1)
		return false
	}
}

// flood sends f to every client but the one it came from (nil: the host) and, for a frame from a
// client, to the host.
func (n *Node) flood(from *port, f []byte) {
	for _, p := range *n.snap.Load() {
		if p != from {
			n.send(p, f)
		}
	}
	if from != nil {
		n.toHost(f)
	}
}

// forward delivers a frame from a client (from) or from the host (from == nil).
func (n *Node) forward(from *port, b []byte) {
	if len(b) < frame.HeaderLen {
		return
	}
	f := frame.Frame(b)
	switch n.kind {
	case Hub:
		n.flood(from, f)
	case Multi, Bonding:
		switch {
		case from != nil:
			n.toHost(f)
		case n.kind == Multi:
			n.flood(nil, f)
		default:
			ps := *n.snap.Load()
			if len(ps) > 0 {
				n.send(ps[(n.bond.Add(1)-1)%uint64(len(ps))], f)
			}
		}
	case Switch:
		id := hostID
		if from != nil {
			id = from.id
		}
		vlan, now := vlanOf(f), n.now()
		n.table.learn(f.Src(), vlan, id, now)
		to, ok := n.table.lookup(f.Dst(), vlan, now)
		switch {
		case !ok:
			n.flood(from, f)
		case to == id:
			// the destination is where the frame came from: drop it
		case to == hostID:
			n.toHost(f)
		default:
			if p := n.port(to); p != nil {
				n.send(p, f)
			} else {
				n.flood(from, f)
			}
		}
	}
}

// port returns the client with id, or nil.
func (n *Node) port(id int) *port {
	for _, p := range *n.snap.Load() {
		if p.id == id {
			return p
		}
	}
	return nil
}

// ReadFrame blocks until the node delivers a frame to the host, copies it into b (truncated to len(b))
// and returns its length. After Close it returns an error wrapping net.ErrClosed.
func (n *Node) ReadFrame(b []byte) (int, error) {
	select {
	case k := <-n.hostQ:
		m := copy(b, k.b[:k.n])
		pktPool.Put(k)
		return m, nil
	case <-n.closing:
		return 0, fmt.Errorf("netnode %s: %w", n.ln.Dir(), net.ErrClosed)
	}
}

// WriteFrame hands a frame from the host to the node; frames shorter than an Ethernet header are
// dropped. It never blocks: a destination with a full queue drops the frame. After Close it returns
// an error wrapping net.ErrClosed.
func (n *Node) WriteFrame(b []byte) error {
	select {
	case <-n.closing:
		return fmt.Errorf("netnode %s: %w", n.ln.Dir(), net.ErrClosed)
	default:
	}
	n.forward(nil, b)
	return nil
}

// Close stops the node: it closes every client's connection (they see their control stream end),
// removes the data sockets and the control socket, and the directory when it is empty. It waits for
// the node's goroutines and is idempotent.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.closing)
		err = n.ln.Close()
		n.mu.Lock()
		ps := make([]*port, 0, len(n.ports))
		for _, p := range n.ports {
			ps = append(ps, p)
		}
		n.mu.Unlock()
		for _, p := range ps {
			n.remove(p)
		}
		n.wg.Wait()
		n.ln.RemoveDir()
	})
	return err
}
