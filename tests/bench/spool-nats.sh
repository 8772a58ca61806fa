#!/usr/bin/env bash
# Benchmark of the network sinks' spool, their throughput and NATS JetStream:
#   1. throughput and the spool's cost when connected: a fast workload
#      (build/bench/loadgen kill TP_N 0 2: two processes calling kill(pid, 0),
#      one signal.kill event each; TP_N = SPOOL_TP_EVENTS, default 5 * N,
#      so that a trial lasts seconds and the fixed costs of a start and an
#      exit -- paho's threads take ~0.2 s to stop at an MQTT sink's close --
#      do not decide the rate) into the file sink, MQTT QoS 1 (batch 64
#      and 1024, or SPOOL_MQTT_BATCHES), HTTP (batch 5000) and NATS
#      JetStream R1, each network sink with the default spool and with
#      --spool-max 0, all variants interleaved in each of REPS rounds.
#      Events/s = events / (the agent's exit - stream.start's ts): the
#      agent exits once every record is acknowledged (PUBACK, HTTP 2xx,
#      JetStream ack) or written (file); zero loss is then checked at the
#      consumer for every run.  MQTT rows
#      also tell the broker's and the subscriber's CPU per event (the
#      generator, the agent, mosquitto and mosquitto_sub share the CPUs);
#      SPOOL_MQTT_SUB="live after" adds rows "sub after" for each spool
#      variant: the subscriber's session is made before, but it connects
#      only once the agent exited (the broker queues meanwhile), so the rate
#      is the agent's to the broker with no consumer on these CPUs, as the
#      file sink's (zero loss checked as for the others).
#      SPOOL_NATS_BATCH="1 16 64": NATS rows for each --nats-batch.
#   2. replay rate after an outage (broker down while N events are spooled)
#      and the agent's RSS at the start and at the end of the outage
#   3. NATS JetStream, R1 (one server) and R3 (3-node cluster): events/s
#      stored with the file.open workload, every record once (checked with
#      tests/helpers/natsread.c); for each --nats-batch of SPOOL_NATS_BATCH
#   4. scale-out: AGENTS agents (distinct exporter ids) at once into the
#      3-node cluster, R3: aggregate events/s, bytes per event stored
# The other workload opens /dev/null N times.
#
# usage: [SPOOL_AGENT=BINARY] tests/bench/spool-nats.sh [N] [REPS] [AGENTS]   (default 200000 3 4;
#        root, make build unit bench-tools)
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-200000}"
REPS="${2:-3}"
TP_N=${SPOOL_TP_EVENTS:-$((N * 5))}
AGENTS="${3:-4}"
LG=${BUILD:-build}/bench/loadgen
SFAGENT=${SPOOL_AGENT:-build/sfagent}
LOAD=build/tests/sinkload
READ=build/tests/natsread
DIR="$(mktemp -d)"
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$DIR"
}
trap cleanup EXIT
[ -x "$SFAGENT" ] && [ -x "$LOAD" ] && [ -x "$READ" ] && [ -x "$LG" ] || { echo "run make build unit bench-tools first" >&2; exit 1; }
export SFAGENT_SPOOL_DIR="$DIR/spool"

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# verify FILE: seq 1..end unique, nothing missed; prints the event count
verify() {
	python3 - "$1" <<'PY'
import json, sys
seqs, end = set(), None
for l in open(sys.argv[1]):
    l = l.strip()
    if "{" not in l:
        continue
    e = json.loads(l[l.index("{"):])
    seqs.add(e["seq"])
    if e["type"] == "stream.end":
        end = e
assert end is not None and end["missed"] == 0, end
assert seqs == set(range(1, end["seq"] + 1)), ("gaps", end["seq"] - len(seqs))
print(end["events"])
PY
}

