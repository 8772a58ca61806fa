#!/bin/bash
# Per-event CPU cost, the A/B figure quoted in docs/performance.md "what each
# change bought": N kill(getpid(),0) under `sfagent -X -o FILE` versus
# untraced, REPS times interleaved; prints medians of
#   producer ns/event  (the traced loop's extra user+sys CPU per event)
#   agent ns/event     (sfagent's own user+sys CPU per event)
#   wall rate          (events/s of the traced loop)
# CPU time, not wall time, so the other users of this shared machine disturb
# it less.  Then, where perf can count tracepoints, the agent's epoll_wait,
# write and read calls for one run of N events, and the encoder
# micro-benchmark (best of REPS), and the delay of a few lone records.
# Usage: tests/bench/ab.sh [N [REPS [WORKLOAD...]]]
# WORKLOAD defaults to "kill"; "openfail" gives file.open events.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
SF=$TOP/$BUILD/sfagent
LG=$TOP/$BUILD/bench/loadgen
N=${1:-500000}
REPS=${2:-5}
shift 2 || true
WL=("${@:-kill}")
ENCBENCH=$TOP/$BUILD/bench/encbench
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for wl in "${WL[@]}"; do
	for ((i = 0; i < REPS; i++)); do
		base=$("$LG" "$wl" "$N")
		traced=$(/usr/bin/time -f 'user=%U sys=%S' -o "$W/t" "$SF" -X -o "$W/out" -- "$LG" "$wl" "$N")
		end=$(grep '"stream.end"' "$W/out")
		echo "$base|$traced|$(cat "$W/t")|$end"
	done | python3 -c '
import re, sys, statistics as st
prod, agent, rate, missed = [], [], [], 0
for line in sys.stdin:
    b, t, tm, end = line.split("|")
    b = dict(re.findall(r"(\w+)=([\d.]+)", b)); t = dict(re.findall(r"(\w+)=([\d.]+)", t))
    tm = dict(re.findall(r"(\w+)=([\d.]+)", tm))
    n = int(t["ops"])
    tc = int(t["user_ns"]) + int(t["sys_ns"]); bc = int(b["user_ns"]) + int(b["sys_ns"])
    prod.append((tc - bc) / n)
    agent.append(((float(tm["user"]) + float(tm["sys"])) * 1e9 - tc) / n)
    rate.append(float(t["rate"]))
    missed += int(re.search(r"\"missed\":(\d+)", end).group(1))
f = lambda v: "%.0f (%.0f-%.0f)" % (st.median(v), min(v), max(v))
print("%s: producer +ns/event %s | agent ns/event %s | traced rate %s/s | missed %d"
      % (sys.argv[1], f(prod), f(agent), f(rate), missed))' "$wl"
done
if perf stat -e syscalls:sys_enter_write -o /dev/null true 2>/dev/null; then
	perf stat -x, -e syscalls:sys_enter_epoll_wait,syscalls:sys_enter_write,syscalls:sys_enter_read \
		-o "$W/ps" -- "$SF" -X -o "$W/out" -- "$LG" kill "$N" >/dev/null
	echo "agent syscalls for $N events (agent + workload): $(awk -F, '/syscalls/ { sub(/.*sys_enter_/, "", $3); printf "%s %s  ", $3, $1 }' "$W/ps")"
fi
if [ -x "$ENCBENCH" ]; then
	for ((i = 0; i < REPS; i++)); do "$ENCBENCH" 1000000 sbuf; done |
		awk '{ if (!($1 in m) || $3 < m[$1]) m[$1] = $3 } END { for (k in m) printf "encoder %s: best %s ns/record\n", k, m[k] }'
fi
# record latency: ms from an event's timestamp to its line in the file, for
# a lone kill after a quiet second and for two kills 0.3 s later, right after
# a process exit woke the agent
F=$W/lat.json
"$SF" -X -o "$F" -- sh -c 'sleep 1; kill -0 $$; sleep 0.3; kill -0 $$; kill -0 $$; sleep 0.5' >/dev/null &
python3 - "$F" <<'EOF'
import json, sys, time
seen, out, t_end = set(), [], time.time() + 3
while time.time() < t_end and len(seen) < 3:
    try:
        lines = open(sys.argv[1], errors="replace").readlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        if '"signal.kill"' in line and line.endswith("\n"):
            e = json.loads(line)
            if e["seq"] not in seen:
                seen.add(e["seq"])
                out.append("%.1f" % ((time.time_ns() - e["ts"]) / 1e6))
    time.sleep(0.001)
print("record latency ms (lone kill, then two after an exit):", " ".join(out))
EOF
wait
