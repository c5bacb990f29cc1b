#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make install / install-compat honour PREFIX and DESTDIR, install every tool and man page, and the VDE
# names are symlinks that run our binaries under the VDE name.
set -euo pipefail
cd "$(dirname "$0")/.."
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
make -s install-compat DESTDIR="$d" PREFIX=/opt/govde >/dev/null
fail=0
for m in cmd/*/main.go; do
	t=$(basename "$(dirname "$m")")
	[ -x "$d/opt/govde/bin/$t" ] || { echo "check-install: bin/$t not installed" >&2; fail=1; }
	[ -f "$d/opt/govde/share/man/man1/$t.1" ] || { echo "check-install: man page $t.1 not installed" >&2; fail=1; }
done
for pair in vde_plug:vplug vde_switch:vswitch vde_plug2tap:plug2tap vde_tunctl:tunctl vdeterm:vterm unixterm:vterm unixcmd:vterm \
	ctys-vnetctl:vnetctl ctys-setupVDE:vnetctl; do
	c=${pair%%:*} o=${pair##*:}
	[ -x "$d/opt/govde/bin/$o" ] || continue
	if [ "$(readlink "$d/opt/govde/bin/$c")" != "$o" ]; then
		echo "check-install: $c is not a symlink to $o" >&2; fail=1; continue
	fi
	# Through the symlink the binary runs and prints its usage.
	out=$("$d/opt/govde/bin/$c" -h 2>&1 || true)
	case $out in
	*"$c"* | *"$o"*) ;;
	*) echo "check-install: '$c -h' printed no usage: $out" >&2; fail=1 ;;
	esac
done
[ $fail -eq 0 ] && echo "check-install: install and install-compat OK"
exit $fail
