// SPDX-License-Identifier: GPL-2.0-or-later

// Command plug2tap connects a VDE switch to a Linux TAP interface: frames the switch sends to the port
// come out of the TAP into the host's network stack, and frames the host sends through the TAP go to the
// switch. It is a drop-in for vde_plug2tap.
//
//	plug2tap [-p port] [-g group] [-m mode] [-s sock] [-d] [-P pidfile] [-h] tapname
//
// The TAP is created (non-persistent) when it does not exist; an existing TAP, for example a persistent
// one made by tunctl, is attached and stays persistent. -s names the switch directory or any VDE plug
// URL (vde://, ptp://, cmd://, ...); "-s -" speaks the 2-byte VDE stream on stdin/stdout instead.
// plug2tap exits when the switch closes the port, when the stream ends, or on SIGINT/SIGTERM.
package main

import "github.com/govde/govde/internal/cmdutil"

func main() { cmdutil.Main(newApp()) }
