#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# soak-vswitch.sh: leak figures for vswitch next to the real vde_switch (not part of `make bench`: it runs
# SOAK_SECONDS, default 600, 10 minutes). Both switches run at the same time, daemonized with -M, each driven
# by its own tools/stress soak: 4 clients reconnecting every 100 ms (a broadcast each), a console polling
# port/print every 200 ms, a flood of new source MACs (SOAK_FLOOD_RATE frames/s, default 50000; 0 = as fast
# as possible) and a stalled client that never reads. Every SOAK_SAMPLE seconds (default 10) it samples
# each switch's RSS, descriptors and threads from /proc, and for vswitch its goroutines and MAC table
# entries (the hidden runtime/stats and hash/stats commands). Flat lines are the target; the summary
# compares the means of the last and the middle third of the samples, and checks vswitch's MAC
# table stayed within --hashmax (SOAK_HASHMAX, default the built-in 262144).
# SOAK_SERIAL=1 runs the two switches one after the other instead (twice as long, no CPU contention
# between them). SOAK_KEEP=DIR keeps the raw samples (ref.out, ours.out). Figures from a machine that is busy with other work are noisy.
set -uo pipefail
cd "$(dirname "$0")/.."

SECS=${SOAK_SECONDS:-600}
SAMPLE=${SOAK_SAMPLE:-10}
RATE=${SOAK_FLOOD_RATE:-50000}
HMAX=${SOAK_HASHMAX:-262144}
work=$(mktemp -d /tmp/soak-vswitch.XXXXXX)
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
	echo "soak-vswitch: vde_switch not installed (apt-get install vde2); skipped"
	exit 0
fi
go build -o "$work/stress" ./tools/stress || exit 1
VSW=${GOVDE_BIN:-$PWD/bin}/vswitch
if [ ! -x "$VSW" ]; then
	go build -o "$work/vswitch" ./cmd/vswitch || exit 1
	VSW=$work/vswitch
fi

# soak KIND: start the switch, soak it for SECS seconds, samples in $work/KIND.out; stops the switch.
soak() {
	local kind=$1 exe=vde_switch extra=() ours=() pid rc
	if [ "$kind" = ours ]; then
		exe=$VSW
		extra=(--hashmax "$HMAX")
		ours=(-ours)
	fi
	"$exe" -s "$work/$kind.sw" -M "$work/$kind.mgmt" -d -p "$work/$kind.pid" "${extra[@]}" || return 1
	for _ in $(seq 50); do [ -s "$work/$kind.pid" ] && break; sleep 0.1; done
	pid=$(cat "$work/$kind.pid") || return 1
	echo "$pid" >>"$work/pids"
	for _ in $(seq 100); do [ -S "$work/$kind.mgmt" ] && break; sleep 0.05; done
	timeout $((SECS + 120)) "$work/stress" soak -sock "$work/$kind.sw" -mgmt "$work/$kind.mgmt" -pid "$pid" \
		-time "${SECS}s" -sample "${SAMPLE}s" -rate "$RATE" "${ours[@]}" >"$work/$kind.out" 2>"$work/$kind.log"
	rc=$?
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	[ $rc -eq 0 ] || { echo "soak-vswitch: $kind: stress failed ($rc):" >&2; tail -5 "$work/$kind.log" >&2; }
	return $rc
}

echo "soak-vswitch: ${SECS}s, sample every ${SAMPLE}s, flood ${RATE} new MACs/s, vswitch --hashmax $HMAX" >&2
if [ "${SOAK_SERIAL:-}" = 1 ]; then
	soak ref
	soak ours
else
	soak ref &
	soak ours &
	wait
fi

echo "Soak ($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)); columns: vde_switch | vswitch"
# stress soak's columns: t_s rss_kb fds threads goroutines entries flood_sent dials dial_errs polls poll_errs poll_max_ms
printf '%6s | %9s %5s %4s %11s %10s | %9s %5s %4s %5s %7s %11s %10s\n' t_s rss_kb fds thr poll_max_ms dial_errs \
	rss_kb fds thr gor entries poll_max_ms dial_errs
# The two runs sample at the same times: line i of one is line i of the other.
paste -d ' ' <(tail -n +2 "$work/ref.out") <(tail -n +2 "$work/ours.out") |
	awk 'NF == 24 { printf "%6s | %9s %5s %4s %11s %10s | %9s %5s %4s %5s %7s %11s %10s\n", $1, $2, $3, $4, $12, $9, $14, $15, $16, $17, $18, $24, $21 }'

# summary: the mean of each column over the last third of the samples minus its mean over the middle third
# (single samples would compare points of the GC's sawtooth).
summary() {
	awk -v kind="$1" -v hmax="$2" 'NR > 1 { n++; r[n] = $2; f[n] = $3; th[n] = $4; g[n] = $5; e[n] = $6
		if ($6 > emax) emax = $6 }
	function mean(a, from, to,   i, s) { s = 0; for (i = from; i <= to; i++) s += a[i]; return s / (to - from + 1) }
	END {
		if (n < 3) { print kind ": too few samples"; exit }
		a = int(n / 3) + 1; b = int(2 * n / 3); c = b + 1
		printf "%-10s last third minus middle third (means): rss %+.0f kB, fds %+.1f, threads %+.1f", kind,
			mean(r, c, n) - mean(r, a, b), mean(f, c, n) - mean(f, a, b), mean(th, c, n) - mean(th, a, b)
		if (g[n] >= 0) printf ", goroutines %+.1f", mean(g, c, n) - mean(g, a, b)
		if (e[n] >= 0) printf "; MAC entries max %d (limit %d): %s", emax, hmax, (emax <= hmax) ? "bounded" : "OVER THE LIMIT"
		printf "\n"
	}' "$work/$1.out"
}
summary ref 0
summary ours "$HMAX"
if [ -n "${SOAK_KEEP:-}" ]; then
	mkdir -p "$SOAK_KEEP" && cp "$work/ref.out" "$work/ours.out" "$SOAK_KEEP/" && echo "soak-vswitch: samples kept in $SOAK_KEEP"
fi
