// SPDX-License-Identifier: GPL-2.0-or-later

package vde

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// captured returns the handshake messages of testdata/handshake.hex, taken from the reference straces.
func captured(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/handshake.hex")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]byte{}
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<16)
	for s.Scan() {
		name, hx, ok := strings.Cut(s.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m[name] = b
	}
	return m
}

func TestRequestCaptured(t *testing.T) {
	c := captured(t)
	for _, tc := range []struct {
		name string
		want Message
	}{
		{"request_vdeplug", Message{Version: 3, ClientPath: "/tmp/rs/.06524-00000", Descr: "vdeplug: user=root pid=6524"}},
		{"request_py", Message{Version: 3, ClientPath: "/tmp/rs5/.py24099-52880", Descr: "straced"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := c[tc.name]
			got, err := ParseRequest(in)
			if err != nil {
				t.Fatalf("ParseRequest(%x): %v", in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRequest(%x) mismatch (-want +got):\n%s", in, diff)
			}
			enc, err := AppendRequest(nil, got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, in) {
				t.Errorf("AppendRequest(%+v) =\n%x\nwant (captured)\n%x", got, enc, in)
			}
		})
	}
	if n := len(c["request_vdeplug"]); n != 149 {
		t.Errorf("captured vde_plug request has %d bytes, want 149", n)
	}
}

func TestReplyCaptured(t *testing.T) {
	c := captured(t)
	for name, want := range map[string]string{"reply_vdeplug": "/tmp/rs/001.6", "reply_switch": "/tmp/rs5/001.6"} {
		in := c[name]
		got, err := ParseReply(in)
		if err != nil || got != want {
			t.Errorf("ParseReply(%x) = %q, %v; want %q", in, got, err, want)
		}
		enc, err := AppendReply(nil, want)
		if err != nil || !bytes.Equal(enc, in) {
			t.Errorf("AppendReply(%q) = %x, %v; want %x", want, enc, err, in)
		}
	}
}

func TestRequestType(t *testing.T) {
	for _, tc := range []struct {
		m    Message
		want uint32
	}{
		{Message{Port: 0}, 0x00000000},
		{Message{Port: 7}, 0x00000700},
		{Message{Port: 5}, 0x00000500},
		{Message{Port0: true}, 0x00000001},
		{Message{Port: maxPort}, 0xffffff00},
	} {
		tc.m.ClientPath, tc.m.Descr = "/tmp/x/.00001-00000", "d"
		b, err := AppendRequest(nil, tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != RequestHeadLen+1 {
			t.Errorf("len = %d, want %d", len(b), RequestHeadLen+1)
		}
		if got := binary.LittleEndian.Uint32(b[8:]); got != tc.want {
			t.Errorf("AppendRequest(%+v) type = %#08x, want %#08x", tc.m, got, tc.want)
		}
		back, err := ParseRequest(b)
		tc.m.Version = 3
		if err != nil || back != tc.m {
			t.Errorf("ParseRequest(AppendRequest(%+v)) = %+v, %v", tc.m, back, err)
		}
	}
}

// v1 builds an original-format request: magic, type, MAC, sockaddr, description.
func v1(typ uint32, path, descr string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, Magic)
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = append(b, 2, 0, 0, 0, 0, 1)
	b, _ = appendSockaddr(b, path)
	return append(b, descr...)
}

func TestParseRequest(t *testing.T) {
	good, _ := AppendRequest(nil, Message{ClientPath: "/tmp/s/.00001-00000", Descr: "x"})
	with := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	withNUL := append(bytes.Clone(good[:RequestHeadLen]), "ab\x00cd"...)
	abstract, _ := AppendRequest(nil, Message{ClientPath: "@sock", Descr: ""})
	for _, tc := range []struct {
		name string
		in   []byte
		want Message
		bad  string // substring of the error; "" means success
	}{
		{"v3", good, Message{Version: 3, ClientPath: "/tmp/s/.00001-00000", Descr: "x"}, ""},
		{"descr to NUL", withNUL, Message{Version: 3, ClientPath: "/tmp/s/.00001-00000", Descr: "ab"}, ""},
		{"abstract", abstract, Message{Version: 3, ClientPath: "@sock"}, ""},
		{"v1", v1(0, "/tmp/s/.1", "old"), Message{Version: 1, ClientPath: "/tmp/s/.1", Descr: "old"}, ""},
		{"v1 port0", v1(1, "/tmp/s/.1", ""), Message{Version: 1, Port0: true, ClientPath: "/tmp/s/.1"}, ""},
		{"empty", nil, Message{}, "too short"},
		{"short", good[:7], Message{}, "too short"},
		{"v0 magic", with(0, 0xdeadbeef), Message{}, "V0 request"},
		{"v2", with(4, 2), Message{}, "version 2"},
		{"v4", with(4, 4), Message{}, "version 4"},
		{"huge version", with(4, 0xffffffff), Message{}, "version 4294967295"},
		{"bad type", with(8, 5), Message{}, "bad request type 5"},
		{"bad type with port", with(8, 0x302), Message{}, "bad request type 2"},
		{"truncated v3", good[:RequestHeadLen-1], Message{}, "v3 request of 121 bytes"},
		{"truncated v1", v1(0, "/x", "")[:100], Message{}, "v1 request of 100 bytes"},
		{"family", with(12, 0x0002), Message{}, "address family 2"},
		{"empty path", with(12, 0x0001)[:RequestHeadLen], Message{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "empty path" {
				tc.in = bytes.Clone(tc.in)
				clear(tc.in[14:RequestHeadLen])
				tc.bad = "empty socket path"
			}
			got, err := ParseRequest(tc.in)
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("ParseRequest(%x): %v", tc.in, err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("ParseRequest(%x) mismatch (-want +got):\n%s", tc.in, diff)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseRequest(%x) = %+v, %v; want an ErrBadRequest containing %q", tc.in, got, err, tc.bad)
			}
		})
	}
}

func TestAppendRequestErrors(t *testing.T) {
	for _, m := range []Message{
		{ClientPath: ""},
		{ClientPath: "/" + strings.Repeat("a", PathMax)},
		{ClientPath: "/x", Port: -1},
		{ClientPath: "/x", Port: maxPort + 1},
		{ClientPath: "/x", Descr: strings.Repeat("d", MaxDescrLen+1)},
	} {
		if _, err := AppendRequest(nil, m); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("AppendRequest(%.40v) error = %v, want os.ErrInvalid", m, err)
		}
	}
	b, err := AppendRequest(nil, Message{ClientPath: "/x", Descr: strings.Repeat("d", MaxDescrLen)})
	if err != nil || len(b) != MaxRequestLen {
		t.Errorf("longest request: len %d, %v; want %d", len(b), err, MaxRequestLen)
	}
}

