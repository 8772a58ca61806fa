#!/bin/bash
# sfagent benchmark: every measurement side by side in one run, one table.
#
#   tests/bench/run.sh [--report docs/performance.md]   (make bench / make bench-report)
#
# Environment: BENCH_QUICK=1 (smoke run, ~2 min), BENCH_REPS=N (repetitions,
# default 3; 1 when quick), BENCH_TP_PROCS (generator processes in the
# throughput trials, default 2), BENCH_RINGBUF=SIZE (agent ring buffer, default
# the agent's own default), BUILD (build dir, default build),
# BENCH_ONLY="tp traced other syscall enc churn hook sinks spool short idle floor scale hash burst http" (a
# subset of sections, for A/B runs), BENCH_CHURN_SECS, BENCH_HOOK_RUNS,
# BENCH_SINK_EVENTS, BENCH_SHORT_RUNS, BENCH_ATTACH_RUNS, BENCH_SPOOL_EVENTS,
# BENCH_SPOOL_AGENTS, BENCH_BURST_EVENTS, BENCH_HTTP_REQUESTS,
# BENCH_TRACED_WORKLOADS (sections 2 and 3: a subset of "orc fork tar").
#
# Every figure is taken in this run.  Workloads time themselves
# (build/bench/loadgen), so the start-up of sfagent, bpftrace and strace
# never counts; each repetition runs all variants back to back, so drift on
# this shared machine hits them alike.  Ratios are what count.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/hooked.sh
. "$TOP/tests/bench/hooked.sh"
cd "$TOP"
BUILD=${BUILD:-build}
SF=$BUILD/sfagent
LG=$BUILD/bench/loadgen
ATTACH=$BUILD/bench/bpfattach
VTIME=$BUILD/bench/vtime
ENCBENCH=$BUILD/bench/encbench
RAWTP=$BUILD/bench/rawtp.bpf.o
FLOOR=$BUILD/bench/floor.bpf.o
REPORT=
[ "${1:-}" = --report ] && REPORT=${2:?--report needs a file}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then REPS=${BENCH_REPS:-1}; else REPS=${BENCH_REPS:-3}; fi
TP_PROCS=${BENCH_TP_PROCS:-2}
RINGBUF=${BENCH_RINGBUF:-}
RBOPT=()
[ -n "$RINGBUF" ] && RBOPT=(--ringbuf-size "$RINGBUF")
export BPFTRACE_STRLEN=64

for t in "$SF" "$LG" "$ATTACH" "$RAWTP" "$FLOOR" "$ENCBENCH" "$VTIME"; do
	[ -e "$t" ] || { echo "bench: $t missing: run \`make bench\`" >&2; exit 1; }
