// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package plug

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govde/govde/pkg/netnode"
)

func TestParseNodeURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want URL
	}{
		{"hub://", URL{Scheme: "hub", Node: &NodeParams{}}},
		{"switch:///tmp/sw[hashsize=1024/expiretime=30/hashseed=0x10]",
			URL{Scheme: "switch", Addr: "/tmp/sw", Node: &NodeParams{HashSize: 1024, Expire: 30, HashSeed: 16}}},
		{"multi://x[m=0666/d=0750/g=users]", URL{Scheme: "multi", Addr: "x", Node: &NodeParams{Mode: 0o666, DirMode: 0o750, Grp: "users"}}},
		{"bonding://'a b'", URL{Scheme: "bonding", Addr: "a b", Node: &NodeParams{}}},
		{"seqpacket://0x3", URL{Scheme: "seqpacket", Addr: "3"}},
	} {
		got, err := ParseURL(tc.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(&tc.want, got); diff != "" {
			t.Errorf("ParseURL(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, in := range []string{"hub://x[bogus=1]", "switch://x[hashsize=0]", "switch://x[hashsize=abc]", "hub://x[mode=9]",
		"hub://x[grp=]", "switch://x[expiretime=-1]", "hub://x[a]b", "seqpacket://3x"} {
		if _, err := ParseURL(in); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("ParseURL(%q) = %v, want EINVAL", in, err)
		}
	}
}

func TestDefaultNodeDir(t *testing.T) {
	if d := DefaultNodeDir(); !regexp.MustCompile(`^/tmp/vdenode_[^/]+$`).MatchString(d) {
		t.Fatalf("DefaultNodeDir() = %q", d)
	}
}

// TestOpenNode: the URL's mode reaches the sockets and the directory (mode=0666 gives 02777, as
// vdeplug4), -m does not; a second node on a live directory is refused.
func TestOpenNode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	ep, err := Open(context.Background(), "hub://"+dir+"[mode=0666]", Options{Mode: 0o700})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if _, ok := ep.(*netnode.Node); !ok {
		t.Fatalf("hub:// opened a %T", ep)
	}
	fi, err := os.Stat(filepath.Join(dir, "ctl"))
	if err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("ctl: %v, %v; want mode 0666", fi.Mode(), err)
	}
	fi, err = os.Stat(dir)
	if err != nil || fi.Mode()&(os.ModePerm|os.ModeSetgid) != os.ModeSetgid|0o777 {
		t.Fatalf("dir: %v, %v; want 02777", fi.Mode(), err)
	}
	_, err = Open(context.Background(), "switch://"+dir, Options{})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second node on %s: %v, want EADDRINUSE", dir, err)
	}
}
