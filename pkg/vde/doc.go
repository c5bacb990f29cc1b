// SPDX-License-Identifier: GPL-2.0-or-later

// Package vde speaks the VDE switch connection protocol, both as a client (what vdeplug4's vde:// module
// does) and as a switch (what vde_switch does on its control socket).
//
// A client connects to the stream socket DIR/ctl, binds a datagram socket at DIR/.PPPPP-NNNNN, and sends
// one "v3 request": magic 0xfeedface, version 3, a type word (request type in bits 0-7, wanted port in
// bits 8-31), its datagram socket address and a free-text description, all integers in host byte order.
// The switch answers with the 110-byte struct sockaddr_un of the per-port datagram socket DIR/NNN.fd it
// created and connected to the client. From then on each datagram carries exactly one Ethernet frame, and
// the control stream stays open, silent, for the life of the connection: whichever side sees it become
// readable (EOF or data) considers the connection over.
//
// Dial is the client side and returns a *Conn; Listen is the switch side and returns a *Listener whose
// Accept yields parsed *Requests that the caller accepts on a port or rejects. ParseRequest, AppendRequest,
// AppendReply and ParseReply are the pure wire codecs, usable without sockets.
package vde
