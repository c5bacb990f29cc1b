#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-vswitch.sh: vswitch against the real vde_switch, measured in the same run on this machine.
#   frames/s switched (64 and 1500 bytes, 1->1 and 2->2 senders->receivers), the bare datagram socket
#   pair rate (the machine's limit; a frame through a switch crosses two hops, so ~half of it is the
#   ceiling), scaling with 1/2/4 senders, and, as root, TCP throughput (iperf3) and ping latency
#   between two hosts in network namespaces on TAP ports and between a TAP-port host and a plug2tap host
#   (vde_plug2tap with the reference), plus TCP with MTU 9000 (vswitch only).
# Every frames/s figure is the median of BENCH_RUNS (default 5) runs, ours and the reference alternating,
# each on a fresh switch, so that a burst of load from elsewhere on the machine does not decide a ratio
# (the reference's rate varies a lot from run to run on 2 cores: a best-of would flatter it). The switch
# CPU time per received frame (user+system, from /proc) is printed too: it does not depend on the load.
# Environment: BENCH_TIME (default 2s) per run, BENCH_RUNS, BENCH_TCP_TIME (default 5) seconds per iperf3.
set -uo pipefail
cd "$(dirname "$0")/.."

T=${BENCH_TIME:-2s}
RUNS=${BENCH_RUNS:-5}
TCPT=${BENCH_TCP_TIME:-5}
work=$(mktemp -d /tmp/bench-vswitch.XXXXXX)
# Measurements run in subshells, so what must be cleaned up is recorded in files: the PIDs we
# started (the reference daemonizes, so it is not in our process group) and the namespaces.
touch "$work/pids" "$work/netns"