MP=$(port)
mqtt_up() {
	printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nmax_queued_messages 0\nmax_inflight_messages 0\nuser root\n' \
		"$MP" "$DIR" >"$DIR/m.conf"
	mosquitto -c "$DIR/m.conf" >>"$DIR/m.log" 2>&1 &
	MQ=$!
	PIDS="$PIDS $MQ"
	until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' "$MP" 2>/dev/null; do sleep 0.1; done
}
mqtt_down() { kill "$MQ"; wait "$MQ" 2>/dev/null || true; }

# CPU ticks (user + sys, 1/CLK_TCK s) of process PID so far
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# the persistent session (QoS 1: the broker keeps what it gets until this
# client has it), then the subscriber
sub_session() { mosquitto_sub -h 127.0.0.1 -p "$MP" -q 1 -c -i "bench-$1" -t "$1" -E; }
sub_up() {
	sub_session "$1"
	sub_live "$1"
}
sub_live() {
	mosquitto_sub -h 127.0.0.1 -p "$MP" -q 1 -c -i "bench-$1" -t "$1" -F '%U %p' >"$DIR/$1.out" &
	SUB=$!
	PIDS="$PIDS $SUB"
}
# rate OUT: events/s from stream.start's ts to the arrival of stream.end
rate() {
	local t1 ev
	for _ in $(seq 1200); do grep -q '"type":"stream.end"' "$DIR/$1.out" && break; sleep 0.1; done
	kill "$SUB"; wait "$SUB" 2>/dev/null || true
	t1=$(grep '"type":"stream.end"' "$DIR/$1.out" | cut -d' ' -f1)
	ev=$(verify "$DIR/$1.out")
	python3 -c 'import json,sys; ev,t1=int(sys.argv[1]),float(sys.argv[2]); t0=[json.loads(l.split(" ",1)[1])["ts"] for l in open(sys.argv[3]) if "stream.start" in l][0]/1e9; print("%d %.0f" % (ev, ev/(t1-t0)))' \
		"$ev" "$t1" "$DIR/$1.out"
}

echo "sfagent spool and NATS benchmark: $N events ($TP_N in part 1), $(nproc) CPUs shared with other users, load $(cut -d' ' -f1-3 /proc/loadavg)"
mqtt_up
nats_conf() { # NAME PORT [CLUSTERPORT ROUTES [MONITORPORT]]
	{
		echo "server_name: $1"
		echo "listen: 127.0.0.1:$2"
		[ -z "${5:-}" ] || echo "http: 127.0.0.1:$5"
		echo "jetstream { store_dir: \"$DIR/$1\" }"
		[ -z "${3:-}" ] || printf 'cluster { name: b, listen: 127.0.0.1:%s, routes: [%s] }\n' "$3" "$4"
	} >"$DIR/$1.conf"
	nats-server -c "$DIR/$1.conf" >"$DIR/$1.log" 2>&1 &
	PIDS="$PIDS $!"
}
P0=$(port)
nats_conf r1 "$P0"
HP=$(port)
mkdir -p "$DIR/http"
python3 tests/helpers/http_receiver.py "$HP" "$DIR/http" &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ -e "$DIR/http/ready" ] && break; sleep 0.1; done
sleep 1

