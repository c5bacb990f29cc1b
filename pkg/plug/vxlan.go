// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/govde/govde/internal/ids"
	"github.com/govde/govde/pkg/vxlan"
)

// vxKeys lists the '/' options of vxlan:// and vxvde://, in vdeplug4's order: an abbreviated key is the
// first one it is a prefix of ("v" is vni).
var vxKeys = map[string][]string{
	"vxlan": {"port", "vni", "ttl", "rcvbuf", "v6", "v4", "hashsize", "expiretime", "if"},
	"vxvde": {"port", "vni", "grp", "ttl", "rcvbuf", "v6", "v4", "hashsize", "expiretime", "if", "bind"},
}

// vxArgs is a parsed vxlan:// or vxvde:// URL: the group as written and the options given, by full key.
type vxArgs struct {
	kind vxlan.Kind
	host string
	opt  map[string]string
}

// parseVX parses GROUP[/KEY[=VALUE]]... as vdeplug4's vde_parseparms does, and checks every value that can
// be checked without the system (numbers, ranges). Names (hosts, groups, interfaces) are looked up by open.
func parseVX(scheme, rest string) (*vxArgs, error) {
	if err := scan(rest, func(int) {}); err != nil {
		return nil, err
	}
	parts := splitUnquoted(rest, '/')
	a := &vxArgs{kind: vxlan.VXLAN, opt: map[string]string{}}
	if scheme == "vxvde" {
		a.kind = vxlan.VXVDE
	}
	host, err := unquote(parts[0])
	if err != nil {
		return nil, err
	}
	a.host = host
	allowed := vxKeys[scheme]
	for _, p := range parts[1:] {
		s, err := unquote(p)
		if err != nil {
			return nil, err
		}
		k, v, _ := strings.Cut(s, "=")
		if k == "" {
			continue // vdeplug4 skips empty elements and empty keys
		}
		key := ""
		for _, c := range allowed {
			if strings.HasPrefix(c, k) {
				key = c
				break
			}
		}
		if key == "" {
			return nil, invalid(fmt.Sprintf("unknown key %q in %s:// (want %s)", k, scheme, strings.Join(allowed, ", ")))
		}
		a.opt[key] = v
	}
	for _, k := range []string{"ttl", "hashsize", "expiretime"} {
		if v, ok := a.opt[k]; ok {
			if _, err := vxNumber(k, v, 0, maxOf(k)); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := a.opt["rcvbuf"]; ok {
		if _, err := sizeValue(v); err != nil {
			return nil, err
		}
	}
	if v, ok := a.opt["port"]; ok && isDigits(v) {
		if _, err := vxNumber("port", v, 1, 65535); err != nil {
			return nil, err
		}
	}
	if v, ok := a.opt["vni"]; ok && (a.kind == vxlan.VXLAN || isDigits(v)) {
		if _, err := vxNumber("vni", v, 0, vxlan.MaxVNI); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func maxOf(k string) int {
	switch k {
	case "ttl":
		return 255
	case "hashsize":
		return vxlan.MaxHashSize
	}
	return 1 << 30
}

// vxNumber parses a decimal value of key k in lo..hi.
func vxNumber(k, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || !isDigits(v) || n < lo || n > hi {
		return 0, invalid(fmt.Sprintf("%s=%q: want a number %d..%d", k, v, lo, hi))
	}
	return n, nil
}

// sizeValue parses a size as vdeplug4's strtoullm: a number (decimal, 0x hexadecimal or 0 octal) followed
// by k, m, g or t multipliers (powers of 1024).
func sizeValue(v string) (int, error) {
	i := len(v)
	for i > 0 && strings.ContainsRune("kKmMgGtT", rune(v[i-1])) {
		i--
	}
	n, err := strconv.ParseUint(v[:i], 0, 31)
	if err != nil {
		return 0, invalid(fmt.Sprintf("rcvbuf=%q: want a size such as 262144 or 256k", v))
	}
	for _, c := range strings.ToLower(v[i:]) {
		n <<= 10 * uint(strings.IndexRune("kmgt", c)+1)
	}
	if n > 1<<31-1 {
		return 0, invalid(fmt.Sprintf("rcvbuf=%q: too large", v))
	}
	return int(n), nil
}

// vxGroupID returns the id that vni= or grp= of vxvde:// stands for: a number, a group name, or, for an
// empty value, our effective group (vdeplug4's vde_grnam2gid).
func vxGroupID(k, v string) (int, error) {
	switch {
	case v == "":
		return os.Getegid(), nil
	case isDigits(v):
		return vxNumber(k, v, 0, vxlan.MaxVNI)
	}
	id, err := ids.GroupByName(v)
	if err != nil {
		return 0, invalid(fmt.Sprintf("%s=%q: no such group", k, v))
	}
	return id, nil
}

// config turns the parsed URL into a vxlan.Config: defaults, name look-ups, grp= applied to the group.
func (a *vxArgs) config(ctx context.Context) (vxlan.Config, error) {
	cfg := vxlan.Config{Kind: a.kind, Port: vxlan.VXLANPort, VNI: vxlan.DefaultVNI, TTL: vxlan.DefaultTTL,
		HashSize: vxlan.DefaultHashSize, Expire: vxlan.DefaultExpire}
	if a.kind == vxlan.VXVDE {
		cfg.Port = vxlan.VXVDEPort
	}
	_, v4 := a.opt["v4"]
	_, v6 := a.opt["v6"]
	network := "ip"
	switch {
	case v4 && !v6:
		network = "ip4"
	case v6 && !v4:
		network = "ip6"
	}
	host := a.host
	if host == "" {
		host = vxlan.DefaultGroup4.String()
		if v6 {
			host = vxlan.DefaultGroup6.String()
		}
	}
	group, err := lookupAddr(ctx, network, host)
	if err != nil {
		return cfg, err
	}
	if !group.IsMulticast() {
		return cfg, invalid(fmt.Sprintf("%s: not a multicast address", group))
	}
	cfg.Group = group
	if v, ok := a.opt["port"]; ok {
		p, err := net.DefaultResolver.LookupPort(ctx, "udp", v)
		if err != nil || p < 1 || p > 65535 {
			return cfg, invalid(fmt.Sprintf("port=%q: want a UDP port", v))
		}
		cfg.Port = uint16(p)
	}
	if v, ok := a.opt["ttl"]; ok {
		cfg.TTL, _ = strconv.Atoi(v)
	}
	if v, ok := a.opt["rcvbuf"]; ok {
		cfg.RcvBuf, _ = sizeValue(v)
	}
	if v, ok := a.opt["hashsize"]; ok {
		cfg.HashSize, _ = strconv.Atoi(v)
	}
	if v, ok := a.opt["expiretime"]; ok {
		if n, _ := strconv.Atoi(v); n > 0 { // vdeplug4: <= 0 keeps the default
			cfg.Expire = time.Duration(n) * time.Second
		}
	}
	if v, ok := a.opt["if"]; ok {
		ifi, err := net.InterfaceByName(v)
		if err != nil {
			return cfg, &errnoError{syscall.ENODEV, fmt.Sprintf("if=%q: no such interface", v)}
		}
		cfg.IfIndex = ifi.Index
	}
	if a.kind == vxlan.VXLAN {
		if v, ok := a.opt["vni"]; ok {
			n, _ := strconv.Atoi(v)
			cfg.VNI = uint32(n)
		}
		return cfg, nil
	}
	if v, ok := a.opt["grp"]; ok {
		gid, err := vxGroupID("grp", v)
		if err != nil {
			return cfg, err
		}
		// grp= puts the group id in the last three bytes of the group address, and is the default VNI.
		b := cfg.Group.AsSlice()
		b[len(b)-3], b[len(b)-2], b[len(b)-1] = byte(gid>>16), byte(gid>>8), byte(gid)
		cfg.Group, _ = netip.AddrFromSlice(b)
		cfg.VNI = uint32(gid) & vxlan.MaxVNI
	}
	if v, ok := a.opt["vni"]; ok {
		vni, err := vxGroupID("vni", v)
		if err != nil {
			return cfg, err
		}
		cfg.VNI = uint32(vni) & vxlan.MaxVNI
	}
	if v, ok := a.opt["bind"]; ok && v != "" {
		fam := "ip4"
		if cfg.Group.Is6() {
			fam = "ip6"
		}
		if cfg.Bind, err = lookupAddr(ctx, fam, v); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// lookupAddr returns host as an address of network ("ip", "ip4" or "ip6"): a literal, or the first address
// the resolver gives.
func lookupAddr(ctx context.Context, network, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.WithZone("").Unmap()
		if network == "ip4" && !a.Is4() || network == "ip6" && !a.Is6() {
			return netip.Addr{}, invalid(fmt.Sprintf("%s: not an IPv%s address", host, strings.TrimPrefix(network, "ip")))
		}
		return a, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	as, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil || len(as) == 0 {
		return netip.Addr{}, &errnoError{syscall.ENOENT, fmt.Sprintf("%s: host not found", host)}
	}
	return as[0].Unmap(), nil
}

// openVX opens a vxlan:// or vxvde:// plug; rest is the URL after "://".
func openVX(ctx context.Context, scheme, rest string) (*vxlan.Conn, error) {
	a, err := parseVX(scheme, rest)
	if err != nil {
		return nil, err
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	return vxlan.Open(cfg)
}
