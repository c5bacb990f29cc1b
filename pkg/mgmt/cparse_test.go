// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bytes"
	"io"
	"strings"
	"syscall"
	"testing"
)

func TestAtoi(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0}, {"abc", 0}, {"12", 12}, {"  \t12x", 12}, {"-7", -7}, {"+7", 7}, {"0x20", 0}, {"020", 20},
		{"2147483647", 2147483647}, {"2147483648", -2147483648}, {"99999999999999999999", -1},
		{"-99999999999999999999", 0}, {"\r", 0}, {"5\r", 5},
	}
	for _, tt := range tests {
		if got := Atoi(tt.in); got != tt.want {
			t.Errorf("Atoi(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestInts(t *testing.T) {
	tests := []struct {
		in, verbs string
		want      []int
		n         int
	}{
		{"1 2", "ii", []int{1, 2}, 2},
		{"0x10 010", "ii", []int{16, 8}, 2},
		{"1", "ii", []int{1, 0}, 1},
		{"", "ii", []int{0, 0}, 0},
		{"x 2", "ii", []int{0, 0}, 0},
		{"1,2", "ii", []int{1, 0}, 1},
		{"  -3\t\n4", "ii", []int{-3, 4}, 2},
		{"ff 0xff", "xx", []int{255, 255}, 2},
		{"08", "i", []int{0}, 1}, // octal 0, then '8' stops it
		{"0x", "i", []int{0}, 1},
		{"09", "d", []int{9}, 1},
	}
	for _, tt := range tests {
		got, n := Ints(tt.in, tt.verbs)
		if n != tt.n || !equal(got, tt.want) {
			t.Errorf("Ints(%q, %q) = %v, %d; want %v, %d", tt.in, tt.verbs, got, n, tt.want, tt.n)
		}
	}
	sc := NewScanner("02:0a:ff")
	var got []int
	for i := range 3 {
		if i > 0 && !sc.Lit(':') {
			break
		}
		v, _ := sc.Int('x')
		got = append(got, v)
	}
	if !equal(got, []int{2, 10, 255}) || sc.Matched() != 3 {
		t.Errorf("MAC scan = %v (%d matched)", got, sc.Matched())
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStrerror(t *testing.T) {
	for e, want := range map[syscall.Errno]string{
		syscall.ENOENT: "No such file or directory", syscall.ENXIO: "No such device or address",
		syscall.EEXIST: "File exists", syscall.ENODEV: "No such device", syscall.EINVAL: "Invalid argument",
		syscall.ENOSPC: "No space left on device", syscall.ENOSYS: "Function not implemented",
		syscall.EADDRINUSE: "Address already in use", syscall.ENOMEM: "Cannot allocate memory",
		syscall.EBADF: "Bad file descriptor", syscall.EOPNOTSUPP: "Operation not supported", 200: "Unknown error 200",
	} {
		if got := Strerror(e); got != want {
			t.Errorf("Strerror(%d) = %q, want %q", int(e), got, want)
		}
	}
}

// FuzzScan checks that the C-like parsers never panic and never consume more than their input.
func FuzzScan(f *testing.F) {
	for _, s := range []string{"", "12", "-0x1f", "0777", "99999999999999999999999", " +3 4", "0x", "02:00:5e:00:00:01 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Atoi(s)
		for _, verb := range []byte("idx") {
			_, n, ok := ScanInt(s, verb)
			if n < 0 || n > len(s) || (!ok && n != 0) {
				t.Fatalf("ScanInt(%q, %c) consumed %d (ok %v)", s, verb, n, ok)
			}
		}
		Ints(s, "iii")
	})
}

// FuzzExec feeds arbitrary reads to the command engine: it must never panic, and every reply must be
// empty (blank or comment line) or end with exactly one result line, after a well-formed data block.
func FuzzExec(f *testing.F) {
	for _, s := range []string{"help", "help d", "echo x\necho y", "  #x", "\x00", "debug/add port", "debug/del",
		"load /nonexistent", "fail", "nosuch", "logout", strings.Repeat("z", 127), "echo \xff\xfe", "int 0x10"} {
		f.Add([]byte(s))
	}
	s := New(Config{Prompt: "\nvde$ ", Help: swHelp})
	s.Add(swHelpCmd, swLogout, swLoad)
	s.Add(swDebug...)
	s.Add(Command{Path: "echo", Data: true, Run: func(_ *Session, w io.Writer, arg string) error { _, err := io.WriteString(w, arg+"\n"); return err }},
		Command{Path: "fail", Data: true, Run: func(*Session, io.Writer, string) error { return syscall.ENXIO }},
		Command{Path: "int", Run: func(_ *Session, _ io.Writer, arg string) error { Atoi(arg); return nil }})
	s.AddDebug(DebugCategory{Path: "port/+", Tag: 0o21, Help: "new port"})
	sess := s.newSession(io.Discard, io.Discard, nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > ReadSize {
			in = in[:ReadSize]
		}
		out, err := s.Exec(sess, cLine(in))
		if err == ErrLogout {
			if len(out) != 0 {
				t.Fatalf("logout printed %q", out)
			}
			return
		}
		if len(out) == 0 {
			if line := strings.TrimLeft(cLine(in), " \t"); line != "" && line[0] != '#' {
				t.Fatalf("no reply to %q", in)
			}
			return
		}
		if !bytes.HasSuffix(out, []byte("\n")) {
			t.Fatalf("reply %q does not end in a newline", out)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		last := lines[len(lines)-1]
		if len(last) < 5 || last[0] != '1' || last[4] != ' ' {
			t.Fatalf("reply %q: bad result line %q", out, last)
		}
		if strings.HasPrefix(string(out), DataHeader) && lines[len(lines)-2] != "." {
			t.Fatalf("reply %q: data block not closed", out)
		}
	})
}
