// SPDX-License-Identifier: GPL-2.0-or-later

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCreatePidfileMode checks the content and that the mode is 0644 whatever the umask.
func TestCreatePidfileMode(t *testing.T) {
	for _, umask := range []int{0, 0o077, 0o022} {
		t.Run(fmt.Sprintf("umask%03o", umask), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pid")
			old := syscall.Umask(umask)
			pf, err := CreatePidfile(path, 4242)
			syscall.Umask(old)
			if err != nil {
				t.Fatalf("CreatePidfile: %v", err)
			}
			defer pf.Remove()
			if got := readFile(t, path); got != "4242\n" {
				t.Errorf("content %q, want %q", got, "4242\n")
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if m := st.Mode(); m != 0o644 {
				t.Errorf("mode %v, want -rw-r--r--", m)
			}
		})
	}
}

// TestCreatePidfileExists: an existing file is an error and is kept, even a stale one whose process
// is gone (the decision documented on CreatePidfile: as vde_switch, refuse rather than guess).
func TestCreatePidfileExists(t *testing.T) {
	gonePid := func() int {
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil {
			t.Skipf("cannot run true: %v", err)
		}
		return cmd.Process.Pid // exited and reaped
	}
	for name, content := range map[string]string{
		"live":  fmt.Sprintf("%d\n", os.Getpid()),
		"stale": fmt.Sprintf("%d\n", gonePid()),
		"junk":  "not a pid",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pid")
			os.WriteFile(path, []byte(content), 0o600)
			pf, err := CreatePidfile(path, os.Getpid())
			var pe *os.PathError
			if err == nil || !errors.Is(err, fs.ErrExist) || !errors.As(err, &pe) {
				t.Fatalf("CreatePidfile over an existing file = %v, %v; want an *os.PathError wrapping fs.ErrExist", pf, err)
			}
			if got := readFile(t, path); got != content {
				t.Errorf("existing file now holds %q, want it kept as %q", got, content)
			}
		})
	}
}

// TestCreatePidfileSymlink: a symbolic link at the path is refused and its target is not written.
func TestCreatePidfileSymlink(t *testing.T) {
	dir := t.TempDir()
	existing, missing := filepath.Join(dir, "existing"), filepath.Join(dir, "missing")
	os.WriteFile(existing, []byte("keep\n"), 0o600)
	for _, target := range []string{existing, missing} {
		link := filepath.Join(dir, "link-"+filepath.Base(target))
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if pf, err := CreatePidfile(link, 1); err == nil {
			pf.Remove()
			t.Errorf("CreatePidfile(link to %s) succeeded, want it refused", target)
		}
	}
	if got := readFile(t, existing); got != "keep\n" {
		t.Errorf("symlink target written: %q", got)
	}
	if _, err := os.Lstat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling symlink's target created (%v)", err)
	}
}

// TestPidfileRemove: Remove deletes the file only while it is the one we made with our content.
func TestPidfileRemove(t *testing.T) {
	tests := []struct {
		name     string
		meddle   func(t *testing.T, path string)
		wantGone bool
	}{
		{"ours", func(*testing.T, string) {}, true},
		{"replaced, same content", func(t *testing.T, path string) {
			// A new inode (made while the old one exists, so not a reused number) renamed over it.
			os.WriteFile(path+".new", []byte(readFile(t, path)), 0o644)
			os.Rename(path+".new", path)
		}, false},
		{"rewritten by another process", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("1\n"), 0o644) // same inode, another pid
		}, false},
		{"replaced by a symlink", func(t *testing.T, path string) {
			os.Remove(path)
			os.Symlink("/dev/null", path)
		}, false},
		{"already gone", func(t *testing.T, path string) { os.Remove(path) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pid")
			pf, err := CreatePidfile(path, os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			tc.meddle(t, path)
			if err := pf.Remove(); err != nil {
				t.Errorf("Remove = %v", err)
			}
			_, err = os.Lstat(path)
			if gone := errors.Is(err, fs.ErrNotExist); gone != tc.wantGone {
				t.Errorf("after Remove, file gone = %v, want %v", gone, tc.wantGone)
			}
			pf.Remove() // again: no-op
		})
	}
	var nilPF *Pidfile
	if err := nilPF.Remove(); err != nil {
		t.Errorf("nil Remove = %v", err)
	}
}

// TestAdoptPidfile: a process that did not create the file removes it only if it holds the id.
func TestAdoptPidfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pgrp")
	if _, err := CreatePidfile(path, -77); err != nil {
		t.Fatal(err)
	}
	if _, err := AdoptPidfile(path, 77); err == nil {
		t.Error("AdoptPidfile with the wrong id succeeded")
	}
	pf, err := AdoptPidfile(path, -77)
	if err != nil {
		t.Fatalf("AdoptPidfile: %v", err)
	}
	pf.Remove()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("adopted pid file not removed (%v)", err)
	}
}
