#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# FSTP reconvergence: three switches with -F cabled in a triangle (dpipe vde_plug = vde_plug), a host on
# switch 1 and one on switch 2 (namespaces, vde_plug2tap). Host 1 pings host 2 every 10 ms; the cable
# between switches 1 and 2 (the forwarding path) is cut, and the time from the cut to the first reply
# after it is the reconvergence time. The same run measures a triangle of the real vde_switch and one of
# our vswitch, alternating, and prints both averages and the ratio (ours / original: below 1 is faster).
#
# Needs root, vde_switch, vde_plug, dpipe, vde_plug2tap. Environment:
#   GOVDE_BIN     directory holding our vswitch (default: bin/, built by make)
#   BENCH_ROUNDS  rounds, each measuring the original then ours (default 3)
# Everything it makes (namespaces, processes, files) is removed on exit, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${BENCH_ROUNDS:-3}
bin=${GOVDE_BIN:-$PWD/bin}

if [ "$(id -u)" != 0 ]; then echo "bench-fstp: skipped (needs root for TAPs and namespaces)"; exit 0; fi
for t in vde_switch vde_plug dpipe vde_plug2tap ip ping setsid; do
	command -v "$t" >/dev/null || { echo "bench-fstp: skipped ($t not installed)"; exit 0; }
done
[ -x "$bin/vswitch" ] || { echo "bench-fstp: $bin/vswitch missing (make build)"; exit 1; }

work=$(mktemp -d /tmp/bench-fstp.XXXXXX)
tag=$$
# Every process we start leads a process group of its own (setsid; dpipe makes its own); their ids go to $work/pids (run is
# called in a subshell), namespaces to $work/ns.
cleanup() {
	set +e
	local p
	for p in $(cat "$work/pids" 2>/dev/null); do kill -- "-$p" 2>/dev/null; done
	sleep 0.3
	for p in $(cat "$work/pids" 2>/dev/null); do kill -9 -- "-$p" 2>/dev/null; done
	for p in $(cat "$work/ns" 2>/dev/null); do ip netns del "$p" 2>/dev/null; done
	exec 3>&-
	rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM
# The switches' console: a FIFO held open (a foreground switch exits at EOF on stdin).
mkfifo "$work/console"
exec 3<>"$work/console"

# run SW: one measurement with switch binary SW; prints the reconvergence time in ms.
run() {
	local sw=$1 d i
	d=$(mktemp -d "$work/run.XXXXXX")
	local mine=()
	for i in 1 2 3; do
		setsid "$sw" -F -s "$d/s$i" --macaddr "02:00:00:00:00:0$i" <&3 >"$d/sw$i.log" 2>&1 &
		mine+=($!); echo $! >>"$work/pids"
	done
	for i in 1 2 3; do
		for _ in $(seq 100); do [ -S "$d/s$i/ctl" ] && break; sleep 0.05; done
	done
	# cable i: switch i port 1 -- switch i+1 port 2
	local cables=()
	for i in 1 2 3; do
		local j=$((i % 3 + 1))
		dpipe vde_plug "vde://$d/s$i[1]" = vde_plug "vde://$d/s$j[2]" >/dev/null 2>&1 &
		cables+=($!)
		mine+=($!); echo $! >>"$work/pids"
	done
	local ns1=gvfstp1-$tag ns2=gvfstp2-$tag
	for i in 1 2; do
		local ns=gvfstp$i-$tag
		ip netns add "$ns"; echo "$ns" >>"$work/ns"
		setsid ip netns exec "$ns" vde_plug2tap -p 3 -s "$d/s$i" "gvf$i" >/dev/null 2>&1 &
		mine+=($!); echo $! >>"$work/pids"
		for _ in $(seq 100); do ip -n "$ns" link show gvf$i >/dev/null 2>&1 && break; sleep 0.05; done
		ip -n "$ns" addr add "198.18.13.$i/24" dev "gvf$i"
		ip -n "$ns" link set "gvf$i" up
	done
	# converged: pings go through
	for _ in $(seq 200); do ip netns exec "$ns1" ping -n -c 1 -W 1 198.18.13.2 >/dev/null 2>&1 && break; sleep 0.1; done
	sleep 1
	setsid ip netns exec "$ns1" ping -D -n -i 0.01 -W 1 198.18.13.2 >"$d/ping.log" 2>&1 &
	local pinger=$!
	echo $! >>"$work/pids"
	sleep 1
	local t0
	t0=$(date +%s.%N)
	kill -9 -- "-${cables[0]}"
	for _ in $(seq 400); do
		awk -v t0="$t0" '/bytes from/ { ts = substr($1, 2, length($1) - 2) + 0; if (ts > t0 + 0.001) { found = 1; exit } } END { exit !found }' "$d/ping.log" && break
		sleep 0.1
	done
	kill -- "-$pinger" 2>/dev/null
	awk -v t0="$t0" '/bytes from/ { ts = substr($1, 2, length($1) - 2) + 0; if (ts > t0 + 0.001) { printf "%.0f\n", (ts - t0) * 1000; found = 1; exit } }
		END { if (!found) print "NaN" }' "$d/ping.log"
	for p in "${mine[@]}"; do kill -- "-$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	for ns in "$ns1" "$ns2"; do ip netns del "$ns" 2>/dev/null; done
	sleep 0.5
}

ref_sum=0; ours_sum=0; n=0
printf "%-6s %12s %12s\n" round "vde_switch" "vswitch"
for r in $(seq "$rounds"); do
	a=$(run "$(command -v vde_switch)")
	b=$(run "$bin/vswitch")
	printf "%-6s %10s ms %10s ms\n" "$r" "$a" "$b"
	if [ "$a" != NaN ] && [ "$b" != NaN ]; then
		ref_sum=$((ref_sum + a)); ours_sum=$((ours_sum + b)); n=$((n + 1))
	fi
done
[ "$n" -gt 0 ] || { echo "bench-fstp: no round reconverged"; exit 1; }
awk -v a="$ref_sum" -v b="$ours_sum" -v n="$n" 'BEGIN {
	printf "reconvergence (cut to first reply), mean of %d: vde_switch %.0f ms, vswitch %.0f ms, ratio %.2f\n", n, a / n, b / n, (a > 0 ? b / a : 0) }'
