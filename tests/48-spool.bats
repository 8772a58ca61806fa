#!/usr/bin/env bats
# The durable spool (--spool-dir, --spool-max) behind the MQTT and HTTP
# sinks, against a real mosquitto and the test HTTP receiver on free
# loopback ports.
#
# Outages here last SPOOL_OUTAGE seconds (3 by default) at SPOOL_RATE
# events/s (10000), with the same assertions as the long run: `make
# test-long` runs this suite with the issue's 60 s outage.

load test_helper
load helpers/sinks

OUTAGE="${SPOOL_OUTAGE:-3}"
RATE="${SPOOL_RATE:-10000}"

setup() {
	sinks_setup
	SPOOL="$SINK_DIR/spool"
}

teardown() {
	sinks_teardown
}

# spool_bytes: bytes in the spool's segments now.
spool_bytes() {
	find "$SPOOL" -name '*.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' \
		-printf '%s\n' 2>/dev/null | awk '{ n += $1 } END { print n + 0 }'
}

# segs_ge N: at least N segments in the spool now.
segs_ge() {
	[ "$(find "$SPOOL" -name '*.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' | wc -l)" -ge "$1" ]
}

spool_over() {
	[ "$(spool_bytes)" -gt "$1" ]
}

# rss_kb PID: its resident set now, in kB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# Enough events for the outage plus 2 s on each side.
events() {
	echo $(((OUTAGE + 4) * RATE))
}

@test "spool: broker down ${OUTAGE:-3} s at ${RATE:-10000} events/s with default settings: nothing lost, seq contiguous start to end" {
	P=$(free_port)
	mqtt_start "$P"
	sub_start a 's/#'
	"$SFAGENT" -X -w outage -b 127.0.0.1 -p "$P" -t s/x -- "$SINKLOAD" rate "$(events)" "$RATE" \
		2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q '"file.open"' "$SINK_DIR/a.out"
	sleep 1
	mqtt_stop
	wait_for 30 grep -q 'connection lost' "$SINK_DIR/agent.err"
	rss0=$(rss_kb "$AGENT_PID")
	sleep "$OUTAGE"
	# the backlog is past what memory holds (-q 1000 records, ~300 bytes)
	spool_over 600000
	rss1=$(rss_kb "$AGENT_PID")
	spooled=$(spool_bytes)
	echo "# spool during the outage: $spooled bytes; agent RSS ${rss0} kB at its start, ${rss1} kB at its end" >&3
	# the backlog is on disk: the agent grew by far less than it (a
	# backlog kept in memory would have grown it by about its size)
	[ $(((rss1 - rss0) * 1024)) -lt $((spooled / 4)) ]
	mqtt_start "$P"
	wait "$AGENT_PID"
	AGENT_PID=
	wait_for 120 has_end "$SINK_DIR/a.out" || { cat "$SINK_DIR/agent.err"; tail -c 600 "$SINK_DIR/a.out"; wc -l "$SINK_DIR/a.out"; false; }
	cat "$SINK_DIR/agent.err"
	unique_stream "$SINK_DIR/a.out" "$SINK_DIR/a.uniq"
	assert_seq_no_gaps "$SINK_DIR/a.uniq"
	assert_stream "$SINK_DIR/a.uniq" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'ev[-1]["missed"] == 0 and not by("stream.missed")' \
		"len(by('file.open')) >= $(events)"
	python3 - "$SINK_DIR/a.uniq" <<'PY' >&3
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
# the workload's rate: its file.open events (stream.end comes after the
# replay)
ts = [e["ts"] for e in ev if e["type"] == "file.open"]
print("# %d records, the workload's file.open at %.0f events/s" % (len(ev), len(ts) / ((max(ts) - min(ts)) / 1e9)))
PY
	# delivered and acked: nothing is left on disk
	[ "$(spool_bytes)" = 0 ]
}

