#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-vxlan.sh: vxvde:// and vxlan:// at scale, ours (vplug) against the real vde_plug in the same run.
#
#   1. vxvde: two hosts (network namespaces whose eth0 is a veth into a bridge: the underlay,
#      198.18.201.0/24, group 239.7.7.7), each "PLUG vxvde://… tap://gvx0": iperf3 TCP (Mbit/s and CPU
#      seconds of both plugs per GB) and 64-byte UDP frames/s delivered (iperf3 -u -l 64, unlimited rate).
#   2. vxlan to a Linux kernel VTEP: one host "PLUG vxlan://… tap://gvx0", the other a vxlan device (VNI 42,
#      transmit checksum offload off, see README): the same figures. The real vde_plug 4.0.1 learns nothing
#      usable over vxlan:// (its recvmsg gets no sender address), so it runs with /hashsize=0 (every frame to
#      the group); ours runs with its defaults, and once with /hashsize=0 too.
#   3. Convergence: N = 2, 4, 8, 16 plugs on one vxvde segment, started together; the time until every host
#      has pinged every other (N(N-1) pings, one host's pings in sequence, the hosts in parallel) and the CPU
#      the N plugs used meanwhile, per plug: how the cost grows with the number of plugs.
# The MAC table's memory and lookup cost with 10k MACs is the Go benchmark BenchmarkTable10k (pkg/vxlan),
# which make bench runs first.
# Environment: BENCH_VX_SECONDS (default 3) per iperf3 run, BENCH_VX_ROUNDS (default 1) rounds of 1 and 2
# (the reference then ours), BENCH_VX_SIZES (default "2 4 8 16"), GOVDE_BIN (default bin/). Needs root,
# iperf3, python3 and vde_plug; skipped otherwise. Everything it makes is removed on exit, even on failure.
set -uo pipefail
cd "$(dirname "$0")/.."

SECS=${BENCH_VX_SECONDS:-3}
ROUNDS=${BENCH_VX_ROUNDS:-1}
SIZES=${BENCH_VX_SIZES:-2 4 8 16}
BIN=${GOVDE_BIN:-$PWD/bin}

if [ "$(id -u)" != 0 ]; then echo "bench-vxlan: skipped (needs root for TAPs and namespaces)"; exit 0; fi
for t in iperf3 vde_plug ip python3; do
	command -v "$t" >/dev/null || { echo "bench-vxlan: skipped ($t not installed)"; exit 0; }
done
[ -x "$BIN/vplug" ] || { echo "bench-vxlan: $BIN/vplug missing (make build)" >&2; exit 1; }
OURS=$BIN/vplug
REAL=$(command -v vde_plug)

