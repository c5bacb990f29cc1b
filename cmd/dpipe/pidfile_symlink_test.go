// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// TestPidFileSymlink: dpipe -p and -P never write through a symbolic link (issue 14, item 5: they did): a
// link to an existing file or a dangling one is refused with status 1, its target is neither written nor
// made, and no command starts.
func TestPidFileSymlink(t *testing.T) {
	bin := testutil.Bin(t, "dpipe")
	for _, opt := range []string{"-p", "-P"} {
		for _, existing := range []bool{true, false} {
			link, check := testutil.SymlinkTrap(t, "pid", existing)
			mark := filepath.Join(filepath.Dir(link), "ran")
			p := testutil.Start(t, nil, bin, opt, link, "touch", mark, "=", "cat")
			p.Wait(5 * time.Second)
			if got := status(p.Cmd.ProcessState); got != 1 {
				t.Errorf("dpipe %s SYMLINK (target exists: %v): status %d, stderr %q; want 1", opt, existing, got, p.Stderr.String())
			}
			if msg := check(); msg != "" {
				t.Error("dpipe "+opt+": ", msg)
			}
			if _, err := os.Stat(mark); err == nil {
				t.Errorf("dpipe %s SYMLINK started the commands", opt)
			}
		}
	}
}

// TestPidFileModeUmask: under umask 000 the -p and -P files are 0644 (issue 14, item 5: they were 0666).
func TestPidFileModeUmask(t *testing.T) {
	bin := testutil.Bin(t, "dpipe")
	dir := t.TempDir()
	p := startDpipe(t, "sh", dir, true, "-c", "umask 000; exec "+bin+" -p pid -P pgrp cat = cat")
	for _, f := range []string{"pid", "pgrp"} {
		readLine(t, filepath.Join(dir, f))
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("-%s file under umask 000: %v, %v; want mode 0644", f, fi.Mode(), err)
		}
	}
	syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	p.Wait(5 * time.Second)
}
