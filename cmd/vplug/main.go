// SPDX-License-Identifier: GPL-2.0-or-later

// Command vplug joins a VDE plug URL to its standard input/output, to a second URL, or to a command:
// a drop-in for vdeplug4's vde_plug (it behaves the same when invoked as vde_plug).
//
//	vplug [OPTIONS]
//	vplug [OPTIONS] URL
//	vplug [OPTIONS] URL URL
//	vplug [OPTIONS] = COMMAND [ARGS...]
//	vplug [OPTIONS] URL = COMMAND [ARGS...]
//
// Options: -d -p PIDFILE -l -L -g GROUP -G GROUP -m MODE -M MODE -D DESCR --port N --port2 N -h.
// Option parsing stops at the first "=". See man/vplug.1.
package main

import "github.com/govde/govde/internal/cmdutil"

func main() { cmdutil.Main(newApp()) }
