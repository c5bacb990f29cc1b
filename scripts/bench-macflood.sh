#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-macflood.sh: a random-source-MAC flood against vswitch and the real vde_switch, one after the other,
# each on a fresh daemonized switch (tools/stress flood). One client sends frames with a new source MAC each
# as fast as the switch takes them (to its own learned MAC, so only the MAC table works); a prober sends a
# time-stamped frame every millisecond to a third client. Printed per switch: flood rate, MAC table entries,
# RSS at start / after the flood / peak / after expiry, and the worst time a probe spent in the switch (the
# worst forwarding pause) during the flood and during the expiry of the flooded entries.
# The entries expire FLOOD_EXPIRE (default 10) seconds after the flood (hash/setexpire), so the drain phase
# shows the expiry sweep and whether memory is returned. On a busy machine the prober's own worst send gap
# is printed too: a pause no longer than it is the machine's, not the switch's.
# Environment: FLOOD_RATE (new MACs per second, default 0: as fast as the switch takes them; set it to
# compare pauses at equal load), FLOOD_SECONDS (default 20), FLOOD_DRAIN (default FLOOD_EXPIRE+20), FLOOD_EXPIRE, FLOOD_HASHMAX
# (vswitch --hashmax, default: its default).
set -uo pipefail
cd "$(dirname "$0")/.."

FT=${FLOOD_SECONDS:-20}
EXP=${FLOOD_EXPIRE:-10}
DR=${FLOOD_DRAIN:-$((EXP + 20))}
work=$(mktemp -d /tmp/bench-macflood.XXXXXX)
touch "$work/pids"

cleanup() {
	local p
	while read -r p; do kill "$p" 2>/dev/null; done <"$work/pids"
	while read -r p; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done <"$work/pids"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v vde_switch >/dev/null; then
	echo "bench-macflood: vde_switch not installed (apt-get install vde2); skipped"
	exit 0
fi
go build -o "$work/stress" ./tools/stress || exit 1
VSW=${GOVDE_BIN:-$PWD/bin}/vswitch
if [ ! -x "$VSW" ]; then
	go build -o "$work/vswitch" ./cmd/vswitch || exit 1
	VSW=$work/vswitch
fi

# run KIND: start the switch daemonized with -M, flood it, print "key value" lines to $work/KIND.out.
run() {
	local kind=$1 exe=vde_switch extra=() pid
	if [ "$kind" = ours ]; then
		exe=$VSW
		[ -n "${FLOOD_HASHMAX:-}" ] && extra=(--hashmax "$FLOOD_HASHMAX")
	fi
	"$exe" -s "$work/$kind.sw" -M "$work/$kind.mgmt" -d -p "$work/$kind.pid" "${extra[@]}" || return 1
	for _ in $(seq 50); do [ -s "$work/$kind.pid" ] && break; sleep 0.1; done
	pid=$(cat "$work/$kind.pid") || return 1
	echo "$pid" >>"$work/pids"
	for _ in $(seq 100); do [ -S "$work/$kind.mgmt" ] && break; sleep 0.05; done
	local ours=()
	[ "$kind" = ours ] && ours=(-ours)
	echo "bench-macflood: $kind (pid $pid): ${FT}s flood, ${DR}s drain, expire ${EXP}s" >&2
	timeout $((FT + DR + 120)) "$work/stress" flood -sock "$work/$kind.sw" -mgmt "$work/$kind.mgmt" -pid "$pid" \
		-time "${FT}s" -drain "${DR}s" -expire "$EXP" -rate "${FLOOD_RATE:-0}" "${ours[@]}" >"$work/$kind.out" 2>"$work/$kind.log"
	local rc=$?
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	[ $rc -eq 0 ] || { echo "bench-macflood: $kind: stress failed ($rc):" >&2; tail -5 "$work/$kind.log" >&2; }
	return $rc
}

run ref
run ours
echo "MAC flood ($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '%-28s %14s %14s\n' "" vde_switch vswitch
get() { awk -v k="$2" '$1 == k { print $2 }' "$work/$1.out" 2>/dev/null; }
for k in flood_rate_per_s entries_after_flood rss_start_kb rss_after_flood_kb rss_peak_kb rss_end_kb entries_end \
	probe_idle_worst_ms worst_pause_flood_ms worst_pause_drain_ms worst_gap_flood_ms worst_gap_drain_ms \
	probes_sent probes_received prober_worst_send_gap_ms; do
	printf '%-28s %14s %14s\n' "$k" "$(get ref "$k")" "$(get ours "$k")"
done
for k in table_refused table_expired table_shrunk table_maxstep table_capacity heap_inuse heap_released; do
	printf '%-28s %14s %14s\n' "$k" - "$(get ours "$k")"
done
