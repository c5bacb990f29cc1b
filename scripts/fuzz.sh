#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make fuzz: runs every fuzz target of the module in turn. Each gets FUZZTIME if set, otherwise an equal share
# of FUZZ_BUDGET (default 6m; the instrumented builds add ~25 s per target on 2 cores, so the whole run of 19
# targets takes ~14 minutes and fits a 15-minute CI job),
# at least FUZZ_MIN (default 10s). A failing target is reported with the fuzzer's output (the failing
# input is written to the package's testdata/fuzz/<Target>/ by go test) and the run goes on; the exit
# status is 1 if any target failed.
# With SAVE=1 the inputs this run found interesting (new files in the Go fuzz cache, not those of earlier
# runs, which may come from other versions of a target) are copied into testdata/fuzz/<Target>/, to be
# committed: `go test` (so `make test`) replays every committed input as a regression test.
set -uo pipefail
cd "$(dirname "$0")/.."
cache=$(go env GOCACHE)/fuzz
targets=()
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		targets+=("$pkg $target")
	done
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets"; exit 0; }
if [ -n "${FUZZTIME:-}" ]; then
	each=$FUZZTIME
else
	# go's duration syntax; share = budget / targets, in whole seconds.
	budget=$(awk -v b="${FUZZ_BUDGET:-6m}" 'BEGIN { n = b + 0; u = substr(b, length(n "") + 1)
		print (u == "h") ? n * 3600 : (u == "m") ? n * 60 : n }')
	min=$(awk -v b="${FUZZ_MIN:-10s}" 'BEGIN { print b + 0 }')
	each=$((budget / ${#targets[@]}))
	[ "$each" -ge "$min" ] || each=$min
	each=${each}s
fi
echo "fuzz: ${#targets[@]} targets, $each each"
start=$SECONDS
failed=()
for t in "${targets[@]}"; do
	read -r pkg target <<<"$t"
	dir=$(go list -f '{{.Dir}}' "$pkg")
	before=$(ls "$cache/$pkg/$target" 2>/dev/null | sort)
	echo "fuzz: $pkg $target ($each)"
	t0=$SECONDS
	if ! out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$each" "$pkg" 2>&1); then
		echo "$out" | tail -40
		echo "fuzz: $pkg $target FAILED"
		failed+=("$pkg $target")
	fi
	if [ "${SAVE:-}" = 1 ] && [ -d "$cache/$pkg/$target" ]; then
		n=0
		mkdir -p "$dir/testdata/fuzz/$target"
		while read -r f; do
			[ -n "$f" ] || continue
			cp -n "$cache/$pkg/$target/$f" "$dir/testdata/fuzz/$target/" && n=$((n + 1))
		done < <(comm -13 <(echo "$before") <(ls "$cache/$pkg/$target" | sort))
		echo "fuzz: saved $n new inputs in ${dir#"$PWD"/}/testdata/fuzz/$target"
	fi
	echo "fuzz: $target took $((SECONDS - t0)) s"
done
echo "fuzz: ${#targets[@]} targets in $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: failed: %s\n' "${failed[@]}"
	exit 1
fi
