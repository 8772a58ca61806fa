#!/usr/bin/env bash
# Benchmark of the network sinks' spool and of NATS JetStream export:
#   1. MQTT QoS 1, batch 64, connected: the spool's cost (default spool vs
#      --spool-max 0), interleaved, REPS runs each
#   2. replay rate after an outage (broker down while N events are spooled)
#      and the agent's RSS at the start and at the end of the outage
#   3. NATS JetStream, R1 (one server) and R3 (3-node cluster): events/s
#      stored, every record once (checked with tests/helpers/natsread.c)
# Events/s = events / (last record acknowledged - stream.start's ts); zero
# loss is checked for every row.  The workload opens /dev/null N times.
#
# usage: tests/bench/spool-nats.sh [N] [REPS]   (default 100000 3; root,
#        make build unit)
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-100000}"
REPS="${2:-3}"
SFAGENT=build/sfagent
LOAD=build/tests/sinkload
READ=build/tests/natsread
DIR="$(mktemp -d)"
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$DIR"
}
trap cleanup EXIT
[ -x "$SFAGENT" ] && [ -x "$LOAD" ] && [ -x "$READ" ] || { echo "run make build unit first" >&2; exit 1; }
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

sub_up() {
	mosquitto_sub -h 127.0.0.1 -p "$MP" -q 1 -c -i "bench-$1" -t "$1" -E
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

echo "sfagent spool and NATS benchmark: $N opens, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
mqtt_up
for r in $(seq "$REPS"); do
	for mode in spool memory; do
		t="b$r$mode"
		extra=()
		[ "$mode" = memory ] && extra=(--spool-max 0)
		sub_up "$t"
		"$SFAGENT" -X -w bench --ringbuf-size 256M -q 100000 "${extra[@]}" --drain-timeout 120 \
			--mqtt-batch 64 -b 127.0.0.1 -p "$MP" -t "$t" -- "$LOAD" opens "$N" 2>"$DIR/agent.err"
		read -r ev rt < <(rate "$t")
		printf 'MQTT qos=1 batch=64 %-6s run %d: %8d events %9.0f events/s zero loss\n' "$mode" "$r" "$ev" "$rt"
	done
done

# 2. replay after an outage, RSS during it
sub_up replay
"$SFAGENT" -X -w replay --mqtt-batch 64 --drain-timeout 120 \
	-b 127.0.0.1 -p "$MP" -t replay -- "$LOAD" rate "$N" 20000 2>"$DIR/agent.err" &
AG=$!
PIDS="$PIDS $AG"
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
nats_conf() { # NAME PORT [CLUSTERPORT ROUTES]
	{
		echo "server_name: $1"
		echo "listen: 127.0.0.1:$2"
		echo "jetstream { store_dir: \"$DIR/$1\" }"
		[ -z "${3:-}" ] || printf 'cluster { name: b, listen: 127.0.0.1:%s, routes: [%s] }\n' "$3" "$4"
	} >"$DIR/$1.conf"
	nats-server -c "$DIR/$1.conf" >"$DIR/$1.log" 2>&1 &
	PIDS="$PIDS $!"
}
nats_run() { # LABEL URLS REPLICAS
	"$SFAGENT" -X -w nb --ringbuf-size 256M -q 100000 --drain-timeout 120 --nats "$2" \
		--nats-stream "NB$3" --nats-create-stream --nats-replicas "$3" \
		-- "$LOAD" opens "$N" 2>"$DIR/agent.err"
	local t1
	t1=$(now)
	"$READ" "$2" "NB$3" '>' 2000 >"$DIR/nats$3.out" 2>/dev/null
	cut -f3 "$DIR/nats$3.out" >"$DIR/nats$3.jsonl"
	ev=$(verify "$DIR/nats$3.jsonl")
	[ "$(wc -l <"$DIR/nats$3.out")" = "$(sort -u -t$'\t' -k1,1 "$DIR/nats$3.out" | wc -l)" ]
	python3 -c 'import json,sys; ev,t1=int(sys.argv[1]),float(sys.argv[2]); t0=json.loads(open(sys.argv[3]).readline())["ts"]/1e9; print("NATS JetStream %s: %8d events %9.0f events/s, every record once" % (sys.argv[4], ev, ev/(t1-t0)))' \
		"$ev" "$t1" "$DIR/nats$3.jsonl" "$1"
}
P0=$(port)
nats_conf r1 "$P0"
sleep 1
nats_run "R1 (1 server)  " "nats://127.0.0.1:$P0" 1
P1=$(port); P2=$(port); P3=$(port); C1=$(port); C2=$(port); C3=$(port)
R="nats://127.0.0.1:$C1, nats://127.0.0.1:$C2, nats://127.0.0.1:$C3"
nats_conf c1 "$P1" "$C1" "$R"
nats_conf c2 "$P2" "$C2" "$R"
nats_conf c3 "$P3" "$C3" "$R"
sleep 5
nats_run "R3 (3 servers) " "nats://127.0.0.1:$P1,nats://127.0.0.1:$P2,nats://127.0.0.1:$P3" 3
