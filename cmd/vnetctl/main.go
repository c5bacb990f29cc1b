// SPDX-License-Identifier: GPL-2.0-or-later

// Command vnetctl builds, in one call, the network that connects QEMU/KVM guests to the host's LAN — a
// bridge made from the uplink, a persistent TAP owned by an unprivileged user and a VDE switch on it whose
// sockets that user owns — and removes it again. It is a drop-in for ctys-vnetctl and ctys-setupVDE, and
// also runs under those names.
//
//	vnetctl [-b bridge] [-d level] [-f] [-g sbit-group] [-h] [-H help] [-i interface] [-l remote-user]
//	        [-r hosts] [-s QEMUSOCK] [-S QEMUMGMT] [-u user[.group]] [-n] [-V] [-X] [-Z sudo|ksu...]
//	        (cancel|check|create|info|ports|list|listall)
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/govde/govde/pkg/vnetctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := vnetctl.Run(ctx, vnetctl.Env{Prog: filepath.Base(os.Args[0]), Euid: -1}, os.Args[1:])
	stop()
	os.Exit(code)
}
