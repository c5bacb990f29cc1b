// SPDX-License-Identifier: GPL-2.0-or-later

// Command tunctl creates and deletes persistent TAP and TUN devices that an unprivileged user may
// attach to (with plug2tap, vswitch TAP ports or QEMU). It is a drop-in for vde_tunctl and the UML
// tunctl, and also runs under those names.
//
//	tunctl [-b] [-u owner] [-g group] [-n] [-t device-name] [-f tun-clone-device]
//	tunctl -d device-name [-n] [-f tun-clone-device]
//	tunctl -h
package main

import "github.com/govde/govde/internal/cmdutil"

func main() { cmdutil.Main(newApp()) }