# t_run LABEL OUT COLLECT SFAGENT-OPTIONS...: the kill workload; once the
# agent exited, COLLECT gathers what the consumer got into OUT, which is
# checked; prints "LABEL events rate"
t_run() {
	local label=$1 out=$2 collect=$3 t0 t1 ev lg
	shift 3
	local b0 b1
	b0=$(ticks "$MQ")
	lg=$(/usr/bin/time -f 'TIME user=%U sys=%S' -o "$DIR/time.txt" \
		"$SFAGENT" -X -w tp --ringbuf-size 256M -q 1000000 --drain-timeout 120 "$@" \
		-- "$LG" kill "$TP_N" 0 2 2>"$DIR/agent.err")
	t1=$(now)
	# the broker's CPU up to the agent's exit ("sub after": what it took
	# in, queued), or up to the live subscriber's stream.end (what it took
	# in and passed on)
	b1=$(ticks "$MQ")
	$collect
	[ "$SUBAFTER" = 1 ] || b1=$(ticks "$MQ")
	BROKER=$((b1 - b0))
	ev=$(verify "$out")
	t0=$(python3 -c 'import json,sys; print([json.loads(l[l.index("{"):])["ts"] for l in open(sys.argv[1]) if "stream.start" in l][0]/1e9)' "$out")
	# the agent's CPU (all its threads) per event: its user + sys with the
	# workload's own (loadgen's) and the start-up's (STARTUP) taken out
	python3 - "$ev" "$t0" "$t1" "$label" "$lg" "$(cat "$DIR/time.txt")" "$STARTUP" "$GAPS" "${SUBCPU:+$BROKER}" "$SUBCPU" <<'PY'
import os, re, sys
ev, t0, t1 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
lg = dict(re.findall(r"(\w+)=([\d.]+)", sys.argv[5]))
tm = dict(re.findall(r"(\w+)=([\d.]+)", sys.argv[6]))
cpu = float(tm["user"]) + float(tm["sys"]) - (int(lg["user_ns"]) + int(lg["sys_ns"])) / 1e9
cpu -= float(sys.argv[7])
extra = ""
if sys.argv[9]:
    tck = os.sysconf("SC_CLK_TCK")
    extra = ", broker CPU %d, subscriber CPU %d ns/event" % (int(sys.argv[9]) / tck / ev * 1e9, int(sys.argv[10]) / tck / ev * 1e9)
print("%-38s %8d events %9.0f events/s zero loss, agent CPU %5.0f ns/event%s%s" % (sys.argv[4], ev, ev / (t1 - t0), cpu / ev * 1e9, extra, sys.argv[8]))
PY
	GAPS=
	SUBCPU=
}
# startup: the agent's CPU (s) for a stream of one event (BPF load and
# set-up), which t_run takes out of its per-event CPU
STARTUP=0
GAPS=
SUBCPU=
SUBAFTER=0
startup() {
	/usr/bin/time -f 'TIME user=%U sys=%S' -o "$DIR/time.txt" \
		"$SFAGENT" -X -w su -o /dev/null -- "$LG" kill 1 0 1 >/dev/null 2>"$DIR/agent.err"
	STARTUP=$(python3 -c 'import re,sys; t=dict(re.findall(r"(\w+)=([\d.]+)", sys.argv[1])); print(float(t["user"])+float(t["sys"]))' "$(cat "$DIR/time.txt")")
}
sub_done() { # the subscriber got stream.end; GAPS: its stalls; SUBCPU
	for _ in $(seq 1200); do grep -q '"type":"stream.end"' "$DIR/$T.out" && break; sleep 0.1; done
	SUBCPU=$(ticks "$SUB")
	kill "$SUB"; wait "$SUB" 2>/dev/null || true
	# between messages (a line not starting with '{' starts one: "%U %p")
	GAPS=$(awk '!/^\{/ { t = $1 + 0; if (p && t - p >= 0.3) n++; if (p && t - p > m) m = t - p; p = t }
		END { printf ", gaps >= 0.3 s: %d, max %.2f s", n, m }' "$DIR/$T.out")
}
sub_after() { # "sub after": the subscriber connects now; it took no CPU
	# during the run, and its gaps (a burst of what was queued) say nothing
	: >"$DIR/$T.out"
	sub_live "$T"
	for _ in $(seq 1200); do grep -q '"type":"stream.end"' "$DIR/$T.out" && break; sleep 0.1; done
	kill "$SUB"; wait "$SUB" 2>/dev/null || true
	SUBCPU=0
}
nats_done() { # the stream's records, each once (a line per record: a
	# message stored twice repeats its id and records)
	"$READ" "nats://127.0.0.1:$P0" "$T" "$T.x" 2000 >"$DIR/$T.nats" 2>/dev/null
	cut -f3 "$DIR/$T.nats" >"$DIR/$T.jsonl"
	[ "$(wc -l <"$DIR/$T.nats")" = "$(sort -u "$DIR/$T.nats" | wc -l)" ]
}
# 1b. the spool's cost while the destination keeps up: the kill workload
# paced at PACE events/s (below every sink's rate here), MQTT QoS 1 batch 64,
# spool vs --spool-max 0 interleaved; the agent's CPU (user + sys, the
# workload's own CPU taken out) per event, which the load of other users
# disturbs less than a rate.
PACE=${SPOOL_PACE:-20000}
paced() {
	local t="pc$RANDOM" out lg
	sub_up "$t"
	out=$(/usr/bin/time -f 'TIME user=%U sys=%S' -o "$DIR/time.txt" "$SFAGENT" -X -w pc -q 100000 "$@" \
		-b 127.0.0.1 -p "$MP" -t "$t" --mqtt-batch 64 -- "$LG" kill "$N" "$PACE" 1 2>"$DIR/agent.err")
	sub_done_t "$t"
	verify "$DIR/$t.out" >/dev/null || { echo "loss"; return; }
	python3 - "$out" "$(cat "$DIR/time.txt")" "$N" <<'PY'
import re, sys
lg = dict(re.findall(r"(\w+)=([\d.]+)", sys.argv[1]))
tm = dict(re.findall(r"(\w+)=([\d.]+)", sys.argv[2]))
cpu = float(tm["user"]) + float(tm["sys"]) - (int(lg["user_ns"]) + int(lg["sys_ns"])) / 1e9
print("%.0f" % (cpu / int(sys.argv[3]) * 1e9))
PY
}
sub_done_t() {
	for _ in $(seq 1200); do grep -q '"type":"stream.end"' "$DIR/$1.out" && break; sleep 0.1; done
	kill "$SUB"; wait "$SUB" 2>/dev/null || true
}
# SPOOL_PARTS=paced: only this part; throughput: only part 1; tail: only
# parts 2 to 4
if [ "${SPOOL_PARTS:-all}" = paced ] || [ "${SPOOL_PARTS:-all}" = all ]; then
	for r in $(seq "$REPS"); do
		for sp in spool memory; do
			spo=()
			[ "$sp" = memory ] && spo=(--spool-max 0)
			printf 'paced %s MQTT qos=1 batch=64 %-6s run %d: agent CPU %s ns per event, zero loss\n' \
				"$PACE/s" "$sp" "$r" "$(paced "${spo[@]}")" | tee -a "$DIR/paced.txt"
		done
	done
	python3 - "$DIR/paced.txt" <<'PY'
import re, sys, statistics
rows = {}
for l in open(sys.argv[1]):
    m = re.search(r"batch=64 (\w+)\s+run \d+: agent CPU (\d+) ns", l)
    if not m:
        continue
    rows.setdefault(m.group(1), []).append(int(m.group(2)))
for k, v in rows.items():
    print("paced, agent CPU ns/event %-6s min %6d  median %6d  max %6d" % (k, min(v), statistics.median(v), max(v)))
if "spool" in rows and "memory" in rows:
    print("paced: spool / memory-only agent CPU per event, medians: %.2f" % (statistics.median(rows["spool"]) / statistics.median(rows["memory"])))
PY
fi
[ "${SPOOL_PARTS:-all}" = paced ] && exit 0
THROUGHPUT=$DIR/throughput.txt
: >>"$THROUGHPUT"
[ "${SPOOL_PARTS:-all}" = tail ] && REPS=0
# SPOOL_SINKS: which of file mqtt http nats part 1 runs (default all);
# SPOOL_BASE=BINARY: each round runs that agent too (rows marked "base"),
# interleaved, for before/after figures of a change
want() { case " ${SPOOL_SINKS:-file mqtt http nats} " in *" $1 "*) return 0 ;; esac; return 1; }
BINS=("$SFAGENT")
[ -z "${SPOOL_BASE:-}" ] || BINS+=("$SPOOL_BASE")
for r in $(seq "$REPS"); do
	for bi in "${!BINS[@]}"; do
		SFAGENT=${BINS[$bi]}
		X=
		[ "$bi" = 0 ] || X=" base"
		startup
		rm -f "$DIR/tp.jsonl"
		want file && t_run "file (-o)$X" "$DIR/tp.jsonl" : -o "$DIR/tp.jsonl" | tee -a "$THROUGHPUT"
		for sp in spool memory; do
			spo=()
			[ "$sp" = memory ] && spo=(--spool-max 0)
			for b in ${SPOOL_MQTT_BATCHES:-64 1024}; do
				want mqtt || continue
				for sm in ${SPOOL_MQTT_SUB:-live}; do
					[ "$sm" = live ] || [ "$sp" = spool ] || continue
					T="tp$r$bi$sp$b$sm"
					XS=
					SUBAFTER=0
					if [ "$sm" = live ]; then
						sub_up "$T"
						col=sub_done
					else
						sub_session "$T"
						col=sub_after
						XS=" sub after"
						SUBAFTER=1
					fi
					t_run "MQTT qos=1 batch=$b$X $sp$XS" "$DIR/$T.out" $col -b 127.0.0.1 -p "$MP" -t "$T" \
						--mqtt-batch "$b" "${spo[@]}" | tee -a "$THROUGHPUT"
					SUBAFTER=0
					rm -f "$DIR/$T.out"
				done
			done
			: >"$DIR/http/bodies.ndjson"
			want http && t_run "HTTP batch=5000$X $sp" "$DIR/http/bodies.ndjson" : --http "http://127.0.0.1:$HP/" \
				--http-batch 5000 --http-interval 100 "${spo[@]}" | tee -a "$THROUGHPUT"
			# SPOOL_NATS_BATCH: the --nats-batch values (default 1)
			for nb in ${SPOOL_NATS_BATCH:-1}; do
				want nats || continue
				T="TP$r$bi$sp$nb"
				XB=
				[ "$nb" = 1 ] || XB=" batch=$nb"
				t_run "NATS R1$XB$X $sp" "$DIR/$T.jsonl" nats_done --nats "nats://127.0.0.1:$P0" --nats-subject "$T.x" \
					--nats-stream "$T" --nats-create-stream --nats-batch "$nb" "${spo[@]}" | tee -a "$THROUGHPUT"
				rm -f "$DIR/$T.nats" "$DIR/$T.jsonl"
			done
		done
	done
