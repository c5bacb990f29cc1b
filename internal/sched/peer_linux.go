// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FragilePeer reports whether a process at the other end of one of the pipes among fds reads a VDE
// stream badly when records come bunched, and which (p.Name). It looks for vde2's
// wirefilter, which reads its pipes 2048 bytes at a time into reassembly buffers that overlap
// between its two directions: the more records wait in its pipes at once, the more often a record
// is cut in both directions together and the stream loses step (see man/vplug.1, and
// TestRealWirefilterCable in internal/interop). Batch scheduling makes a writer bunch its
// records, so a tool beside such a peer keeps SCHED_OTHER. Our own wirefilter is no such peer.
// When that wirefilter also writes into a pipe among fds that we read, p.MaxRecord is the longest
// record it ever writes (it refuses longer ones on its input): a longer header read there means
// its output lost step.
//
// settled is false while a peer is still a forked dpipe that has not yet run its command, whose
// name says nothing yet; the caller asks again.
func FragilePeer(fds []int) (p Peer, settled bool) {
	inodes := pipeInodes(fds)
	if len(inodes) == 0 {
		return Peer{}, true
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return Peer{}, true
	}
	self := os.Getpid()
	settled = true
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		holds, writes := holding(pid, inodes)
		if !holds {
			continue
		}
		comm := readComm(pid)
		switch {
		case comm == "dpipe":
			settled = false
		case comm == "wirefilter" && !ours(pid):
			p = Peer{Name: comm}
			if writes {
				p.MaxRecord = wirefilterMaxRecord
			}
			return p, true
		}
	}
	return Peer{}, settled
}

// wirefilterMaxRecord is the longest stream record vde2's wirefilter passes (vde-protocol.md, section 3).
const wirefilterMaxRecord = 1521

// pipeInodes returns the pipes among fds, as their "pipe:[N]" link targets, each mapped to whether
// our descriptor is its read end.
func pipeInodes(fds []int) map[string]bool {
	m := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && strings.HasPrefix(l, "pipe:[") {
			fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
			m[l] = m[l] || (err == nil && fl&unix.O_ACCMODE == unix.O_RDONLY)
		}
	}
	return m
}

// holding reports whether pid holds one of the pipes (a process of another user cannot be looked at,
// and is not counted), and whether it holds one whose read end is ours open for writing.
func holding(pid int, inodes map[string]bool) (holds, writes bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	ents, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return false, false
	}
	for _, e := range ents {
		l, err := os.Readlink(dir + "/fd/" + e.Name())
		if err != nil {
			continue
		}
		ourRead, ok := inodes[l]
		if !ok {
			continue
		}
		holds = true
		if ourRead && !writes {
			writes = openForWriting(dir + "/fdinfo/" + e.Name())
		}
	}
	return holds, writes
}

// openForWriting reports whether the fdinfo file at path shows a descriptor open for writing.
func openForWriting(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			fl, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return err == nil && fl&unix.O_ACCMODE != unix.O_RDONLY
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
