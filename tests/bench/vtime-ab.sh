#!/bin/bash
# The verifier's time per program, two builds of the BPF object side by side
# (docs/performance.md "what each change bought"): build/bench/vtime on A,
# then on B, ROUNDS times interleaved, so drift on this shared machine hits
# both alike; prints per program the median (min-max) of each, in ms of the
# verifier's own clock, and the instructions it processed.
# Usage: tests/bench/vtime-ab.sh A.bpf.o B.bpf.o [ROUNDS [CORE_BTF]]
# CORE_BTF: a BTF for CO-RE (default the kernel's; the agent's BTF cache copy
# of one of the objects opens faster, and verifies the same);
# VTIME_ONLY=PROGRAM: one program only.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
VT=$TOP/$BUILD/bench/vtime
A=${1:?usage: vtime-ab.sh A.bpf.o B.bpf.o [ROUNDS [CORE_BTF]]}
B=${2:?usage: vtime-ab.sh A.bpf.o B.bpf.o [ROUNDS [CORE_BTF]]}
ROUNDS=${3:-10}
CORE=${4:-}
[ -x "$VT" ] || { echo "vtime-ab: $VT missing: make bench-tools" >&2; exit 1; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 0; i < ROUNDS; i++)); do
	"$VT" "$A" "$CORE" 1 | sed 's/^vtime /A /'
	"$VT" "$B" "$CORE" 1 | sed 's/^vtime /B /'
done | python3 -c '
import re, sys, statistics as st
from collections import defaultdict
us, insns, order = defaultdict(list), {}, []
for line in sys.stdin:
    m = re.match(r"(A|B) (\S+) usec=(-?\d+)(?: insns=(-?\d+))?", line)
    if not m:
        continue
    v, prog, u, n = m.group(1), m.group(2), int(m.group(3)), m.group(4)
    if prog not in order:
        order.append(prog)
    if u >= 0:
        us[(v, prog)].append(u / 1000)
        if n is not None:
            insns[(v, prog)] = int(n)
def mmm(k):
    x = us.get(k)
    return "n/a" if not x else "%.1f (%.1f-%.1f)" % (st.median(x), min(x), max(x))
print("%-18s %-22s %-22s %s" % ("program", "A ms", "B ms", "insns A -> B"))
for p in order:
    print("%-18s %-22s %-22s %s -> %s" % (p, mmm(("A", p)), mmm(("B", p)),
          insns.get(("A", p), "-"), insns.get(("B", p), "-")))
'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