done
for t in bpftrace strace python3 tar /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench: $t missing: run \`make deps-bench\`" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: must run as root (BPF, cgroups)" >&2; exit 1; }

W=$(mktemp -d)
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
BCG=$CG2/sfbench-$$
PIDS=()
forget() { # a waited-for pid is no longer ours to kill
	local p keep=()
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]+"${keep[@]}"}")
}
cleanup() {
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for d in "$BCG"/*/; do
		[ -d "$d" ] || continue
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	done
	sleep 0.2
	rmdir "$BCG"/* "$BCG" 2>/dev/null || true
	if [ -d "$W/runc" ]; then
		for id in $(runc --root "$W/runc" list -q 2>/dev/null); do
			runc --root "$W/runc" delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$BCG/traced" "$BCG/other" "$BCG/busy"
TRACED_ID=$(stat -c %i "$BCG/traced")

RES=$W/results.tsv
: >"$RES"
rec() { printf '%s\t%s\n' "$1" "$2" >>"$RES"; }
say() { printf 'bench: %s\n' "$*" >&2; }
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" | tail -1; }

# user+sys CPU ns of a loadgen report line
cpu_ns() {
	python3 -c 'import re,sys; d=dict(re.findall(r"(\w+)=([\d.]+)", sys.stdin.read())); print(int(d["user_ns"]) + int(d["sys_ns"]))'
}

# run CMD... inside cgroup $1
in_cg() {
	local cg=$1
	shift
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# stream.end of a sfagent output: "events missed"
stream_end() {
	python3 -c '
import json, sys
end = None
for line in open(sys.argv[1], errors="replace"):
    if "\"stream.end\"" in line:
        end = json.loads(line)
        end = end.get("sfagent", end)  # -F quixote wraps the native record
print(end["events"], end["missed"]) if end else print("0 -1")' "$1"
}

wait_for() { # FILE PATTERN TIMEOUT_S
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- workloads --------------------------------------------------------------
if [ "$QUICK" = 1 ]; then
	N_ORC=60000 N_FORK=300 N_FILES=1000 N_GETPID=1000000 N_OC=100000
	N_TRACKED=20 N_CHURN=100 CHURN_SECS=60 N_HOOK=10 N_SINK=20000
	TP_SECS=1 TP_STEPS=3 TP_REPS=1
else
	N_ORC=100000 N_FORK=1000 N_FILES=3000 N_GETPID=3000000 N_OC=300000
	N_TRACKED=100 N_CHURN=1000 CHURN_SECS=${BENCH_CHURN_SECS:-180}
	N_HOOK=${BENCH_HOOK_RUNS:-30} N_SINK=${BENCH_SINK_EVENTS:-50000}
	TP_SECS=3 TP_STEPS=6 TP_REPS=3
fi
DATA=$W/data
mkdir -p "$DATA/src"
echo "sfagent bench file" >"$DATA/small"
(cd "$DATA/src" && for i in $(seq "$N_FILES"); do
	d=d$((i % 30))
	mkdir -p "$d"
	printf 'file %s\n' "$i" >"$d/f$i"
done)
tar -cf "$DATA/src.tar" -C "$DATA/src" .
cat >"$DATA/tarjob" <<EOF
#!/bin/sh
set -e
rm -rf "$DATA/x" "$DATA/out.tar"
mkdir "$DATA/x"
tar -xf "$DATA/src.tar" -C "$DATA/x"
tar -cf "$DATA/out.tar" -C "$DATA/x" .
EOF
chmod +x "$DATA/tarjob"

# shellcheck disable=SC2206 # BENCH_TRACED_WORKLOADS: a subset, for A/B runs
WORKLOADS=(${BENCH_TRACED_WORKLOADS:-orc fork tar})
wl_desc() {
	case $1 in
	orc) echo "open/read/close x$N_ORC" ;;
	fork) echo "fork+exec x$N_FORK" ;;
	tar) echo "tar x+c of $N_FILES files" ;;
	esac
}
wl_cmd() {
	case $1 in
	orc) echo "$LG orc $N_ORC $DATA/small" ;;
	fork) echo "$LG forkexec $N_FORK $TOP/$LG" ;;
	tar) echo "$LG time $DATA/tarjob" ;;
	esac
}

# elapsed ns of workload $1 under tracer $2, in cgroup traced
run_traced() {
	local wl=$1 how=$2 out ns
	# shellcheck disable=SC2207
	local cmd=($(wl_cmd "$wl"))
	case $how in
	none)
		out=$(in_cg "$BCG/traced" "${cmd[@]}")
		;;
	sfagent)
		out=$("$SF" -X "${RBOPT[@]}" -o "$W/sf.json" -- "${cmd[@]}")
		read -r ev missed < <(stream_end "$W/sf.json")
		rec "events.$wl.sfagent" "$ev"
		rec "missed.$wl.sfagent" "$missed"
		;;
	bpftrace)
		# one bpftrace per repetition (its start-up takes many seconds):
		# records per workload are the lines it added during the workload
		local before after
		before=$(grep -c '^{' "$W/bt.json" || true)
		out=$(in_cg "$BCG/traced" "${cmd[@]}")
		sleep 0.3
		after=$(grep -c '^{' "$W/bt.json" || true)
		rec "events.$wl.bpftrace" $((after - before))
		;;
	strace)
		out=$(in_cg "$BCG/traced" strace -f -o "$W/st.txt" "${cmd[@]}")
		rec "events.$wl.strace" "$(wc -l <"$W/st.txt")"
		;;
	esac
	ns=$(echo "$out" | field elapsed_ns)
	rec "traced.$wl.$how" "$ns"
	rec "traced_cpu.$wl.$how" "$(echo "$out" | cpu_ns)"
}

# One bpftrace per repetition for the three workloads (it takes many seconds
# to start), started after the other variants ran: its attached programs
# would slow every other process on the host.
bt_start() {
	rm -f "$W/bt.json"
	bpftrace -o "$W/bt.json" tests/bench/peer.bt "$TRACED_ID" >/dev/null 2>"$W/bt.err" &
	BT=$!
	PIDS+=("$BT")
	wait_for "$W/bt.json" Attaching 180 || { say "bpftrace did not start: $(cat "$W/bt.err")"; exit 1; }
}
bt_stop() {
	kill -INT "$BT"
	wait "$BT" || true
	forget "$BT"
	rec "lost.bpftrace" "$(cat "$W/bt.json" "$W/bt.err" | awk '/^Lost [0-9]+ events/ { n += $2 } END { print n + 0 }')"
}

# ---- 1. throughput -----------------------------------------------------------
# Variants, run in turn in every round: FORMAT (TP_PROCS kill(getpid(),0)
# loops: signal.kill events; -F sysflow has no SysFlow record for them: they
# are decoded and counted as unmapped) and FORMAT.files (TP_PROCS open+close
# loops of one file: file.open events, path resolution included; -F sysflow
# writes one FileFlow per open+close).  The agent as shipped (every event
# class, path resolution, --hash exec).
# One trial: COUNT events at RATE/s (0 = flat out) under sfagent -X.
# Prints "achieved_rate events missed agent_cpu_ns maxrss_kb records".
# agent_cpu_ns: the agent's threads' run time (schedstat) from the loop's
# start to 0.5 s after its end, read by the workload's shell, so loading the
# BPF programs before and releasing them after are not counted.
tp_trial() {
	local rate=$1 v=$2 fmt=${2%.files} count out lg
	local cpu='cat /proc/$PPID/task/*/schedstat | awk "{ s += \$1 } END { printf \"%.0f\\n\", s }"'
	if [ "$v" = "$fmt" ]; then
		if [ "$rate" = 0 ]; then count=$((TP_SECS * 600000)); else count=$((TP_SECS * rate)); fi
		lg=(kill "$count" "$rate" "$TP_PROCS")
	else
		if [ "$rate" = 0 ]; then count=$((TP_SECS * 200000)); else count=$((TP_SECS * rate)); fi
		lg=(openclose "$count" "$DATA/small" "$rate" "$TP_PROCS")
	fi
	rm -f "$W/tp.out" "$W/tp.log" "$W/cpu.a" "$W/cpu.b"
	out=$(/usr/bin/time -f 'TIME user=%U sys=%S rss=%M' -o "$W/time.txt" \
		"$SF" -v -X -F "$fmt" "${RBOPT[@]}" -o "$W/tp.out" -- \
		sh -c "$cpu"' >"$0.a"; "$@"; sleep 0.5; '"$cpu"' >"$0.b"' "$W/cpu" "$LG" "${lg[@]}" 2>"$W/tp.log")
	python3 - "$out" "$(cat "$W/time.txt")" "$(cat "$W/cpu.a" 2>/dev/null)" "$(cat "$W/cpu.b" 2>/dev/null)" \
		"$fmt" "$W/tp.out" "$W/tp.log" <<'EOF'
import json, re, sys
lg = dict(re.findall(r"(\w+)=([\d.]+)", sys.argv[1]))
tm = dict(re.findall(r"(\w+)=([\d.]+)", sys.argv[2]))
# stream.end: in the stream; -F sysflow has no record for it: the agent's log
end = None
for line in open(sys.argv[7] if sys.argv[5] == "sysflow" else sys.argv[6], errors="replace"):
    if '"stream.end"' in line:
        end = json.loads(line[line.index("{"):])
        end = end.get("sfagent", end)  # -F quixote wraps the native record
if not end or not sys.argv[3] or not sys.argv[4]:
    print(lg.get("rate", 0), 0, -1, 0, tm.get("rss", 0), 0)
    sys.exit(0)
print(lg["rate"], end["events"], end["missed"], int(float(sys.argv[4]) - float(sys.argv[3])), tm["rss"],
      end.get("sysflow_records", end["events"]))
EOF
}

# Largest rate with 0 missed: flat out first; if that loses events, bisect
# between 0 and the flat-out rate.  Records the agent's CPU ns per event of
# every trial with 0 missed.
tp_search() {
	local v=$1 best=0 lo hi mid r ev missed cpu rss recs
	read -r r ev missed cpu rss recs < <(tp_trial 0 "$v")
	say "  $v flat out: $r ev/s, $ev events, $missed missed, agent $(tp_ns "$cpu" "$ev") ns/event, $recs records"
	rec "tp.$v.flatout_rate" "$r"
	rec "tp.$v.flatout_missed" "$missed"
	if [ "$ev" -gt 0 ]; then
		rec "tp.$v.cpu_ns" "$(tp_ns "$cpu" "$ev")"
		rec "tp.$v.records_per_ev" "$(python3 -c "print('%.3f' % ($recs / $ev))")"
		[ "$v" = json ] && rec "res.rss_load_kb" "$rss"
	fi
	rec "tp.$v.flatout_core" "$(python3 -c "print('%.3f' % ($r * $cpu / $ev / 1e9 if $ev else 0))")"
	if [ "$missed" = 0 ]; then
		rec "tp.$v.limit" source
		rec "tp.$v" "$r"
		return
	fi
	rec "tp.$v.limit" agent
	lo=0 hi=${r%.*}
	for ((i = 0; i < TP_STEPS; i++)); do
		mid=$(((lo + hi) / 2))
		read -r r ev missed cpu rss recs < <(tp_trial "$mid" "$v")
		say "  $v at $mid/s: $r ev/s, $missed missed"
		if [ "$missed" = 0 ]; then
			lo=$mid
			best=${r%.*}
			[ "$ev" -gt 0 ] && rec "tp.$v.cpu_ns_bisect" "$(tp_ns "$cpu" "$ev")"
		else
			hi=$mid
		fi
	done
	rec "tp.$v" "$best"
	[ "$best" != 0 ] || rec "tp.$v.below" "$hi"
}
tp_ns() { python3 -c "print('%.0f' % ($1 / $2) if $2 else 0)"; }

# The same generators with no agent (kill, files), once per round: the
# rate this machine gives them at the time, the ceiling of every trial.
tp_bare() {
	local out
	out=$("$LG" kill $((TP_SECS * 600000)) 0 "$TP_PROCS")
	rec "tp.bare.kill" "$(echo "$out" | field rate)"
	out=$("$LG" openclose $((TP_SECS * 200000)) "$DATA/small" 0 "$TP_PROCS")
	rec "tp.bare.files" "$(echo "$out" | field rate)"
	say "  no agent: kill $(tail -2 "$RES" | head -1 | cut -f2) ev/s, open+close $(tail -1 "$RES" | cut -f2)/s"
}

# ---- 4. per-syscall cost for an untracked process -----------------------------
# CPU (user+sys) ns per call: less disturbed than wall time by the other
# users of a shared machine
cpu_per_op() {
	python3 -c 'import re,sys; d=dict(re.findall(r"(\w+)=([\d.]+)", sys.stdin.read())); print("%.1f" % ((int(d["user_ns"]) + int(d["sys_ns"])) / int(d["ops"])))'
}
untracked_ns() { # label
	local out
	out=$(in_cg "$BCG/other" "$LG" getpid "$N_GETPID")
	rec "sys.getpid.$1" "$(echo "$out" | cpu_per_op)"
	out=$(in_cg "$BCG/other" "$LG" openclose "$N_OC" "$DATA/small")
	rec "sys.openclose.$1" "$(echo "$out" | cpu_per_op)"
}

start_idle_agent() { # [AGENT OPTIONS]: the agent loaded, tracking one idle workload
	local opts=("$@")
	[ $# -gt 0 ] || opts=("${RBOPT[@]}")
	rm -f "$W/idle.json"
	"$SF" -X "${opts[@]}" -o "$W/idle.json" -- sleep 100000 &
	AGENT=$!
	PIDS+=("$AGENT")
	wait_for "$W/idle.json" stream.start 60 || { say "sfagent did not start"; exit 1; }
	sleep 0.5
}
stop_agent() {
	kill -TERM "$AGENT" 2>/dev/null || true
	wait "$AGENT" 2>/dev/null || true
	forget "$AGENT"
}

# ---- 3. cost to everyone else ------------------------------------------------
BUSY_RATE=${BENCH_BUSY_RATE:-100000}
run_other() { # workload label
	local out
	# shellcheck disable=SC2207
	local cmd=($(wl_cmd "$1"))
	out=$(in_cg "$BCG/other" "${cmd[@]}")
	rec "other.$1.$2" "$(echo "$out" | field elapsed_ns)"
	rec "other_cpu.$1.$2" "$(echo "$out" | cpu_ns)"
}
busy_start() { # with_agent(0/1/persys: per-syscall mode, simulated)
	if [ "$1" != 0 ]; then
		local mode=()
		[ "$1" = persys ] && mode=(SFAGENT_TEST_IA32=absent)
		env "${mode[@]}" "$SF" -X -o "$W/busy.json" -- "$LG" kill 1000000000000 "$BUSY_RATE" >/dev/null &
		BUSY=$!
		wait_for "$W/busy.json" signal.kill 60 || { say "busy agent did not start"; exit 1; }
	else
		in_cg "$BCG/busy" "$LG" kill 1000000000000 "$BUSY_RATE" >/dev/null &
		BUSY=$!
	fi
	PIDS+=("$BUSY")
	sleep 0.5
}
busy_stop() {
	kill -TERM "$BUSY" 2>/dev/null || true
	wait "$BUSY" 2>/dev/null || true
	forget "$BUSY"
	rm -f "$W/busy.json"
}

# ---- 4. agent RSS with many containers (sfagent -D + sfhook + runc) -------------
# The daemon tracks containers started by runc with sfhook injected, on the
# shared read-only busybox rootfs (as tests/hook_helper.bash make_bundle).
# RSS of the daemon: idle, with N_TRACKED `sleep` containers, after they are
# deleted, and after up to N_CHURN short-lived containers (or CHURN_SECS).
agent_rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
churn_bundle() { # DIR ARGS-JSON
	mkdir -p "$1"
	jq --arg r "$TOP/bundles/shell-demo/rootfs" --argjson a "$2" '
		.root.path = $r | .root.readonly = true | .process.args = $a |
		.annotations = {} |
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
			     "options": ["nosuid", "nodev", "mode=1777"]}]' \
		bundles/shell-demo/config.json >"$1/config.json"
	hook_bundle "$1" "$SF" "$TOP/$BUILD/sfhook" "$W/d.sock"
}
churn_run() {
	local rr=$W/runc i n t_end d
	for t in runc jq; do
		command -v "$t" >/dev/null || { say "  $t missing: skipped"; return; }
	done
	[ -x "$BUILD/sfhook" ] || { say "  $BUILD/sfhook missing: skipped"; return; }
	[ -x bundles/shell-demo/rootfs/bin/busybox ] || make -s bundles >&2
	churn_bundle "$W/b-sleep" '["sleep", "100000"]'
	churn_bundle "$W/b-true" '["/bin/true"]'
	"$SF" -D --socket "$W/d.sock" --output-dir "$W/dout" 2>"$W/d.log" &
	DAEMON=$!
	PIDS+=("$DAEMON")
	wait_for "$W/d.log" "listening on" 60 || [ -S "$W/d.sock" ] || { say "daemon did not start: $(cat "$W/d.log")"; exit 1; }
	sleep 0.5
	rec res.d_rss_idle_kb "$(agent_rss "$DAEMON")"
	for ((i = 1; i <= N_TRACKED; i++)); do
		(cd "$W/b-sleep" && runc --root "$rr" run -d "s$i" </dev/null >/dev/null 2>>"$W/runc.err")
	done
	n=$(grep -l '"stream.start"' "$W"/dout/* 2>/dev/null | wc -l)
	rec res.d_tracked "$n"
	sleep 1
	rec res.d_rss_tracked_kb "$(agent_rss "$DAEMON")"
	say "  $n containers tracked: RSS $(agent_rss "$DAEMON") KiB"
	for ((i = 1; i <= N_TRACKED; i++)); do
		runc --root "$rr" delete -f "s$i" >/dev/null 2>>"$W/runc.err" || true
	done
	sleep 1
	rec res.d_rss_deleted_kb "$(agent_rss "$DAEMON")"
	t_end=$(($(date +%s) + CHURN_SECS))
	for ((i = 1; i <= N_CHURN; i++)); do
		[ "$(date +%s)" -lt "$t_end" ] || break
		(cd "$W/b-true" && runc --root "$rr" run "c$i" </dev/null >/dev/null 2>>"$W/runc.err") || true
	done
	rec res.d_churned "$((i - 1))"
	sleep 1
	rec res.d_rss_churned_kb "$(agent_rss "$DAEMON")"
	rec res.d_streams_ended "$(cat "$W"/dout/* | grep -c '"stream.end"')"
	say "  $((i - 1)) short-lived containers: RSS $(agent_rss "$DAEMON") KiB"
	kill -TERM "$DAEMON"
	wait "$DAEMON" || true
	forget "$DAEMON"
	rm -rf "$W/dout"
}

# ---- 6. the hook and sink suites' own benchmarks --------------------------------
hook_start() {
	local out
	out=$(tests/bench/hook-start.sh "$N_HOOK" 2>"$W/hook.err") || { say "  hook-start.sh failed: $(tail -3 "$W/hook.err")"; return; }
	echo "$out" >&2
	# rows: NAME... median p95 min +median +p95
	echo "$out" | awk '/^(hook \+ agent|hook, no agent|\/bin\/true hook|without hook) / {
		k = $0; sub(/ +[0-9.-]+ +[0-9.-]+ +[0-9.-]+ +[0-9.-]+ +[0-9.-]+$/, "", k); gsub(/[ ,+\/]+/, "_", k)
		printf "hook.%s.med\t%s\nhook.%s.p95\t%s\nhook.%s.dmed\t%s\nhook.%s.dp95\t%s\n", k, $(NF-4), k, $(NF-3), k, $(NF-1), k, $NF }' >>"$RES"
	# the hook alone: "alone: NAME  pre (min)  post (min)  both (min)", then the share
	echo "$out" | awk '/^alone: sfhook / { printf "hook.alone.sfhook\t%s\n", $(NF-2) }
		/^alone: \/bin\/true / { printf "hook.alone.true\t%s\n", $(NF-2) }
		/^sfhook.s own share: / { printf "hook.alone.share_med\t%s\nhook.alone.share_min\t%s\n", $4, $9 }' |
		tr -d '(+' >>"$RES"
}
sink_rates() {
	local out
	out=$(MQTT_PORT=17710 HTTP_PORT=17711 tests/bench/mqtt-http.sh "$N_SINK" 2>"$W/sink.err") ||
		{ say "  mqtt-http.sh failed: $(tail -3 "$W/sink.err")"; return; }
	echo "$out" >&2
	echo "$out" | awk '/^MQTT / { q = $2; sub(/qos=/, "", q); b = $3; sub(/batch=/, "", b)
			printf "sink.mqtt_q%s_b%s\t%s\n", q, b, $(NF-3) }
		/^HTTP / { b = $2; sub(/batch=/, "", b); printf "sink.http_b%s\t%s\n", b, $(NF-3) }' >>"$RES"
}

# ---- 7. short commands: what -X adds to a /bin/true -----------------------------
# Wall time, start to exit, as a shell sees it (the agent's BPF load, attach,
# the program, the stream's end and the agent's exit), interleaved.
N_SHORT=${BENCH_SHORT_RUNS:-10}
N_BURST=${BENCH_BURST_EVENTS:-200000}
# Then what most of that load is, the verifier's time per program of the
# agent's object (build/bench/vtime: each program loaded alone, the kernel's
# own clock), REPS rounds: vtime.PROGRAM and vtime.total in microseconds.
short_cmds() {
	local i out
	for ((i = 0; i < N_SHORT; i++)); do
		out=$("$LG" time /bin/true)
		rec short.true "$(echo "$out" | field elapsed_ns)"
		out=$("$LG" time "$SF" -X -w t -o /dev/null -- /bin/true)
		rec short.sfagent "$(echo "$out" | field elapsed_ns)"
	done
	"$VTIME" "$BUILD/sfagent.bpf.o" "" "$REPS" |
		awk '$1 == "vtime" { sub(/^usec=/, "", $3); if ($3 >= 0) printf "vtime.%s\t%s\n", $2, $3 }' >>"$RES"
}

# ---- 9. busy = floor? ------------------------------------------------------------
# Untracked getpid and open+close while a busy workload runs (the kill loop
# of section 3): untracked and no BPF at all; untracked with the floor
# (tests/bench/floor.bpf.c: one empty program on one syscall tracepoint,
# the least any syscall-tracepoint design costs); the ia32 guard's least
# (bench_floor_raw, on the generic sys_exit); an empty program on the
# loop's own syscall's tracepoint (the least any design exporting that
# syscall costs: tracepoints run for every task); tracked by sfagent -X
# (everything: sf_sys_exit on every syscall).  (A process-only variant,
# floor_sfproc, ran while -X detached what its filter could not keep; -X
# keeps every program now, so that the totals hold: docs/filters.md.)
# Then sfagent in per-syscall mode (a kernel without ia32 emulation,
# simulated with SFAGENT_TEST_IA32=absent: bpf/persys.bpf.h), the same way.
# floor_bpf PROGRAM[,PROGRAM...] VARIANT: untracked_ns VARIANT while bpfattach holds
# only PROGRAM of tests/bench/floor.bpf.c
floor_bpf() {
	BPFATTACH_ONLY=$1 "$ATTACH" "$FLOOR" >"$W/floor.out" &
	FL=$!
	PIDS+=("$FL")
	wait_for "$W/floor.out" ready 60 || { say "bpfattach $1 failed"; exit 1; }
	untracked_ns "$2"
	kill -TERM "$FL"
	wait "$FL" || true
	forget "$FL"
}
links_back_to() { # N: until the host's BPF links are N or fewer (30 s at most)
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(others_links)" -le "$1" ] && return 0
		sleep 0.1
	done
	say "  (BPF links still $(others_links), were $1: others' work)"
}
floor_run() {
	local rep
	for ((rep = 0; rep < REPS; rep++)); do
		rec floor.others_links "$(others_links)"
		busy_start 0
		untracked_ns floor_none
		floor_bpf bench_floor floor_floor
		# the ia32 guard's least: one program on the generic sys_exit
		floor_bpf bench_floor_raw floor_raw
		# the least any design exporting the loop's syscall costs: an
		# empty program on its own tracepoint (getpid's, openat's)
		floor_bpf bench_own_getpid,bench_own_openat floor_own
		busy_stop
		busy_start 1
		untracked_ns floor_sfagent
		busy_stop
		links=$(others_links)
		busy_start persys
		untracked_ns floor_persys
		busy_stop
		# its ~90 perf links go in a child after it (sfagent-release,
		# ~40 ms each): the next rep's no-BPF variant waits for them
		links_back_to "$links"
	done
}

# ---- 10. flat with the number of tracked workloads ------------------------------
# One sfagent -D; cgroups made and registered straight on its socket
# (tests/bench/reg.py, no runtime), 1, 100, then 1,000 of them.  At each
# count: the daemon's RSS; the REGISTER round trip of 10 more (unregistered
# again); its CPU with no event (ms per s); a kill loop in the first cgroup
# (tracked) and in an untracked one, CPU ns per call of each, and the
# daemon's CPU ns per event written.
SCALE_COUNTS=${BENCH_SCALE_COUNTS:-1 100 1000}
N_SCALE=$((QUICK == 1 ? 100000 : 300000))
proc_cpu_ns() { # PID: utime+stime in ns
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000000000 / hz }' "/proc/$1/stat"
}
scale_run() {
	local n have=0 out t0 t1 ev0 ev1 f
	rm -f "$W/scaled.log"
	# no per-stream budget: the loop's every event is written
	"$SF" -D -v --stream-rate off --socket "$W/scaled.sock" --output-dir "$W/scaled-out" \
		2>"$W/scaled.log" &
	SCALED=$!
	PIDS+=("$SCALED")
	wait_for "$W/scaled.log" "listening on" 60 || { say "sfagent -D did not start"; exit 1; }
	mkdir -p "$BCG/scale"
	for n in $SCALE_COUNTS; do
		python3 tests/bench/reg.py "$W/scaled.sock" "$BCG/scale" add "$have" "$n" >/dev/null
		have=$n
		sleep 1
		rec "scale.rss_kb.$n" "$(agent_rss "$SCALED")"
		# the daemon's own CPU with nothing happening: per-stream work
		t0=$(proc_cpu_ns "$SCALED")
		sleep 2
		t1=$(proc_cpu_ns "$SCALED")
		rec "scale.idle_cpu.$n" "$(((t1 - t0) / 2000000))"
		python3 tests/bench/reg.py "$W/scaled.sock" "$BCG/scale" add 100000 100010 |
			while read -r r; do rec "scale.reg_ms.$n" "${r#reg_ms=}"; done
		python3 tests/bench/reg.py "$W/scaled.sock" "$BCG/scale" del 100000 100010
		for ((rep = 0; rep < REPS; rep++)); do
			out=$(in_cg "$BCG/other" "$LG" kill "$N_SCALE")
			rec "scale.untracked_ns.$n" "$(echo "$out" | cpu_per_op)"
			f=$(grep -l '"container":"w0"' "$W/scaled-out"/*.jsonl 2>/dev/null | head -1 || true)
			ev0=$(grep -c '"signal.kill"' "$f" 2>/dev/null || true)
			t0=$(proc_cpu_ns "$SCALED")
			out=$(in_cg "$BCG/scale/w0" "$LG" kill "$N_SCALE")
			sleep 0.5 # the last batch reaches the file
			t1=$(proc_cpu_ns "$SCALED")
			f=$(grep -l '"container":"w0"' "$W/scaled-out"/*.jsonl 2>/dev/null | head -1 || true)
			ev1=$(grep -c '"signal.kill"' "$f" 2>/dev/null || true)
			rec "scale.traced_ns.$n" "$(echo "$out" | cpu_per_op)"
			rec "scale.events.$n" "$((ev1 - ev0))"
			[ "$((ev1 - ev0))" -gt 0 ] && rec "scale.agent_ns.$n" "$(((t1 - t0) / (ev1 - ev0)))"
		done
	done
	kill -TERM "$SCALED" 2>/dev/null || true
	wait "$SCALED" 2>/dev/null || true
	forget "$SCALED"
	rmdir "$BCG/scale"/* 2>/dev/null || true
}

# ---- 8. idle = free: sfagent -D with nothing registered -------------------------
# The untracked loops with no agent vs an idle daemon (which holds no BPF
# link), interleaved; then REGISTER round trips straight on the daemon's
# socket (tests/bench/reg.py): the first after idle (the probe attaches)
# and one while attached.  The daemon detaches 200 ms after its last stream
# here (SFAGENT_TEST_IDLE_DETACH_MS; 5 s by default) so cycles are short.
N_ATTACH=${BENCH_ATTACH_RUNS:-10}
idle_daemon_start() { # [persys: per-syscall mode, simulated]
	local mode=()
	[ "${1:-}" = persys ] && mode=(SFAGENT_TEST_IA32=absent)
	rm -f "$W/idled.log"
	env "${mode[@]}" SFAGENT_TEST_IDLE_DETACH_MS=200 "$SF" -D -v --socket "$W/idled.sock" \
		--output-dir "$W/idled-out" 2>"$W/idled.log" &
	IDLED=$!
	PIDS+=("$IDLED")
	wait_for "$W/idled.log" "listening on" 60 || { say "sfagent -D did not start"; exit 1; }
	# the attach checked at start is released in the background
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(agent_links "$IDLED")" = 0 ] && return 0
		sleep 0.1
	done
	say "idle daemon still holds BPF links"
	exit 1
}
idle_daemon_stop() {
	kill -TERM "$IDLED" 2>/dev/null || true
	wait "$IDLED" 2>/dev/null || true
	forget "$IDLED"
}
agent_links() { # PID: its BPF link fds
	local fd n=0
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf_link" ] && n=$((n + 1))
	done
	echo "$n"
}
others_links() { # BPF links on the host (other users of a shared machine)
	bpftool link show 2>/dev/null | grep -c '^[0-9]*:' || true
}
idle_run() {
	local rep
	for ((rep = 0; rep < REPS; rep++)); do
		rec idle.others_links "$(others_links)"
		untracked_ns idle_none
		idle_daemon_start
		untracked_ns idle_daemon
		idle_daemon_stop
	done
	idle_daemon_start
	mkdir -p "$BCG/reg"
	python3 tests/bench/reg.py "$W/idled.sock" "$BCG/reg" attach "$N_ATTACH" \
		"$W/idled.log" "$IDLED" | while read -r cold warm; do
		rec attach.cold_ms "${cold#cold_ms=}"
		rec attach.warm_ms "${warm#warm_ms=}"
	done
	sed -n 's/.*probe attached in \([0-9.]*\) ms.*/\1/p' "$W/idled.log" | while read -r ms; do
		rec attach.probe_ms "$ms"
	done
	idle_daemon_stop
	# per-syscall mode (simulated): ~90 perf tracepoints to attach
	idle_daemon_start persys
	python3 tests/bench/reg.py "$W/idled.sock" "$BCG/reg" attach "$N_ATTACH" \
		"$W/idled.log" "$IDLED" | while read -r cold warm; do
		rec attach.persys_cold_ms "${cold#cold_ms=}"
		rec attach.persys_warm_ms "${warm#warm_ms=}"
	done
	sed -n 's/.*probe attached in \([0-9.]*\) ms.*/\1/p' "$W/idled.log" | while read -r ms; do
		rec attach.persys_probe_ms "$ms"
	done
	idle_daemon_stop
}

# ---- the run --------------------------------------------------------------------
ONLY=" ${BENCH_ONLY:-tp traced other syscall enc churn hook sinks spool short idle floor scale hash burst http} "
want() { [[ $ONLY == *" $1 "* ]]; }
T0=$(date +%s)
say "reps=$REPS quick=$QUICK; workloads: orc=$N_ORC fork=$N_FORK tar=$N_FILES files"
FORMATS=(json)
for f in quixote sysflow; do
	if "$SF" -X -F "$f" -o /dev/null -- true 2>/dev/null; then FORMATS+=("$f"); fi
done
TP_VARIANTS=()
for f in "${FORMATS[@]}"; do TP_VARIANTS+=("$f" "$f.files"); done

if want enc; then
	say "encoder: hand-written writer vs yajl_gen"
	for ((rep = 0; rep < REPS; rep++)); do
		"$ENCBENCH" $((QUICK == 1 ? 300000 : 1000000)) | while read -r kind writer ns _; do
			rec "enc.$kind.$writer" "$ns"
		done
	done
fi

say "1. throughput (kill(getpid(),0) and open+close loops under sfagent -X; ${TP_SECS}s per trial)"
for ((rep = 0; rep < TP_REPS; rep++)); do
	want tp || break
	tp_bare
	for v in "${TP_VARIANTS[@]}"; do tp_search "$v"; done
done

if want tp; then
	say "4. idle RSS"
	start_idle_agent
	rec res.rss_idle_kb "$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT/status")"
	stop_agent
	for rb in 1M 64M; do
		start_idle_agent --ringbuf-size "$rb"
		rec "res.rss_idle_kb.$rb" "$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT/status")"
		stop_agent
	done
fi

for ((rep = 1; rep <= REPS; rep++)); do
	say "rep $rep/$REPS: 2. traced workloads"
	if want traced; then
		for wl in "${WORKLOADS[@]}"; do
			for how in none sfagent strace; do
				run_traced "$wl" "$how"
			done
		done
		bt_start
		for wl in "${WORKLOADS[@]}"; do run_traced "$wl" bpftrace; done
		bt_stop
	fi
	say "rep $rep/$REPS: 3. untracked workloads beside a busy tracked one"
	for a in 0 1; do
		want other || break
		busy_start "$a"
		for wl in "${WORKLOADS[@]}"; do run_other "$wl" "busy$a"; done
		busy_stop
	done
	say "rep $rep/$REPS: 4. per-syscall cost, untracked process"
	want syscall || continue
	untracked_ns none
	start_idle_agent
	untracked_ns sfagent
	stop_agent
	"$ATTACH" "$RAWTP" "$TRACED_ID" >"$W/attach.out" &
	AT=$!
	PIDS+=("$AT")
	wait_for "$W/attach.out" ready 60 || { say "bpfattach failed"; exit 1; }
	untracked_ns rawtp
	kill -TERM "$AT"
	wait "$AT" || true
	forget "$AT"
done
if want scale; then
	say "10. flat with tracked workloads: $SCALE_COUNTS cgroups registered straight on the socket"
	scale_run
fi
if want floor; then
	say "9. busy = floor?: untracked loops beside a busy workload: no BPF, the floor, sfagent"
	floor_run
fi
if want idle; then
	say "8. idle = free: untracked loops, no agent vs idle sfagent -D; $N_ATTACH registrations after idle"
	idle_run
fi
if want burst; then
	say "11. burst: what a stopped agent's ${RINGBUF:-16M} ring absorbs (tests/bench/burst.sh $N_BURST)"
	for ((rep = 0; rep < REPS; rep++)); do
		for k in openfail kill; do
			out=$(BUILD=$BUILD BENCH_RINGBUF=${RINGBUF:-16M} tests/bench/burst.sh "$N_BURST" "$k")
			rec "burst.$k.written" "$(echo "$out" | field written)"
			rec "burst.$k.missed" "$(echo "$out" | field missed_ringbuf)"
		done
	done
fi
if want short; then
	say "7. short commands: sfagent -X -- /bin/true vs /bin/true, $N_SHORT each"
	short_cmds
fi
if want churn; then
	say "4. daemon RSS: $N_TRACKED tracked containers, then up to $N_CHURN short-lived ones (${CHURN_SECS}s at most)"
	churn_run
fi
if want hook; then
	say "6. hook cost on container start: tests/bench/hook-start.sh $N_HOOK"
	hook_start
fi
if want sinks; then
	say "6. MQTT/HTTP delivery: tests/bench/mqtt-http.sh $N_SINK"
	sink_rates
fi
if want spool; then
	# its own report (min-median-max per variant), not in the table
	N_SPOOL=${BENCH_SPOOL_EVENTS:-$([ "$QUICK" = 1 ] && echo 50000 || echo 200000)}
	say "12. network sinks: throughput, spool cost, replay, NATS, scale-out: tests/bench/spool-nats.sh $N_SPOOL $REPS ${BENCH_SPOOL_AGENTS:-4}"
	BUILD=$BUILD tests/bench/spool-nats.sh "$N_SPOOL" "$REPS" "${BENCH_SPOOL_AGENTS:-4}" >&2 ||
		say "  spool-nats.sh failed"
fi
if want http; then
	# its own report (min-median-max per variant), not in the table:
	# docs/performance.md "HTTP workload"
	N_HTTP=${BENCH_HTTP_REQUESTS:-$([ "$QUICK" = 1 ] && echo 1000 || echo 5000)}
	say "13. HTTP server container vs bpftrace: tests/bench/http.sh $N_HTTP $((REPS < 3 ? 3 : REPS)) 4"
	BUILD=$BUILD tests/bench/http.sh "$N_HTTP" $((REPS < 3 ? 3 : REPS)) 4 >&2 || say "  http.sh failed"
fi
if want hash; then
	# printed, not in the table: docs/performance.md "Digests"
	say "11. digests (--hash): tests/bench/hash-cost.sh"
	BUILD=$BUILD BENCH_HASH_ROUNDS=$REPS tests/bench/hash-cost.sh
fi
T1=$(date +%s)

META=$W/meta
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "kernel=$(uname -r)"
	echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) x $(nproc)"
	echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- agent bpf 2>/dev/null || echo +dirty)"
	echo "reps=$REPS"
	echo "quick=$QUICK"
	echo "seconds=$((T1 - T0))"
	echo "ringbuf=${RINGBUF:-$("$SF" --help 2>&1 | sed -n 's/.*ringbuf-size.*default \([0-9A-Za-z]*\)).*/\1/p')}"
	echo "tp_secs=$TP_SECS"
	echo "tp_procs=$TP_PROCS"
	echo "busy_rate=$BUSY_RATE"
	echo "formats=${FORMATS[*]}"
	echo "tp_variants=${TP_VARIANTS[*]}"
	for wl in "${WORKLOADS[@]}"; do echo "wl.$wl=$(wl_desc "$wl")"; done
	echo "n_getpid=$N_GETPID"
	echo "n_openclose=$N_OC"
	echo "n_tracked=$N_TRACKED"
	echo "n_churn=$N_CHURN"
	echo "churn_secs=$CHURN_SECS"
	echo "n_hook=$N_HOOK"
	echo "n_sink=$N_SINK"
	echo "n_short=$N_SHORT"
	echo "n_burst=$N_BURST"
	echo "n_attach=$N_ATTACH"
	echo "scale_counts=$SCALE_COUNTS"
	echo "n_scale=$N_SCALE"
} >"$META"
python3 tests/bench/table.py "$RES" "$META" ${REPORT:+--report "$REPORT"}
