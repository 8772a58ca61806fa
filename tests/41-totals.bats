#!/usr/bin/env bats
# stream.end's per-output totals (docs/events.md, "sinks"): for every output
# events == written + filtered + missed, counting event records only (stream.*
# records are no events), and written is what the receiver really got.  Real
# receivers on loopback, free ports.

load test_helper
load helpers/sinks

load helpers/nats

setup() {
	sinks_setup
}

teardown() {
	if [ -n "${NATS_DIR:-}" ]; then
		nats_cluster_stop
	fi
	sinks_teardown
}

# totals_check END-FILE [KIND=RECEIVED-FILE ...]: the stream.end in END-FILE
# holds the identity for every output; each KIND's written equals the event
# records (by seq, once each) in RECEIVED-FILE ("-": none arrived).
totals_check() {
	run python3 - "$@" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
end = [r for r in recs if r["type"] == "stream.end"][-1]
sinks = end["sinks"]
for kind, s in sinks.items():
    assert end["events"] == s["written"] + s["filtered"] + s["missed"], (kind, end)
assert end["missed_sink"] == max(s["missed"] for s in sinks.values()), end
for arg in sys.argv[2:]:
    kind, path = arg.split("=", 1)
    got = set()
    if path != "-":
        for l in open(path):
            if l.strip():
                r = json.loads(l)
                if not r["type"].startswith("stream."):
                    got.add(r["seq"])
    assert sinks[kind]["written"] == len(got), (kind, len(got), end)
# a sink's loss is told with its name
for m in (r for r in recs if r["type"] == "stream.missed"):
    if m["reason"] in ("sink", "spool_full"):
        assert m["sink"] in sinks, m
print(json.dumps(end["sinks"]))
EOF
	echo "$output"
	assert_success
}

@test "totals: file + http answering 400 (default --hash): file has all, http missed all" {
	local port
	port=$(free_port)
	http_start "$port" --status 400
	run "$SFAGENT" -X -w t400 --http "http://127.0.0.1:$port/" --http-batch 10 \
		--drain-timeout 5 -o "$SINK_DIR/f.jsonl" -- "$SINKLOAD" opens 50
	assert_success
	totals_check "$SINK_DIR/f.jsonl" file="$SINK_DIR/f.jsonl" http=-
	assert_stream "$SINK_DIR/f.jsonl" \
		'ev[-1]["sinks"]["http"]["missed"] == ev[-1]["events"] > 0' \
		'ev[-1]["sinks"]["file"]["missed"] == 0' \
		'len(by("process.exe_hash")) >= 1' \
		'any(e.get("sink") == "http" for e in by("stream.missed"))'
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$SINK_DIR/f.jsonl"
	assert_success
}

@test "totals: file + http collector down, no spool: stream records are not counted as missed events" {
	local port
	port=$(free_port)
	run "$SFAGENT" -X -w tdown --spool-max 0 --http "http://127.0.0.1:$port/" \
		--drain-timeout 2 -o "$SINK_DIR/f.jsonl" -- "$SINKLOAD" opens 40
	assert_success
	totals_check "$SINK_DIR/f.jsonl" file="$SINK_DIR/f.jsonl" http=-
	assert_stream "$SINK_DIR/f.jsonl" \
		'ev[-1]["sinks"]["http"]["missed"] == ev[-1]["events"] > 0' \
		'ev[-1]["sinks"]["http"]["written"] == 0'
}

@test "totals: file + http that works, --hash none: both wrote every event" {
	local port
	port=$(free_port)
	http_start "$port"
	run "$SFAGENT" -X -w tok --hash none --http "http://127.0.0.1:$port/" --http-batch 10 \
		-o "$SINK_DIR/f.jsonl" -- "$SINKLOAD" opens 50
	assert_success
	totals_check "$SINK_DIR/f.jsonl" file="$SINK_DIR/f.jsonl" http="$SINK_DIR/http/bodies.ndjson"
	totals_check "$SINK_DIR/http/bodies.ndjson" file="$SINK_DIR/f.jsonl" http="$SINK_DIR/http/bodies.ndjson"
	assert_stream "$SINK_DIR/f.jsonl" \
		'ev[-1]["sinks"]["http"]["written"] == ev[-1]["events"] > 0' \
		'ev[-1]["missed"] == 0'
}

