// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FragilePeer reports whether a process at the other end of one of the pipes among fds reads a VDE
// stream badly when records come bunched, and which (its name). It looks for vde2's
// wirefilter, which reads its pipes 2048 bytes at a time into reassembly buffers that overlap
// between its two directions: the more records wait in its pipes at once, the more often a record
// is cut in both directions together and the stream loses step (see man/vplug.1, and
// TestRealWirefilterCable in internal/interop). Batch scheduling makes a writer bunch its
// records, so a tool beside such a peer keeps SCHED_OTHER. Our own wirefilter is no such peer.
//
// settled is false while a peer is still a forked dpipe that has not yet run its command, whose
// name says nothing yet; the caller asks again.
func FragilePeer(fds []int) (name string, settled bool) {
	inodes := pipeInodes(fds)
	if len(inodes) == 0 {
		return "", true
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return "", true
	}
	self := os.Getpid()
	settled = true
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self || !holdsAny(pid, inodes) {
			continue
		}
		comm := readComm(pid)
		switch {
		case comm == "dpipe":
			settled = false
		case comm == "wirefilter" && !ours(pid):
			return comm, true
		}
	}
	return "", settled
}

// pipeInodes returns the pipes among fds, as their "pipe:[N]" link targets.
func pipeInodes(fds []int) map[string]bool {
	m := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && strings.HasPrefix(l, "pipe:[") {
			m[l] = true
		}
	}
	return m
}

// holdsAny reports whether pid holds one of the pipes (a process of another user cannot be looked
// at, and is not counted).
func holdsAny(pid int, inodes map[string]bool) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && inodes[l] {
			return true
		}
	}
	return false
}

func readComm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// module is this project's module path, which our binaries carry in their build information.
const module = "github.com/govde/govde"

// ours reports whether pid runs a program built from this module (when its executable cannot be
// read, it is not counted as ours).
func ours(pid int) bool {
	bi, err := buildinfo.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	return err == nil && bi.Main.Path == module
}
