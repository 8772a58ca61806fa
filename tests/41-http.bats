#!/usr/bin/env bats
# HTTP export to a real HTTP server on loopback (tests/helpers/http_receiver.py,
# ports 17330-17349).

load test_helper
load helpers/sinks

setup() {
	sinks_setup
}

teardown() {
	sinks_teardown
}

@test "http: batches of JSON lines reach the receiver, x-ndjson, headers, nothing lost" {
	http_start 17330
	run "$SFAGENT" -X -w h1 --http http://127.0.0.1:17330/ingest --http-batch 100 \
		--http-header 'X-Token: t0ken' --http-header 'Authorization: Bearer abc' \
		-- "$SINKLOAD" opens 500
	assert_success
	assert_seq_no_gaps "$SINK_DIR/http/bodies.ndjson"
	assert_stream "$SINK_DIR/http/bodies.ndjson" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'ev[-1]["missed"] == 0 and ev[-1]["events"] == len(ev) - 2' \
		'len([e for e in by("file.open") if e.get("path") == "/dev/null"]) >= 500'
	# batched: fewer requests than records, none bigger than the batch
	run python3 -c '
import sys
reqs = [l.split() for l in open(sys.argv[1])]
assert all(r[0] == "200" and r[1] == "application/x-ndjson" for r in reqs), reqs[:3]
assert all("X-Token=t0ken" in r and "Authorization=Bearer" in r for r in reqs), reqs[:3]
assert 5 <= len(reqs) < 60, len(reqs)
' "$SINK_DIR/http/requests.log"
	assert_success
	[ "$(awk 'NR==FNR{n++} END{print n}' "$SINK_DIR/http/bodies.ndjson")" -gt 500 ]
}

@test "http: --http-interval sends a partial batch without waiting for it to fill" {
	http_start 17331
	"$SFAGENT" -X -w slow --http http://127.0.0.1:17331/ --http-batch 100000 \
		--http-interval 200 -- "$SINKLOAD" opens 20 100000 &
	AGENT_PID=$!
	# well before the workload ends (3 s), records have arrived
	wait_for 20 grep -q '"path":"/dev/null"' "$SINK_DIR/http/bodies.ndjson"
	kill -0 "$AGENT_PID"
	wait "$AGENT_PID"
	AGENT_PID=
	assert_seq_no_gaps "$SINK_DIR/http/bodies.ndjson"
}

@test "http: 503 for a while then recovery: nothing lost" {
	http_start 17332 --fail-first 4
	run "$SFAGENT" -X -w flaky --http http://127.0.0.1:17332/ --http-batch 50 \
		--http-interval 50 -- "$SINKLOAD" opens 600 500
	assert_success
	assert_output --partial 'answered 503; retrying'
	assert_output --partial 'delivering again'
	[ "$(grep -c '^503 ' "$SINK_DIR/http/requests.log")" -eq 4 ]
	assert_seq_no_gaps "$SINK_DIR/http/bodies.ndjson"
	assert_stream "$SINK_DIR/http/bodies.ndjson" \
		'ev[-1]["type"] == "stream.end" and ev[-1]["missed"] == 0' \
		'not by("stream.missed")' \
		'len([e for e in by("file.open") if e.get("path") == "/dev/null"]) >= 600'
}

@test "http: collector down at the start, up later: the queue holds, then delivers" {
	"$SFAGENT" -X -w late --http http://127.0.0.1:17333/ --http-batch 20 --http-interval 50 \
		-- "$SINKLOAD" opens 400 2000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 20 grep -q 'retrying with backoff' "$SINK_DIR/agent.err"
	http_start 17333
	wait "$AGENT_PID"
	AGENT_PID=
	assert_seq_no_gaps "$SINK_DIR/http/bodies.ndjson"
	assert_stream "$SINK_DIR/http/bodies.ndjson" 'ev[-1]["type"] == "stream.end"' \
		'ev[-1]["missed"] == 0'
}

