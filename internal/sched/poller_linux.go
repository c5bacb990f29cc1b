// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// rtPoller caches runtimePoller's answer: the runtime's epoll instance never changes.
var rtPoller struct {
	sync.Mutex
	fd   int32
	done bool
}

// runtimePoller returns the descriptor of the Go runtime's epoll instance, found as the epoll
// instance of the process that watches ep (an epoll instance registered with the runtime's poller:
// only the runtime put it in one), or -1 when /proc does not tell.
func runtimePoller(ep int) int32 {
	rtPoller.Lock()
	defer rtPoller.Unlock()
	if !rtPoller.done {
		rtPoller.fd, rtPoller.done = findPoller(ep), true
	}
	return rtPoller.fd
}

// findPoller looks in /proc/self for the epoll instance that watches ep (its fdinfo lists a "tfd:"
// line for each descriptor it watches).
func findPoller(ep int) int32 {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	want := strconv.Itoa(ep)
	for _, ent := range ents {
		fd, err := strconv.Atoi(ent.Name())
		if err != nil || fd == ep {
			continue
		}
		if l, err := os.Readlink("/proc/self/fd/" + ent.Name()); err != nil || l != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + ent.Name())
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(info)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "tfd:" && f[1] == want {
				return int32(fd)
			}
		}
	}
	return -1
}
