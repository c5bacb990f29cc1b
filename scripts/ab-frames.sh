#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ab-frames.sh BINDIR... : frames/s and switch CPU per frame through the vswitch binaries of several trees,
# alternating them round after round in one run, so that a machine whose speed drifts (a shared host) treats
# them alike. Each run starts a fresh `vswitch -d` from BINDIR, drives it with tools/loadgen (64-byte frames,
# 1->1 and 2->2, ROUNDS rounds, default 4, of AB_TIME, default 2s), reads the switch's CPU time from /proc,
# and prints one line per run, then the medians per binary. Example, before/after a change:
#   git worktree add /tmp/old REV && make -C /tmp/old build && scripts/ab-frames.sh /tmp/old/bin bin
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/ab-frames.sh BINDIR..." >&2; exit 2; }
for d in "$@"; do [ -x "$d/vswitch" ] || { echo "ab-frames: $d/vswitch: not an executable" >&2; exit 2; }; done
rounds=${ROUNDS:-4}
t=${AB_TIME:-2s}
work=$(mktemp -d /tmp/ab-frames.XXXXXX)
touch "$work/pids"
cleanup() {
	local p
	while read -r p; do kill "$p" 2>/dev/null; done <"$work/pids"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
go build -o "$work/loadgen" ./tools/loadgen || exit 1
hz=$(getconf CLK_TCK)
n=0
for round in $(seq "$rounds"); do
	for d in "$@"; do
		for pairs in 1 2; do
			n=$((n + 1))
			dir=$work/sw$n
			"$d/vswitch" -s "$dir" -d -p "$work/p$n" || continue
			pid=$(cat "$work/p$n")
			echo "$pid" >>"$work/pids"
			for _ in $(seq 100); do [ -S "$dir/ctl" ] && break; sleep 0.05; done
			c0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
			out=$(timeout 60 "$work/loadgen" switch -sock "$dir" -pairs "$pairs" -size 64 -time "$t") || out="0 0"
			c1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
			kill "$pid"
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			read -r rate total _ <<<"$out"
			awk -v d="$d" -v p="$pairs" -v r="$rate" -v tot="$total" -v c=$((c1 - c0)) -v hz="$hz" -v rd="$round" \
				'BEGIN { printf "round %d %-30s 64-byte %d->%d %9.0f frames/s %6.0f ns/frame\n", rd, d, p, p, r, (tot > 0) ? c / hz * 1e9 / tot : 0 }' |
				tee -a "$work/runs"
		done
	done
done
echo
echo "medians over $rounds rounds (frames/s, switch CPU ns/frame):"
for d in "$@"; do
	for pairs in 1 2; do
		awk -v d="$d" -v p="$pairs->$pairs" '$3 == d && $5 == p { r[++k] = $6; c[k] = $8 }
			function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
				return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
			END { if (k) printf "  %-30s %s %9.0f %6.0f\n", d, p, med(r, k), med(c, k) }' "$work/runs"
	done
done
