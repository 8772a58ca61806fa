#!/usr/bin/env bash
# The cost of -F sysflow's read/write counting on the paths issue 19 added
# (docs/performance.md): io_uring (uringflow loop: IORING_OP_WRITE + READ
# of 64 B, one request at a time, on a file opened with open(2)) and ia32
# (flow32 loop: 32-bit pwrite64 + pread64 of 64 B).  Each under no agent, a
# json stream (not counted) and a sysflow stream (counted), interleaved;
# the workload's CPU ns (user+sys) per request or syscall, min-median-max.
# ROUNDS (5), N (200000).  Run by hand or by make bench's caller; the
# binaries are make unit's.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SF="$BUILD/sfagent"
WL="$BUILD/tests"
ROUNDS=${ROUNDS:-5}
N=${N:-200000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

one() { # none|FORMAT WORKLOAD
	local cmd=("$WL/$2" loop "$N" "$T/file")
	if [ "$1" != none ]; then
		cmd=("$SF" -X -F "$1" --hash none -o "$T/out.$1" -- "${cmd[@]}")
	fi
	"${cmd[@]}" 2>/dev/null | sed -n 's/^ns_per_op=\([0-9]*\)$/\1/p'
}

stats() { sort -n | awk '{v[NR] = $1} END {printf "min %s median %s max %s\n", v[1], v[int((NR + 1) / 2)], v[NR]}'; }

for ((r = 0; r < ROUNDS; r++)); do
	for w in uringflow flow32; do
		for f in none json sysflow; do
			v=$(one "$f" "$w")
			echo "$v" >>"$T/$w.$f"
			echo "$w $f round $r: $v ns" >&2
		done
	done
done
for w in uringflow flow32; do
	for f in none json sysflow; do
		echo "$w $f (CPU ns per op, x$((2 * N))): $(stats <"$T/$w.$f")"
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
