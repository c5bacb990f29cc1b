#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# record-vnetctl.sh records the original ctys-setupVDE (ctys-vnetctl) into testdata/vnetctl/ so that `make test`
# compares vnetctl with it without fetching anything.
#
#   scripts/record-vnetctl.sh CTYS_DIR [OUTDIR]
#
# CTYS_DIR is the "ctys" folder of a checkout of ArnoCan/Unified-Sessions-Manager (fetched by hand; this script fetches
# nothing and the project ships none of it). Runs as root. Everything happens inside two network namespaces it creates
# ("host" with a veth uplink eth0 198.18.0.1/24 to "LAN" 198.18.0.2/24) and inside a private mount namespace whose
# /var/tmp and /run are scratch directories, so the original's fixed paths (/var/tmp/vde_*0.root, /var/run/...) never
# touch the machine. Needs vde2, bridge-utils, net-tools and netcat-openbsd (installed with apt-get when missing).
#
# Each case NAME gives OUTDIR/NAME.{rc,stdout,stderr,state}: the exit code, stdout, stderr with the pid, host and
# colour codes masked, and the devices, addresses, routes, modes and owners after it.
set -euo pipefail

ctys=${1:?usage: record-vnetctl.sh CTYS_DIR [OUTDIR]}
out=${2:-$(cd "$(dirname "$0")/.." && pwd)/testdata/vnetctl}
ctys=$(cd "$ctys" && pwd)
[ -f "$ctys/bin/ctys-setupVDE.sh" ] || { echo "record-vnetctl: no bin/ctys-setupVDE.sh in $ctys" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "record-vnetctl: needs root" >&2; exit 1; }

need=()
command -v brctl >/dev/null || need+=(bridge-utils)
command -v ifconfig >/dev/null || need+=(net-tools)
command -v nc >/dev/null || need+=(netcat-openbsd)
command -v vde_switch >/dev/null || need+=(vde2)
if [ ${#need[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/record-vnetctl.XXXXXX)
h=vnrec-h-$$ l=vnrec-l-$$
cleanup() {
	ip netns pids "$h" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	ip netns del "$h" 2>/dev/null || true
	ip netns del "$l" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# A writable copy of the original with the folders its start-up insists on (the repository lacks empty ones).
cp -a "$ctys" "$work/ctys"
mkdir -p "$work/ctys"/doc/{en,de}/{man,html,pdf} "$work/ctys/addons"
mkdir -p "$work/var-tmp" "$work/run" "$work/shim"

# The original parses the old net-tools ifconfig format ("eth0      Link encap:Ethernet  HWaddr ..." and
# "inet addr:... Bcast:... Mask:..."); today's net-tools prints another one. This shim prints the old format from
# iproute2 for the listing forms (no argument, or one interface) and hands every other call to the real ifconfig.
cat >"$work/shim/ifconfig" <<'EOF'
#!/bin/bash
show() {
	local n=$1 flags mac t
	t=$(cat /sys/class/net/$n/type 2>/dev/null) || { echo "$n: error fetching interface information: Device not found" >&2; return 1; }
	mac=$(cat /sys/class/net/$n/address)
	if [ "$t" = 772 ]; then printf '%-10sLink encap:Local Loopback  \n' "$n"
	else printf '%-10sLink encap:Ethernet  HWaddr %s  \n' "$n" "$mac"; fi
	ip -4 -o addr show dev "$n" | while read -r _ _ _ cidr _ brd _; do
		local a=${cidr%/*} p=${cidr#*/} m i v=0
		for ((i = 0; i < 32; i++)); do ((i < p)) && v=$((v | (1 << (31 - i)))); done
		m=$((v >> 24 & 255)).$((v >> 16 & 255)).$((v >> 8 & 255)).$((v & 255))
		if [ "$brd" != "" ] && [ "$brd" != scope ]; then
			printf '          inet addr:%s  Bcast:%s  Mask:%s\n' "$a" "$brd" "$m"
		else printf '          inet addr:%s  Mask:%s\n' "$a" "$m"; fi
	done
	flags=$(ip -o link show dev "$n" | sed -n 's/.*<\([^>]*\)>.*/\1/p' | tr , ' ')
	printf '          %s  MTU:%s  Metric:1\n\n' "$flags" "$(cat /sys/class/net/$n/mtu)"
}
case $# in
0) for n in $(ip -o link show up | awk -F': ' '{print $2}' | sed 's/@.*//'); do show "$n"; done ;;
1) case $1 in -*) exec /usr/sbin/ifconfig "$@" ;; *) show "$1" ;; esac ;;
*) exec /usr/sbin/ifconfig "$@" ;;
esac
EOF
chmod +x "$work/shim/ifconfig"

