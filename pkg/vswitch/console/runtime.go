// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"

	"github.com/govde/govde/pkg/mgmt"
)

// runtimeCommands are ours and hidden (help stays vde_switch's, which answers 1038 to them): an
// in-process view for soak tests, which can count descriptors and threads from /proc but not
// goroutines.
func (c *Console) runtimeCommands() []mgmt.Command {
	return []mgmt.Command{
		{Path: "runtime/stats", Help: "Go runtime counters", Hidden: true, Data: true, Run: runtimeStats},
	}
}

// runtimeStats prints goroutines, threads created, and heap figures in bytes, one "name value" per line.
func runtimeStats(_ *mgmt.Session, w io.Writer, _ string) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "goroutines %d\nthreads_created %d\nheap_alloc %d\nheap_inuse %d\nheap_idle %d\nheap_released %d\nsys %d\nnum_gc %d\n",
		runtime.NumGoroutine(), pprof.Lookup("threadcreate").Count(), ms.HeapAlloc, ms.HeapInuse, ms.HeapIdle,
		ms.HeapReleased, ms.Sys, ms.NumGC)
	return nil
}
