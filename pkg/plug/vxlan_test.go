// SPDX-License-Identifier: GPL-2.0-or-later

package plug

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govde/govde/pkg/vxlan"
)

func TestVXConfig(t *testing.T) {
	base := func(k vxlan.Kind) vxlan.Config {
		c := vxlan.Config{Kind: k, Group: vxlan.DefaultGroup4, Port: vxlan.VXLANPort, VNI: 1, TTL: 1,
			HashSize: vxlan.DefaultHashSize, Expire: vxlan.DefaultExpire}
		if k == vxlan.VXVDE {
			c.Port = vxlan.VXVDEPort
		}
		return c
	}
	with := func(c vxlan.Config, f func(*vxlan.Config)) vxlan.Config { f(&c); return c }
	tests := []struct {
		url  string
		want vxlan.Config
	}{
		{"vxlan://", base(vxlan.VXLAN)},
		{"vxvde://", base(vxlan.VXVDE)},
		{"vxlan:///v6", with(base(vxlan.VXLAN), func(c *vxlan.Config) { c.Group = vxlan.DefaultGroup6 })},
		{"vxlan://239.1.2.3/port=8472/vni=42/ttl=4/hashsize=100/expiretime=60/rcvbuf=1k", with(base(vxlan.VXLAN), func(c *vxlan.Config) {
			c.Group, c.Port, c.VNI, c.TTL, c.HashSize, c.Expire, c.RcvBuf = netip.MustParseAddr("239.1.2.3"), 8472, 42, 4, 100, time.Minute, 1024
		})},
		{"vxlan://239.1.2.3/v=9/e=0", with(base(vxlan.VXLAN), func(c *vxlan.Config) { c.Group, c.VNI = netip.MustParseAddr("239.1.2.3"), 9 })},
		{"vxlan://ff15::3/port=12345/vni=42", with(base(vxlan.VXLAN), func(c *vxlan.Config) {
			c.Group, c.Port, c.VNI = netip.MustParseAddr("ff15::3"), 12345, 42
		})},
		{"vxlan://239.0.0.9/if=lo", with(base(vxlan.VXLAN), func(c *vxlan.Config) { c.Group, c.IfIndex = netip.MustParseAddr("239.0.0.9"), 1 })},
		{"vxvde://239.0.0.1/grp=1234", with(base(vxlan.VXVDE), func(c *vxlan.Config) { c.Group, c.VNI = netip.MustParseAddr("239.0.4.210"), 1234 })},
		{"vxvde://239.0.0.1/grp=1234/vni=7/bind=127.0.0.1", with(base(vxlan.VXVDE), func(c *vxlan.Config) {
			c.Group, c.VNI, c.Bind = netip.MustParseAddr("239.0.4.210"), 7, netip.MustParseAddr("127.0.0.1")
		})},
	}
	for _, tt := range tests {
		u, err := ParseURL(tt.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.url, err)
			continue
		}
		if s := u.String(); s != tt.url {
			t.Errorf("ParseURL(%q).String() = %q", tt.url, s)
		}
		a, err := parseVX(u.Scheme, u.Addr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.config(context.Background())
		if err != nil {
			t.Errorf("%s: config: %v", tt.url, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("%s: config (-want +got):\n%s", tt.url, diff)
		}
	}
}

func TestVXBadURL(t *testing.T) {
	for _, tt := range []struct {
		url   string
		errno syscall.Errno
	}{
		{"vxlan://239.0.0.1/foo=1", syscall.EINVAL},
		{"vxlan://239.0.0.1/grp=1", syscall.EINVAL}, // grp is vxvde's
		{"vxlan://239.0.0.1/vni=16777216", syscall.EINVAL},
		{"vxlan://239.0.0.1/vni=x", syscall.EINVAL},
		{"vxlan://239.0.0.1/ttl=256", syscall.EINVAL},
		{"vxlan://239.0.0.1/port=0", syscall.EINVAL},
		{"vxlan://239.0.0.1/hashsize=-1", syscall.EINVAL},
		{"vxlan://239.0.0.1/rcvbuf=x", syscall.EINVAL},
		{"vxvde://239.0.0.1/vni=nosuchgroup-govde", syscall.EINVAL},
		{"vxlan://198.18.0.1", syscall.EINVAL}, // not multicast
		{"vxlan://239.0.0.1/v6", syscall.EINVAL},
		{"vxlan://239.0.0.1/if=nosuchif0", syscall.ENODEV},
		{"vxlan://'239.0.0.1", syscall.EINVAL},
	} {
		_, err := Open(context.Background(), tt.url, Options{})
		if !errors.Is(err, tt.errno) {
			t.Errorf("Open(%q) = %v, want errno %v", tt.url, err, tt.errno)
		}
	}
}
