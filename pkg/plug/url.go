// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// A URL is a parsed plug URL. ParseURL fills it; Open acts on it.
type URL struct {
	// Scheme is one of vde, ptp, cmd, tap, udp, null, qemu+unix, qemu+tcp. A URL without "://" is vde.
	Scheme string
	// Addr is the scheme-specific part without its parameters, unquoted: the switch directory (vde, "" for the
	// default switch), the socket path (ptp, qemu+unix), the command line as written (cmd, still quoted: see
	// SplitCommand), the interface name (tap), the HOST:PORT (qemu+tcp) or the whole udp spec.
	Addr string
	// Port is the switch port asked for (vde); 0 lets the switch choose.
	Port int
	// Port0 asks for the switch's management port 0 (vde "[0]").
	Port0 bool
	// PortGroup is a non-numeric port name (vde "[NAME]"): vdeplug4 netnodes serve DIR/NAME.
	PortGroup string
	// Group is the group given to the sockets we create ("" keeps the default).
	Group string
	// Mode is the permission of the sockets we create; 0 means the default (0700).
	Mode os.FileMode
	// Server makes qemu+unix and qemu+tcp listen instead of connecting.
	Server bool
	// Local and Remote are the udp addresses as HOST:PORT (Local's host may be empty: any address).
	Local, Remote string
	// Node holds the parameters of a netnode URL (hub, switch, multi, bonding; Addr is its directory,
	// "" for DefaultNodeDir).
	Node *NodeParams
}

// keys lists the bracket parameters each scheme takes; schemes absent from it do not parse brackets.
var keys = map[string][]string{
	"vde":       {"port", "portgroup", "group", "mode"},
	"ptp":       {"group", "mode"},
	"qemu+unix": {"server", "group", "mode"},
	"qemu+tcp":  {"server"},
}

// Schemes lists the supported schemes, for messages and help text.
var Schemes = []string{"vde", "ptp", "cmd", "tap", "udp", "null", "qemu+unix", "qemu+tcp",
	"hub", "switch", "multi", "bonding", "seqpacket", "vxlan", "vxvde"}

// maxPort bounds a switch port number: the v3 request carries it in the upper 24 bits of a 32-bit field.
const maxPort = 1<<23 - 1

// ParseURL parses a plug URL without touching the file system (see Resolve for the default URL and URL files).
// Errors wrap syscall.EPROTONOSUPPORT for an unknown scheme and syscall.EINVAL for anything else, and name the
// offending part.
func ParseURL(raw string) (*URL, error) {
	scheme, rest := "vde", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i], raw[i+3:]
	}
	u := &URL{Scheme: scheme}
	switch scheme {
	case "vde", "ptp", "qemu+unix", "qemu+tcp":
		base, params, has, err := splitParams(rest, scheme != "qemu+tcp")
		if err != nil {
			return nil, err
		}
		if u.Addr, err = unquote(base); err != nil {
			return nil, err
		}
		if has {
			if err := u.setParams(params); err != nil {
				return nil, err
			}
		}
		if scheme != "vde" && u.Addr == "" {
			return nil, invalid(fmt.Sprintf("%s:// needs a path", scheme))
		}
		if scheme == "qemu+tcp" {
			minPort := 1
			if u.Server {
				minPort = 0 // any free port
			}
			if err := checkHostPort(u.Addr, minPort, "qemu+tcp address"); err != nil {
				return nil, err
			}
		}
	case "cmd":
		argv, err := SplitCommand(rest)
		if err != nil {
			return nil, err
		}
		if len(argv) == 0 {
			return nil, invalid("cmd:// needs a command")
		}
		u.Addr = rest
	case "tap":
		name, err := unquote(rest)
		if err != nil {
			return nil, err
		}
		if err := checkIfName(name); err != nil {
			return nil, err
		}
		u.Addr = name
	case "udp":
		spec, err := unquote(rest)
		if err != nil {
			return nil, err
		}
		if u.Local, u.Remote, err = parseUDP(spec); err != nil {
			return nil, err
		}
		u.Addr = spec
	case "null":
		u.Addr = rest
	case "hub", "switch", "multi", "bonding":
		if err := u.parseNode(rest); err != nil {
			return nil, err
		}
	case "seqpacket":
		fd, err := parseFD(rest)
		if err != nil {
			return nil, err
		}
		u.Addr = strconv.Itoa(fd)
	case "vxlan", "vxvde": // GROUP/key=value/..., parsed by parseVX (vxlan.go)
		if _, err := parseVX(scheme, rest); err != nil {
			return nil, err
		}
		u.Addr = rest
	default:
		return nil, &errnoError{syscall.EPROTONOSUPPORT,
			fmt.Sprintf("unknown scheme %q (want one of %s)", scheme, strings.Join(Schemes, ", "))}
	}
	return u, nil
}

