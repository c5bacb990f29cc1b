// SPDX-License-Identifier: GPL-2.0-or-later

// Command vswitch is a VDE switch, a drop-in replacement for vde_switch: clients (vplug, vde_plug,
// QEMU, wirefilter …) connect to its control directory; it is driven through the same management
// console, on stdin or on a -M socket.
//
//	vswitch [-s DIR] [-n N] [-x] [-m MODE] [--dirmode MODE] [-g GROUP] [-M SOCK] [--mgmtmode MODE]
//	        [--mgmtgroup GROUP] [-d] [-p PIDFILE] [-f RCFILE] [-t TAP]… [--macaddr MAC] [--priority N]
//	        [--hashsize N] [--hashmax N]
//
// It also works when invoked as vde_switch. See man/vswitch.1.
package main

import "github.com/govde/govde/internal/cmdutil"

func main() { cmdutil.Main(newApp()) }
