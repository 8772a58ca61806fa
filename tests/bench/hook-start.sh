#!/usr/bin/env bash
# How much sfhook adds to container start: `runc run` of a trivial bundle
# (/bin/true) without the hook, with the hook and a real `sfagent -D` (prestart
# registers, poststop drains and ends the stream; the container is traced), and
# with the hook but no agent (fail open: the hook process alone), and with
# /bin/true as the prestart and poststop hook (what any hook costs in runc).  Runs are
# interleaved; median and p95 printed.
# Usage: tests/bench/hook-start.sh [RUNS]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-100}
top=$PWD
[ -x build/sfagent ] && [ -x build/sfhook ] || { echo "run 'make build' first" >&2; exit 1; }
[ -x bundles/shell-demo/rootfs/bin/busybox ] || make -s bundles
t=$(mktemp -d)
agent=
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	for id in $(runc --root "$t/runc" list -q 2>/dev/null); do
		runc --root "$t/runc" delete -f "$id" >/dev/null 2>&1 || true
	done
	rm -rf "$t"
}
trap cleanup EXIT

mk() {
	mkdir -p "$1"
	jq --arg r "$top/bundles/shell-demo/rootfs" '.root.path = $r | .root.readonly = true |
		.process.args = ["/bin/true"] | .annotations = {"io.sfagent.workload": "bench"}' \
		bundles/shell-demo/config.json >"$1/config.json"
}
mk "$t/plain"
mk "$t/hooked"
mk "$t/noagent"
mk "$t/noop"
jq '.hooks = {"prestart": [{"path": "/bin/true"}], "poststop": [{"path": "/bin/true"}]}' \
	"$t/noop/config.json" >"$t/noop/c" && mv "$t/noop/c" "$t/noop/config.json"
build/sfagent --inject-hook "$t/hooked" --hook-path "$top/build/sfhook" --socket "$t/s.sock" >/dev/null
build/sfagent --inject-hook "$t/noagent" --hook-path "$top/build/sfhook" --socket "$t/absent.sock" >/dev/null
build/sfagent -D --socket "$t/s.sock" --output-dir "$t/out" 2>"$t/agent.log" &
agent=$!
for _ in $(seq 300); do [ -S "$t/s.sock" ] && break; sleep 0.1; done

now() { date +%s%N; }
one() { # one BUNDLE ID -> elapsed ns
	local s e
	s=$(now)
	(cd "$1" && runc --root "$t/runc" run "$2" </dev/null >/dev/null 2>&1)
	e=$(now)
	echo $((e - s))
}
# warm up caches
one "$t/plain" w1 >/dev/null
one "$t/hooked" w2 >/dev/null
: >"$t/plain.ns"
: >"$t/hooked.ns"
: >"$t/noagent.ns"
: >"$t/noop.ns"
for i in $(seq "$runs"); do
	one "$t/plain" "p$i" >>"$t/plain.ns"
	one "$t/hooked" "h$i" >>"$t/hooked.ns"
	one "$t/noagent" "n$i" >>"$t/noagent.ns"
	one "$t/noop" "o$i" >>"$t/noop.ns"
done
python3 - "$t" "$runs" <<'PY'
import statistics, sys
t = sys.argv[1]
def load(p): return sorted(int(l) / 1e6 for l in open("%s/%s.ns" % (t, p)))
def p95(v): return v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]
rows = [("without hook", load("plain")), ("hook + agent", load("hooked")),
        ("hook, no agent", load("noagent")), ("/bin/true hook", load("noop"))]
base = rows[0][1]
print("runc run /bin/true, %s runs each, ms" % sys.argv[2])
print("%-16s %8s %8s %8s %12s %10s" % ("", "median", "p95", "min", "+median", "+p95"))
for name, v in rows:
    print("%-16s %8.2f %8.2f %8.2f %12.2f %10.2f" % (name, statistics.median(v), p95(v), v[0],
          statistics.median(v) - statistics.median(base), p95(v) - p95(base)))
PY
n=$(ls "$t/out" | wc -l)
echo "streams written: $n file(s), $(grep -c '"stream.end"' "$t/out/bench.jsonl") stream.end records"
