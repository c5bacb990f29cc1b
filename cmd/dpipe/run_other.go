// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/govde/govde/pkg/dpipe"
)

// BUG(dpipe): the dpipe program supports Linux only; pkg/dpipe's Parse and StartChain are portable.

// runChain would run p as the dpipe program; only Linux is supported, so it says so.
func runChain(context.Context, dpipe.Pipeline) error {
	return fmt.Errorf("not supported on %s", runtime.GOOS)
}
