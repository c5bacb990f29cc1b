#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every tool has a man page, and every man page renders with `man -l` without groff warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
for d in cmd/*/; do
	t=$(basename "$d")
	[ -f "$d/main.go" ] || continue
	if [ ! -f "man/$t.1" ]; then echo "check-man: man/$t.1 missing for cmd/$t" >&2; fail=1; fi
done
if ! command -v man >/dev/null; then
	echo "check-man: man not installed; only checked that the pages exist" >&2
	exit $fail
fi
for m in man/*.1; do
	[ -e "$m" ] || continue
	if ! out=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null); then
		echo "check-man: $m does not render: $out" >&2; fail=1
	elif [ -n "$out" ]; then
		echo "check-man: $m: $out" >&2; fail=1
	fi
done
[ $fail -eq 0 ] && echo "check-man: $(ls man/*.1 2>/dev/null | wc -l) man pages render cleanly"
exit $fail