@test "spool: a spool smaller than the outage: what is missing is what stream.missed says (spool_full)" {
	P=$(free_port)
	mqtt_start "$P"
	sub_start a 'f/#'
	"$SFAGENT" -X -w full --spool-max 1M -b 127.0.0.1 -p "$P" -t f/x \
		-- "$SINKLOAD" rate "$(events)" "$RATE" 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q '"file.open"' "$SINK_DIR/a.out"
	mqtt_stop
	wait_for 30 grep -q 'connection lost' "$SINK_DIR/agent.err"
	sleep "$OUTAGE"
	mqtt_start "$P"
	wait "$AGENT_PID"
	AGENT_PID=
	wait_for 120 has_end "$SINK_DIR/a.out" || { cat "$SINK_DIR/agent.err"; tail -c 600 "$SINK_DIR/a.out"; wc -l "$SINK_DIR/a.out"; false; }
	unique_stream "$SINK_DIR/a.out" "$SINK_DIR/a.uniq"
	assert_stream "$SINK_DIR/a.uniq" \
		'sum(e["count"] for e in by("stream.missed") if e["reason"] == "spool_full") > 0' \
		'ev[-1]["seq"] - len(ev) == sum(e["count"] for e in by("stream.missed"))' \
		'ev[-1]["missed_sink"] == sum(e["count"] for e in by("stream.missed"))' \
		'len(by("stream.missed")) >= 1'
	python3 -c 'import json, sys; ev = [json.loads(l) for l in open(sys.argv[1])]; print("# %d stream.missed records: %s" % (len([e for e in ev if e["type"] == "stream.missed"]), [(e["reason"], e["count"]) for e in ev if e["type"] == "stream.missed"][:8]))' "$SINK_DIR/a.uniq" >&3
}

@test "spool: agent SIGKILLed while the broker is down, started again: the old stream is replayed first, original seq, then the new one" {
	P=$(free_port)
	mqtt_start "$P"
	sub_start a 'k/#'
	left_behind k/x killed
	left=$(spool_bytes)
	mqtt_start "$P"
	run "$SFAGENT" -X -w killed -b 127.0.0.1 -p "$P" -t k/x -- "$SINKLOAD" opens 100
	assert_success
	assert_output --regexp 'replaying [0-9]+ records an earlier run left'
	wait_for 120 has_end "$SINK_DIR/a.out" || { cat "$SINK_DIR/agent.err"; tail -c 600 "$SINK_DIR/a.out"; wc -l "$SINK_DIR/a.out"; false; }
	echo "# ${left} bytes in the spool at the kill" >&3
	run python3 "$SF_TOP/tests/helpers/replay_check.py" "$SINK_DIR/a.out"
	echo "$output" >&3
	assert_success
}

# left_behind TOPIC [WORKLOAD]: an agent streaming to TOPIC SIGKILLed while
# the broker is down, its spool over 600 kB
left_behind() {
	"$SFAGENT" -X -w "${2:-gone}" -b 127.0.0.1 -p "$P" -t "$1" -- "$SINKLOAD" rate 1000000 "$RATE" \
		2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q '"file.open"' "$SINK_DIR/a.out"
	mqtt_stop
	wait_for 30 grep -q 'connection lost' "$SINK_DIR/agent.err"
	wait_for 60 spool_over 600000
	load_pid=$(pgrep -P "$AGENT_PID" | head -1)
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	[ -z "$load_pid" ] || kill -KILL "$load_pid" 2>/dev/null || true
}

@test "spool: a record torn at the spool's tail (a write cut short by a crash) is cut off and told; every whole record before it replayed in order" {
	P=$(free_port)
	mqtt_start "$P"
	sub_start a 't/#'
	left_behind t/x torn
	seg=$(find "$SPOOL" -name 'mqtt-*.[0-9]*' | sort | tail -1)
	# a write cut short: the last record's end gone
	truncate -s -100 "$seg"
	mqtt_start "$P"
	run "$SFAGENT" -X -w torn -b 127.0.0.1 -p "$P" -t t/x -- "$SINKLOAD" opens 100
	assert_success
	assert_output --partial 'a torn record at the tail (a crash while writing?)'
	assert_output --partial 'discarded, not replayed'
	wait_for 120 has_end "$SINK_DIR/a.out" || { cat "$SINK_DIR/agent.err"; tail -c 600 "$SINK_DIR/a.out"; wc -l "$SINK_DIR/a.out"; false; }
	run python3 "$SF_TOP/tests/helpers/replay_check.py" "$SINK_DIR/a.out"
	echo "$output" >&3
	assert_success
}

