#!/bin/bash
# HTTP server workload against bpftrace (issue 14 item 5): busybox httpd in a
# real runc container (the shared read-only busybox rootfs, as
# tests/hook_helper.bash make_bundle builds it, in the host's network
# namespace so a host client reaches it on loopback), loaded by Apache's
# `ab` from the host: REQUESTS requests, CONCURRENCY at once, of a small
# static page.  busybox httpd forks a child per connection, which accepts,
# opens and reads the page, writes the reply and exits: process, file and
# net events on every request.
#
#   tests/bench/http.sh [REQUESTS [ROUNDS [CONCURRENCY]]]   (default 5000 5 4)
#
# Variants, interleaved in each round (the order rotates round by round):
#   none      the container, no tracer
#   sfagent   sfagent -D with sfhook injected into the bundle (the container
#             registered by its prestart hook, tracked from its first
#             instruction; path resolution and --hash exec as shipped;
#             --stream-rate off so no per-stream budget drops events and
#             it writes all that bpftrace writes)
#   bpftrace  tests/bench/peer.bt on the container's cgroup id
# Each variant starts its own container; 200 warm-up requests, then the
# measured `ab` run.  Per run: requests/s (ab), the server's CPU per
# request (the container cgroup's cpu.stat usage_usec over the ab run: the
# tracer's BPF programs run in the server's context and count there), the
# tracer's own CPU per request (/proc/PID/stat), records written per
# request, and what was lost (sfagent's stream.end missed, bpftrace's
# "Lost N events").  Prints min / median / max per variant and the
# overhead ratios against none; the "at most half of bpftrace" figure is
# (sfagent - none) / (bpftrace - none) of the medians.
# Environment: BUILD (default build), BPFTRACE_STRLEN (default 64, as run.sh),
# HTTP_KEEP=DIR (keep each run's sfagent and bpftrace output in DIR),
# HTTP_PERF=DIR (perf record -a -g for HTTP_PERF_SECS, default 3, at the start
# of each traced ab run: DIR/VARIANT.ROUND.data; the run itself then counts
# perf's cost, so use it to profile, not to measure); HTTP_PERF_TRACER=1:
# only the tracer's process, with DWARF call graphs.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/hooked.sh
. "$TOP/tests/bench/hooked.sh"
cd "$TOP"
BUILD=${BUILD:-build}
SF=$TOP/$BUILD/sfagent
HOOK=$TOP/$BUILD/sfhook
N=${1:-5000}
ROUNDS=${2:-5}
CONC=${3:-4}
ROOTFS=$TOP/bundles/shell-demo/rootfs
export BPFTRACE_STRLEN=${BPFTRACE_STRLEN:-64}

for t in "$SF" "$HOOK"; do
	[ -x "$t" ] || { echo "http.sh: $t missing: run \`make build\`" >&2; exit 1; }
done
for t in ab bpftrace runc jq python3; do
	command -v "$t" >/dev/null || { echo "http.sh: $t missing: run \`make deps-bench\`" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "http.sh: must run as root (BPF, runc)" >&2; exit 1; }
[ -x "$ROOTFS/bin/busybox" ] || make -s bundles >&2

W=$(mktemp -d)
RR=$W/runc
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
PIDS=()
cleanup() {
	local p id
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for id in $(runc --root "$RR" list -q 2>/dev/null); do
		runc --root "$RR" delete -f "$id" >/dev/null 2>&1 || true
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
forget() {
	local p keep=()
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]+"${keep[@]}"}")
}
say() { printf 'http: %s\n' "$*" >&2; }
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # FILE PATTERN TIMEOUT_S
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
proc_cpu_us() { # PID: utime+stime in us
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15) * 1000000 / hz }' "/proc/$1/stat"
}

mkdir -p "$W/www"
head -c 2048 /dev/zero | tr '\0' x >"$W/www/index.html"
# BUNDLE DIR, PORT, HOOKED (0/1)
make_bundle() {
	mkdir -p "$1"
	jq --arg r "$ROOTFS" --arg www "$W/www" --arg addr "127.0.0.1:$2" '
		.root.path = $r | .root.readonly = true | .annotations = {} |
		.process.args = ["httpd", "-f", "-p", $addr, "-h", "/tmp/www"] |
		.linux.namespaces |= map(select(.type != "network")) |
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
			     "options": ["nosuid", "nodev", "mode=1777"]},
			    {"destination": "/tmp/www", "type": "bind", "source": $www,
			     "options": ["rbind", "ro"]}]' \
		bundles/shell-demo/config.json >"$1/config.json"
	[ "$3" = 1 ] || return 0
	hook_bundle "$1" "$SF" "$HOOK" "$W/d.sock"
}

