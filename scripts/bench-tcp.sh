#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-tcp.sh: what a VM user feels, ours against the real vde2 tools in the same run (issue 9's table).
#
#   TCP (iperf3) between two hosts, each in its own network namespace on a TAP served by a plug2tap:
#     - through one switch: everything real; only our switch; only our plug2tap; everything ours;
#     - over a cable "dpipe vplug SW1 = vplug SW2" between two switches (one host on each): only our
#       dpipe+vplug; only our plug2taps; everything ours (the reference: dpipe vde_plug SW1 = vde_plug SW2);
#     - everything ours with MTU 9000 on both TAPs (the reference cannot carry it; its ratio is against
#       the reference's MTU 1500 figure);
#   ping RTT median and 99th percentile through one switch (everything ours, only our switch, only our
#     plug2tap) and through the cable (everything ours, only our dpipe+vplug), against everything real;
#   the same five ping paths again, and the cable with only our plug2taps, paired: the reference's path and ours stand side by side, and
#     BENCH_PING_ROUNDS (default 16) rounds of BENCH_ROUND_PINGS (default 300) pings every 2 ms go through both,
#     in random order within each round; the median and quartiles of the rounds' ratios ours/ref (a run of
#     1000 pings moves more from one run to the next than the gaps these rows are about);
#   ping every 100 ms (an idle path, as most pings find it: each process goes idle between frames) through
#     one switch and through the cable, everything ours against everything real: the RTT median and the CPU
#     time per ping of the path's processes (switches, plugs, dpipe and its vplugs; /proc schedstat);
#   64-byte frames from unbatched senders (one send per frame, blocking, as QEMU; tools/loadgen -unbatched),
#     1->1 and 2->2: frames/s delivered and the share of the frames sent that arrived;
#   the ceiling: the same two namespaces joined by a Linux bridge (two veth pairs) and by one veth pair.
#
# Every other figure is the median of BENCH_TCP_RUNS runs, the reference and ours alternating, each on fresh
# processes. Next to each throughput: the CPU seconds per GB carried, summed over the VDE processes of the
# path (switches, plugs, dpipe and its vplugs; user+system from /proc), which does not depend on the load.
# Environment: BENCH_TCP_ROWS (a regular expression: only the rows it matches), BENCH_TCP_TIME (default 5) seconds per iperf3 run, BENCH_TCP_RUNS (default 3), BENCH_PINGS
# (default 1000, at 2 ms intervals), BENCH_PING_ROUNDS and BENCH_ROUND_PINGS (above), BENCH_SLOW_PINGS (default 100) at BENCH_SLOW_IV
# (default 0.1) s intervals, GOVDE_BIN (our binaries, default bin/). Needs root, iperf3 and vde2;
# skipped otherwise. Everything it makes (namespaces, processes, sockets) is removed on exit, even on failure.
set -uo pipefail
cd "$(dirname "$0")/.."

SECS=${BENCH_TCP_TIME:-5}
RUNS=${BENCH_TCP_RUNS:-3}
PINGS=${BENCH_PINGS:-1000}
ROUNDS=${BENCH_PING_ROUNDS:-16}
ROUND_PINGS=${BENCH_ROUND_PINGS:-300}
SLOW=${BENCH_SLOW_PINGS:-100}
SLOWIV=${BENCH_SLOW_IV:-0.1}
BIN=${GOVDE_BIN:-$PWD/bin}

if [ "$(id -u)" != 0 ]; then echo "bench-tcp: skipped (needs root for TAPs and namespaces)"; exit 0; fi
for t in iperf3 vde_switch vde_plug2tap vde_plug dpipe ip python3; do
	command -v "$t" >/dev/null || { echo "bench-tcp: skipped ($t not installed)"; exit 0; }