@test "totals: file + mqtt, broker down mid-stream, no spool, small queue" {
	local port
	port=$(free_port)
	mqtt_start "$port"
	sub_start a 'tq/#'
	"$SFAGENT" -X -w tq -q 50 --spool-max 0 -b 127.0.0.1 -p "$port" -t tq/x \
		-o "$SINK_DIR/f.jsonl" -- "$SINKLOAD" opens 3000 1000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q '"file.open"' "$SINK_DIR/a.out"
	mqtt_stop
	wait_for 30 grep -q 'connection lost' "$SINK_DIR/agent.err"
	sleep 1
	mqtt_start "$port"
	wait "$AGENT_PID"
	AGENT_PID=
	wait_for 60 has_end "$SINK_DIR/a.out"
	totals_check "$SINK_DIR/f.jsonl" file="$SINK_DIR/f.jsonl" mqtt="$SINK_DIR/a.out"
	assert_stream "$SINK_DIR/f.jsonl" \
		'ev[-1]["sinks"]["mqtt"]["missed"] > 0' \
		'ev[-1]["sinks"]["file"]["missed"] == 0'
}

# NATS with several records per message: written counts records, not
# messages; the server stopped mid-stream with a small queue and no spool
# loses some, counted as missed, and the totals add up at the consumer.
@test "totals: file + nats --nats-batch 16, server down mid-stream, no spool, small queue" {
	NATS_DIR="$SINK_DIR/nats"
	mkdir -p "$NATS_DIR"
	nats_single_start
	"$SFAGENT" -X -w tn -q 50 --spool-max 0 --nats "$NATS_URL0" --nats-batch 16 \
		--nats-stream TN --nats-create-stream -o "$SINK_DIR/f.jsonl" \
		-- "$SINKLOAD" opens 3000 1000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q '"file.open"' "$SINK_DIR/f.jsonl"
	sleep 0.5
	nats_node_stop 0
	wait_for 30 grep -q 'retrying with backoff' "$SINK_DIR/agent.err" || { cat "$SINK_DIR/agent.err"; false; }
	sleep 1
	nats_node_start 0
	wait "$AGENT_PID"
	AGENT_PID=
	"$SF_WORKLOADS/natsread" "$NATS_URL0" TN '>' 1500 >"$SINK_DIR/n.out"
	cut -f3 "$SINK_DIR/n.out" >"$SINK_DIR/n.jsonl"
	totals_check "$SINK_DIR/f.jsonl" file="$SINK_DIR/f.jsonl" nats="$SINK_DIR/n.jsonl"
	# batched: fewer messages than records
	[ "$(cut -f1 "$SINK_DIR/n.out" | sort -u | wc -l)" -lt "$(wc -l <"$SINK_DIR/n.out")" ]
	assert_stream "$SINK_DIR/f.jsonl" \
		'ev[-1]["sinks"]["nats"]["missed"] > 0' \
		'ev[-1]["sinks"]["file"]["missed"] == 0'
}

@test "totals: a file to /dev/full alone: every event missed, none written" {
	run "$SFAGENT" -v -X -w full -o /dev/full -- "$SINKLOAD" opens 20
	assert_output --partial 'workload `full`'
	# the stream.end itself cannot be written: the log says the totals
	[[ "$output" =~ \`full\`:\ ([0-9]+)\ events,\ [0-9]+\ filtered,\ ([0-9]+)\ missed ]]
	[ "${BASH_REMATCH[1]}" -gt 0 ]
	[ "${BASH_REMATCH[1]}" -eq "${BASH_REMATCH[2]}" ]
	assert_output --partial "output file: 0 written, 0 filtered, ${BASH_REMATCH[1]} missed"
}
