#!/usr/bin/env bash
# A/B of sfhook's own share of a container start: the "hook alone (no runc)"
# part of tests/bench/hook-start.sh for several builds in one loop.  Each
# BUILD dir (holding sfagent and sfhook) gets its own `sfagent -D`; each run
# puts a fresh process alone in a cgroup of its own, runs `sfhook prestart`
# (state on stdin, as runc runs it) while it lives and `sfhook poststop` once
# it is gone, for every build in turn and for /bin/true run the same way.
# Exec to exit of each hook run; median (min) per variant, and each build's
# share (prestart + poststop) over /bin/true's at the median and the min.
# Usage: tests/bench/hook-ab.sh RUNS BUILD...   (e.g. 60 build /tmp/before)
# CONFIG=FILE: the bundle's config.json (default: shell-demo's, as
# hook-start.sh makes it); BIG_CONFIG=1: that config with a runtime's bulk
# added (a 450-syscall seccomp allow-list, 40 environment variables: ~28 KiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: $0 RUNS BUILD..." >&2; exit 2; }
runs=$1
shift
t=$(mktemp -d)
agents=()
cg=
cleanup() {
	for a in "${agents[@]}"; do kill "$a" 2>/dev/null && wait "$a" 2>/dev/null; done
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
# the bundle's config as hook-start.sh makes it
mkdir "$t/bundle"
if [ -n "${CONFIG:-}" ]; then
	cp "$CONFIG" "$t/bundle/config.json"
else
	jq --arg r "$PWD/bundles/shell-demo/rootfs" '.root.path = $r | .root.readonly = true |
		.process.args = ["/bin/true"] | .annotations = {"io.sfagent.workload": "bench"}' \
		bundles/shell-demo/config.json >"$t/bundle/config.json"
fi
if [ -n "${BIG_CONFIG:-}" ]; then
	jq '.linux.seccomp = {defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
		syscalls: ([{names: [range(420) | "syscall_name_\(.)"], action: "SCMP_ACT_ALLOW"}] +
			[range(30) as $v | {names: ["personality"], action: "SCMP_ACT_ALLOW",
				args: [{index: 0, value: $v, op: "SCMP_CMP_EQ"}]}])} |
		.process.env = [range(40) | "VAR_\(.)=" + ("x" * 40)]' "$t/bundle/config.json" >"$t/c.json"
	mv "$t/c.json" "$t/bundle/config.json"
fi
echo "config.json: $(wc -c <"$t/bundle/config.json") bytes"
specs=()
i=0
for b in "$@"; do
	[ -x "$b/sfagent" ] && [ -x "$b/sfhook" ] || { echo "$b: no sfagent and sfhook (make build?)" >&2; exit 1; }
	b=$(cd "$b" && pwd)
	"$b/sfagent" -D --socket "$t/s$i.sock" --output-dir "$t/out$i" 2>"$t/agent$i.log" &
	agents+=($!)
	specs+=("$b/sfhook" "$t/s$i.sock")
	i=$((i + 1))
done
for _ in $(seq 300); do
	ok=1
	for ((j = 0; j < i; j++)); do [ -S "$t/s$j.sock" ] || ok=; done
	[ -n "$ok" ] && break
	sleep 0.1
done
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
cg="$cg2/sfhook-ab-$$"
mkdir "$cg"
python3 - "$cg" "$t/bundle" "$runs" "${agents[*]}" "${specs[@]}" <<'PY'
import glob, json, statistics, subprocess, sys, time
cg, bundle, runs, pids = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
v = sys.argv[5:]
def cpu_ns(pid): # the agent's CPU so far, all threads
    return sum(int(open(f).read().split()[0]) for f in glob.glob("/proc/%s/task/*/schedstat" % pid))
cpu0 = [cpu_ns(p) for p in pids]
variants = [("%d:%s" % (k // 2, v[k]), [v[k], "--socket", v[k + 1]]) for k in range(0, len(v), 2)]
variants.append(("/bin/true", ["/bin/true"]))
def timed(argv, state):
    s = time.perf_counter_ns()
    r = subprocess.run(argv, input=state, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    e = time.perf_counter_ns()
    if r.returncode or r.stderr:
        sys.exit("%s failed (%d): %s" % (argv, r.returncode, r.stderr.decode()))
    return (e - s) / 1e6
res = {name: [] for name, _ in variants}
for i in range(runs):
    for name, argv in variants:
        p = subprocess.Popen(["sleep", "1000"])
        with open(cg + "/cgroup.procs", "w") as f:
            f.write(str(p.pid))
        state = json.dumps({"ociVersion": "1.0.2", "id": "hook-ab-%d" % i, "status": "created",
                            "pid": p.pid, "bundle": bundle,
                            "annotations": {"io.sfagent.workload": "alone"}}).encode()
        pre = timed(argv + ["prestart"], state)
        p.kill()
        p.wait()
        res[name].append((pre, timed(argv + ["poststop"], state)))
cpu = [(cpu_ns(p) - c) / 1e3 / runs for p, c in zip(pids, cpu0)]
med = statistics.median
print("hook alone (no runc), %d runs each, interleaved, ms: median (min)" % runs)
print("%-36s %16s %16s %16s" % ("", "prestart", "poststop", "both"))
for name, r in res.items():
    cols = [[x[0] for x in r], [x[1] for x in r], [x[0] + x[1] for x in r]]
    print("%-36s %s" % (name[-36:], " ".join("%8.2f (%5.2f)" % (med(c), min(c)) for c in cols)))
t = [x[0] + x[1] for x in res["/bin/true"]]
for name, r in res.items():
    if name != "/bin/true":
        b = [x[0] + x[1] for x in r]
        print("share %-30s %+.2f ms at the median (%+.2f at the min) over /bin/true"
              % (name[-30:], med(b) - med(t), min(b) - min(t)))
for k, c in enumerate(cpu):
    print("agent %d: %.0f us CPU per prestart + poststop (idle time included)" % (k, c))
PY
for ((j = 0; j < i; j++)); do
	n=$(cat "$t/out$j"/* 2>/dev/null | grep -c '"stream.end"' || true)
	echo "agent $j: $n stream.end records"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
