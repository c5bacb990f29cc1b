// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/govde/govde/internal/ids"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/netnode"
	"github.com/govde/govde/pkg/vde"
)

// NodeParams are the parameters of a netnode URL (hub://, switch://, multi://, bonding://), as
// vdeplug4 names them; zero values mean "not given".
type NodeParams struct {
	Mode, DirMode uint32 // mode= (socket mode, x bits dropped) and dirmode= (directory mode)
	Grp           string // grp=: group name or number of the directory and control socket
	HashSize      int    // hashsize= (switch): MAC table slots
	HashSeed      uint64 // hashseed= (switch)
	Expire        int    // expiretime= (switch): seconds a learned MAC stays valid
}

// nodeKinds maps the netnode schemes to their kinds.
var nodeKinds = map[string]netnode.Kind{
	"hub": netnode.Hub, "switch": netnode.Switch, "multi": netnode.Multi, "bonding": netnode.Bonding,
}

// nodeKeys are the bracket parameters of netnode URLs, in vdeplug4's order (prefixes match the first).
var nodeKeys = []string{"mode", "dirmode", "grp", "hashsize", "hashseed", "expiretime"}

// parseNode parses the part after "hub://" (or switch://…): an optional directory and optional
// parameters in one trailing pair of brackets.
func (u *URL) parseNode(rest string) error {
	base, params, has, err := splitParams(rest, true)
	if err != nil {
		return err
	}
	if u.Addr, err = unquote(base); err != nil {
		return err
	}
	u.Node = &NodeParams{}
	if !has {
		return nil
	}
	for _, elem := range splitUnquoted(params, '/') {
		if elem == "" {
			continue
		}
		s, err := unquote(elem)
		if err != nil {
			return err
		}
		k, v, _ := strings.Cut(s, "=")
		key := ""
		for _, a := range nodeKeys {
			if k != "" && strings.HasPrefix(a, k) {
				key = a
				break
			}
		}
		np := u.Node
		switch key {
		case "mode", "dirmode":
			m, err := ParseMode(v)
			if err != nil {
				return err
			}
			if key == "mode" {
				np.Mode = uint32(m)
			} else {
				np.DirMode = uint32(m)
			}
		case "grp":
			if v == "" {
				return invalid("grp= needs a group name or number")
			}
			np.Grp = v
		case "hashsize", "expiretime":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1<<24 {
				return invalid(fmt.Sprintf("%s=%q: want a number 1..%d", key, v, 1<<24))
			}
			if key == "hashsize" {
				np.HashSize = n
			} else {
				np.Expire = n
			}
		case "hashseed":
			n, err := strconv.ParseUint(v, 0, 64)
			if err != nil {
				return invalid(fmt.Sprintf("hashseed=%q: want a number", v))
			}
			np.HashSeed = n
		default:
			return invalid(fmt.Sprintf("unknown key %q in %s:// (want %s)", k, u.Scheme, strings.Join(nodeKeys, ", ")))
		}
	}
	return nil
}

// nodeString is String for a netnode URL.
func (u *URL) nodeString() string {
	var ps []string
	if np := u.Node; np != nil {
		if np.Mode != 0 {
			ps = append(ps, fmt.Sprintf("mode=%#o", np.Mode))
		}
		if np.DirMode != 0 {
			ps = append(ps, fmt.Sprintf("dirmode=%#o", np.DirMode))
		}
		if np.Grp != "" {
			ps = append(ps, "grp="+quote(np.Grp, "/="))
		}
		if np.HashSize != 0 {
			ps = append(ps, "hashsize="+strconv.Itoa(np.HashSize))
		}
		if np.HashSeed != 0 {
			ps = append(ps, "hashseed="+strconv.FormatUint(np.HashSeed, 10))
		}
		if np.Expire != 0 {
			ps = append(ps, "expiretime="+strconv.Itoa(np.Expire))
		}
	}
	s := u.Scheme + "://" + quote(u.Addr, "")
	if len(ps) > 0 {
		s += "[" + strings.Join(ps, "/") + "]"
	}
	return s
}

// DefaultNodeDir returns vdeplug4's directory for a netnode URL without one: /tmp/vdenode_<user> for
// the effective user, or /tmp/vdenode_u<euid> when the user has no name.
func DefaultNodeDir() string {
	euid := os.Geteuid()
	name := ids.UserName(euid)
	if name == strconv.Itoa(euid) {
		name = "u" + name
	}
	return "/tmp/vdenode_" + name
}

// openNode starts a netnode. As in vdeplug4, the -m and -g options (Options.Mode, Options.Group) do
// not apply: only the URL's own mode=, dirmode= and grp= do.
func openNode(u *URL) (frame.Endpoint, error) {
	np := u.Node
	if np == nil {
		np = &NodeParams{}
	}
	cfg := netnode.Config{Kind: nodeKinds[u.Scheme], Group: vde.NoGroup, HashSize: np.HashSize, HashSeed: np.HashSeed,
		Expire: time.Duration(np.Expire) * time.Second}
	var mp, dp *uint32
	if np.Mode != 0 {
		mp = &np.Mode
	}
	if np.DirMode != 0 {
		dp = &np.DirMode
	}
	cfg.Mode, cfg.DirMode = netnode.Modes(mp, dp)
	if np.Grp != "" {
		gid, err := LookupGroup(np.Grp)
		if err != nil {
			return nil, err
		}
		cfg.Group = gid
	}
	dir := u.Addr
	if dir == "" {
		dir = DefaultNodeDir()
	}
	return netnode.Listen(dir, cfg)
}
