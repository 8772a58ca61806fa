#!/usr/bin/env bash
# A/B of the agent's CPU per event, as section 1 of run.sh measures it:
#   tests/bench/tp-ab.sh ROUNDS FORMAT kill|files SFAGENT_A SFAGENT_B...
# Each round runs every binary in turn (interleaved) under the same
# generators: kill = 600,000 kill(getpid(),0) from 2 processes, files =
# 200,000 open+close of one file from 2 processes.  The agent's CPU: its
# threads' run time (/proc/PID/task/*/schedstat), read by the workload's
# shell at the loop's start and 0.5 s after its end (BPF loading and link
# release not counted), divided by the stream's events.  Prints each trial,
# then min / median / max per binary.  Behind "What each change bought"
# rows that give the agent's CPU ns per event (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 4 ] || { echo "usage: $0 ROUNDS FORMAT kill|files SFAGENT..." >&2; exit 2; }
R=$1 fmt=$2 wl=$3
shift 3
LG=${BUILD:-build}/bench/loadgen
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "sfagent tp-ab file" >"$T/small"
cpu='cat /proc/$PPID/task/*/schedstat | awk "{ s += \$1 } END { printf \"%.0f\\n\", s }"'
case $wl in
kill) lg=(kill 600000 0 2) ;;
files) lg=(openclose 200000 "$T/small" 0 2) ;;
*) echo "tp-ab: workload kill or files, not \`$wl\`" >&2; exit 2 ;;
esac
for ((r = 0; r < R; r++)); do
	for b in "$@"; do
		out=$("$b" -v -X -F "$fmt" -o "$T/out" -- \
			sh -c "$cpu"' >"$0.a"; "$@"; sleep 0.5; '"$cpu"' >"$0.b"' "$T/cpu" "$LG" "${lg[@]}" 2>"$T/log")
		# stream.end: the stream's last record; sysflow's is in the log
		f=$T/out
		[ "$fmt" = sysflow ] && f=$T/log
		read -r ev missed < <(grep -a '"stream.end"' "$f" | sed -n 's/.*"events":\([0-9]*\),"missed":\([0-9]*\).*/\1 \2/p' | tail -1)
		# the generators' own user+sys CPU per call: the traced task's
		# cost, less disturbed by the machine's other users than the rate
		gen=$(echo "$out" | sed -n 's/.*ops=\([0-9]*\).*user_ns=\([0-9]*\) sys_ns=\([0-9]*\).*/\1 \2 \3/p' | awk '{ printf "%.0f", ($2 + $3) / $1 }')
		echo "$b $(((($(cat "$T/cpu.b") - $(cat "$T/cpu.a"))) / ev)) ns/event, rate $(echo "$out" | sed -n 's/.*rate=\([0-9]*\).*/\1/p'), missed $missed, generator $gen ns/call"
	done
done | tee "$T/raw"
for b in "$@"; do
	grep "^$b " "$T/raw" | awk '{ print $2 }' | sort -n |
		awk -v b="$b" '{ v[NR] = $1 } END { printf "%s: %s / %s / %s ns/event (min / median / max of %d)\n", b, v[1], v[int((NR + 1) / 2)], v[NR], NR }'
	for k in rate generator; do
		grep "^$b " "$T/raw" | sed -n "s/.*$k \([0-9]*\).*/\1/p" | sort -n |
			awk -v b="$b" -v k="$k" '{ v[NR] = $1 } END { printf "%s: %s %s / %s / %s (min / median / max)\n", b, k, v[1], v[int((NR + 1) / 2)], v[NR] }'
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
