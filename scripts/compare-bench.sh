#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# compare-bench.sh REV [SCRIPT...]: before/after for a performance change, in the same run on this machine.
# Builds REV (a commit, tag or branch) in a temporary git worktree, then runs each benchmark script
# (default: every scripts/bench-*.sh) ROUNDS times (default 2), alternating: REV's tree with REV's
# binaries, then this tree with ours. Each script measures the real VDE tool beside ours, so every line
# it prints is a same-run ratio against the reference; reading "before" next to "after" gives the change.
# Output goes to stdout and to $OUT (default /tmp/compare-bench.<pid>.log). The worktree is removed at exit.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
	echo "usage: scripts/compare-bench.sh REV [scripts/bench-X.sh ...]" >&2
	exit 2
fi
rev=$1
shift
rounds=${ROUNDS:-2}
out=${OUT:-/tmp/compare-bench.$$.log}
base=$(mktemp -d /tmp/compare-bench.XXXXXX)
cleanup() {
	git worktree remove --force "$base/tree" >/dev/null 2>&1
	rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

git rev-parse --verify -q "$rev^{commit}" >/dev/null || { echo "compare-bench: $rev: no such revision" >&2; exit 2; }
git worktree add -q --detach "$base/tree" "$rev" || exit 1
make -s -C "$base/tree" build >/dev/null || { echo "compare-bench: building $rev failed" >&2; exit 1; }
make -s build >/dev/null || { echo "compare-bench: building this tree failed" >&2; exit 1; }

scripts=("$@")
if [ ${#scripts[@]} -eq 0 ]; then
	for s in scripts/bench-*.sh; do [ -x "$s" ] && scripts+=("$s"); done
fi
here=$(git describe --always --dirty)
{
	for s in "${scripts[@]}"; do
		for r in $(seq "$rounds"); do
			if [ -x "$base/tree/$s" ]; then
				echo "== $s, round $r, BEFORE ($rev)"
				(cd "$base/tree" && GOVDE_BIN=$base/tree/bin "./$s")
			else
				echo "== $s, round $r, BEFORE ($rev): the script does not exist there"
			fi
			echo "== $s, round $r, AFTER ($here)"
			GOVDE_BIN=$PWD/bin "./$s"
		done
	done
} 2>&1 | tee "$out"
echo "compare-bench: output saved in $out"