done
SFAGENT=${BINS[0]}
echo
# min-median-max per variant
python3 - "$THROUGHPUT" <<'PY'
import re, sys, statistics
rows, cpus, gaps, others = {}, {}, {}, {}
for l in open(sys.argv[1]):
    m = re.match(r"(.*?)\s+(\d+) events\s+(\d+) events/s.*?CPU\s+(-?\d+) ns", l)
    if m:
        rows.setdefault(m.group(1).strip(), []).append(int(m.group(3)))
        cpus.setdefault(m.group(1).strip(), []).append(int(m.group(4)))
        o = re.search(r"broker CPU (\d+), subscriber CPU (\d+)", l)
        if o:
            others.setdefault(m.group(1).strip(), []).append((int(o.group(1)), int(o.group(2))))
        g = re.search(r"gaps >= 0.3 s: (\d+), max ([\d.]+)", l)
        if g:
            gaps.setdefault(m.group(1).strip(), []).append((int(g.group(1)), float(g.group(2))))
for k, v in rows.items():
    c = cpus[k]
    print("%-40s min %8d  median %8d  max %8d  (%d runs); agent CPU ns/event %5d / %5d / %5d" % (k, min(v), statistics.median(v), max(v), len(v), min(c), statistics.median(c), max(c)))
for k, v in others.items():
    print("%-40s broker / subscriber CPU ns/event, medians: %d / %d" % (k, statistics.median(b for b, _ in v), statistics.median(x for _, x in v)))
