#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: the Go micro-benchmarks (allocations per frame), then every scripts/bench-*.sh, each of which
# measures ours and the real VDE tool side by side in the same run and prints the ratio.
set -uo pipefail
cd "$(dirname "$0")/.."
export GOVDE_BIN=${GOVDE_BIN:-$PWD/bin}
echo "== Go benchmarks (ns/op, B/op, allocs/op)"
go test -run '^$' -bench . -benchtime "${BENCHTIME:-1s}" ./... | grep -E '^(Benchmark|ok|FAIL|---)' || true
rc=0
for s in scripts/bench-*.sh; do
	[ -x "$s" ] || continue
	echo
	echo "== $s"
	"$s" || { echo "bench: $s failed" >&2; rc=1; }
done
exit $rc
