#!/usr/bin/env bash
# -F sysflow against -F json, in one run, interleaved (docs/performance.md):
#  1. throughput to a file: N open/read/close (loadgen orc) under sfagent -X,
#     flat out: events/s of the workload and the stream's missed count (a
#     sysflow stream's stream.end is in the agent's log, -v);
#  2. the cost of the kernel's read/write counting for a traced process:
#     loadgen rw (pwrite+pread of 64 B on one fd, no event) under a json
#     stream (not counted) and a sysflow stream (counted), and no agent:
#     the workload's CPU ns (user+sys) per syscall.
#  3. the agent's own limit: N_KILL kill(getpid(), 0) flat out from 2
#     processes (loadgen kill; signal.kill has no SysFlow record: it is
#     decoded and counted as unmapped, so this measures the consumer).
# Prints min-median-max per variant.  ROUNDS (5), N_ORC (200000), N_RW
# (1000000), N_KILL (2000000); ONLY=kill runs part 3 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SF="$BUILD/sfagent"
LG="$BUILD/bench/loadgen"
ROUNDS=${ROUNDS:-5}
N_ORC=${N_ORC:-200000}
N_RW=${N_RW:-1000000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
head -c 2048 /dev/urandom >"$T/small"

missed_of() { # FORMAT OUT LOG
	if [ "$1" = json ]; then
		grep '"type":"stream.end"' "$2" | sed -n 's/.*"events":\([0-9]*\),"missed":\([0-9]*\).*/\1 \2/p'
	else
		grep '"type":"stream.end"' "$3" | sed -n 's/.*"events":\([0-9]*\),"missed":\([0-9]*\).*/\1 \2/p'
	fi
}

tp() { # FORMAT: "rate events missed"
	local out
	out=$("$SF" -v -X -F "$1" --hash none -o "$T/tp.$1" -- "$LG" orc "$N_ORC" "$T/small" 2>"$T/log.$1")
	echo "$(echo "$out" | sed -n 's/.*rate=\([0-9]*\).*/\1/p') $(missed_of "$1" "$T/tp.$1" "$T/log.$1")"
}

cpu_per_op() { sed -n 's/.*ops=\([0-9]*\) .*user_ns=\([0-9]*\) sys_ns=\([0-9]*\).*/\1 \2 \3/p' | awk '{printf "%.1f\n", ($2 + $3) / $1}'; }

rw() { # none|FORMAT: the workload's CPU ns (user+sys) per syscall
	if [ "$1" = none ]; then
		"$LG" rw "$N_RW" "$T/rwfile" | cpu_per_op
		return
	fi
	"$SF" -X -F "$1" --hash none -o "$T/rw.$1" -- "$LG" rw "$N_RW" "$T/rwfile" 2>/dev/null | cpu_per_op
}

N_KILL=${N_KILL:-2000000}
tpk() { # FORMAT: "rate events missed"
	local out
	out=$("$SF" -v -X -F "$1" --hash none -o "$T/tpk.$1" -- "$LG" kill "$N_KILL" 0 2 2>"$T/logk.$1")
	echo "$(echo "$out" | sed -n 's/.*rate=\([0-9]*\).*/\1/p') $(missed_of "$1" "$T/tpk.$1" "$T/logk.$1")"
}

stats() { sort -n | awk '{v[NR] = $1} END {printf "min %s median %s max %s\n", v[1], v[int((NR + 1) / 2)], v[NR]}'; }

if [ "${ONLY:-}" = kill ]; then
	for ((r = 0; r < ROUNDS; r++)); do
		for f in json sysflow; do
			read -r rate ev missed < <(tpk "$f")
			echo "$rate" >>"$T/k_rate.$f"
			echo "$missed" >>"$T/k_missed.$f"
			echo "kill $f round $r: ${rate} ev/s, ${ev} events, ${missed} missed" >&2
		done
	done
	for f in json sysflow; do
		echo "kill flat out $f (x$N_KILL, events/s): $(stats <"$T/k_rate.$f"); missed: $(tr '\n' ' ' <"$T/k_missed.$f")"
	done
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
for ((r = 0; r < ROUNDS; r++)); do
	for f in json sysflow; do
		read -r rate ev missed < <(tp "$f")
		echo "$rate" >>"$T/tp_rate.$f"
		echo "$missed" >>"$T/tp_missed.$f"
		echo "tp $f round $r: ${rate} ev/s, ${ev} events, ${missed} missed" >&2
	done
	for f in none json sysflow; do rw "$f" >>"$T/rw.ns.$f"; done
done
for f in json sysflow; do
	echo "throughput $f (orc x$N_ORC, events/s): $(stats <"$T/tp_rate.$f"); missed: $(tr '\n' ' ' <"$T/tp_missed.$f")"
done
for f in none json sysflow; do
	echo "rw $f (CPU ns per pwrite/pread): $(stats <"$T/rw.ns.$f")"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
