// SPDX-License-Identifier: GPL-2.0-or-later

// Package plug opens a VDE plug URL (vdeplug4's "VNL") as a frame.Endpoint.
//
// Supported URLs:
//
//	""                       the default switch: $HOME/.vdeplug/default, else $HOME/.vde2/default.switch,
//	                         else /var/run/vde.ctl, then /tmp/vde.ctl
//	DIR                      a plain path, the same as vde://DIR
//	vde://DIR[N/mode=0660/group=G/port=N/portgroup=NAME]
//	                         a vde_switch (or our vswitch) control directory; [0] asks for management port 0
//	ptp://PATH[mode=…/group=…]
//	                         point to point over unix datagram sockets PATH and PATH+
//	cmd://COMMAND ARGS       a co-process speaking the 2-byte VDE stream on its stdin/stdout
//	tap://IFNAME             a Linux TAP interface (IFF_TAP|IFF_NO_PI)
//	udp://[SRCADDR:]SRCPORT->DSTADDR:DSTPORT
//	                         one raw frame per UDP datagram
//	null://                  drops everything, receives nothing
//	qemu+unix://PATH         QEMU -netdev stream (4-byte length framing) over a unix stream socket, client
//	qemu+unix://PATH[server] the same, listening on PATH (one client at a time)
//	qemu+tcp://HOST:PORT     QEMU -netdev stream over TCP, client
//	qemu+tcp://HOST:PORT[server]
//	                         the same, listening on HOST:PORT
//	hub://[DIR][mode=…/dirmode=…/grp=…]
//	switch://[DIR][hashsize=N/expiretime=SECS/hashseed=N/mode=…/dirmode=…/grp=…]
//	multi://[DIR][…], bonding://[DIR][…]
//	                         a netnode (pkg/netnode): this plug serves DIR/ctl (default /tmp/vdenode_USER)
//	seqpacket://FD           an inherited SOCK_SEQPACKET socket, one frame per packet
//	vxlan://[GROUP][/port=4789/vni=1/ttl=1/v4/v6/hashsize=1024/expiretime=128/if=IF/rcvbuf=N]
//	                         RFC 7348 VXLAN over IP multicast (pkg/vxlan), with Linux's vxlan devices
//	vxvde://[GROUP][/port=14789/vni=/grp=/ttl=/v4/v6/hashsize=/expiretime=/if=/rcvbuf=/bind=]
//	                         vdeplug4's distributed switch over IP multicast (pkg/vxlan)
//
// vxlan:// and vxvde:// take their options after '/' as vdeplug4 does (see vxlan.go); the other schemes
// take theirs in one trailing pair of square brackets, separated by '/'. As in vdeplug4, a key may be
// abbreviated to any prefix ("m=0660" is "mode=0660"), and parts of the URL may be quoted with '…', "…" or \,
// or written as %XX hexadecimal escapes.
//
// A regular file given as the URL (or found as the default) holds the URL on its first line, as in vdeplug4.
//
// Endpoints are ordinary frame.Endpoints served by the Go runtime's poller, unless Options.Raw asks for
// them raw: vde://, tap:// and cmd:// endpoints then keep their descriptors out of the poller and implement
// frame.Raw, so that pkg/relay can copy between two of them in its poll(2) loop. OpenStdio (stdin/stdout),
// StartCommandRaw and NewRawStream give raw VDE streams too. A vde:// endpoint is a frame.Hanger.
package plug