func TestParseReplyErrors(t *testing.T) {
	good, _ := AppendReply(nil, "/tmp/rs/001.6")
	fam := bytes.Clone(good)
	fam[0] = 2
	for _, in := range [][]byte{nil, good[:109], append(bytes.Clone(good), 0), fam, make([]byte, SockaddrLen)} {
		if p, err := ParseReply(in); !errors.Is(err, ErrBadReply) {
			t.Errorf("ParseReply(%x) = %q, %v; want ErrBadReply", in, p, err)
		}
	}
}

func u32p(v uint32) *uint32 { return &v }

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		mode, dirmode *uint32
		m, d          uint32
	}{
		{nil, nil, 0o600, 0o2700},
		{u32p(0o660), nil, 0o660, 0o2770},
		{u32p(0o666), nil, 0o666, 0o2777},
		{u32p(0o600), nil, 0o600, 0o2700},
		{u32p(0o640), nil, 0o640, 0o2750},
		{u32p(0o604), nil, 0o604, 0o2705},
		{u32p(0o400), nil, 0o400, 0o2500},
		{nil, u32p(0o750), 0o640, 0o750},
		{nil, u32p(0o2777), 0o666, 0o2777},
		{u32p(0o644), u32p(0o711), 0o644, 0o711},
	} {
		m, d := Modes(tc.mode, tc.dirmode)
		if m != tc.m || d != tc.d {
			t.Errorf("Modes(%v, %v) = %#o, %#o; want %#o, %#o", deref(tc.mode), deref(tc.dirmode), m, d, tc.m, tc.d)
		}
	}
}

func deref(p *uint32) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestPortOfPath(t *testing.T) {
	for in, want := range map[string]int{"/tmp/rs/001.6": 1, "/run/vde.ctl/005.8": 5, "/x/000.6": 0, "/x/fd7": -1, "/x/abc.1": -1, "/x/1234.99": 1234} {
		if got := PortOfPath(in); got != want {
			t.Errorf("PortOfPath(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, b := range captured(f) {
		f.Add(b)
	}
	f.Add(v1(0, "/tmp/s/.1", "old"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseRequest(in)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		if m.ClientPath == "" || len(m.ClientPath) > PathMax+1 {
			t.Fatalf("ClientPath %q", m.ClientPath)
		}
		if m.Version == 3 && len(m.Descr) <= MaxDescrLen && m.Port <= maxPort && !strings.ContainsRune(m.ClientPath[1:], 0) {
			// Re-encoding gives the same request back.
			b, err := AppendRequest(nil, m)
			if err != nil {
				t.Fatalf("AppendRequest(%+v): %v", m, err)
			}
			back, err := ParseRequest(b)
			if err != nil || back != m {
				t.Fatalf("round trip %+v -> %+v, %v", m, back, err)
			}
		}
	})
}

func FuzzParseReply(f *testing.F) {
	for _, b := range captured(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParseReply(in)
		if err != nil {
			if !errors.Is(err, ErrBadReply) {
				t.Fatalf("error %v does not wrap ErrBadReply", err)
			}
			return
		}
		if p == "" {
			t.Fatal("empty path accepted")
		}
		if p[0] == '@' && in[2] != 0 {
			return // a relative path starting with '@', which our "@name" notation cannot encode
		}
		b, err := AppendReply(nil, p)
		if err != nil {
			t.Fatalf("AppendReply(%q): %v", p, err)
		}
		if back, err := ParseReply(b); err != nil || back != p {
			t.Fatalf("round trip %q -> %q, %v", p, back, err)
		}
	})
}