ip netns add "$h"
ip netns add "$l"
ip link add eth0 netns "$h" type veth peer name lan0 netns "$l"
ip -n "$h" link set eth0 address 02:00:c6:12:00:01
ip -n "$h" addr add 198.18.0.1/24 brd 198.18.0.255 dev eth0
ip -n "$h" link set eth0 up
ip -n "$h" route add 198.19.0.0/24 via 198.18.0.2 dev eth0
ip -n "$l" addr add 198.18.0.2/24 dev lan0
ip -n "$l" link set lan0 up
ip -n "$l" link set lo up

# inns runs "$@" as root in the host namespace with /var/tmp and /run replaced by the scratch folders.
inns() {
	ip netns exec "$h" unshare -m --propagation private bash -c '
		mount --bind "$1" /var/tmp && mount --bind "$2" /run && shift 2 && exec "$@"' _ \
		"$work/var-tmp" "$work/run" "$@"
}

mkdir -p "$out"
mask() {
	sed -E -e 's/\x1b\[[0-9;]*m//g' -e "s/@$(uname -n):([0-9]+:)?/@HOST:\1/g" -e "s/@HOST:[0-9]+:/@HOST:PID:/g" -e "s/\|$(uname -n)$/|HOST/" \
		-e 's/([0-9a-f]{2}:){5}[0-9a-f]{2}/MAC/g' -e 's/tap[0-9]+/TAP/g' -e 's/pid [0-9]+/pid PID/g'
}
state() {
	inns bash -c '
		echo "# links"; ip -o link show | sed -E "s/^[0-9]+: //; s/ qlen [0-9]+//; s/link\/ether ([0-9a-f:]+).*/ether \1/" |
			awk "{print \$1, \$2, \$NF}" | sort
		echo "# masters"; for d in /sys/class/net/*/master; do [ -e "$d" ] && echo "${d#/sys/class/net/} $(basename "$(readlink "$d")")"; done | sed "s:/master::" | sort
		echo "# addrs"; ip -4 -o addr show | awk "{print \$2, \$4}" | sort
		echo "# routes"; ip -4 route show | sort
		for b in /sys/class/net/*/bridge; do [ -e "$b" ] || continue; n=${b%/bridge}; n=${n##*/}
			same=no; [ "$(cat /sys/class/net/$n/address)" = "$(cat /sys/class/net/eth0/address)" ] && same=yes
			echo "# bridge $n stp=$(cat $b/stp_state) forward_delay=$(cat $b/forward_delay) mac-is-uplinks=$same"; done
		echo "# taps"; for t in /sys/class/net/*/tun_flags; do [ -e "$t" ] || continue; n=${t%/tun_flags}; n=${n##*/}
			echo "$n owner=$(cat /sys/class/net/$n/owner) flags=$(cat $t)"; done
		echo "# files"; find /var/tmp /run -mindepth 1 -printf "%M %u %g %p\n" 2>/dev/null | sort -k4
	' | mask
	echo "# procs"
	for p in $(ip netns pids "$h"); do cat /proc/$p/comm 2>/dev/null; done | sort
}
run() { # run NAME ARGS...: one call of the original, recorded
	local name=$1
	shift
	local rc=0
	inns env -i PATH="$work/shim:/usr/sbin:/usr/bin:/sbin:/bin" HOME=/root USER=root LOGNAME=root TERM=dumb \
		CTYS_INI=1 CTYS_NETCAT="nc -q 0" BRIDGE_FWDELAY="${BRIDGE_FWDELAY:-}" \
		timeout 300 bash "$work/ctys/bin/ctys-setupVDE.sh" "$@" >"$work/out" 2>"$work/err" || rc=$?
	mask <"$work/out" >"$out/$name.stdout"
	echo "$rc" >"$out/$name.rc"
	# The original's start-up complains about system tools this test has no use for; keep only its own lines.
	grep -v -e 'Can not evaluate exec-access' "$work/err" | mask >"$out/$name.stderr" || true
	printf '%s\n' "$*" >"$out/$name.args"
	state >"$out/$name.state"
	echo "record-vnetctl: $name ($*): exit $rc" >&2
}

run version -X -V
run bad-option -q
run no-action
run two-actions list info
run stray-arg list foo
run list-empty list
run info-empty info
run ports-empty ports
run check-empty check
run check-terse-empty -X check
run cancel-empty cancel
run create -u nobody create
run create-again -u nobody create
run list list
run list-nohead -n list
run listall listall
run info -u nobody info
run ports -u nobody ports
run check -u nobody check
run check-terse -u nobody -X check
run cancel -u nobody cancel
run cancel-again -u nobody cancel
run create-g-wrong -u nobody -g root create
run create-g -u nobody -g nogroup create
run cancel-g -u nobody cancel
BRIDGE_FWDELAY=4 run create-fd4 create
inns bash -c 'kill -9 $(cat /run/vde_mgmt0.root)'
run cancel-killed cancel
run cancel-killed-f -f cancel
echo "record-vnetctl: wrote $out" >&2