for k, v in gaps.items():
    print("%-40s gaps >= 0.3 s at the subscriber: %d in %d runs, the longest %.2f s" % (k, sum(n for n, _ in v), len(v), max(x for _, x in v)))
for k, v in rows.items():
    if k.endswith(" spool"):
        m = rows.get(k[:-6] + " memory")
        if m:
            print("%-28s spool / memory-only, medians: %.2f" % (k[:-6], statistics.median(v) / statistics.median(m)))
f = rows.get("file (-o)")
for k, q in rows.items():
    if f and k.startswith("MQTT") and " base" not in k and (" spool" in k):
        print("file / %s, medians: %.2f" % (k, statistics.median(f) / statistics.median(q)))
PY
[ "${SPOOL_PARTS:-all}" = throughput ] && exit 0

# 2. replay after an outage, RSS during it
sub_up replay
"$SFAGENT" -X -w replay --mqtt-batch 64 --drain-timeout 120 \
	-b 127.0.0.1 -p "$MP" -t replay -- "$LOAD" rate "$N" 20000 2>"$DIR/agent.err" &
AG=$!
PIDS="$PIDS $AG"
# connected: the spool opens once the first connection is made
until compgen -G "$DIR/spool/mqtt-*.dest" >/dev/null; do sleep 0.1; done
sleep 1
mqtt_down
rss0=$(awk '/VmRSS/ {print $2}' /proc/$AG/status)
t_out=$(now)
while [ -d "/proc/$(pgrep -P $AG | head -1 || echo none)" ]; do sleep 0.2; done
rss1=$(awk '/VmRSS/ {print $2}' /proc/$AG/status)
spooled=$(find "$DIR/spool" -type f -name 'mqtt-*.[0-9]*' -printf '%s\n' | awk '{n+=$1} END {print n+0}')
t_up=$(now)
mqtt_up
wait "$AG" || true
for _ in $(seq 1200); do grep -q '"type":"stream.end"' "$DIR/replay.out" && break; sleep 0.1; done
t_end=$(now)
kill "$SUB"; wait "$SUB" 2>/dev/null || true
ev=$(verify "$DIR/replay.out")
python3 -c 'import sys; ev,a,b,c=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]); print("MQTT outage %.1f s: %d events, %s bytes spooled; replayed to stream.end in %.1f s (%.0f records/s); RSS %s kB at the outage start, %s kB at its end; zero loss" % (b-a, ev, sys.argv[5], c-b, ev/(c-b), sys.argv[6], sys.argv[7]))' \
	"$ev" "$t_out" "$t_up" "$t_end" "$spooled" "$rss0" "$rss1"
