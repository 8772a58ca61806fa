#!/usr/bin/env bash
# What seccomp recording costs processes nobody watches: an untracked
# getpid() loop while one `sfagent -X` workload is tracked without recording,
# and while it records a profile (--seccomp-profile: the sys_enter program is
# attached then, and every task on the host runs its cgroup lookup).
# Interleaved rounds; prints min-median-max ns per getpid for each variant.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
LG="$BUILD/bench/loadgen"
N=${N_GETPID:-2000000}
ROUNDS=${ROUNDS:-5}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT

ns_per_op() { sed -n 's/.*ops=\([0-9]*\) elapsed_ns=\([0-9]*\).*/\2 \1/p' | awk '{printf "%.1f\n", $1 / $2}'; }

variant() { # VARIANT: one measurement, printed as "VARIANT ns"
	local args=()
	case "$1" in
	none) ;;
	tracked) args=(-X -w bench -o /dev/null -- sleep 60) ;;
	recording) args=(-X -w bench -o /dev/null --seccomp-profile "$T/p.json" -- sleep 60) ;;
	esac
	if [ "$1" != none ]; then
		"$BUILD/sfagent" "${args[@]}" 2>"$T/agent.log" &
		sleep 1.5
	fi
	echo "$1 $("$LG" getpid "$N" | ns_per_op)"
	if [ "$1" != none ]; then
		kill %1 2>/dev/null || true
		wait 2>/dev/null || true
	fi
}

for r in $(seq "$ROUNDS"); do
	for v in none tracked recording; do variant "$v"; done
done >"$T/all"
for v in none tracked recording; do
	awk -v v="$v" '$1 == v { print $2 }' "$T/all" | sort -n |
		awk -v v="$v" '{ a[NR] = $1 } END { printf "%-10s getpid ns/op min %s median %s max %s (n=%d)\n", v, a[1], a[int((NR + 1) / 2)], a[NR], NR }'
done