cleanup() {
	local p n
	while read -r p; do kill "$p" 2>/dev/null; done <"$work/pids"
	while read -r p; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done <"$work/pids"
	while read -r n; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done <"$work/netns"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v vde_switch >/dev/null; then
	echo "bench-vswitch: vde_switch not installed (apt-get install vde2); skipped"
	exit 0
fi
go build -o "$work/loadgen" ./tools/loadgen || exit 1
LG=$work/loadgen
VSW=${GOVDE_BIN:-$PWD/bin}/vswitch
if [ ! -x "$VSW" ]; then
	go build -o "$work/vswitch" ./cmd/vswitch || exit 1
	VSW=$work/vswitch
fi
P2T=${GOVDE_BIN:-$PWD/bin}/plug2tap
if [ ! -x "$P2T" ]; then
	go build -o "$work/plug2tap" ./cmd/plug2tap || exit 1
	P2T=$work/plug2tap
fi
n=0

# start_switch KIND DIR [TAP...]: start ours or the reference on DIR; sets SWPID.
start_switch() {
	local kind=$1 dir=$2 args=() t
	shift 2
	n=$((n + 1)) # in a subshell: numbers repeat, which is fine, one switch runs at a time
	local exe=vde_switch
	[ "$kind" = ours ] && exe=$VSW
	# Both binaries are started the same way: daemonized, with a pidfile.
	for t in "$@"; do args+=(-t "$t"); done
	rm -f "$work/$kind$n.pid"
	"$exe" -s "$dir" -d -p "$work/$kind$n.pid" "${args[@]}" || return 1
	for _ in $(seq 50); do [ -s "$work/$kind$n.pid" ] && break; sleep 0.1; done
	SWPID=$(cat "$work/$kind$n.pid")
	echo "$SWPID" >>"$work/pids"
	for _ in $(seq 100); do [ -S "$dir/ctl" ] && return 0; sleep 0.05; done
	echo "bench-vswitch: $kind switch did not start" >&2
	return 1
}

stop_switch() {
	kill "$SWPID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$SWPID" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$SWPID" 2>/dev/null
}

# cputicks PID: user+system clock ticks the process has used.
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# rate KIND PAIRS SIZE: "frames/s ns-of-switch-CPU-per-frame" through a fresh switch.
rate() {
	local dir=$work/sw$((n + 1)) out c0 c1
	start_switch "$1" "$dir" || { echo "0 0"; return; }
	c0=$(cputicks "$SWPID")
	out=$(timeout 60 "$LG" switch -sock "$dir" -pairs "$2" -size "$3" -time "$T") || out="0 0"
	c1=$(cputicks "$SWPID")
	stop_switch
	set -- $out
	awk -v r="$1" -v tot="$2" -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.0f %.0f\n", r, (tot > 0) ? c / hz * 1e9 / tot : 0 }'
}

# median V...: the median of the values.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# both PAIRS SIZE: "ref ours ref_ns ours_ns": the median rate of RUNS runs each (runs alternating, each on
# a fresh switch) and the median switch CPU time per received frame.
both() {
	local rr=() ro=() cr=() co=() r c i
	for i in $(seq "$RUNS"); do
		read -r r c < <(rate ref "$@"); rr+=("$r"); cr+=("$c")
		read -r r c < <(rate ours "$@"); ro+=("$r"); co+=("$c")
	done
	echo "$(median "${rr[@]}") $(median "${ro[@]}") $(median "${cr[@]}") $(median "${co[@]}")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }

echo "vswitch vs vde_switch, $(nproc) cores, $(uname -r), load $(cut -d' ' -f1 /proc/loadavg); median of $RUNS runs of $T after a 0.5 s warm-up"
printf '%-34s %14s %14s %8s   %s\n' "frames/s (received)" "vde_switch" "vswitch" "ratio" \
	"switch CPU ns/frame: vde_switch vswitch"
declare -A R
for size in 64 1500; do
	for pairs in 1 2; do
		read -r ref ours cref cours < <(both "$pairs" "$size")
		R[$size-$pairs]=$ours
		printf '%-34s %14.0f %14.0f %8s   %10s %7s\n' "${size}-byte, ${pairs}->${pairs}" "$ref" "$ours" \
			"$(ratio "$ours" "$ref")" "$cref" "$cours"
	done
done
pr=()
for i in $(seq "$RUNS"); do
	r=$(timeout 60 "$LG" pair -pairs 1 -size 64 -time "$T" | cut -d' ' -f1) || r=0
	pr+=("$r")
done
pair=$(median "${pr[@]}")
half=$(awk -v p="$pair" 'BEGIN { printf "%.0f", p / 2 }')
echo
echo "bare unixgram socket pair, 64-byte, 1->1: $pair frames/s (limit through a switch ~ $half)"
echo "vswitch 64-byte 1->1 = $(pct "${R[64-1]}" "$half") of that limit (target >= 80%)"
echo
printf '%-34s %14s %14s %8s\n' "scaling, 64-byte, N->N" "vde_switch" "vswitch" "ratio"
for pairs in 1 2 4; do
	read -r ref ours _ < <(both "$pairs" 64)
	printf '%-34s %14.0f %14.0f %8s\n' "$pairs sender(s)" "$ref" "$ours" "$(ratio "$ours" "$ref")"
done

if [ "$(id -u)" != 0 ] || ! command -v iperf3 >/dev/null; then
	echo
	echo "TAP figures skipped (need root and iperf3)"
	exit 0
fi

# tap_run KIND MTU [plug]: two namespaced hosts on TAP ports of a fresh switch, or (plug) one on a TAP
# port and one behind a plug2tap (vde_plug2tap with the reference, ours with ours), as a host's own TAP
# and a VM are; prints "tcp_mbps ping_avg_ms".
tap_run() {
	local kind=$1 mtu=$2 id=$$$((n + 1)) dir h1 h2 ta tb out tcp lat p2t=vde_plug2tap
	dir=$work/sw$((n + 1))
	h1=bvs1-$id h2=bvs2-$id ta=bvsa$id tb=bvsb$id
	ip netns add "$h1" && echo "$h1" >>"$work/netns"
	ip netns add "$h2" && echo "$h2" >>"$work/netns"
	if [ "${3:-}" = plug ]; then
		[ "$kind" = ours ] && p2t=$P2T
		start_switch "$kind" "$dir" "$ta" || { echo "0 0"; return; }
		tb=bt0
		ip netns exec "$h2" "$p2t" -d -P "$work/p2t$id.pid" -s "$dir" "$tb" || { stop_switch; echo "0 0"; return; }
		for _ in $(seq 50); do [ -s "$work/p2t$id.pid" ] && break; sleep 0.1; done
		tr -d '[:space:]-' <"$work/p2t$id.pid" >>"$work/pids"; echo >>"$work/pids"
		for _ in $(seq 50); do ip -n "$h2" link show "$tb" >/dev/null 2>&1 && break; sleep 0.1; done
		for _ in $(seq 50); do ip link show "$ta" >/dev/null 2>&1 && break; sleep 0.1; done
		ip link set "$ta" netns "$h1" || { stop_switch; echo "0 0"; return; }
	else
		start_switch "$kind" "$dir" "$ta" "$tb" || { echo "0 0"; return; }
		for _ in $(seq 50); do ip link show "$tb" >/dev/null 2>&1 && break; sleep 0.1; done
		ip link set "$ta" netns "$h1" && ip link set "$tb" netns "$h2" || { stop_switch; echo "0 0"; return; }
	fi
	ip -n "$h1" link set lo up; ip -n "$h2" link set lo up
	ip -n "$h1" link set "$ta" mtu "$mtu" up; ip -n "$h2" link set "$tb" mtu "$mtu" up
	ip -n "$h1" addr add 198.18.0.1/24 dev "$ta"; ip -n "$h2" addr add 198.18.0.2/24 dev "$tb"
	ip netns exec "$h1" ping -c 3 -W 1 -q 198.18.0.2 >/dev/null 2>&1 # ARP, learning
	lat=$(ip netns exec "$h1" timeout 30 ping -c 200 -i 0.01 -q 198.18.0.2 2>/dev/null |
		awk -F/ '/^rtt/ { print $5 }')
	ip netns exec "$h2" timeout $((TCPT + 20)) iperf3 -s -1 >/dev/null 2>&1 &
	local srv=$!
	echo "$srv" >>"$work/pids"
	sleep 0.5
	out=$(ip netns exec "$h1" timeout $((TCPT + 15)) iperf3 -c 198.18.0.2 -t "$TCPT" -J 2>/dev/null)
	tcp=$(printf '%s' "$out" | python3 -c 'import json,sys
try: print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception: print(0)')
	kill "$srv" 2>/dev/null
	[ -s "$work/p2t$id.pid" ] && kill "$(tr -d '[:space:]-' <"$work/p2t$id.pid")" 2>/dev/null; rm -f "$work/p2t$id.pid"
	stop_switch
	ip netns del "$h1"; ip netns del "$h2"
	echo "${tcp:-0} ${lat:-0}"
}

echo
printf '%-34s %14s %14s %8s\n' "hosts on TAPs (namespaces)" "vde_switch" "vswitch" "ratio"
read -r rt rl < <(tap_run ref 1500)
read -r ot ol < <(tap_run ours 1500)
printf '%-34s %14s %14s %8s\n' "TCP, iperf3 ${TCPT}s, Mbit/s" "$rt" "$ot" "$(ratio "$ot" "$rt")"
printf '%-34s %14s %14s %8s\n' "ping avg RTT, ms (lower is better)" "$rl" "$ol" "$(ratio "$rl" "$ol")"
read -r rt rl < <(tap_run ref 1500 plug)
read -r ot ol < <(tap_run ours 1500 plug)
printf '%-34s %14s %14s %8s\n' "TAP port <-> plug2tap host: TCP" "$rt" "$ot" "$(ratio "$ot" "$rt")"
printf '%-34s %14s %14s %8s\n' "  ping avg RTT, ms (lower better)" "$rl" "$ol" "$(ratio "$rl" "$ol")"
read -r jt jl < <(tap_run ours 9000)
printf '%-34s %14s %14s %8s\n' "TCP, MTU 9000 on both TAPs, Mbit/s" "cannot" "$jt" ""