mqtt_down

# 3. NATS JetStream R1 and R3
nats_run() { # LABEL URLS REPLICAS
	local t1 nb s
	for nb in ${SPOOL_NATS_BATCH:-1}; do
		# a stream and subjects of its own per batch (one server's
		# streams cannot share subjects)
		s="NB$3B$nb"
		"$SFAGENT" -X -w nb --ringbuf-size 256M -q 100000 --drain-timeout 120 --nats "$2" \
			--nats-subject "nb$nb.%h.%w" --nats-stream "$s" --nats-create-stream \
			--nats-replicas "$3" --nats-batch "$nb" \
			-- "$LOAD" opens "$N" 2>"$DIR/agent.err"
		t1=$(now)
		"$READ" "$2" "$s" '>' 2000 >"$DIR/nats$3.out" 2>/dev/null
		cut -f3 "$DIR/nats$3.out" >"$DIR/nats$3.jsonl"
		ev=$(verify "$DIR/nats$3.jsonl")
		[ "$(wc -l <"$DIR/nats$3.out")" = "$(sort -u "$DIR/nats$3.out" | wc -l)" ]
		python3 -c 'import json,sys; ev,t1=int(sys.argv[1]),float(sys.argv[2]); t0=json.loads(open(sys.argv[3]).readline())["ts"]/1e9; print("NATS JetStream %s, --nats-batch %2s: %8d events %9.0f events/s, every record once" % (sys.argv[4], sys.argv[5], ev, ev/(t1-t0)))' \
			"$ev" "$t1" "$DIR/nats$3.jsonl" "$1" "$nb"
	done
}
nats_run "R1 (1 server)  " "nats://127.0.0.1:$P0" 1
P1=$(port); P2=$(port); P3=$(port); C1=$(port); C2=$(port); C3=$(port)
R="nats://127.0.0.1:$C1, nats://127.0.0.1:$C2, nats://127.0.0.1:$C3"
M1=$(port)
nats_conf c1 "$P1" "$C1" "$R" "$M1"
nats_conf c2 "$P2" "$C2" "$R"
nats_conf c3 "$P3" "$C3" "$R"
sleep 5
nats_run "R3 (3 servers) " "nats://127.0.0.1:$P1,nats://127.0.0.1:$P2,nats://127.0.0.1:$P3" 3