work=$(mktemp -d /tmp/bench-vxlan.XXXXXX)
tag=$$
touch "$work/netns"
cleanup() {
	local f n
	for f in "$work"/*.pid; do [ -e "$f" ] && kill "$(tr -d '[:space:]-' <"$f")" 2>/dev/null; done
	sleep 0.3
	while read -r n; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done <"$work/netns"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
HZ=$(getconf CLK_TCK)

wait_for() {
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "bench-vxlan: timed out waiting for: $*" >&2
	return 1
}

newns() { ip netns add "$1" && echo "$1" >>"$work/netns" && ip -n "$1" link set lo up; }

# underlay N: the bridge namespace U and hosts H1..HN (eth0 = 198.18.201.i/24).
underlay() {
	local n=$1 i
	U=gvxu-$tag
	newns "$U" || return 1
	ip -n "$U" link add br0 type bridge mcast_snooping 0 && ip -n "$U" link set br0 up
	for i in $(seq "$n"); do
		newns "gvx$i-$tag" || return 1
		ip -n "$U" link add "p$i" type veth peer name eth0 netns "gvx$i-$tag"
		ip -n "$U" link set "p$i" master br0 up
		ip -n "gvx$i-$tag" addr add "198.18.201.$i/24" dev eth0
		ip -n "gvx$i-$tag" link set eth0 up
	done
}

teardown() {
	local f n
	for f in "$work"/*.pid; do [ -e "$f" ] && kill "$(tr -d '[:space:]-' <"$f")" 2>/dev/null; rm -f "$f"; done
	sleep 0.3
	while read -r n; do ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del "$n" 2>/dev/null; done <"$work/netns"
	: >"$work/netns"
}

# plug I BIN URL: runs BIN -d -p pidfile URL tap://gvx0 in host I and addresses the TAP 198.19.201.I/24.
plug() {
	local i=$1 bin=$2 url=$3 ns=gvx$1-$tag
	ip netns exec "$ns" "$bin" -d -p "$work/plug$i.pid" "$url" tap://gvx0 || return 1
	wait_for ip -n "$ns" link show gvx0 || return 1
	ip -n "$ns" addr add "198.19.201.$i/24" dev gvx0
	ip -n "$ns" link set gvx0 up
}

# kernel I: a kernel VTEP vx0 in host I (VNI 42, group 239.7.7.8), transmit checksum offload off.
kernel() {
	local ns=gvx$1-$tag
	ip -n "$ns" link add vx0 type vxlan id 42 group 239.7.7.8 dstport 4789 dev eth0 || return 1
	ip netns exec "$ns" python3 -c '
import array, fcntl, socket, struct, sys
v = array.array("I", [0x17, 0])  # ETHTOOL_STXCSUM, off
ifr = struct.pack("16sP16x", sys.argv[1].encode(), v.buffer_info()[0])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fcntl.ioctl(s.fileno(), 0x8946, ifr)' vx0 || return 1
	ip -n "$ns" addr add "198.19.201.$1/24" dev vx0
	ip -n "$ns" link set vx0 up
}

cputicks() {
	local f sum=0
	for f in "$work"/plug*.pid; do
		[ -e "$f" ] || continue
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$(tr -d '[:space:]-' <"$f")/stat" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}

# measure NAME: iperf3 TCP then UDP 64-byte from host 1 to host 2 (198.19.201.2); appends
# "Mbit/s CPU-s-per-GB frames/s" to $work/NAME.
measure() {
	local name=$1 t0 t1 tcp udp
	wait_for ip netns exec "gvx1-$tag" ping -c 1 -W 1 198.19.201.2 || return 1
	ip netns exec "gvx2-$tag" iperf3 -s -D -I "$work/iperf.pid" -B 198.19.201.2 >/dev/null
	wait_for test -s "$work/iperf.pid"
	wait_for bash -c "ip netns exec gvx2-$tag ss -Hltn 'sport = :5201' | grep -q 5201"
	t0=$(cputicks)
	tcp=$(ip netns exec "gvx1-$tag" timeout $((SECS + 20)) iperf3 -J -c 198.19.201.2 -t "$SECS" |
		python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))')
	t1=$(cputicks)
	udp=$(ip netns exec "gvx1-$tag" timeout $((SECS + 20)) iperf3 -J -u -l 64 -b 0 -c 198.19.201.2 -t "$SECS" |
		python3 -c 'import json,sys; s = json.load(sys.stdin)["end"]["sum"]; print("%.0f" % ((s["packets"] - s["lost_packets"]) / s["seconds"]))')
	kill "$(cat "$work/iperf.pid")" 2>/dev/null; rm -f "$work/iperf.pid"
	[ -n "$tcp" ] && [ -n "$udp" ] || { echo "bench-vxlan: $name: no iperf3 result" >&2; return 1; }
	awk -v t=$((t1 - t0)) -v hz="$HZ" -v m="$tcp" -v s="$SECS" -v u="$udp" \
		'BEGIN { printf "%s %.2f %s\n", m, (t / hz) / (m * s / 8 / 1000), u }' >>"$work/$name"
}

run_pair() { # NAME BIN1 URL1 [BIN2 URL2 | kernel]
	local name=$1
	underlay 2 && plug 1 "$2" "$3" &&
		if [ "$4" = kernel ]; then kernel 2; else plug 2 "$4" "$5"; fi &&
		measure "$name"
	teardown
}

report() { # LABEL NAME...
	echo "$1"
	shift
	local n
	for n in "$@"; do
		[ -s "$work/$n" ] || { printf '  %-28s failed\n' "$n"; continue; }
		awk -v n="$n" '{ m += $1; c += $2; u += $3; k++ } END {
			printf "  %-28s TCP %8.1f Mbit/s  %6.2f CPU-s/GB   64-byte UDP %9.0f frames/s\n", n, m / k, c / k, u / k }' "$work/$n"
	done
}

VXVDE=vxvde://239.7.7.7/if=eth0
VXLAN=vxlan://239.7.7.8/vni=42/if=eth0
echo "bench-vxlan: ${ROUNDS} round(s) of ${SECS}s iperf3 runs; underlay veth+bridge in namespaces (shared machine: figures are relative)"
for _ in $(seq "$ROUNDS"); do
	run_pair vxvde-vde_plug "$REAL" "$VXVDE" "$REAL" "$VXVDE"
	run_pair vxvde-vplug "$OURS" "$VXVDE" "$OURS" "$VXVDE"
	run_pair vxlan-kernel-vde_plug-h0 "$REAL" "$VXLAN/hashsize=0" kernel
	run_pair vxlan-kernel-vplug-h0 "$OURS" "$VXLAN/hashsize=0" kernel
	run_pair vxlan-kernel-vplug "$OURS" "$VXLAN" kernel
done
report "1. vxvde, two plugs (CPU: both plugs):" vxvde-vde_plug vxvde-vplug
report "2. vxlan to a kernel VTEP (CPU: the plug; h0 = /hashsize=0, all to the group):" \
	vxlan-kernel-vde_plug-h0 vxlan-kernel-vplug-h0 vxlan-kernel-vplug
for k in "vxvde-vplug vxvde-vde_plug" "vxlan-kernel-vplug-h0 vxlan-kernel-vde_plug-h0"; do
	read -r a b <<<"$k"
	[ -s "$work/$a" ] && [ -s "$work/$b" ] && paste "$work/$a" "$work/$b" | awk -v l="$a/$b" '
		{ t += $1 / $4; u += $3 / $6; k++ } END { printf "  ratio %-36s TCP %.2f  frames/s %.2f\n", l, t / k, u / k }'
done

echo "3. convergence of an N-plug vxvde segment: all N(N-1) pings answered"
for impl in vde_plug vplug; do
	bin=$REAL; [ "$impl" = vplug ] && bin=$OURS
	for n in $SIZES; do
		underlay "$n" || exit 1
		for i in $(seq "$n"); do plug "$i" "$bin" "$VXVDE" || exit 1; done
		t0=$(cputicks); s0=$(date +%s.%N)
		for i in $(seq "$n"); do
			(for j in $(seq "$n"); do
				[ "$i" = "$j" ] && continue
				for _ in 1 2 3 4 5 6 7 8 9 10; do
					ip netns exec "gvx$i-$tag" ping -n -c 1 -W 1 "198.19.201.$j" >/dev/null 2>&1 && break
				done || echo fail >>"$work/conv-fail"
			done) &
		done
		wait
		s1=$(date +%s.%N); t1=$(cputicks)
		fails=$(cat "$work/conv-fail" 2>/dev/null | wc -l); rm -f "$work/conv-fail"
		awk -v impl="$impl" -v n="$n" -v s="$(echo "$s1 - $s0" | bc -l 2>/dev/null || python3 -c "print($s1 - $s0)")" \
			-v t=$((t1 - t0)) -v hz="$HZ" -v f="$fails" 'BEGIN {
			printf "  %-8s N=%-3d %4d pings in %6.2f s   plug CPU %6.3f s total, %6.4f s per plug%s",
				impl, n, n * (n - 1), s, t / hz, t / hz / n, (f > 0 ? "   FAILED pairs: " f : "") "\n" }'
		teardown
	done
done
