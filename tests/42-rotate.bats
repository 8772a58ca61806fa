#!/usr/bin/env bats
# Output files: rotation by time and size, --max-files, SIGHUP reopen, disk full.

load test_helper
load helpers/sinks

setup() {
	sinks_setup
}

teardown() {
	sinks_teardown
}

# all_files BASE: rotated files oldest first (BASE.EPOCH[.N]), then BASE.
all_files() {
	python3 - "$1" <<'PY'
import os, re, sys
base = sys.argv[1]
d, b = os.path.split(base)
rx = re.compile(re.escape(b) + r"\.(\d+)(?:\.(\d+))?$")
rot = sorted((int(m.group(1)), int(m.group(2) or 0), f)
             for f in os.listdir(d) for m in [rx.match(f)] if m)
for _, _, f in rot:
    print(os.path.join(d, f))
if os.path.exists(base):
    print(base)
PY
}

# every file is whole JSON lines; their concatenation, in order, is the stream
check_pieces() {
	local base="$1"
	all_files "$base" >"$SINK_DIR/pieces"
	cat "$SINK_DIR/pieces"
	while read -r f; do
		tail -c1 "$f" | od -c | grep -q '\\n'
		python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$f"
	done <"$SINK_DIR/pieces"
	xargs cat <"$SINK_DIR/pieces" >"$SINK_DIR/joined"
}

@test "rotate: --max-size starts new files between records, never above the size" {
	run "$SFAGENT" -X -w big --max-size 1 -o "$SINK_DIR/big.jsonl" -- "$SINKLOAD" opens 12000
	assert_success
	check_pieces "$SINK_DIR/big.jsonl"
	[ "$(wc -l <"$SINK_DIR/pieces")" -ge 3 ]
	while read -r f; do
		[ "$(stat -c %s "$f")" -le $((1 << 20)) ]
	done <"$SINK_DIR/pieces"
	assert_seq_no_gaps "$SINK_DIR/joined"
	assert_stream "$SINK_DIR/joined" 'ev[-1]["type"] == "stream.end"' 'ev[-1]["missed"] == 0'
}

