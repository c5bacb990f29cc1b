// SPDX-License-Identifier: GPL-2.0-or-later

// Package relay is the one frame copy between two endpoints, used by every tool that joins two
// frame.Endpoints (vplug's URL URL, stdio, cmd:// and "= command" forms, plug2tap's TAP and switch).
//
// Join copies frames both ways and owns the policies that used to differ between tools:
//
//   - runts: a frame shorter than an Ethernet header (frame.HeaderLen) is dropped in either direction and
//     counted in Counters.Runts;
//   - write errors: an error that means the destination is gone (net.ErrClosed, EPIPE, ECONNRESET,
//     ECONNREFUSED, ENOTCONN, a closed pipe) ends the relay; any other (EIO from a TAP that is down,
//     ENOBUFS) drops that one frame, counted in Counters.Drops, and the relay goes on;
//   - the end: the first read error, fatal write error, peer hang-up (frame.Hanger) or the end of ctx
//     stops both directions and closes both endpoints. An orderly end — end of stream (io.EOF, also inside
//     a stream record), hang-up (EPIPE, ECONNRESET, the switch closing the control stream), net.ErrClosed,
//     ctx — is reported as nil; anything else is returned. Both copy paths report ends the same way.
//
// A Hook (Config.Hook) sees every frame that passed the runt check and can pass it, drop it, or keep it to
// send later through an Emitter, which is how wirefilter delays frames. An Emit the destination has no room
// for returns ErrFull, and Config.OnRoom tells when to retry. A Gate (Config.Gate) holds a direction's input
// unread until a given time, which is how wirefilter's interface speed throttles the sender. A Timer
// (Config.Timer) lets the hook's owner send what it kept from the fast path's own loop, whose poll(2)
// carries the next deadline, which is how wirefilter's delayed frames leave on time.
//
// Two copy paths exist. The general one runs one goroutine per direction with its own buffer, calling
// ReadFrame and WriteFrame. When both endpoints were opened raw (they implement frame.Raw: a TAP device, a
// VDE datagram connection, a VDE stream on a pipe, stdin/stdout or a socket; see plug.Options.Raw), Join
// instead runs the fast path: one goroutine (locked to its thread only when a Timer is set) waits in
// poll(2) on the descriptors of both (through sched.Waiter, which keeps the P of a busy loop when the
// process runs on one; see Fast and sched.OneProc), moves batches of frames with plain system calls,
// and does the stream framing itself: several records per read and per write (at most 2048 bytes of
// whole records per write to a pipe until Config.Bunched says no reader needs that), a partial record
// kept for the next read; a header declaring more than frame.MaxLen bytes (or Config.MaxRecord)
// drops what was read, counted in Counters.Oversize, as stream.Reader does. A datagram socket (a VDE
// data socket) is read with recvmmsg and written with sendmmsg, up to 32 frames per call; what a batch
// read queued is written when the batch ends, and the frames of a TAP packet as soon as it is read, so
// a lone frame (a ping) waits for nothing; a TAP that gave one packet is not read again until poll(2)
// says so, and a socket that gave no frame for 100 µs is read with one recvfrom, once per wake-up (the
// rest of a burst follows with recvmmsg); a lone frame goes out with sendto (for one frame these cost
// less than the mmsg calls, see rawfd.Sparse). A TAP that frames were written to is read again in the
// same round, without a poll(2): its host answers within the write (a ping's echo, a TCP ACK), unless
// it keeps not answering (then once in 16 such rounds). A datagram longer than frame.MaxLen is dropped and
// counted in Counters.Oversize. No frame costs a hand-off between threads through the runtime poller.
// Stats.FastPath tells which path ran. Neither path allocates per frame.
package relay
