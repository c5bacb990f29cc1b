#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Throughput of plug2tap: iperf3 TCP between two network namespaces, each on a TAP served by a plug2tap,
# through one switch: host1 TAP - plug2tap - switch - plug2tap - TAP host2. The same run measures our
# plug2tap and the real vde_plug2tap and prints both figures and the ratio.
#
# Needs root, iperf3, vde_switch and vde_plug2tap. Environment:
#   GOVDE_BIN       directory holding our plug2tap (default: bin/, built by make; built here if missing)
#   SWITCH          switch binary (default vde_switch; e.g. bin/vswitch)
#   BENCH_SECONDS   iperf3 duration per run (default 5)
#   BENCH_RATE      iperf3 -b target bitrate (e.g. 200M) to compare CPU cost at equal load (default: unlimited)
#   BENCH_ROUNDS    rounds, each measuring the reference then ours, averaged (default 2)
# Everything it makes (namespaces, processes, files) is removed on exit, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-2}
switch=${SWITCH:-vde_switch}
bin=${GOVDE_BIN:-$PWD/bin}

if [ "$(id -u)" != 0 ]; then echo "bench-plug2tap: skipped (needs root for TAPs and namespaces)"; exit 0; fi
for t in iperf3 "$switch" vde_plug2tap ip; do
	command -v "$t" >/dev/null || { echo "bench-plug2tap: skipped ($t not installed)"; exit 0; }
done

work=$(mktemp -d /tmp/bench-plug2tap.XXXXXX)
tag=$$
namespaces=()
cleanup() {
	set +e
	for f in "$work"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(tr -d '[:space:]-' <"$f")
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done
	sleep 0.3
	for f in "$work"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(tr -d '[:space:]-' <"$f")
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	done
	for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ours=$bin/plug2tap
if [ ! -x "$ours" ]; then
	go build -o "$work/plug2tap" ./cmd/plug2tap
	ours=$work/plug2tap
fi

# cputicks PIDFILE...: the user+system clock ticks used so far by the processes in the pidfiles.
cputicks() {
	local f sum=0 pid
	for f in "$@"; do
		pid=$(tr -d '[:space:]' <"$f")
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
	done
	echo "$sum"
}

# wait_for COND... : retry a command for up to 10 s.
wait_for() {
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "bench-plug2tap: timed out waiting for: $*" >&2
	return 1
}

# measure NAME PLUG2TAP: appends the receiver's throughput in Mbit/s to $work/NAME.result.
# It runs in this shell (not in $(...)) so that cleanup sees the namespaces it adds.
measure() {
	local name=$1 plug=$2 sw="$work/$1.sw" ns1="gvb1-$1-$tag" ns2="gvb2-$1-$tag" mbits
	"$switch" -d -s "$sw" -p "$work/$name-switch.pid" >/dev/null
	wait_for test -S "$sw/ctl"
	for i in 1 2; do
		local ns="gvb$i-$name-$tag"
		ip netns add "$ns"
		namespaces+=("$ns")
		ip -n "$ns" link set lo up
		ip netns exec "$ns" "$plug" -d -P "$work/$name-p2t$i.pid" -s "$sw" gvbtap
		wait_for ip -n "$ns" link show gvbtap
		ip -n "$ns" addr add "198.18.0.$i/24" dev gvbtap
		ip -n "$ns" link set gvbtap up
	done
	wait_for ip netns exec "$ns1" ping -c 1 -W 1 198.18.0.2
	ip netns exec "$ns2" iperf3 -s -D -1 -I "$work/$name-iperf.pid" -B 198.18.0.2 >/dev/null
	wait_for test -s "$work/$name-iperf.pid"
	wait_for bash -c "ip netns exec $ns2 ss -Hltn 'sport = :5201' | grep -q 5201"
	local t0 t1 out
	t0=$(cputicks "$work/$name"-p2t*.pid)
	out=$(ip netns exec "$ns1" timeout $((secs + 20)) iperf3 -c 198.18.0.2 -t "$secs" -f m ${BENCH_RATE:+-b "$BENCH_RATE"})
	t1=$(cputicks "$work/$name"-p2t*.pid)
	mbits=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i+1) == "Mbits/sec") print $i }' <<<"$out")
	[ -n "$mbits" ] || { echo "bench-plug2tap: $name: no iperf3 result" >&2; return 1; }
	echo "$mbits" >>"$work/$name.result"
	# CPU seconds both plug2tap processes used per GB carried.
	awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v m="$mbits" -v s="$secs" \
		'BEGIN { printf "%.2f\n", (t / hz) / (m * s / 8 / 1000) }' >>"$work/$name.cpu"
	# Tear this run down (processes by their pidfiles, then the namespaces) before the next one.
	for f in "$work/$name"-*.pid; do kill "$(tr -d '[:space:]' <"$f")" 2>/dev/null || true; rm -f "$f"; done
	sleep 0.3
	for ns in "$ns1" "$ns2"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$sw"
}

echo "plug2tap throughput: iperf3 TCP, ${rounds}x${secs}s each, through $switch (hosts in namespaces, 198.18.0.0/24)"
for r in $(seq "$rounds"); do
	measure real vde_plug2tap
	measure ours "$ours"
done
mean() { awk '{ s += $1; n++ } END { if (n) printf "%.1f", s / n }' "$1"; }
real=$(mean "$work/real.result")
mine=$(mean "$work/ours.result")
printf '  vde_plug2tap (reference): %10.1f Mbit/s   (runs: %s)\n' "$real" "$(tr '\n' ' ' <"$work/real.result")"
printf '  plug2tap (ours):          %10.1f Mbit/s   (runs: %s)\n' "$mine" "$(tr '\n' ' ' <"$work/ours.result")"
awk -v a="$mine" -v b="$real" 'BEGIN { printf "  ratio ours/reference:     %10.2f\n", a / b }'
printf '  CPU s per GB carried (both plug2taps): reference %s, ours %s\n' "$(mean "$work/real.cpu")" "$(mean "$work/ours.cpu")"
