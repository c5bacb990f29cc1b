// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package dpipe

import (
	"fmt"
	"os"
	"runtime"
)

// BUG(dpipe): Run (the dpipe program) supports Linux only; Parse and StartChain are portable.

// Run would run p as the dpipe program; only Linux is supported, so it reports that and returns 1.
func Run(p Pipeline) int {
	fmt.Fprintf(os.Stderr, "dpipe: not supported on %s\n", runtime.GOOS)
	return 1
}
