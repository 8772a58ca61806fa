#!/bin/bash
# What -X adds to a short command, binaries against each other in one run:
# wall time (and user+sys CPU) of `/bin/true`, then of
# `BIN -X -w t -o /dev/null -- /bin/true` for each BIN, interleaved, REPS
# rounds; prints min / median / max ms of each and the load average before
# and after (docs/performance.md section 7 and its "what each change bought"
# rows).  The environment (SFAGENT_LOAD_SPLIT=1) goes to every run.
# Usage: REPS=N tests/bench/short-ab.sh BIN...
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LG=$TOP/${BUILD:-build}/bench/loadgen
REPS=${REPS:-10}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 0; i < REPS; i++)); do
	for ((v = 0; v <= $#; v++)); do
		if ((v == 0)); then
			out=$("$LG" time /bin/true)
		else
			out=$("$LG" time "${!v}" -X -w t -o /dev/null -- /bin/true)
		fi
		ns=${out#*elapsed_ns=} user=${out#*user_ns=} sys=${out#*sys_ns=}
		echo "$v ${ns%% *} ${user%% *} ${sys%% *}"
	done
done | python3 -c '
import sys, statistics as st
v, usr, krn = {}, {}, {}
for line in sys.stdin:
    k, ns, user, sys_ = line.split()[:4]
    v.setdefault(int(k), []).append(int(ns) / 1e6)
    usr.setdefault(int(k), []).append(int(user) / 1e6)
    krn.setdefault(int(k), []).append(int(sys_) / 1e6)
t = st.median(v[0])
for k, name in enumerate(["/bin/true"] + sys.argv[1:]):
    x = v[k]
    print("%-24s wall min %6.1f median %6.1f max %6.1f ms (%+6.1f) | cpu median user %5.1f sys %5.1f ms (n=%d)"
          % (name, min(x), st.median(x), max(x), st.median(x) - t, st.median(usr[k]), st.median(krn[k]), len(x)))' "$@"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
