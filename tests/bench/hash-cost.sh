#!/usr/bin/env bash
# What --hash costs (docs/performance.md, "Digests"):
#  1. the worker's rate: one process opens BENCH_HASH_FILES distinct files
#     of each size under `sfagent -X --hash open`; hashes/s is the files
#     hashed over the time from the first open to the last file.hash
#     record, `dropped` the opens that found the queue full (backlog), and
#     missed_ringbuf whether the consumer fell behind the kernel.
#  1b. a burst: BENCH_HASH_BURST new files of 4 KiB opened by one
#     cat while the agent is stopped (its child stops it, cat runs, the
#     child resumes it), so that the consumer finds every open at once:
#     how many got a digest, how many found the queue full (backlog) or
#     were still pending at the stream's end (late), checked exactly by
#     tests/helpers/hash_accounting.py.
#  2. the agent's CPU per event with --hash none, exec and open, on an exec
#     loop (/bin/true, dynamic: its loader opens and maps libc) and an open
#     loop (one file opened again and again: the cache), interleaved
#     rounds; the agent's threads' run time (/proc/PID/task/*/schedstat),
#     read by the workload at its start and after a pause that lets the
#     agent catch up.
# Prints min-median-max per variant.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SF="$BUILD/sfagent"
X="$BUILD/tests/filehash"
ROUNDS=${BENCH_HASH_ROUNDS:-5}
NFILES=${BENCH_HASH_FILES:-1000}
NEXEC=${BENCH_HASH_EXECS:-1000}
NOPEN=${BENCH_HASH_OPENS:-20000}
NBURST=${BENCH_HASH_BURST:-500}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

mmm() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%s %s %s", v[1], v[int((NR + 1) / 2)], v[NR] }'; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), $(nproc) cores"
PARTS=" ${BENCH_HASH_PARTS:-worker burst cpu} "
if [[ $PARTS == *" worker "* ]]; then
echo "1. worker: $NFILES distinct files per size ($((NFILES / 5)) of 1 MiB), opened by one process (cat)"
for size in 4096 65536 1048576; do
	mkdir -p "$T/f$size"
	n=$NFILES
	[ "$size" -lt 1048576 ] || n=$((NFILES / 5)) # 1 MiB files: a fifth
	for i in $(seq "$n"); do head -c "$size" /dev/urandom >"$T/f$size/$i"; done
	for r in $(seq "$ROUNDS"); do
		rm -f "$T/w.jsonl"
		"$SF" -X --hash open -w hb -o "$T/w.jsonl" -- sh -c 'cat "$1"/* >/dev/null' sh "$T/f$size"
		python3 - "$T/w.jsonl" "$T/f$size/" "$size" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
mine = [x for x in r if x["type"] == "file.open" and x.get("path", "").startswith(sys.argv[2])]
ts = {x["seq"]: x["ts"] for x in mine}
h = [x for x in r if x["type"] == "file.hash" and x["event_seq"] in ts and "file_sha256" in x]
end = [x for x in r if x["type"] == "stream.end"][0]
span = (max(x["ts"] for x in h) - min(ts.values())) / 1e9 if h else 0
print("size=%s opens=%d hashed=%d dropped=%d missed_ringbuf=%d hashes_per_s=%.0f MB_per_s=%.1f" % (
    sys.argv[3], len(mine), len(h), end["file_hash"]["dropped"], end["missed_ringbuf"],
    len(h) / span if span else 0, len(h) * int(sys.argv[3]) / span / 1e6 if span else 0))
PY
	done | tee "$T/w$size"
	rm -rf "$T/f$size"
	for k in hashes_per_s MB_per_s dropped missed_ringbuf; do
		printf '   size %s %s: %s (min median max)\n' "$size" "$k" \
			"$(sed -n "s/.* $k=\([0-9.]*\).*/\1/p" "$T/w$size" | mmm)"
	done
done

fi
if [[ $PARTS == *" burst "* ]]; then
echo "1b. burst: $NBURST new 4 KiB files opened at once (the agent stopped meanwhile)"
for r in $(seq "$ROUNDS"); do
	rm -rf "$T/burst" "$T/b.jsonl" && mkdir "$T/burst"
	for i in $(seq "$NBURST"); do head -c 4096 /dev/urandom >"$T/burst/$i"; done
	"$SF" -X --hash open -w hb -o "$T/b.jsonl" -- \
		sh -c 'trap "kill -CONT \$PPID" EXIT; kill -STOP $PPID; cat "$1"/* >/dev/null' sh "$T/burst"
	python3 tests/helpers/hash_accounting.py "$T/b.jsonl" "$T/burst" | tail -1
done | tee "$T/burst.all"
for k in digests backlog late; do
	printf '   %s of %s: %s (min median max)\n' "$k" "$NBURST" \
		"$(sed -n "s/.* $k=\([0-9]*\).*/\1/p" "$T/burst.all" | mmm)"
done
fi
[[ $PARTS == *" cpu "* ]] || exit 0
echo "2. agent CPU per loop iteration and per record (ns), --hash none|exec|open, interleaved"
head -c 65536 /dev/urandom >"$T/one"
for r in $(seq "$ROUNDS"); do
	for loop in exec open; do
		for mode in none exec open; do
			if [ "$loop" = exec ]; then
				work='i=0; while [ $i -lt '"$NEXEC"' ]; do /bin/true; i=$((i+1)); done'
				n=$NEXEC
			else
				work='"$1" reopen '"$NOPEN"' "$2"'
				n=$NOPEN
			fi
			rm -f "$T/c.jsonl"
			# the agent's CPU (its threads' schedstat run time, ns)
			# from the loop's start to a second after its end: loading
			# and attaching the BPF programs before are not counted
			cpu='cat /proc/$PPID/task/*/schedstat | awk "{ s += \$1 } END { print s }"'
			"$SF" -X --hash "$mode" -w hc -o "$T/c.jsonl" -- \
				sh -c "$cpu"' >"$3.a"; '"$work"'; sleep 1; '"$cpu"' >"$3"' sh "$X" "$T/one" "$T/cpu"
			recs=$(grep -vc '"type":"stream\.' "$T/c.jsonl")
			awk -v l="$loop" -v m="$mode" -v a="$(cat "$T/cpu.a")" -v b="$(cat "$T/cpu")" -v n="$n" -v c="$recs" \
				'BEGIN { ns = b - a; printf "%s %s %.0f %.0f %d\n", l, m, ns / n, ns / c, c }'
		done
	done
done | tee "$T/cpu.all"
for loop in exec open; do
	for mode in none exec open; do
		printf '   %s loop, --hash %s: per iteration %s ns, per record %s ns, records %s (min median max)\n' \
			"$loop" "$mode" \
			"$(awk -v l="$loop" -v m="$mode" '$1 == l && $2 == m { print $3 }' "$T/cpu.all" | mmm)" \
			"$(awk -v l="$loop" -v m="$mode" '$1 == l && $2 == m { print $4 }' "$T/cpu.all" | mmm)" \
			"$(awk -v l="$loop" -v m="$mode" '$1 == l && $2 == m { print $5 }' "$T/cpu.all" | mmm)"
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