@test "spool: a daemon started again replays spools of streams that never come back; without their server it keeps them and says so" {
	P=$(free_port)
	mqtt_start "$P"
	sub_start a 'g/#'
	left_behind g/gone
	[ -s "$SPOOL"/mqtt-*.dest ]
	left=$(spool_bytes)
	D="$SINK_DIR/d"
	mkdir -p "$D/out"
	# no broker for it: kept, told
	"$SFAGENT" -D --socket "$D/s1" --output-dir "$D/out" -v 2>"$D/d1.log" &
	AGENT_PID=$!
	wait_for 30 grep -q 'listening on' "$D/d1.log"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID" || true
	AGENT_PID=
	grep -q "left by an earlier run: kept, not replayed: this agent has no broker (-b)" "$D/d1.log"
	[ "$(spool_bytes)" = "$left" ]
	# with the broker: no container asks for g/gone, the daemon replays it
	mqtt_start "$P"
	"$SFAGENT" -D --socket "$D/s2" --output-dir "$D/out" -v -b 127.0.0.1 -p "$P" 2>"$D/d2.log" &
	AGENT_PID=$!
	wait_for 30 grep -q "left by an earlier run: replaying it" "$D/d2.log"
	wait_for 120 grep -q "left by an earlier run: all delivered" "$D/d2.log"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID" || true
	AGENT_PID=
	echo "# ${left} bytes left behind, all delivered by the daemon" >&3
	# nothing left on disk for it
	[ "$(spool_bytes)" = 0 ]
	[ -z "$(ls "$SPOOL" | grep -v '^$' || true)" ]
	sleep 1
	python3 - "$SINK_DIR/a.out" <<'PY'
import json, sys
ev = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    ev.setdefault(e["seq"], e)
seqs = sorted(ev)
# the stream that never came back: from its stream.start, every seq it
# took, no gap, though its agent was killed and nothing opened it again
assert seqs == list(range(1, len(seqs) + 1)), [s for a, s in zip(seqs, seqs[1:]) if s != a + 1][:5]
assert len(seqs) > 1000, len(seqs)
print("# %d records, seq 1-%d, delivered by the daemon's replay" % (len(seqs), seqs[-1]))
PY
}