done
for t in vswitch plug2tap vplug dpipe; do
	[ -x "$BIN/$t" ] || { echo "bench-tcp: $BIN/$t missing (make build)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/bench-tcp.XXXXXX)
tag=$$
touch "$work/pids" "$work/netns" "$work/links"
cleanup() {
	local p n
	while read -r p; do pgrep -P "$p" | xargs -r kill 2>/dev/null; kill "$p" 2>/dev/null; done <"$work/pids"
	sleep 0.3
	while read -r p; do kill -9 "$p" 2>/dev/null; done <"$work/pids"
	while read -r n; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done <"$work/netns"
	while read -r n; do ip link del "$n" 2>/dev/null; done <"$work/links"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$work/loadgen" ./tools/loadgen || exit 1
HZ=$(getconf CLK_TCK)

wait_for() {
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "bench-tcp: timed out waiting for: $*" >&2
	return 1
}

# reach NS: wait (up to ~20 s) until NS can ping 198.18.0.2 (ARP, learning).
reach() {
	for _ in $(seq 20); do ip netns exec "$1" ping -c 1 -W 1 198.18.0.2 >/dev/null 2>&1 && return 0; done
	echo "bench-tcp: no ping from $1" >&2
	return 1
}

# pidof_file F: the PID in pidfile F (waiting for it to appear).
pidof_file() {
	wait_for test -s "$1" || return 1
	tr -d '[:space:]-' <"$1"
}

# cputicks PID...: user+system clock ticks used by the processes and their children still running.
cputicks() {
	local p sum=0 c
	for p in "$@"; do
		for c in $p $(pgrep -P "$p" 2>/dev/null); do
			sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || echo 0)))
		done
	done
	echo "$sum"
}

# switch KIND DIR: start a switch (ref|ours) on DIR; prints its PID.
switch() {
	local exe=vde_switch pf="$2.pid"
	[ "$1" = ours ] && exe=$BIN/vswitch
	"$exe" -d -s "$2" -p "$pf" >/dev/null 2>&1 || return 1
	local pid
	pid=$(pidof_file "$pf") || return 1
	echo "$pid" >>"$work/pids"
	wait_for test -S "$2/ctl" || return 1
	echo "$pid"
}

# host KIND NS IP SWDIR MTU: a namespace with a TAP joined to the switch on SWDIR by plug2tap (ref|ours);
# prints the plug's PID.
host() {
	local exe=vde_plug2tap pf="$work/$2.pid"
	[ "$1" = ours ] && exe=$BIN/plug2tap
	ip netns add "$2" || return 1
	echo "$2" >>"$work/netns"
	ip -n "$2" link set lo up
	ip netns exec "$2" "$exe" -d -P "$pf" -s "$4" bt0 || return 1
	local pid
	pid=$(pidof_file "$pf") || return 1
	echo "$pid" >>"$work/pids"
	wait_for ip -n "$2" link show bt0 || return 1
	ip -n "$2" link set bt0 mtu "$5" up && ip -n "$2" addr add "$3/24" dev bt0 || return 1
	echo "$pid"
}

# cable KIND SW1 SW2: dpipe PLUG SW1 = PLUG SW2 in the background; prints dpipe's PID.
cable() {
	local d=dpipe p=vde_plug
	[ "$1" = ours ] && d=$BIN/dpipe p=$BIN/vplug
	# Not under setsid: the real dpipe makes its own process group and fails if it cannot.
	"$d" "$p" "$2" = "$p" "$3" </dev/null >/dev/null 2>&1 &
	echo $! >>"$work/pids"
	echo $!
}

