#!/bin/bash
# Cost of resolved paths (issue 12): the traced open/read/close loop and the
# tar workload under two sfagent builds, interleaved round by round.
#
#   tests/bench/resolved-cost.sh BEFORE_SFAGENT AFTER_SFAGENT [ROUNDS]
#
# BEFORE: a build with the kernel walks of struct sf_fpath compiled out
# (fpath_walk_to() returning at once), AFTER: the normal build.  Both run
# with --hash none (no digests: kernel events only).  Each round runs
# untraced, before and after back to back; the workload times itself
# (build/bench/loadgen), so sfagent's start-up never counts.  Prints
# min / median / max wall ms per variant, and the records the stream had.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BEFORE=${1:?before sfagent}
AFTER=${2:?after sfagent}
ROUNDS=${3:-5}
LG=$TOP/build/bench/loadgen
N_ORC=${N_ORC:-100000}
N_FILES=${N_FILES:-3000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "sfagent bench file" >"$W/small"
mkdir -p "$W/src"
(cd "$W/src" && for i in $(seq "$N_FILES"); do
	d=d$((i % 30))
	mkdir -p "$d"
	printf 'file %s\n' "$i" >"$d/f$i"
done)
tar -cf "$W/src.tar" -C "$W/src" .
cat >"$W/tarjob" <<JOB
#!/bin/sh
set -e
rm -rf "$W/x" "$W/out.tar"
mkdir "$W/x"
tar -xf "$W/src.tar" -C "$W/x"
tar -cf "$W/out.tar" -C "$W/x" .
JOB
chmod +x "$W/tarjob"

ms() { sed -n 's/.*elapsed_ns=\([0-9]*\).*/\1/p' | awk '{ printf "%.1f\n", $1 / 1e6 }'; }
: >"$W/res"
for r in $(seq "$ROUNDS"); do
	for wl in orc tar; do
		if [ $wl = orc ]; then cmd=("$LG" orc "$N_ORC" "$W/small"); else cmd=("$LG" time "$W/tarjob"); fi
		echo "$wl none $("${cmd[@]}" | ms)" >>"$W/res"
		for v in before after; do
			bin=$BEFORE
			[ $v = after ] && bin=$AFTER
			rm -f "$W/$v.jsonl"
			out=$("$bin" -X --hash none -o "$W/$v.jsonl" -- "${cmd[@]}")
			n=$(grep -c . "$W/$v.jsonl")
			res=$(grep -c '"resolved"' "$W/$v.jsonl" || true)
			echo "$wl $v $(echo "$out" | ms) $n $res" >>"$W/res"
		done
	done
	echo "round $r done" >&2
done
python3 - "$W/res" <<'PY'
import statistics, sys
rows = {}
for l in open(sys.argv[1]):
    f = l.split()
    rows.setdefault((f[0], f[1]), []).append((float(f[2]), f[3:] ))
for (wl, v), xs in sorted(rows.items()):
    t = sorted(x[0] for x in xs)
    extra = " records=%s resolved=%s" % tuple(xs[-1][1]) if xs[-1][1] else ""
    print("%-4s %-7s min %8.1f  median %8.1f  max %8.1f ms%s" % (wl, v, t[0], statistics.median(t), t[-1], extra))
PY