# CONTAINER ID BUNDLE PORT: started, answering; sets CPID, CG
start_server() {
	local i
	(cd "$2" && runc --root "$RR" run -d "$1" </dev/null >/dev/null 2>>"$W/runc.err") ||
		{ say "runc run failed: $(tail -3 "$W/runc.err")"; exit 1; }
	CPID=$(runc --root "$RR" state "$1" | jq -r .pid)
	CG=$CG2$(sed -n 's/^0:://p' "/proc/$CPID/cgroup")
	for ((i = 0; i < 100; i++)); do
		python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$3" \
			2>/dev/null && return 0
		sleep 0.1
	done
	say "httpd in $1 does not answer on port $3"
	exit 1
}
records() { # VARIANT: lines written so far by its tracer
	case $1 in
	sfagent) cat "$W"/dout/* 2>/dev/null | grep -c '^{' || true ;;
	bpftrace) grep -c '^{' "$W/bt.json" || true ;;
	*) echo 0 ;;
	esac
}
cg_usage_us() { sed -n 's/^usage_usec //p' "$1/cpu.stat"; }

# VARIANT ROUND: one measured run; appends a line to $W/res
run_variant() {
	local v=$1 r=$2 i id=sfbench-http-$$-$1-$2 p b tracer='' u0 u1 t0=0 t1=0 out rps failed recs missed
	p=$(port)
	b=$W/b-$id
	make_bundle "$b" "$p" "$([ "$v" = sfagent ] && echo 1 || echo 0)"
	case $v in
	sfagent)
		rm -rf "$W/dout"
		"$SF" -D -v --stream-rate off --socket "$W/d.sock" --output-dir "$W/dout" 2>"$W/d.log" &
		tracer=$!
		PIDS+=("$tracer")
		wait_for "$W/d.log" "listening on" 60 || { say "sfagent -D did not start: $(cat "$W/d.log")"; exit 1; }
		;;
	esac
	start_server "$id" "$b" "$p"
	if [ "$v" = bpftrace ]; then
		rm -f "$W/bt.json"
		bpftrace -o "$W/bt.json" tests/bench/peer.bt "$(stat -c %i "$CG")" >/dev/null 2>"$W/bt.err" &
		tracer=$!
		PIDS+=("$tracer")
		wait_for "$W/bt.json" Attaching 180 || { say "bpftrace did not start: $(cat "$W/bt.err")"; exit 1; }
	fi
	ab -q -n 200 -c "$CONC" "http://127.0.0.1:$p/index.html" >/dev/null
	sleep 0.5
	local before
	before=$(records "$v")
	u0=$(cg_usage_us "$CG")
	[ -n "$tracer" ] && t0=$(proc_cpu_us "$tracer")
	local perf=''
	if [ -n "${HTTP_PERF:-}" ] && [ "$v" != none ]; then # where the time goes
		mkdir -p "$HTTP_PERF"
		local what=(-a -g)
		[ -z "${HTTP_PERF_TRACER:-}" ] || what=(-p "$tracer" --call-graph dwarf)
		perf record "${what[@]}" -o "$HTTP_PERF/$v.$r.data" -- sleep "${HTTP_PERF_SECS:-3}" >/dev/null 2>&1 &
		perf=$!
	fi
	out=$(ab -n "$N" -c "$CONC" "http://127.0.0.1:$p/index.html" 2>&1)
	[ -z "$perf" ] || wait "$perf" || true
	u1=$(cg_usage_us "$CG")
	rps=$(echo "$out" | sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p')
	failed=$(echo "$out" | sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p')
	[ -n "$rps" ] || { say "ab failed: $out"; exit 1; }
	recs=0 missed=0
	case $v in
	sfagent)
		sleep 0.5 # the last records reach the file
		t1=$(proc_cpu_us "$tracer")
		recs=$(($(records sfagent) - before))
		runc --root "$RR" delete -f "$id" >/dev/null 2>>"$W/runc.err"
		for ((i = 0; i < 300; i++)); do
			grep -rqs '"stream.end"' "$W/dout" && break
			sleep 0.1
		done
		kill -TERM "$tracer"
		wait "$tracer" || true
		forget "$tracer"
		# the stream's missed count, all causes (ring buffer, quota, sinks)
		missed=$(grep -rhs '"stream.end"' "$W/dout" | sed -n 's/.*"missed":\([0-9]*\).*/\1/p' | head -1)
		[ -n "$missed" ] || { say "no stream.end from sfagent: $(tail -3 "$W/d.log")"; exit 1; }
		;;
	bpftrace)
		sleep 0.5
		t1=$(proc_cpu_us "$tracer")
		recs=$(($(records bpftrace) - before))
		kill -INT "$tracer"
		wait "$tracer" || true
		forget "$tracer"
		missed=$(cat "$W/bt.json" "$W/bt.err" | awk '/^Lost [0-9]+ events/ { n += $2 } END { print n + 0 }')
		runc --root "$RR" delete -f "$id" >/dev/null 2>>"$W/runc.err"
		;;
	none)
		runc --root "$RR" delete -f "$id" >/dev/null 2>>"$W/runc.err"
		;;
	esac
	if [ -n "${HTTP_KEEP:-}" ]; then # the streams, for a look at what each wrote
		mkdir -p "$HTTP_KEEP"
		[ "$v" = sfagent ] && cat "$W"/dout/* >"$HTTP_KEEP/sfagent.$r.jsonl"
		[ "$v" = bpftrace ] && cp "$W/bt.json" "$HTTP_KEEP/bpftrace.$r.json"
	fi
	rm -rf "$b"
	echo "$v $r $rps $(((u1 - u0) * 1000 / N)) $(((t1 - t0) * 1000 / N)) $recs $missed $failed" >>"$W/res"
	say "  round $r $v: $rps req/s, server $(((u1 - u0) * 1000 / N)) ns CPU/request, $recs records, missed $missed, failed $failed"
}

: >"$W/res"
say "$N requests, concurrency $CONC, $ROUNDS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
VARIANTS=(none sfagent bpftrace)
for ((r = 1; r <= ROUNDS; r++)); do
	for ((k = 0; k < 3; k++)); do
		run_variant "${VARIANTS[$(((r + k) % 3))]}" "$r"
	done
done
say "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$W/res" "$N" "$CONC" <<'EOF'
import statistics as st, sys
rows, by_round = {}, {}
for line in open(sys.argv[1]):
    v, r, rps, cpu, tcpu, recs, missed, failed = line.split()
    x = dict(rps=float(rps), cpu=int(cpu), tcpu=int(tcpu), tot=int(cpu) + int(tcpu),
             recs=int(recs), missed=int(missed), failed=int(failed))
    rows.setdefault(v, []).append(x)
    by_round.setdefault(r, {})[v] = x
n = int(sys.argv[2])
mmm = lambda xs: "%s / %s / %s" % tuple(format(round(x), ",") for x in (min(xs), st.median(xs), max(xs)))
rmm = lambda xs: "%.2f (%.2f-%.2f)" % (st.median(xs), min(xs), max(xs))
print("HTTP workload: busybox httpd in a runc container, ab -n %d -c %s from the host, %d rounds"
      % (n, sys.argv[3], len(rows["none"])))
print("%-9s %-22s %-26s %-24s %-26s %-8s %s" % ("variant", "requests/s", "server ns CPU/request",
      "tracer ns CPU/request", "server+tracer ns/request", "rec/req", "lost, failed"))
for v in ("none", "sfagent", "bpftrace"):
    xs = rows[v]
    col = lambda k: mmm([x[k] for x in xs])
    print("%-9s %-22s %-26s %-24s %-26s %-8.1f %d, %d" % (v, col("rps"), col("cpu"),
          col("tcpu") if v != "none" else "-", col("tot"), st.median(x["recs"] / n for x in xs),
          sum(x["missed"] for x in xs), sum(x["failed"] for x in xs)))
print("(min / median / max over the rounds; CPU from cpu.stat of the container's cgroup and")
print(" /proc/PID/stat of the tracer, clock ticks of 10 ms for the tracer)")
# ratios to none of the same round (the variants ran back to back), then
# the median over rounds
ov = {}
for v in ("sfagent", "bpftrace"):
    rr = [(d["none"]["rps"] / d[v]["rps"], d[v]["cpu"] / d["none"]["cpu"], d[v]["tot"] / d["none"]["cpu"])
          for d in by_round.values()]
    ov[v] = [st.median(x[i] for x in rr) - 1 for i in range(3)]
    print("%-9s slowdown (none's requests/s / its) %s; server CPU/request %s of none; server+tracer CPU/request %s of none's server"
          % (v, rmm([x[0] for x in rr]), rmm([x[1] for x in rr]), rmm([x[2] for x in rr])))
for i, what in ((0, "requests/s"), (1, "server CPU per request"), (2, "server+tracer CPU per request")):
    b = ov["bpftrace"][i]
    g = ov["sfagent"][i] / b if b > 0 else None
    print("sfagent overhead / bpftrace overhead (%s): %s" % (what, "n/a (bpftrace's within noise)" if g is None else
          "%.2f  goal <= 0.5 (%s)" % (g, "met" if g <= 0.5 else "MISSED")))
EOF
