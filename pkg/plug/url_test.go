// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want URL
	}{
		{"", URL{Scheme: "vde"}},
		{"/tmp/sw", URL{Scheme: "vde", Addr: "/tmp/sw"}},
		{"rel/sw[3]", URL{Scheme: "vde", Addr: "rel/sw", Port: 3}},
		{"vde:///tmp/sw", URL{Scheme: "vde", Addr: "/tmp/sw"}},
		{"vde://", URL{Scheme: "vde"}},
		{"vde:///tmp/sw[]", URL{Scheme: "vde", Addr: "/tmp/sw"}},
		{"vde:///tmp/sw[3]", URL{Scheme: "vde", Addr: "/tmp/sw", Port: 3}},
		{"vde:///tmp/sw[0]", URL{Scheme: "vde", Addr: "/tmp/sw", Port0: true}},
		{"vde:///tmp/sw[3/mode=0660]", URL{Scheme: "vde", Addr: "/tmp/sw", Port: 3, Mode: 0o660}},
		{"vde:///tmp/sw[port=7/group=users/mode=660]", URL{Scheme: "vde", Addr: "/tmp/sw", Port: 7, Group: "users", Mode: 0o660}},
		{"vde:///tmp/sw[p=7/g=0/m=0600]", URL{Scheme: "vde", Addr: "/tmp/sw", Port: 7, Group: "0", Mode: 0o600}},
		{"vde:///tmp/sw[portgroup=blue]", URL{Scheme: "vde", Addr: "/tmp/sw", PortGroup: "blue"}},
		{"vde:///tmp/sw[blue]", URL{Scheme: "vde", Addr: "/tmp/sw", PortGroup: "blue"}},
		{"vde:///tmp/sw[portgroup=12]", URL{Scheme: "vde", Addr: "/tmp/sw", Port: 12}},
		{"vde:///tmp/sw[//5//]", URL{Scheme: "vde", Addr: "/tmp/sw", Port: 5}},
		{`vde:///tmp/'my sw'`, URL{Scheme: "vde", Addr: "/tmp/my sw"}},
		{`vde:///tmp/"a[b]"[2]`, URL{Scheme: "vde", Addr: "/tmp/a[b]", Port: 2}},
		{`vde:///tmp/a\[b\][2]`, URL{Scheme: "vde", Addr: "/tmp/a[b]", Port: 2}},
		{`vde:///tmp/a%20b%5B[group='x/y']`, URL{Scheme: "vde", Addr: "/tmp/a b[", Group: "x/y"}},
		{`vde:///tmp/100%`, URL{Scheme: "vde", Addr: "/tmp/100%"}},
		{`vde:///tmp/'%41'`, URL{Scheme: "vde", Addr: "/tmp/%41"}},
		{"ptp:///tmp/p", URL{Scheme: "ptp", Addr: "/tmp/p"}},
		{"ptp:///tmp/p[mode=0666]", URL{Scheme: "ptp", Addr: "/tmp/p", Mode: 0o666}},
		{`cmd://ssh host "vde_plug /tmp/sw"`, URL{Scheme: "cmd", Addr: `ssh host "vde_plug /tmp/sw"`}},
		{"cmd://cat", URL{Scheme: "cmd", Addr: "cat"}},
		{"tap://tap0", URL{Scheme: "tap", Addr: "tap0"}},
		{"udp://5000->127.0.0.1:6000", URL{Scheme: "udp", Addr: "5000->127.0.0.1:6000", Local: ":5000", Remote: "127.0.0.1:6000"}},
		{"udp://127.0.0.1:5000->127.0.0.2:6000", URL{Scheme: "udp", Addr: "127.0.0.1:5000->127.0.0.2:6000", Local: "127.0.0.1:5000", Remote: "127.0.0.2:6000"}},
		{"udp://[::1]:5000->[::1]:6000", URL{Scheme: "udp", Addr: "[::1]:5000->[::1]:6000", Local: "[::1]:5000", Remote: "[::1]:6000"}},
		{"null://", URL{Scheme: "null"}},
		{"qemu+unix:///tmp/q.sock", URL{Scheme: "qemu+unix", Addr: "/tmp/q.sock"}},
		{"qemu+unix:///tmp/q.sock[server]", URL{Scheme: "qemu+unix", Addr: "/tmp/q.sock", Server: true}},
		{"qemu+unix:///tmp/q.sock[server/mode=0666]", URL{Scheme: "qemu+unix", Addr: "/tmp/q.sock", Server: true, Mode: 0o666}},
		{"qemu+tcp://127.0.0.1:5555", URL{Scheme: "qemu+tcp", Addr: "127.0.0.1:5555"}},
		{"qemu+tcp://:5555[server]", URL{Scheme: "qemu+tcp", Addr: ":5555", Server: true}},
		{"qemu+tcp://[::1]:5555", URL{Scheme: "qemu+tcp", Addr: "[::1]:5555"}},
		{"qemu+tcp://[::1]:5555[s]", URL{Scheme: "qemu+tcp", Addr: "[::1]:5555", Server: true}},
		{"qemu+tcp://localhost:5555[server=off]", URL{Scheme: "qemu+tcp", Addr: "localhost:5555"}},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *got); diff != "" {
			t.Errorf("ParseURL(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		back, err := ParseURL(got.String())
		if err != nil {
			t.Errorf("ParseURL(%q.String() = %q): %v", tt.in, got.String(), err)
		} else if diff := cmp.Diff(got, back); diff != "" {
			t.Errorf("ParseURL(%q) does not round-trip through %q:\n%s", tt.in, got.String(), diff)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		in    string
		errno syscall.Errno
		text  string // a part of the message that names the offending value
	}{
		{"nosuchmod://x", syscall.EPROTONOSUPPORT, `unknown scheme "nosuchmod"`},
		{"VDE:///tmp/x", syscall.EPROTONOSUPPORT, `"VDE"`},
		{"vde:///tmp/rs[foo=1]", syscall.EINVAL, `unknown key "foo"`},
		{"vde:///tmp/rs[3/mode=999]", syscall.EINVAL, `mode "999"`},
		{"vde:///tmp/rs[mode=0]", syscall.EINVAL, `mode "0"`},
		{"vde:///tmp/rs[99999999]", syscall.EINVAL, "port 99999999"},
		{"vde:///tmp/rs[port=]", syscall.EINVAL, "empty port"},
		{"vde:///tmp/rs[group=]", syscall.EINVAL, "group="},
		{"vde:///tmp/rs[3", syscall.EINVAL, "trailing [...]"},
		{"vde:///tmp/rs[3]x", syscall.EINVAL, "trailing [...]"},
		{"vde:///tmp/a]b", syscall.EINVAL, "trailing [...]"},
		{"vde:///tmp/'rs", syscall.EINVAL, "unterminated ' quote"},
		{`vde:///tmp/rs\`, syscall.EINVAL, "backslash"},
		{"ptp://", syscall.EINVAL, "needs a path"},
		{"ptp:///tmp/p[port=3]", syscall.EINVAL, `unknown key "port"`},
		{"cmd://", syscall.EINVAL, "needs a command"},
		{`cmd://sh -c "echo`, syscall.EINVAL, "unterminated"},
		{"tap://", syscall.EINVAL, "tap interface name"},
		{"tap://a-very-long-interface-name", syscall.EINVAL, "a-very-long-interface-name"},
		{"tap://a/b", syscall.EINVAL, `"a/b"`},
		{"udp://5000", syscall.EINVAL, "SRCPORT->DSTADDR:DSTPORT"},
		{"udp://5000->6000", syscall.EINVAL, `udp destination "6000"`},
		{"udp://5000->:6000", syscall.EINVAL, `udp destination ":6000"`},
		{"udp://x->127.0.0.1:6000", syscall.EINVAL, `udp source "x"`},
		{"udp://5000->127.0.0.1:70000", syscall.EINVAL, `port "70000"`},
		{"qemu+unix://", syscall.EINVAL, "needs a path"},
		{"qemu+unix:///q[server=maybe]", syscall.EINVAL, `server="maybe"`},
		{"qemu+tcp://host", syscall.EINVAL, `qemu+tcp address "host"`},
		{"qemu+tcp://host:0", syscall.EINVAL, `port "0"`},
		{"qemu+tcp://host:1[mode=0600]", syscall.EINVAL, `unknown key "mode"`},
	}
	for _, tt := range tests {
		u, err := ParseURL(tt.in)
		if err == nil {
			t.Errorf("ParseURL(%q) = %+v, want an error", tt.in, u)
			continue
		}
		if !errors.Is(err, tt.errno) {
			t.Errorf("ParseURL(%q) error %v is not %v", tt.in, err, tt.errno)
		}
		if !strings.Contains(err.Error(), tt.text) {
			t.Errorf("ParseURL(%q) error %q does not mention %q", tt.in, err, tt.text)
		}
	}
}

func TestErrorText(t *testing.T) {
	_, err := ParseURL("nosuchmod://x")
	e := &Error{URL: "nosuchmod://x", Err: err}
	want := `vde_open nosuchmod://x: Protocol not supported: unknown scheme "nosuchmod"`
	if !strings.HasPrefix(e.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", e.Error(), want)
	}
	_, err = ParseURL("vde:///tmp/rs[foo=1]")
	e = &Error{URL: "vde:///tmp/rs[foo=1]", Err: err}
	want = `vde_open vde:///tmp/rs[foo=1]: Invalid argument: unknown key "foo"`
	if !strings.HasPrefix(e.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", e.Error(), want)
	}
	if !errors.Is(e, syscall.EINVAL) {
		t.Errorf("errors.Is(%v, EINVAL) = false", e)
	}
	if got, want := Describe(syscall.ENOENT), "No such file or directory"; got != want {
		t.Errorf("Describe(ENOENT) = %q, want %q", got, want)
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"cat", []string{"cat"}},
		{"  sh  -c 'echo  a; cat'  ", []string{"sh", "-c", "echo  a; cat"}},
		{`a "b c" d\ e ''`, []string{"a", "b c", "d e", ""}},
		{`x"y"'z'`, []string{"xyz"}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if err != nil {
			t.Errorf("SplitCommand(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("SplitCommand(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

// FuzzParseURL checks that ParseURL never panics and that what it accepts survives String and back.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"", "/tmp/sw", "vde:///tmp/sw[3/mode=0660/group=users]", "vde://x[blue]",
		`vde:///a%20b'c d'\[[0]`, "ptp:///tmp/p[m=0600]", `cmd://sh -c "cat"`, "tap://tap0",
		"udp://127.0.0.1:5000->127.0.0.1:6000", "null://", "qemu+unix:///q[server]",
		"qemu+tcp://[::1]:1234[server]", "nosuch://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, err := ParseURL(in)
		if err != nil {
			if !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.EPROTONOSUPPORT) {
				t.Fatalf("ParseURL(%q) error %v wraps neither EINVAL nor EPROTONOSUPPORT", in, err)
			}
			return
		}
		s := u.String()
		back, err := ParseURL(s)
		if err != nil {
			t.Fatalf("ParseURL(%q) ok, but ParseURL(String() = %q): %v", in, s, err)
		}
		if diff := cmp.Diff(u, back); diff != "" {
			t.Fatalf("ParseURL(%q) does not round-trip through %q:\n%s", in, s, diff)
		}
	})
}
