#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make demo: a small virtual network built from govde tools, shown working, then removed.
#
#   host A (netns, tap) --plug2tap-- vswitch sw1 ==dpipe vplug = wirefilter = vplug== vswitch sw2 --plug2tap-- host B (netns, tap)
#
# Needs root (namespaces and TAP devices). Addresses come from 198.18.0.0/15 and live only inside the namespaces.
# Everything the demo makes (namespaces, processes, sockets) is removed on exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${GOVDE_BIN:-$PWD/bin}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces and TAP devices); run: sudo make demo" >&2
	exit 1
fi
for t in vswitch vplug dpipe plug2tap vterm wirefilter; do
	[ -x "$BIN/$t" ] || { echo "demo: $BIN/$t missing; run make first" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/govde-demo.XXXXXX)
tag=$(basename "$dir" | tr -cd 'a-zA-Z0-9' | tail -c 6)
nsA=govde-demo-a-$tag nsB=govde-demo-b-$tag
pids=()
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$dir"/sw*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$nsA" 2>/dev/null
	ip netns del "$nsB" 2>/dev/null
	rm -rf "$dir"
	echo "demo: cleaned up (namespaces, processes, sockets)"
}
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "two switches, each with a management socket (vswitch -d returns once both sockets accept connections)"
show "$BIN/vswitch" -d -s "$dir/sw1" -M "$dir/sw1.mgmt" -p "$dir/sw1.pid"
show "$BIN/vswitch" -d -s "$dir/sw2" -M "$dir/sw2.mgmt" -p "$dir/sw2.pid"

step "host A on sw1 and host B on sw2: a network namespace each, with a TAP made by plug2tap"
for h in A B; do
	if [ $h = A ]; then ns=$nsA sw=sw1 ip=198.18.0.1; else ns=$nsB sw=sw2 ip=198.18.0.2; fi
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	printf '$ ip netns exec %s plug2tap -s %s tap%s &\n' "$ns" "$dir/$sw" "$h"
	ip netns exec "$ns" "$BIN/plug2tap" -s "$dir/$sw" "tap$h" &
	pids+=($!)
	for _ in $(seq 100); do ip -n "$ns" link show "tap$h" >/dev/null 2>&1 && break; sleep 0.05; done
	ip -n "$ns" addr add "$ip/24" dev "tap$h"
	ip -n "$ns" link set "tap$h" up
	echo "   host $h: $ip on tap$h in netns $ns"
done

step "a cable between the switches, through wirefilter: dpipe vplug sw1 = wirefilter -M wf.mgmt = vplug sw2"
printf '$ dpipe vplug %s = wirefilter -M %s = vplug %s &\n' "$dir/sw1" "$dir/wf.mgmt" "$dir/sw2"
"$BIN/dpipe" "$BIN/vplug" "$dir/sw1" = "$BIN/wirefilter" -M "$dir/wf.mgmt" = "$BIN/vplug" "$dir/sw2" &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/wf.mgmt" ] && break; sleep 0.05; done
sleep 0.3

step "host A pings host B across both switches and the (still perfect) cable"
show ip netns exec "$nsA" ping -c 3 -i 0.3 -W 2 198.18.0.2

step "the cable gets 50 ms of delay each way and 20 % loss, live from its console"
show "$BIN/vterm" "$dir/wf.mgmt" delay 50
show "$BIN/vterm" "$dir/wf.mgmt" loss 20
show "$BIN/vterm" "$dir/wf.mgmt" showinfo
echo "   (expect round trips of about 100 ms, and about a third of the pings lost: 20 % each way)"
show ip netns exec "$nsA" ping -c 20 -i 0.2 -W 1 -q 198.18.0.2 || true

step "a perfect cable again"
show "$BIN/vterm" "$dir/wf.mgmt" delay 0
show "$BIN/vterm" "$dir/wf.mgmt" loss 0
show ip netns exec "$nsA" ping -c 3 -i 0.3 -W 2 198.18.0.2

step "the management view of sw1: ports and MAC table (vterm one-shot mode)"
show "$BIN/vterm" "$dir/sw1.mgmt" port/print
show "$BIN/vterm" "$dir/sw1.mgmt" hash/print

step "demo finished"
