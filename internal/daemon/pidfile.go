// SPDX-License-Identifier: GPL-2.0-or-later

package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// PidfileMode is the permission of every pid file, whatever the umask.
const PidfileMode = 0o644

// A Pidfile is a pid file this process created (or adopted, see AdoptPidfile). Its methods are safe
// for concurrent use.
type Pidfile struct {
	path    string
	content []byte
	dev     uint64
	ino     uint64

	mu      sync.Mutex
	removed bool
}

// CreatePidfile creates path and writes id to it as a decimal number and a newline ("%d\n", the bytes
// vde_switch, vde_plug, vde_plug2tap and dpipe write; dpipe's process group file passes the negated
// group id). The file is opened with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and gets mode 0644 whatever
// the umask. It never touches an existing file:
//
//   - an existing path, even a stale pid file whose process is gone, is an error wrapping fs.ErrExist,
//     and the file is kept. This is what vde_switch does ("Error in pidfile creation: File exists"):
//     whether the process is gone cannot be told reliably (pids are reused, the file may belong to
//     another pid namespace), and removing it would race with a second instance starting;
//   - a symbolic link at path is refused (EEXIST, or ELOOP), and its target is not written.
//
// The error is an *os.PathError (op "open" or "write") that callers can match with errors.As. On a
// failed write the half-made file is removed.
func CreatePidfile(path string, id int) (*Pidfile, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, PidfileMode)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	p := &Pidfile{path: path, content: strconv.AppendInt(nil, int64(id), 10)}
	p.content = append(p.content, '\n')
	err = f.Chmod(PidfileMode) // the umask applied at creation
	if err == nil {
		_, err = f.Write(p.content)
	}
	var st unix.Stat_t
	if err == nil {
		if err = unix.Fstat(fd, &st); err != nil {
			err = &os.PathError{Op: "fstat", Path: path, Err: err}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // ours: O_EXCL made it
		var pe *os.PathError
		if !errors.As(err, &pe) {
			err = &os.PathError{Op: "write", Path: path, Err: err}
		}
		return nil, err
	}
	p.dev, p.ino = uint64(st.Dev), st.Ino
	return p, nil
}

// AdoptPidfile returns a handle on the existing pid file path, which must hold id as CreatePidfile
// writes it: a process that did not create the file but is to remove it (dpipe -n's watcher, the
// creator having exec'ed the last command) then removes it only if it is still that file.
func AdoptPidfile(path string, id int) (*Pidfile, error) {
	p := &Pidfile{path: path, content: fmt.Appendf(nil, "%d\n", id)}
	st, ok := p.holds()
	if !ok {
		return nil, fmt.Errorf("pid file %s: does not hold %d", path, id)
	}
	p.dev, p.ino = st.dev, st.ino
	return p, nil
}

// Path returns the file's name as given to CreatePidfile.
func (p *Pidfile) Path() string { return p.path }

type fileID struct{ dev, ino uint64 }

// holds reports whether path is a regular file (not followed if a link) with p's content.
func (p *Pidfile) holds() (fileID, bool) {
	var st unix.Stat_t
	if unix.Lstat(p.path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileID{}, false
	}
	fd, err := unix.Open(p.path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return fileID{}, false
	}
	f := os.NewFile(uintptr(fd), p.path)
	defer f.Close()
	var fst unix.Stat_t
	if unix.Fstat(fd, &fst) != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
		return fileID{}, false
	}
	b := make([]byte, len(p.content)+1)
	n, _ := f.ReadAt(b, 0)
	if !bytes.Equal(b[:n], p.content) {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino}, true
}

// Remove deletes the file if it is still ours: the same file (device and inode) that CreatePidfile
// made, still holding the id written to it. A file someone replaced or rewrote is left alone, and so
// is a missing one; neither is an error. Remove on a nil *Pidfile does nothing; later calls do
// nothing. (A replacement made between the check and the unlink cannot be told apart: the window is
// that of any pid file.)
func (p *Pidfile) Remove() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.removed {
		return nil
	}
	p.removed = true
	if id, ok := p.holds(); !ok || id != (fileID{p.dev, p.ino}) {
		return nil
	}
	if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