@test "rotate: -G starts a new file every interval; FILE.EPOCH names" {
	run "$SFAGENT" -X -w timed -G 1 -o "$SINK_DIR/t.jsonl" -- "$SINKLOAD" opens 28 100000
	assert_success
	check_pieces "$SINK_DIR/t.jsonl"
	[ "$(wc -l <"$SINK_DIR/pieces")" -ge 2 ]
	now=$(date +%s)
	for f in $(head -n -1 "$SINK_DIR/pieces"); do
		epoch=${f##*/t.jsonl.}
		epoch=${epoch%%.*}
		# two lines: under errexit `[ a ] && [ b ]` ignores a false a
		[ $((now - epoch)) -ge 0 ]
		[ $((now - epoch)) -lt 120 ]
	done
	assert_seq_no_gaps "$SINK_DIR/joined"
}

@test "rotate: --max-files keeps the newest N rotated files" {
	run "$SFAGENT" -X -w keep --max-size 1 --max-files 2 -o "$SINK_DIR/k.jsonl" \
		-- "$SINKLOAD" opens 20000
	assert_success
	check_pieces "$SINK_DIR/k.jsonl"
	[ "$(wc -l <"$SINK_DIR/pieces")" -eq 3 ]
	# the newest: contiguous up to the end of the stream
	assert_stream "$SINK_DIR/joined" \
		'[e["seq"] for e in ev] == list(range(ev[0]["seq"], ev[0]["seq"] + len(ev)))' \
		'ev[0]["seq"] > 1 and ev[-1]["type"] == "stream.end"'
}

@test "rotate: --max-files ignores planted FILE.EPOCH names (future epoch, another owner)" {
	echo planted >"$SINK_DIR/p.jsonl.9999999999"
	echo planted >"$SINK_DIR/p.jsonl.1000"
	chown 65534 "$SINK_DIR/p.jsonl.1000"
	run "$SFAGENT" -X -w keep --max-size 1 --max-files 2 -o "$SINK_DIR/p.jsonl" \
		-- "$SINKLOAD" opens 20000
	assert_success
	# the planted files are neither pruned nor counted: two real ones stay
	[ "$(cat "$SINK_DIR/p.jsonl.9999999999")" = planted ]
	[ "$(cat "$SINK_DIR/p.jsonl.1000")" = planted ]
	rm "$SINK_DIR/p.jsonl.9999999999" "$SINK_DIR/p.jsonl.1000"
	check_pieces "$SINK_DIR/p.jsonl"
	[ "$(wc -l <"$SINK_DIR/pieces")" -eq 3 ]
	assert_stream "$SINK_DIR/joined" \
		'[e["seq"] for e in ev] == list(range(ev[0]["seq"], ev[0]["seq"] + len(ev)))' \
		'ev[-1]["type"] == "stream.end"'
}

@test "rotate: SIGHUP reopens the file (logrotate moved it away)" {
	"$SFAGENT" -X -w hup -o "$SINK_DIR/h.jsonl" -- "$SINKLOAD" opens 30 100000 &
	AGENT_PID=$!
	wait_for 20 grep -q '"path":"/dev/null"' "$SINK_DIR/h.jsonl"
	mv "$SINK_DIR/h.jsonl" "$SINK_DIR/h.jsonl.1"
	kill -HUP "$AGENT_PID"
	wait_for 20 test -s "$SINK_DIR/h.jsonl"
	wait "$AGENT_PID"
	AGENT_PID=
	cat "$SINK_DIR/h.jsonl.1" "$SINK_DIR/h.jsonl" >"$SINK_DIR/joined"
	assert_seq_no_gaps "$SINK_DIR/joined"
	assert_stream "$SINK_DIR/h.jsonl" 'ev[0]["type"] != "stream.start"' \
		'ev[-1]["type"] == "stream.end"'
}

@test "rotate: disk full is counted and told as stream.missed; writing resumes with space" {
	mkdir "$SINK_DIR/full"
	mount -t tmpfs -o size=2m sfagent-test "$SINK_DIR/full"
	"$SFAGENT" -X -w full -o "$SINK_DIR/full/out.jsonl" -- "$SINKLOAD" opens 2500 1000 \
		2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 20 grep -q '"path":"/dev/null"' "$SINK_DIR/full/out.jsonl"
	dd if=/dev/zero of="$SINK_DIR/full/filler" bs=4k 2>/dev/null || true
	wait_for 20 grep -q 'No space left on device' "$SINK_DIR/agent.err"
	sleep 0.3 # some records are lost meanwhile
	rm "$SINK_DIR/full/filler"
	wait "$AGENT_PID"
	AGENT_PID=
	cat "$SINK_DIR/agent.err"
	grep -q 'writing again' "$SINK_DIR/agent.err"
	# no torn line, the loss is exactly what stream.missed says
	assert_stream "$SINK_DIR/full/out.jsonl" \
		'ev[-1]["type"] == "stream.end"' \
		'sum(e["count"] for e in by("stream.missed") if e["reason"] == "sink") > 0' \
		'ev[-1]["seq"] - len(ev) == sum(e["count"] for e in by("stream.missed"))' \
		'ev[-1]["missed_sink"] == sum(e["count"] for e in by("stream.missed"))' \
		'len(set(e["seq"] for e in ev)) == len(ev)'
}

@test "rotate: bad input" {
	run "$SFAGENT" -X -o "$SINK_DIR/no/such/dir/x.jsonl" -- /bin/true
	assert_failure 1
	assert_output --partial 'cannot open output file'
	mkdir "$SINK_DIR/ro"
	chattr +i "$SINK_DIR/ro" 2>/dev/null || skip "no chattr here"
	run "$SFAGENT" -X -o "$SINK_DIR/ro/x.jsonl" -- /bin/true
	chattr -i "$SINK_DIR/ro"
	assert_failure 1
	assert_output --partial 'cannot open output file'
	run "$SFAGENT" -X -G 10 -o - -- /bin/true
	assert_failure 2
	assert_output --partial 'give -o FILE'
	run "$SFAGENT" -X --max-files 3 -o "$SINK_DIR/x" -- /bin/true
	assert_failure 2
	assert_output --partial '--max-files needs'
	run "$SFAGENT" -X -G 0 -o "$SINK_DIR/x" -- /bin/true
	assert_failure 2
}