# 4. scale-out: AGENTS agents with distinct exporter ids into the cluster
URLS="nats://127.0.0.1:$P1,nats://127.0.0.1:$P2,nats://127.0.0.1:$P3"
"$SFAGENT" -X -w sc --nats "$URLS" --nats-subject 'scale.%h.%w' --nats-stream SCALE \
	--nats-create-stream --nats-replicas 3 -- "$LG" noop 2>/dev/null
# the set-up stream's records are counted out below
base=$("$READ" "nats://127.0.0.1:$P1" SCALE '>' 1000 2>/dev/null | wc -l)
APIDS=
for a in $(seq "$AGENTS"); do
	"$SFAGENT" -X -w sc -e "node$a" --ringbuf-size 256M -q 100000 --drain-timeout 120 --nats "$URLS" \
		--nats-subject 'scale.%h.%w' --nats-stream SCALE -- "$LG" kill $((N / AGENTS)) 0 1 \
		>/dev/null 2>"$DIR/scale$a.err" &
	APIDS="$APIDS $!"
done
for p in $APIDS; do wait "$p"; done
t1=$(now)
"$READ" "nats://127.0.0.1:$P1" SCALE '>' 2000 >"$DIR/scale.out" 2>/dev/null
[ "$(wc -l <"$DIR/scale.out")" = "$(sort -u -t$'\t' -k1,1 "$DIR/scale.out" | wc -l)" ]
python3 - "$DIR/scale.out" "$t1" "$AGENTS" "$base" "http://127.0.0.1:$M1/jsz?streams=true" <<'PY'
import json, sys, urllib.request
out, t1, agents, base, url = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
per, t0 = {}, None
for l in open(out):
    mid, subj, data = l.rstrip("\n").split("\t", 2)
    e = json.loads(data)
    node = subj.split(".")[1]
    per.setdefault(node, []).append(e)
ev = 0
for a in range(1, agents + 1):
    recs = per["node%d" % a]
    seqs = {e["seq"] for e in recs}
    end = [e for e in recs if e["type"] == "stream.end"][0]
    assert end["missed"] == 0 and seqs == set(range(1, end["seq"] + 1)), ("node%d" % a, end)
    start = [e for e in recs if e["type"] == "stream.start"][0]
    t0 = start["ts"] / 1e9 if t0 is None else min(t0, start["ts"] / 1e9)
    ev += end["events"]
jsz = json.load(urllib.request.urlopen(url))
st = [s for acc in jsz["account_details"] for s in acc["stream_detail"] if s["name"] == "SCALE"][0]["state"]
msgs = sum(len(v) for v in per.values())
print("NATS scale-out: %d agents (exporter ids node1..node%d) into 3 servers, R3: %d events, %.0f events/s aggregate, every record once, seq contiguous per agent" % (agents, agents, ev, ev / (t1 - t0)))
print("NATS scale-out: stream SCALE holds %d messages, %d bytes: %.0f bytes per message (payload, subject, headers), per replica" % (st["messages"], st["bytes"], st["bytes"] / st["messages"]))
PY