# iperf NS1 NS2 PIDS...: TCP from NS1 to NS2 (198.18.0.2) for SECS; prints "Mbit/s cpu-s-per-GB".
iperf() {
	local n1=$1 n2=$2 t0 t1 out mb
	shift 2
	ip netns exec "$n2" iperf3 -s -D -1 -I "$work/iperf.pid" -B 198.18.0.2 >/dev/null 2>&1
	local ip
	ip=$(pidof_file "$work/iperf.pid") && echo "$ip" >>"$work/pids"
	wait_for bash -c "ip netns exec $n2 ss -Hltn 'sport = :5201' | grep -q 5201"
	t0=$(cputicks "$@")
	out=$(ip netns exec "$n1" timeout $((SECS + 20)) iperf3 -c 198.18.0.2 -t "$SECS" -J 2>/dev/null)
	t1=$(cputicks "$@")
	rm -f "$work/iperf.pid"
	mb=$(printf '%s' "$out" | python3 -c 'import json,sys
try: print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception: print(0)')
	awk -v m="${mb:-0}" -v t=$((t1 - t0)) -v hz="$HZ" -v s="$SECS" \
		'BEGIN { printf "%s %.2f\n", m, (m > 0) ? (t / hz) / (m * s / 8 / 1000) : 0 }'
}

# rtts NS COUNT SKIP: "median p99" RTT in ms of COUNT pings every 2 ms from NS to 198.18.0.2, after SKIP more
# that are not counted.
rtts() {
	ip netns exec "$1" timeout $((($2 + $3) / 100 + 30)) ping -n -c $(($2 + $3)) -i 0.002 198.18.0.2 2>/dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | tail -n +$(($3 + 1)) | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 0"; exit } i = int(NR * 0.99); if (i < 1) i = 1; printf "%.3f %.3f\n", v[int((NR + 1) / 2)], v[i] }'
}

# pingstat NS: "median p99" RTT in ms of PINGS pings from NS to 198.18.0.2.
pingstat() {
	ip netns exec "$1" ping -c 3 -W 1 -q 198.18.0.2 >/dev/null 2>&1
	rtts "$1" "$PINGS" 0
}

# roundstat NS: "median p99" RTT in ms of ROUND_PINGS pings every 2 ms from NS to 198.18.0.2, after 20 more
# that find the path as the last round left it (a loop may have parked since) and are not counted.
roundstat() { rtts "$1" "$ROUND_PINGS" 20; }

# cpuns PID...: CPU time in ns used so far by the processes and their children still running (schedstat).
cpuns() {
	local p c t sum=0
	for p in "$@"; do
		for c in $p $(pgrep -P "$p" 2>/dev/null); do
			for t in /proc/"$c"/task/*/schedstat; do
				sum=$((sum + $(cut -d' ' -f1 "$t" 2>/dev/null || echo 0)))
			done
		done
	done
	echo "$sum"
}

# slowstat NS PID...: "median cpu" of SLOW pings SLOWIV s apart from NS to 198.18.0.2: the RTT median in ms, and the
# CPU time of the PIDs (and their children) per ping in µs.
slowstat() {
	local ns=$1 c0 c1 med
	shift
	ip netns exec "$ns" ping -c 3 -W 1 -q 198.18.0.2 >/dev/null 2>&1
	c0=$(cpuns "$@")
	med=$(ip netns exec "$ns" timeout "$(awk -v n="$SLOW" -v i="$SLOWIV" 'BEGIN { printf "%d", n * i + 30 }')" \
		ping -n -c "$SLOW" -i "$SLOWIV" 198.18.0.2 2>/dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR > 0) ? v[int((NR + 1) / 2)] : 0 }')
	c1=$(cpuns "$@")
	awk -v m="$med" -v c=$((c1 - c0)) -v n="$SLOW" 'BEGIN { printf "%s %.0f\n", m, c / n / 1000 }'
}

# teardown: stop everything started so far and delete the namespaces (between runs).
teardown() {
	local p n
	while read -r p; do pgrep -P "$p" | xargs -r kill 2>/dev/null; kill "$p" 2>/dev/null; done <"$work/pids"
	for _ in $(seq 30); do
		local alive=0
		while read -r p; do kill -0 "$p" 2>/dev/null && alive=1; done <"$work/pids"
		[ $alive = 0 ] && break
		sleep 0.1
	done
	while read -r p; do kill -9 "$p" 2>/dev/null; done <"$work/pids"
	: >"$work/pids"
	while read -r n; do ip netns del "$n" 2>/dev/null; done <"$work/netns"
	: >"$work/netns"
	while read -r n; do ip link del "$n" 2>/dev/null; done <"$work/links"
	: >"$work/links"
	rm -rf "$work"/s1* "$work"/s2* "$work"/*.pid
}

# sfx is appended to the names of a path's namespaces and switch directories, so that two paths can stand
# side by side (the paired ping rounds); empty otherwise.
sfx=

# one_switch SW PLUG MTU WHAT: hosts on one switch; WHAT is tcp, ping or slowping, and the figures are
# printed; or up: the path is left standing (until the next teardown) and the first host's namespace printed.
one_switch() {
	local n1=bt1-$tag$sfx n2=bt2-$tag$sfx d=$work/s1$sfx s p1 p2
	s=$(switch "$1" "$d") || { teardown; echo "0 0"; return; }
	p1=$(host "$2" "$n1" 198.18.0.1 "$d" "$3") || { teardown; echo "0 0"; return; }
	p2=$(host "$2" "$n2" 198.18.0.2 "$d" "$3") || { teardown; echo "0 0"; return; }
	reach "$n1" || { teardown; echo "0 0"; return; }
	case $4 in
	tcp) iperf "$n1" "$n2" "$s" "$p1" "$p2" ;;
	slowping) slowstat "$n1" "$s" "$p1" "$p2" ;;
	up) echo "$n1"; return ;;
	*) pingstat "$n1" ;;
	esac
	teardown
}

# two_switches SW PLUG CABLE WHAT: a host on each of two switches joined by a dpipe cable (WHAT as above).
two_switches() {
	local n1=bt1-$tag$sfx n2=bt2-$tag$sfx d1=$work/s1$sfx d2=$work/s2$sfx s1 s2 p1 p2 c
	s1=$(switch "$1" "$d1") && s2=$(switch "$1" "$d2") || { teardown; echo "0 0"; return; }
	p1=$(host "$2" "$n1" 198.18.0.1 "$d1" 1500) || { teardown; echo "0 0"; return; }
	p2=$(host "$2" "$n2" 198.18.0.2 "$d2" 1500) || { teardown; echo "0 0"; return; }
	c=$(cable "$3" "$d1" "$d2")
	reach "$n1" || { teardown; echo "0 0"; return; }
	case $4 in
	tcp) iperf "$n1" "$n2" "$s1" "$s2" "$p1" "$p2" "$c" ;;
	slowping) slowstat "$n1" "$s1" "$s2" "$p1" "$p2" "$c" ;;
	up) echo "$n1"; return ;;
	*) pingstat "$n1" ;;
	esac
	teardown
}

# kernel KIND WHAT: the ceiling, the two namespaces joined by a bridge (two veth pairs) or one veth pair.
kernel() {
	local n1=bt1-$tag n2=bt2-$tag br=btbr$tag
	ip netns add "$n1" && echo "$n1" >>"$work/netns"
	ip netns add "$n2" && echo "$n2" >>"$work/netns"
	if [ "$1" = veth ]; then
		ip link add bt0 netns "$n1" type veth peer name bt0 netns "$n2"
	else
		ip link add "$br" type bridge && echo "$br" >>"$work/links" && ip link set "$br" up
		ip link add bta$tag type veth peer name bt0 netns "$n1"
		ip link add btb$tag type veth peer name bt0 netns "$n2"
		ip link set bta$tag master "$br" up && ip link set btb$tag master "$br" up
	fi
	local i
	for i in 1 2; do
		ip -n "bt$i-$tag" link set lo up
		ip -n "bt$i-$tag" link set bt0 up && ip -n "bt$i-$tag" addr add "198.18.0.$i/24" dev bt0
	done
	reach "$n1" || { teardown; echo "0 0"; return; }
	if [ "$2" = tcp ]; then iperf "$n1" "$n2"; else pingstat "$n1"; fi
	teardown
}

# frames SW PAIRS: 64-byte unbatched senders through a fresh switch: "frames/s share%".
frames() {
	local s out
	s=$(switch "$1" "$work/s1") || { teardown; echo "0 0"; return; }
	out=$(timeout 60 "$work/loadgen" switch -sock "$work/s1" -pairs "$2" -size 64 -time 2s -unbatched) || out="0 0 0"
	teardown
	set -- $out
	awk -v r="$1" -v t="$2" -v s="${3:-0}" 'BEGIN { printf "%.0f %.1f\n", r, (s > 0) ? 100 * t / s : 0 }'
}

# want NAME: whether the row NAME is measured (BENCH_TCP_ROWS, an extended regular expression, picks rows;
# ping rows are named "ping ..." (the paired ones "ping paired, ..."), frame rows "frames 1"/"frames 2", the ceiling "kernel bridge"/"kernel veth").
want() { [ -z "${BENCH_TCP_ROWS:-}" ] || [[ "$1" =~ $BENCH_TCP_ROWS ]]; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# both ROWNAME REF-CMD... -- OURS-CMD...: RUNS alternating runs of each (both print two figures); the medians.
both() {
	local ref=() ours=() a=() b=() c=() d=() i x y
	local name=$1
	shift
	while [ "$1" != -- ]; do ref+=("$1"); shift; done
	shift
	ours=("$@")
	for i in $(seq "$RUNS"); do
		# $(...) waits for the whole run, teardown included (read < <(...) would not).
		read -r x y <<<"$("${ref[@]}")"; a+=("$x"); b+=("$y")
		read -r x y <<<"$("${ours[@]}")"; c+=("$x"); d+=("$y")
	done
	echo "$name|$(median "${a[@]}")|$(median "${b[@]}")|$(median "${c[@]}")|$(median "${d[@]}")|${a[*]}|${c[*]}"
}

echo "bench-tcp: ours vs the real vde2 tools, $(nproc) cores, $(uname -r), load $(cut -d' ' -f1 /proc/loadavg);"
echo "median of $RUNS alternating runs, iperf3 ${SECS}s, $PINGS pings; CPU = s per GB over the VDE processes"
printf '%-52s %9s %9s %6s %10s %10s\n' "TCP Mbit/s (hosts on TAPs, MTU 1500)" reference ours ratio "ref CPU/GB" "ours CPU/GB"
row() {
	local name r rc o oc ra oa
	IFS='|' read -r name r rc o oc ra oa <<<"$1"
	printf '%-52s %9s %9s %6s %10s %10s   (runs: %s / %s)\n' "$name" "$r" "$o" "$(ratio "$o" "$r")" "$rc" "$oc" "$ra" "$oa"
}
want "host-host, only the switch ours" && row "$(both "host-host, only the switch ours" one_switch ref ref 1500 tcp -- one_switch ours ref 1500 tcp)"
want "host-host, only plug2tap ours" && row "$(both "host-host, only plug2tap ours" one_switch ref ref 1500 tcp -- one_switch ref ours 1500 tcp)"
if want "host-host, all ours (switch + plug2tap)" || want "MTU 9000"; then
	all=$(both "host-host, all ours (switch + plug2tap)" one_switch ref ref 1500 tcp -- one_switch ours ours 1500 tcp)
	row "$all"
	ref1500=$(cut -d'|' -f2 <<<"$all")
fi
want "cable dpipe vplug = vplug, only dpipe/vplug ours" && row "$(both "cable dpipe vplug = vplug, only dpipe/vplug ours" two_switches ref ref ref tcp -- two_switches ref ref ours tcp)"
want "cable, only plug2tap ours" && row "$(both "cable, only plug2tap ours" two_switches ref ref ref tcp -- two_switches ref ours ref tcp)"
want "cable, all ours" && row "$(both "cable, all ours" two_switches ref ref ref tcp -- two_switches ours ours ours tcp)"
j9s=() j9cs=()
want "MTU 9000" && for _ in $(seq "$RUNS"); do
	read -r x y <<<"$(one_switch ours ours 9000 tcp)"
	j9s+=("$x") j9cs+=("$y")
done
j9=$(median "${j9s[@]}") j9c=$(median "${j9cs[@]}") j9a=${j9s[*]}
want "MTU 9000" && printf '%-52s %9s %9s %6s %10s %10s   (runs: %s)\n' "host-host, all ours, MTU 9000 (vs ref at 1500)" "$ref1500" "$j9" \
	"$(ratio "$j9" "$ref1500")" "" "$j9c" "$j9a"
echo
printf '%-52s %19s %19s\n' "ping RTT ms, median / p99 (lower is better)" reference ours
pingrow() {
	local name r rp o op
	IFS='|' read -r name r rp o op _ <<<"$1"
	printf '%-52s %9s / %7s %9s / %7s   ratio ours/ref: %s / %s\n' "$name" "$r" "$rp" "$o" "$op" "$(ratio "$o" "$r")" "$(ratio "$op" "$rp")"
}
want "ping one switch, all ours vs all real" && pingrow "$(both "one switch, all ours vs all real" one_switch ref ref 1500 ping -- one_switch ours ours 1500 ping)"
want "ping one switch, only the switch ours" && pingrow "$(both "one switch, only the switch ours" one_switch ref ref 1500 ping -- one_switch ours ref 1500 ping)"
want "ping one switch, only plug2tap ours" && pingrow "$(both "one switch, only plug2tap ours" one_switch ref ref 1500 ping -- one_switch ref ours 1500 ping)"
want "ping cable, only dpipe/vplug ours" && pingrow "$(both "cable, only dpipe/vplug ours" two_switches ref ref ref ping -- two_switches ref ref ours ping)"
want "ping cable, all ours vs all real" && pingrow "$(both "cable, all ours vs all real" two_switches ref ref ref ping -- two_switches ours ours ours ping)"
echo

# paired NAME REF-PATH... -- OURS-PATH...: both paths stand side by side; ROUNDS rounds of ROUND_PINGS pings
# through each, which of the two goes first drawn at random in every round. Prints the reference's and ours'
# medians of the rounds' medians, and the median and quartiles of the rounds' ratios ours/ref (median and p99).
paired() {
	local name=$1 ref=() ours=() na nb k ra rb
	shift
	while [ "$1" != -- ]; do ref+=("$1"); shift; done
	shift
	ours=("$@")
	na=$(sfx=a "${ref[@]}" up)
	nb=$(sfx=b "${ours[@]}" up)
	if [[ $na != bt1-* || $nb != bt1-* ]]; then
		teardown
		printf '%-52s %s\n' "$name" "n/a (a path did not come up)"
		return
	fi
	for k in $(seq "$ROUNDS"); do
		if ((RANDOM % 2)); then
			ra=$(roundstat "$na") rb=$(roundstat "$nb")
		else
			rb=$(roundstat "$nb") ra=$(roundstat "$na")
		fi
		echo "$ra $rb"
	done >"$work/rounds"
	teardown
	python3 - "$name" "$work/rounds" <<'PY'
import statistics as st, sys
name, rows = sys.argv[1], [list(map(float, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 4]
rows = [r for r in rows if r[0] > 0 and r[1] > 0 and r[2] > 0]
if len(rows) < 4:
    print('%-52s n/a (%d usable rounds)' % (name, len(rows))); sys.exit()
m = [r[2] / r[0] for r in rows]; p = [r[3] / r[1] for r in rows]
q = st.quantiles(m, n=4); qp = st.quantiles(p, n=4)
print('%-52s %6.3f %6.3f   %5.2f (%4.2f-%4.2f)   %5.2f (%4.2f-%4.2f)' % (name, st.median(r[0] for r in rows),
      st.median(r[2] for r in rows), st.median(m), q[0], q[2], st.median(p), qp[0], qp[2]))
PY
}
printf '%s\n' "ping every 2 ms, paired: $ROUNDS rounds of $ROUND_PINGS pings through both paths standing side by side, in"
printf '%s\n' "random order; RTT ms (medians of the rounds' medians) and ratios ours/ref per round: median (quartiles)"
printf '%-52s %6s %6s   %16s   %16s\n' "" ref ours "median ratio" "p99 ratio"
want "ping paired, one switch, all ours vs all real" && paired "one switch, all ours vs all real" one_switch ref ref 1500 -- one_switch ours ours 1500
want "ping paired, one switch, only the switch ours" && paired "one switch, only the switch ours" one_switch ref ref 1500 -- one_switch ours ref 1500
want "ping paired, one switch, only plug2tap ours" && paired "one switch, only plug2tap ours" one_switch ref ref 1500 -- one_switch ref ours 1500
want "ping paired, cable, only dpipe/vplug ours" && paired "cable, only dpipe/vplug ours" two_switches ref ref ref -- two_switches ref ref ours
want "ping paired, cable, only plug2tap ours" && paired "cable, only plug2tap ours" two_switches ref ref ref -- two_switches ref ours ref
want "ping paired, cable, all ours vs all real" && paired "cable, all ours vs all real" two_switches ref ref ref -- two_switches ours ours ours
echo
printf '%-52s %19s %19s\n' "ping every ${SLOWIV}s: RTT median ms / CPU µs per ping" reference ours
slowrow() {
	local name r rc o oc
	IFS='|' read -r name r rc o oc _ <<<"$1"
	printf '%-52s %9s / %7s %9s / %7s   ratio ours/ref: %s / %s\n' "$name" "$r" "$rc" "$o" "$oc" "$(ratio "$o" "$r")" "$(ratio "$oc" "$rc")"
}
want "ping every ${SLOWIV}s, one switch, all ours vs all real" &&
	slowrow "$(both "one switch, all ours vs all real" one_switch ref ref 1500 slowping -- one_switch ours ours 1500 slowping)"
want "ping every ${SLOWIV}s, cable, all ours vs all real" &&
	slowrow "$(both "cable, all ours vs all real" two_switches ref ref ref slowping -- two_switches ours ours ours slowping)"
echo
printf '%-52s %19s %19s %6s\n' "64-byte frames, unbatched senders: fr/s (share)" reference ours ratio
for pairs in 1 2; do
	want "frames $pairs" || continue
	IFS='|' read -r _ r rs o os _ <<<"$(both x frames ref "$pairs" -- frames ours "$pairs")"
	printf '%-52s %10s (%4s%%) %10s (%4s%%) %6s\n' "$pairs -> $pairs" "$r" "$rs" "$o" "$os" "$(ratio "$o" "$r")"
done
echo
printf '%-52s %9s %10s\n' "ceiling: the kernel, same namespaces" "Mbit/s" "ping ms"
for k in bridge veth; do
	want "kernel $k" || continue
	read -r m _ <<<"$(kernel "$k" tcp)"
	read -r p pp <<<"$(kernel "$k" ping)"
	printf '%-52s %9s %10s\n' "Linux $k" "$m" "$p / $pp"
done
