#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what govde's tests and benchmarks need: the real VDE tools (the oracle), iproute2, iperf3, tcpdump, socat,
# tmux (terminal tests), man-db (man page checks), QEMU (VM client tests), and sshd/ssh with setpriv/unshare
# (vnetctl remote and guest tests). Idempotent and quiet; does nothing
# unless run as root on a Debian-like system, where a missing package is reported instead.
set -euo pipefail

pkgs=(vde2 iproute2 iputils-ping iperf3 tcpdump socat tmux man-db groff-base procps qemu-system-x86 ipxe-qemu
	openssh-server openssh-client util-linux)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "deps: not installing (needs root and apt-get); missing: ${missing[*]}; root-only tests will skip" >&2
	exit 0
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
# QEMU is optional (its test skips without it): install the required set first so a QEMU failure cannot block the rest.
req=() opt=()
for p in "${missing[@]}"; do
	case $p in qemu-system-x86|ipxe-qemu) opt+=("$p") ;; *) req+=("$p") ;; esac
done
if [ ${#req[@]} -gt 0 ]; then
	apt-get install -y -qq --no-install-recommends "${req[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
if [ ${#opt[@]} -gt 0 ]; then
	apt-get install -y -qq --no-install-recommends "${opt[@]}" >"$log" 2>&1 ||
		echo "deps: could not install ${opt[*]}; the QEMU test will skip" >&2
fi
