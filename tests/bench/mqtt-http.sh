#!/usr/bin/env bash
# Benchmark: events/s delivered end to end, with zero loss checked, to
#   - a local mosquitto subscriber (mosquitto_sub) at QoS 0 and 1, batch 1 and 64
#   - the HTTP receiver (tests/helpers/http_receiver.py)
# The workload opens /dev/null N times (one file.open event each) as fast as
# it can.  Rate = events / (arrival of stream.end - arrival of stream.start)
# at the subscriber (MQTT), or / (stream.start's ts to the receipt of the last
# POST) for HTTP.
#
# usage: tests/bench/mqtt-http.sh [N]   (default 200000; needs root, make build unit)
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-200000}"
SFAGENT=build/sfagent
LOAD=build/tests/sinkload
PORT=${MQTT_PORT:-17390}
HPORT=${HTTP_PORT:-17391}
DIR="$(mktemp -d)"
MQ=
HP=
SP=
cleanup() {
	for p in $SP $MQ $HP; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$DIR"
}
trap cleanup EXIT

[ -x "$SFAGENT" ] && [ -x "$LOAD" ] || { echo "run make build unit first" >&2; exit 1; }
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\nuser root\n' \
	"$PORT" >"$DIR/m.conf"
mosquitto -c "$DIR/m.conf" >"$DIR/m.log" 2>&1 &
MQ=$!
for _ in $(seq 50); do grep -q running "$DIR/m.log" && break; sleep 0.1; done
sleep 0.3

# verify FILE: unique seqs 1..last, no stream.missed; prints the event count
verify() {
	python3 - "$1" <<'PY'
import json, sys
seqs, events, missed, end = set(), 0, 0, None
for l in open(sys.argv[1]):
    l = l.strip()
    if not l.startswith("{"):
        continue
    e = json.loads(l)
    seqs.add(e["seq"])
    if e["type"] == "stream.missed":
        missed += e["count"]
    if e["type"] == "stream.end":
        end = e
assert end is not None, "no stream.end"
assert end["missed"] == 0 and missed == 0, ("loss", end, missed)
assert seqs == set(range(1, end["seq"] + 1)), ("gaps", end["seq"] - len(seqs))
print(end["events"])
PY
}

mqtt_run() {
	local qos="$1" batch="$2" out="$DIR/sub-$1-$2"
	mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 1 -t "bench/$qos/$batch" -F '%U %p' >"$out" &
	SP=$!
	sleep 0.5
	"$SFAGENT" -X -w bench --ringbuf-size 256M -q 1000000 --drain-timeout 60 \
		-b 127.0.0.1 -p "$PORT" -t "bench/$qos/$batch" --mqtt-qos "$qos" --mqtt-batch "$batch" \
		-- "$LOAD" opens "$N" 2>"$DIR/agent.err"
	for _ in $(seq 600); do grep -q '"type":"stream.end"' "$out" && break; sleep 0.1; done
	kill "$SP"; wait "$SP" 2>/dev/null || true; SP=
	# "%U payload": records may span lines (batch); timestamps start a message
	local t0 t1
	t0=$(grep -m1 '"type":"stream.start"' "$out" | cut -d' ' -f1)
	t1=$(grep '"type":"stream.end"' "$out" | cut -d' ' -f1)
	sed -E 's/^[0-9]+\.[0-9]+ //' "$out" >"$out.jsonl"
	local ev
	ev=$(verify "$out.jsonl")
	python3 -c "import sys; ev,t0,t1=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); \
print('MQTT  qos=%s batch=%-3s %8d events  %6.2f s  %9.0f events/s  zero loss' % (sys.argv[4], sys.argv[5], ev, t1-t0, ev/(t1-t0)))" \
		"$ev" "$t0" "$t1" "$qos" "$batch"
}

http_run() {
	mkdir -p "$DIR/http"
	python3 tests/helpers/http_receiver.py "$HPORT" "$DIR/http" &
	HP=$!
	for _ in $(seq 50); do [ -e "$DIR/http/ready" ] && break; sleep 0.1; done
	"$SFAGENT" -X -w bench --ringbuf-size 256M -q 1000000 --drain-timeout 60 \
		--http "http://127.0.0.1:$HPORT/" --http-batch "$1" --http-interval 100 \
		-- "$LOAD" opens "$N" 2>"$DIR/agent.err"
	local t1 t0 ev
	t1=$(tail -1 "$DIR/http/requests.log" | awk '{print $NF}')
	t0=$(head -1 "$DIR/http/bodies.ndjson" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["ts"]/1e9)')
	ev=$(verify "$DIR/http/bodies.ndjson")
	kill "$HP"; wait "$HP" 2>/dev/null || true; HP=
	rm -rf "$DIR/http"
	python3 -c "import sys; ev,t0,t1=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); \
print('HTTP  batch=%-5s      %8d events  %6.2f s  %9.0f events/s  zero loss' % (sys.argv[4], ev, t1-t0, ev/(t1-t0)))" \
		"$ev" "$t0" "$t1" "$1"
}

echo "sfagent sink benchmark: $N opens, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
mqtt_run 0 1
mqtt_run 1 1
mqtt_run 0 64
mqtt_run 1 64
http_run 1000
http_run 5000