@test "spool: a daemon replays a spool named KEY-2 (a second sink of one destination made it) while KEY itself is free" {
	P=$(free_port)
	mqtt_start "$P"
	sub_start a 'g2/#'
	left_behind g2/gone
	# as if a second stream to g2/gone had made it while the first held KEY
	for f in "$SPOOL"/mqtt-*; do
		b=${f##*/}
		mv "$f" "$SPOOL/${b%%.*}-2.${b#*.}"
	done
	ls "$SPOOL" | grep -q -- '-2\.dest$'
	D="$SINK_DIR/d"
	mkdir -p "$D/out"
	mqtt_start "$P"
	"$SFAGENT" -D --socket "$D/s" --output-dir "$D/out" -v -b 127.0.0.1 -p "$P" 2>"$D/d.log" &
	AGENT_PID=$!
	wait_for 30 grep -q -- "-2.\*\` (mqtt \`g2/gone\`) left by an earlier run: replaying it" "$D/d.log"
	wait_for 120 grep -q "left by an earlier run: all delivered" "$D/d.log"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID" || true
	AGENT_PID=
	run ls -A "$SPOOL"
	assert_output ""
	sleep 1
	python3 - "$SINK_DIR/a.out" <<'PY'
import json, sys
ev = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    ev.setdefault(e["seq"], e)
seqs = sorted(ev)
assert seqs == list(range(1, len(seqs) + 1)), [s for a, s in zip(seqs, seqs[1:]) if s != a + 1][:5]
assert len(seqs) > 1000, len(seqs)
PY
}

@test "spool: HTTP collector down ${OUTAGE:-3} s: nothing lost, seq contiguous" {
	P=$(free_port)
	"$SFAGENT" -X -w hdown --http "http://127.0.0.1:$P/" --http-interval 50 \
		-- "$SINKLOAD" rate "$(events)" "$RATE" 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 20 grep -q 'retrying with backoff' "$SINK_DIR/agent.err"
	sleep "$OUTAGE"
	spool_over 600000
	http_start "$P"
	wait "$AGENT_PID"
	AGENT_PID=
	unique_stream "$SINK_DIR/http/bodies.ndjson" "$SINK_DIR/u.jsonl"
	assert_seq_no_gaps "$SINK_DIR/u.jsonl"
	assert_stream "$SINK_DIR/u.jsonl" \
		'ev[-1]["type"] == "stream.end" and ev[-1]["missed"] == 0' \
		"len(by('file.open')) >= $(events)"
}

@test "spool: bad input: relative or unusable --spool-dir, bad --spool-max or --spool-total, a damaged spool reported and not replayed" {
	run "$SFAGENT" -X --spool-dir rel -b 127.0.0.1 -- /bin/true
	assert_failure 2
	assert_output --partial 'bad --spool-dir `rel`'
	for v in x 10 1T -1 2048G; do
		run "$SFAGENT" -X --spool-max "$v" -b 127.0.0.1 -- /bin/true
		assert_failure 2
		assert_output --partial "bad --spool-max \`$v\`"
		run "$SFAGENT" -X --spool-total "$v" -b 127.0.0.1 -- /bin/true
		assert_failure 2
		assert_output --partial "bad --spool-total \`$v\`"
	done
	P=$(free_port)
	mqtt_start "$P"
	touch "$SINK_DIR/afile"
	run "$SFAGENT" -X --spool-dir "$SINK_DIR/afile/spool" -b 127.0.0.1 -p "$P" -t b/x -- /bin/true
	assert_failure 1
	assert_output --partial "cannot create spool directory \`$SINK_DIR/afile/spool\`"
	# the default directory unusable: told, memory only, still delivered
	SFAGENT_SPOOL_DIR="$SINK_DIR/afile/spool" run "$SFAGENT" -X -b 127.0.0.1 -p "$P" -t b/x -- /bin/true
	assert_success
	assert_output --partial 'keeping records in memory only'
	# records left by a killed agent, one damaged by hand
	"$SFAGENT" -X -w dmg -b 127.0.0.1 -p "$P" -t d/x -- "$SINKLOAD" rate 1000000 2000 \
		2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	# connected (the spool opens once the first connection is made): a
	# fixed sleep was too short on a loaded machine
	wait_for 60 compgen -G "$SPOOL/mqtt-*.dest"
	sleep 1
	mqtt_stop
	wait_for 30 grep -q 'connection lost' "$SINK_DIR/agent.err"
	wait_for 30 spool_over 100000
	load_pid=$(pgrep -P "$AGENT_PID" | head -1)
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	[ -z "$load_pid" ] || kill -KILL "$load_pid" 2>/dev/null || true
	seg=$(find "$SPOOL" -name 'mqtt-*.[0-9]*' | sort | head -1)
	# a byte 50 KB into the segment
	printf 'X' | dd of="$seg" bs=1 seek=50000 conv=notrunc 2>/dev/null
	mqtt_start "$P"
	sub_start a 'd/#'
	run "$SFAGENT" -X -w dmg -b 127.0.0.1 -p "$P" -t d/x -- /bin/true
	assert_success
	assert_output --partial 'checksum does not match (damaged)'
	assert_output --partial 'not replayed'
	wait_for 60 grep -q '"stream.end"' "$SINK_DIR/a.out"
	# what came before the damage is replayed, in order; nothing after it
	# but the stream.missed telling it (the run's only segment: how many
	# followed is not known, a lower bound)
	python3 - "$SINK_DIR/a.out" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
last_start = [i for i, e in enumerate(ev) if e["type"] == "stream.start"][-1]
old = [e["seq"] for e in ev[:last_start] if "seq" in e]
assert old == list(range(old[0], old[0] + len(old))), old[:5]
assert 50 < len(old) < 1000, len(old)
d = ev[last_start - 1]
assert d["type"] == "stream.missed" and d["reason"] == "spool_damaged", d
assert d["count"] == 1 and d["count_at_least"] is True, d
PY
}

@test "spool: a frame damaged in the middle of a segment: the records before it, a stream.missed (spool_damaged) with the exact count, the later segments; seq + missed add up to stream.end's" {
	P=$(free_port)
	mqtt_start "$P"
	sub_start a 'g/#'
	# 1 MiB segments (--spool-max / 8); the stream ends during the outage
	# and its end is spooled; --drain-timeout 1: kept for the next start
	"$SFAGENT" -X -w dmg2 -b 127.0.0.1 -p "$P" -t g/x --spool-max 8M --drain-timeout 1 \
		-- "$SINKLOAD" rate 6000 1000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 60 compgen -G "$SPOOL/mqtt-*.dest"
	mqtt_stop
	kill "$SUB_PID_a"
	wait "$SUB_PID_a" 2>/dev/null || true
	cp "$SINK_DIR/a.out" "$SINK_DIR/a1.out"
	wait "$AGENT_PID" || true
	AGENT_PID=
	grep -q 'kept in the spool' "$SINK_DIR/agent.err"
	mapfile -t segs < <(find "$SPOOL" -name 'mqtt-*.[0-9]*' | sort)
	[ "${#segs[@]}" -ge 3 ]
	# a byte half-way into the second segment: a frame there is damaged
	damage_middle "${segs[1]}"
	mqtt_start "$P"
	# the same persistent session: what was queued for it, then the replay
	sub_start a 'g/#'
	run "$SFAGENT" -X -w dmg2 -b 127.0.0.1 -p "$P" -t g/x -- /bin/true
	assert_success
	assert_output --partial 'checksum does not match (damaged)'
	assert_output --partial 'told in the stream (stream.missed, reason spool_damaged)'
	wait_for 60 test "$(grep -c '"stream.end"' "$SINK_DIR/a.out")" -ge 2
	run python3 "$SF_TOP/tests/helpers/damage_check.py" dmg2 "$SINK_DIR/d.jsonl" "$SINK_DIR/a1.out" "$SINK_DIR/a.out"
	echo "$output"
	assert_success
	# the record as docs/events.md has it (no seq: `spool` instead)
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$SINK_DIR/d.jsonl"
	assert_success
}

@test "spool: a frame damaged by hand while the agent runs and the broker is down: the records before it, a stream.missed (spool_damaged) with the exact count at the gap, the records after; seq + missed add up to stream.end's" {
	P=$(free_port)
	mqtt_start "$P"
	sub_start a 'r/#'
	# 1 MiB segments (--spool-max / 8)
	"$SFAGENT" -X -w dmgrun -b 127.0.0.1 -p "$P" -t r/x --spool-max 8M \
		-- "$SINKLOAD" rate 12000 1000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 60 grep -q '"file.open"' "$SINK_DIR/a.out"
	mqtt_stop
	wait_for 30 grep -q 'connection lost' "$SINK_DIR/agent.err"
	# three segments on disk, the agent still running: a byte half-way
	# into the second, which the agent has not read back yet
	wait_for 60 segs_ge 3
	kill -0 "$AGENT_PID"
	mapfile -t segs < <(find "$SPOOL" -name 'mqtt-*.[0-9]*' | sort)
	damage_middle "${segs[1]}"
	mqtt_start "$P"
	wait "$AGENT_PID"
	AGENT_PID=
	wait_for 120 has_end "$SINK_DIR/a.out" || { cat "$SINK_DIR/agent.err"; tail -c 600 "$SINK_DIR/a.out"; wc -l "$SINK_DIR/a.out"; false; }
	cat "$SINK_DIR/agent.err"
	grep -q 'told in the stream (stream.missed, reason spool_damaged)' "$SINK_DIR/agent.err"
	run python3 "$SF_TOP/tests/helpers/damage_check.py" dmgrun "$SINK_DIR/d.jsonl" "$SINK_DIR/a.out"
	echo "$output" >&3
	assert_success
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$SINK_DIR/d.jsonl"
	assert_success
	# delivered and acked: nothing is left on disk
	[ "$(spool_bytes)" = 0 ]
}