@test "http: 400 is told once on stderr, counted, never retried forever" {
	http_start 17334 --status 400
	run "$SFAGENT" -X -w rejected --http http://127.0.0.1:17334/ --http-batch 10 \
		--drain-timeout 5 -o "$SINK_DIR/f.jsonl" -- "$SINKLOAD" opens 50
	assert_success
	assert_output --partial 'answered 400'
	assert_output --partial 'not retried'
	assert_output --partial 'rejected by test receiver'
	[ "$(grep -c 'answered 400' <<<"$output")" -eq 1 ]
	# the file shows what the collector refused
	assert_seq_no_gaps "$SINK_DIR/f.jsonl"
	assert_stream "$SINK_DIR/f.jsonl" \
		'ev[-1]["type"] == "stream.end" and ev[-1]["missed_sink"] > 0' \
		'sum(e["count"] for e in by("stream.missed")) == ev[-1]["missed_sink"]'
	# every request was answered once: none was sent again
	run python3 -c '
import json, sys
reqs = [l.split() for l in open(sys.argv[1])]
end = [json.loads(l) for l in open(sys.argv[2])][-1]
assert all(r[0] == "400" for r in reqs)
# every event offered to the collector was dropped, and counted
assert end["missed_sink"] == end["events"], end
' "$SINK_DIR/http/requests.log" "$SINK_DIR/f.jsonl"
	assert_success
}

@test "http: no spool, small queue while the collector is down: loss equals stream.missed counts" {
	"$SFAGENT" -X -w small -q 40 --spool-max 0 --http http://127.0.0.1:17335/ --http-batch 10 \
		--http-interval 20 -- "$SINKLOAD" opens 1500 1000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 20 grep -q 'retrying with backoff' "$SINK_DIR/agent.err"
	sleep 0.5
	http_start 17335
	wait "$AGENT_PID"
	AGENT_PID=
	unique_stream "$SINK_DIR/http/bodies.ndjson" "$SINK_DIR/u.jsonl"
	assert_stream "$SINK_DIR/u.jsonl" \
		'sum(e["count"] for e in by("stream.missed")) > 0' \
		'ev[-1]["seq"] - len(ev) == sum(e["count"] for e in by("stream.missed"))' \
		'ev[-1]["missed_sink"] == sum(e["count"] for e in by("stream.missed"))'
}

@test "http: https with --http-cafile (certificates made by the test)" {
	cd "$SINK_DIR"
	make_certs
	http_start 17336 --tls srv.crt srv.key
	run "$SFAGENT" -X -w tls --http https://127.0.0.1:17336/ --http-cafile ca.crt \
		-- "$SINKLOAD" opens 20
	assert_success
	assert_seq_no_gaps "$SINK_DIR/http/bodies.ndjson"
	assert_stream "$SINK_DIR/http/bodies.ndjson" 'ev[-1]["type"] == "stream.end"'
	# without the CA the certificate is not trusted: retried, then counted
	run "$SFAGENT" -X -w untrusted --http https://127.0.0.1:17336/ --drain-timeout 1 --spool-max 0 \
		-o "$SINK_DIR/f.jsonl" -- /bin/true
	assert_success
	assert_output --partial 'retrying with backoff'
	assert_output --partial 'not delivered within 1s'
	assert_stream "$SINK_DIR/f.jsonl" 'ev[-1]["missed_sink"] > 0'
}

@test "http: a collector that never answers holds the exit no longer than --drain-timeout" {
	http_start 17337 --hang
	start=$SECONDS
	run "$SFAGENT" -X -w hang --http http://127.0.0.1:17337/ --http-interval 10 --drain-timeout 1 \
		-- "$SINKLOAD" opens 10
	assert_success
	test -e "$SINK_DIR/http/hung"
	assert_output --partial 'not delivered within 1s'
	# curl's own timeout is 30 s: the POST under way was cut short
	[ $((SECONDS - start)) -lt 20 ]
}

@test "http: bad input" {
	run "$SFAGENT" -X --http 'ftp://127.0.0.1/x' -- /bin/true
	assert_failure 2
	assert_output --partial 'bad --http URL'
	run "$SFAGENT" -X --http 'not a url' -- /bin/true
	assert_failure 2
	run "$SFAGENT" -X --http http://127.0.0.1:17349/ --http-header 'NoColon' -- /bin/true
	assert_failure 2
	assert_output --partial "want 'Name: value'"
	run "$SFAGENT" -X --http http://127.0.0.1:17349/ --http-cafile "$SINK_DIR/none.pem" -- /bin/true
	assert_failure 1
	assert_output --partial 'cannot read --http-cafile'
	run "$SFAGENT" -X -o - --http-batch 10 --http-header 'A: b' -- /bin/true
	assert_failure 2
	assert_output --partial 'need --http URL'
}
