// SPDX-License-Identifier: GPL-2.0-or-later

// Package vswitch is the forwarding core of vswitch, a drop-in replacement for vde_switch.
//
// A Switch holds numbered ports (port 0 is reserved for management requests), each with zero or
// more endpoints: connected VDE data sockets accepted by Serve, TAP devices added by AddTap, or any
// frame.Endpoint. Frames are switched as vde_switch r586 does — learning keyed by (MAC, VLAN) with
// min-persistence and expiry, flooding of group and unknown destinations inside the VLAN, 802.1Q
// tag insertion and removal, hub mode — except that frames up to frame.MaxLen are forwarded intact
// instead of being truncated at 1518 bytes.
//
// VDE data sockets and TAPs are read by the plane (plane_linux.go): one goroutine that polls all of
// them with ppoll(2), as vde_switch's single thread does, reads the ready ones (recvmmsg; a TAP with
// offloads one 64 KB segment, cut into frames) and forwards each batch inline, writing to the other
// data sockets with non-blocking sendmmsg (scatter/gather, so adding or removing a tag copies nothing)
// and to TAPs directly. A socket that gave no frame for 100 µs is read with one recvfrom, once per
// wake-up, and a lone frame sent as it is goes out with sendto: for one frame these cost less than the
// mmsg calls. A TAP that the plane wrote to is read again in the same round, since its host answers
// within the write (a ping's reply, a TCP ACK). The descriptors are kept out of the Go runtime's poller
// (vde.Request.Raw, tap.Config.Raw). Other endpoints (any frame.Endpoint) have a reader goroutine each
// that forwards inline the same way. A destination that cannot take a frame now (full socket queue, full
// out-queue, frame larger than a TAP's MTU) drops it and counts the drop: one slow client never slows
// the others. The forwarding path does not allocate in steady state.
//
// Why one polling thread: with a reader goroutine per socket, parked in the runtime poller, every
// frame of a TCP flow (and every ACK) cost a poller wake-up, a goroutine hand-off between threads and a
// futex wake; on 2 cores a TCP flow through the switch then took 28–38 CPU seconds per GB against
// vde_switch's 20–23, and ran at 0.53–0.55× its throughput. With the plane: 17.5 s/GB and 1.48× in the
// same run (scripts/bench-tcp.sh). The poll thread does not suffer what made a per-reader poll(2) slow
// earlier: with a single thread blocked in a system call a P stays idle, so sysmon does not retake it.
// Its waits are sched.Waiter's: run on one P (sched.OneProc, as cmd/vswitch does),
// a busy plane keeps its P through its waits, and ping round trips and CPU per frame come closer to
// vde_switch's.
//
// Back-pressure: a batch bound for one destination whose socket is full waits for it to drain
// (congestionWait at most; a destination that does not drain in that time is marked stalled and
// its frames dropped at once until it takes one again). In the plane the source is parked (not read)
// while its destination is polled for POLLOUT, the other sockets going on. Reader goroutines park in
// the runtime poller under a write deadline where the destination has one, and must not sleep in a
// system call otherwise: measured on a TCP flow between two namespaced hosts behind plug2tap (iperf3,
// 2 cores), a ppoll(2) wait (250 µs slices) on reader goroutines made the runtime's sysmon take the P
// of the sleeping thread and keep itself on its 20 µs tick: perf put runtime.sysmon at 30 % of the
// switch's CPU (usleep alone 23 %), context switches were 0.45–1.0 per frame against vde_switch's
// 0.05–0.1. With two such readers blocked, no P is idle and sysmon retakes both on every tick.
//
// Management methods (ports, VLANs, MAC table, FSTP settings) are safe for concurrent use with
// forwarding and with each other; errors they return are syscall.Errno values, as the management
// console reports them ("1%03d %s").
//
// The switch formats no console text. What happens in it (MAC learned or deleted, port allocated or
// inactive, endpoint attached or closed, MAC moved) reaches Subscribe callbacks as typed Events;
// package console turns them into vde_switch's debug lines. An event is built only when someone
// subscribed. A MAC seen on another port than the one the table holds it for is counted per port
// (PortInfo.MACMoves) and reported at most once per MACMoveInterval per port (log line and
// EventMACMoved), so that a loop does not log a line per frame.
//
// FSTP: vde_switch's fast spanning tree runs in the switch, one instance per VLAN (fstp.go, BPDUs in
// bpdu.go), on an injected clock (the runtime's, so testing/synctest drives it). Its result reaches
// the forwarding path through the forwarding table (blocked member ports); received BPDUs are
// consumed. State changes are reported as EventFSTPStatus, EventFSTPRoot, EventFSTPPortUp/Down.
//
// Source files: switch.go (Switch, Config, MAC table methods), endpoint.go (endpoints), serve.go
// (VDE data sockets, TAPs), port.go, vlan.go, fdb.go (MAC table), forward.go, batch_linux.go and
// plane_linux.go (the forwarding path), events.go, macmove.go, fstp.go and bpdu.go (spanning tree).
package vswitch
