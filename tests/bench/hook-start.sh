#!/usr/bin/env bash
# How much sfhook adds to container start: `runc run` of a trivial bundle
# (/bin/true) without the hook, with the hook and a real `sfagent -D` (prestart
# registers, poststop drains and ends the stream; the container is traced), and
# with the hook but no agent (fail open: the hook process alone), and with
# /bin/true as the prestart and poststop hook (what any hook costs in runc).  Runs are
# interleaved; median and p95 printed.  Then sfhook alone, without runc: the
# hook's own exec-to-exit time against /bin/true's (below).
# Usage: tests/bench/hook-start.sh [RUNS]   (default 100)
# BUILD=DIR takes sfagent and sfhook from DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-100}
top=$PWD
b=$(cd "${BUILD:-build}" && pwd)
[ -x "$b/sfagent" ] && [ -x "$b/sfhook" ] || { echo "run 'make build' first" >&2; exit 1; }
[ -x bundles/shell-demo/rootfs/bin/busybox ] || make -s bundles
t=$(mktemp -d)
agent=
cg=
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
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
"$b/sfagent" --inject-hook "$t/hooked" --hook-path "$b/sfhook" --socket "$t/s.sock" >/dev/null
"$b/sfagent" --inject-hook "$t/noagent" --hook-path "$b/sfhook" --socket "$t/absent.sock" >/dev/null
"$b/sfagent" -D --socket "$t/s.sock" --output-dir "$t/out" 2>"$t/agent.log" &
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
echo "streams written: $n file(s), $(cat "$t/out"/* | grep -c '"stream.end"') stream.end records"

# sfhook's own share, without runc's noise: the hook run as runc runs it
# (the state on stdin) against the same agent, for a process alone in a
# cgroup of its own: prestart while it lives, poststop once it is gone (as
# after a container's exit); the same with /bin/true as the hook.  The
# agent stays attached throughout (the runs come well within its idle
# hysteresis).  Interleaved; exec to exit of each hook run.
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
cg="$cg2/sfhook-bench-$$"
mkdir "$cg"
python3 - "$b/sfhook" "$t/s.sock" "$cg" "$t/hooked" "$runs" <<'PY' || true
import json, statistics, subprocess, sys, time
hook, sock, cg, bundle, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def timed(argv, state):
    s = time.perf_counter_ns()
    r = subprocess.run(argv, input=state, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    e = time.perf_counter_ns()
    if r.returncode:
        sys.exit("%s failed: %s" % (argv, r.stderr.decode()))
    return (e - s) / 1e6
res = {"sfhook": [], "/bin/true": []}
for i in range(runs * 2):
    for name, argv in (("sfhook", [hook, "--socket", sock]), ("/bin/true", ["/bin/true"])):
        p = subprocess.Popen(["sleep", "1000"])
        with open(cg + "/cgroup.procs", "w") as f:
            f.write(str(p.pid))
        state = json.dumps({"ociVersion": "1.0.2", "id": "hook-alone", "status": "created",
                            "pid": p.pid, "bundle": bundle,
                            "annotations": {"io.sfagent.workload": "alone"}}).encode()
        pre = timed(argv + ["prestart"], state)
        p.kill()
        p.wait()
        res[name].append((pre, timed(argv + ["poststop"], state)))
def med(v): return statistics.median(v)
print("hook alone (no runc), %d runs each, ms: median (min)" % (runs * 2))
print("%-16s %16s %16s %16s" % ("", "prestart", "poststop", "both"))
for name, v in res.items():
    cols = [[x[0] for x in v], [x[1] for x in v], [x[0] + x[1] for x in v]]
    print("%-16s %s" % ("alone: " + name, " ".join("%8.2f (%5.2f)" % (med(c), min(c)) for c in cols)))
b = [x[0] + x[1] for x in res["sfhook"]]
t = [x[0] + x[1] for x in res["/bin/true"]]
print("sfhook's own share: %+.2f ms at the median (%+.2f at the min) over /bin/true" % (med(b) - med(t), min(b) - min(t)))
PY
rmdir "$cg" 2>/dev/null || true
cg=