// String returns the URL in a form that ParseURL reads back as the same URL.
func (u *URL) String() string {
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	switch u.Scheme {
	case "cmd", "null", "vxlan", "vxvde":
		b.WriteString(u.Addr)
		return b.String()
	case "udp":
		b.WriteString(quote(u.Addr, ""))
		return b.String()
	case "seqpacket":
		b.WriteString(u.Addr)
		return b.String()
	case "hub", "switch", "multi", "bonding":
		return u.nodeString()
	}
	b.WriteString(quote(u.Addr, ""))
	var ps []string
	switch {
	case u.Port0:
		ps = append(ps, "0")
	case u.Port != 0:
		ps = append(ps, strconv.Itoa(u.Port))
	case u.PortGroup != "":
		ps = append(ps, "portgroup="+quote(u.PortGroup, "/="))
	}
	if u.Group != "" {
		ps = append(ps, "group="+quote(u.Group, "/="))
	}
	if u.Mode != 0 {
		ps = append(ps, fmt.Sprintf("mode=%#o", uint32(u.Mode.Perm())))
	}
	if u.Server {
		ps = append(ps, "server")
	}
	if len(ps) > 0 {
		b.WriteString("[" + strings.Join(ps, "/") + "]")
	}
	return b.String()
}

// setParams applies the '/'-separated parameters found inside the brackets.
func (u *URL) setParams(params string) error {
	allowed := keys[u.Scheme]
	for _, elem := range splitUnquoted(params, '/') {
		if elem == "" {
			continue
		}
		s, err := unquote(elem)
		if err != nil {
			return err
		}
		k, v, hasEq := strings.Cut(s, "=")
		if !hasEq {
			if u.Scheme == "vde" {
				if err := u.setPort(s); err != nil {
					return err
				}
				continue
			}
			k = s
		}
		key := ""
		for _, a := range allowed {
			if k != "" && strings.HasPrefix(a, k) {
				key = a
				break
			}
		}
		switch key {
		case "port", "portgroup":
			err = u.setPort(v)
		case "group":
			if v == "" {
				err = invalid("group= needs a group name or number")
			}
			u.Group = v
		case "mode":
			err = u.setMode(v)
		case "server":
			switch v {
			case "", "on", "1", "yes", "true":
				u.Server = true
			case "off", "0", "no", "false":
				u.Server = false
			default:
				err = invalid(fmt.Sprintf("server=%q: want on or off", v))
			}
		default:
			return invalid(fmt.Sprintf("unknown key %q in %s:// (want %s)", k, u.Scheme, strings.Join(allowed, ", ")))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// setPort takes a port number (0: management port 0) or, when not numeric, a portgroup name.
func (u *URL) setPort(v string) error {
	if v == "" {
		return invalid("empty port")
	}
	if !isDigits(v) {
		u.PortGroup, u.Port, u.Port0 = v, 0, false
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > maxPort {
		return invalid(fmt.Sprintf("port %s: want 0..%d", v, maxPort))
	}
	u.Port, u.Port0, u.PortGroup = n, n == 0, ""
	return nil
}

func (u *URL) setMode(v string) error {
	m, err := ParseMode(v)
	if err != nil {
		return err
	}
	u.Mode = m
	return nil
}

// ParseMode parses an octal permission such as 0660 or 660 (at most 0777; 0 is refused, it would lock
// everyone out, the switch included).
func ParseMode(v string) (os.FileMode, error) {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 || n == 0 {
		return 0, invalid(fmt.Sprintf("mode %q: want an octal permission 1..0777", v))
	}
	return os.FileMode(n), nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func checkIfName(name string) error {
	if name == "" || len(name) > 15 || name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n\x00") {
		return invalid(fmt.Sprintf("tap interface name %q: want 1..15 characters without '/', ':' or spaces", name))
	}
	return nil
}

// checkHostPort checks HOST:PORT with a numeric port in minPort..65535.
func checkHostPort(s string, minPort int, what string) error {
	_, p, err := net.SplitHostPort(s)
	if err != nil {
		return invalid(fmt.Sprintf("%s %q: want HOST:PORT", what, s))
	}
	n, err := strconv.Atoi(p)
	if err != nil || !isDigits(p) || n < minPort || n > 65535 {
		return invalid(fmt.Sprintf("%s %q: port %q: want %d..65535", what, s, p, minPort))
	}
	return nil
}

// parseUDP parses [SRCADDR:]SRCPORT->DSTADDR:DSTPORT into HOST:PORT pairs.
func parseUDP(spec string) (local, remote string, err error) {
	src, dst, ok := strings.Cut(spec, "->")
	if !ok {
		return "", "", invalid(fmt.Sprintf("udp spec %q: want [SRCADDR:]SRCPORT->DSTADDR:DSTPORT", spec))
	}
	if isDigits(src) {
		src = ":" + src
	}
	if err := checkHostPort(src, 0, "udp source"); err != nil {
		return "", "", err
	}
	if err := checkHostPort(dst, 1, "udp destination"); err != nil {
		return "", "", err
	}
	if h, _, _ := net.SplitHostPort(dst); h == "" {
		return "", "", invalid(fmt.Sprintf("udp destination %q: want DSTADDR:DSTPORT", dst))
	}
	return src, dst, nil
}
