// SPDX-License-Identifier: GPL-2.0-or-later

package ids

import (
	"errors"
	"os"
	"os/user"
	"strings"
	"testing"
)

func TestLookups(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody on this system")
	}
	if _, err := user.LookupGroup("nogroup"); err != nil {
		t.Skip("no group nogroup on this system")
	}
	tests := []struct {
		name string
		f    func(string) (int, error)
		in   string
		want int // -1: an error naming in
	}{
		{"UserByName", UserByName, "root", 0},
		{"UserByName", UserByName, "nobody", 65534},
		{"UserByName", UserByName, "0", -1}, // getpwnam takes no numbers (vde_switch console)
		{"UserByName", UserByName, "govde-no-such-user", -1},
		{"GroupByName", GroupByName, "root", 0},
		{"GroupByName", GroupByName, "nogroup", 65534},
		{"GroupByName", GroupByName, "0", -1}, // vde_switch -g 0: "No such group '0'"
		{"User", User, "root", 0},
		{"User", User, "nobody", 65534},
		{"User", User, "123", 123},
		{"User", User, "4294967295", 4294967295},
		{"User", User, "4294967296", -1},
		{"User", User, "-5", -1},
		{"User", User, "+5", -1},
		{"User", User, "", -1},
		{"User", User, "govde-no-such-user", -1},
		{"Group", Group, "nogroup", 65534},
		{"Group", Group, "0", 0},
		{"Group", Group, "77", 77},
		{"Group", Group, "7x", -1},
		{"Group", Group, "govde-no-such-group", -1},
	}
	for _, tc := range tests {
		got, err := tc.f(tc.in)
		if tc.want == -1 {
			if err == nil || !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), `"`+tc.in+`"`) {
				t.Errorf("%s(%q) = %d, %v; want an error naming %q", tc.name, tc.in, got, err, tc.in)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s(%q) = %d, %v; want %d", tc.name, tc.in, got, err, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody on this system")
	}
	for _, tc := range []struct {
		f    func(int) string
		id   int
		want string
	}{
		{UserName, 0, "root"}, {UserName, 65534, "nobody"}, {UserName, 4242424, "4242424"},
		{GroupName, 0, "root"}, {GroupName, 65534, "nogroup"}, {GroupName, 4242424, "4242424"},
	} {
		if got := tc.f(tc.id); got != tc.want {
			t.Errorf("name of %d = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestInGroup(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody on this system")
	}
	for _, tc := range []struct {
		uid, gid int
		want     bool
	}{
		{0, 0, true}, {65534, 65534, true}, {65534, 0, false}, {-1, 0, false}, {4242424, 0, false},
	} {
		if got := InGroup(tc.uid, tc.gid); got != tc.want {
			t.Errorf("InGroup(%d, %d) = %v, want %v", tc.uid, tc.gid, got, tc.want)
		}
	}
}
