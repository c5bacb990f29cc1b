// SPDX-License-Identifier: GPL-2.0-or-later

// Package ids resolves user and group names and numbers, the one place the tools do it.
//
// The originals differ in what they accept, so there are two kinds of lookup: by name only
// (getpwnam/getgrnam: vde_switch -g, vde_tunctl after its own strtol, the switch console's
// port/setuser) and by name or else a decimal number (vdeplug4's -g/group=). Errors name the value and
// wrap os.ErrInvalid. Everything here is safe for concurrent use; lookups read the system's databases
// (os/user), so they may block on NSS.
package ids

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
)

// UserByName returns the uid of the user called name (getpwnam).
func UserByName(name string) (int, error) {
	if u, err := user.Lookup(name); err == nil {
		if id, err := strconv.Atoi(u.Uid); err == nil {
			return id, nil
		}
	}
	return -1, fmt.Errorf("user %q: no such user: %w", name, os.ErrInvalid)
}

// GroupByName returns the gid of the group called name (getgrnam).
func GroupByName(name string) (int, error) {
	if g, err := user.LookupGroup(name); err == nil {
		if id, err := strconv.Atoi(g.Gid); err == nil {
			return id, nil
		}
	}
	return -1, fmt.Errorf("group %q: no such group: %w", name, os.ErrInvalid)
}

// User returns the uid of a user name or, failing that, of a decimal number (vdeplug4's order).
func User(s string) (int, error) {
	if id, err := UserByName(s); err == nil {
		return id, nil
	}
	if id, ok := number(s); ok {
		return id, nil
	}
	return -1, fmt.Errorf("user %q: no such user: %w", s, os.ErrInvalid)
}

// Group returns the gid of a group name or, failing that, of a decimal number (vdeplug4's order).
func Group(s string) (int, error) {
	if id, err := GroupByName(s); err == nil {
		return id, nil
	}
	if id, ok := number(s); ok {
		return id, nil
	}
	return -1, fmt.Errorf("group %q: no such group: %w", s, os.ErrInvalid)
}

// number parses a non-empty string of decimal digits that fits an id.
func number(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return int(n), err == nil
}

// UserName returns the name of uid, or uid in decimal when it has none.
func UserName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// GroupName returns the name of gid, or gid in decimal when it has none.
func GroupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil && g.Name != "" {
		return g.Name
	}
	return strconv.Itoa(gid)
}

// InGroup reports whether uid has gid as its primary group or is listed as a member of it. It is
// false for an unknown or negative uid.
func InGroup(uid, gid int) bool {
	if uid < 0 {
		return false
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return false
	}
	g := strconv.Itoa(gid)
	if u.Gid == g {
		return true
	}
	ids, err := u.GroupIds()
	return err == nil && slices.Contains(ids, g)
}
