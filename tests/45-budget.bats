#!/usr/bin/env bats
# Daemon budgets and files (issue 10, "Filling the node's disk"): a flooding
# container stays within --stream-rate / --stream-max-bytes /
# --output-max-bytes while its neighbour loses nothing, what a budget drops
# is exactly what stream.missed "quota" says; -G/--max-size/--max-files per
# container file; SIGHUP reopens the daemon's files.  Real runc containers
# through sfhook and sfagent -D; the flood is tests/workloads/flood.c, linked
# statically and bind-mounted into the busybox rootfs.

load test_helper
load hook_helper

FLOOD_PATH=/nonexistent/sfagent-flood

setup_file() {
	hook_suite_setup
	FLOOD="$SF_WORKLOADS/static/flood"
	export FLOOD
	[ -x "$FLOOD" ] || {
		echo "build/tests/static/flood is missing: run 'make unit'" >&2
		return 1
	}
}

teardown_file() {
	hook_suite_teardown
}

teardown() {
	stop_daemon
}

# daemon OUT-SUBDIR ARGS...: a daemon of its own for the test, in $HT/OUT-SUBDIR
daemon() {
	OUT="$HT/$1"
	shift
	# --hash none: the exact counts below are of kernel events; a
	# process.exe_hash record a budget refuses is counted as missed too,
	# but how many there would be is not known in advance
	start_daemon --hash none "$@"
}

# flood_bundle DIR WORKLOAD N: a container that makes N failing opens
flood_bundle() {
	make_bundle "$1" "[\"/tmp/flood\", \"$3\"]" "$(k8s_ann "$2")"
	jq --arg s "$FLOOD" '.mounts += [{"destination": "/tmp/flood", "type": "bind",
		"source": $s, "options": ["bind", "ro"]}]' "$1/config.json" >"$1/c.json"
	mv "$1/c.json" "$1/config.json"
}

# size_of FILE...: their total size in bytes
size_of() {
	cat "$@" | wc -c
}

# pieces BASE: rotated files oldest first (BASE.EPOCH[.N]), then BASE
pieces() {
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

# assert_quota_exact FILE N: the flood's stream tells its loss exactly: seq
# has no gap, every event written is counted in stream.end, and what is
# missing of the flood (N opens, then its exit) is what stream.missed says.
# The events before the flood (runc init's) vary in number, so they are
# counted from the stream: they come first and are never refused here.
assert_quota_exact() {
	assert_seq_no_gaps "$1"
	assert_stream "$1" \
		'ev[-1]["type"] == "stream.end"' \
		'ev[-1]["events"] == len([e for e in ev if not e["type"].startswith("stream.")])' \
		'ev[-1]["missed"] == sum(e["count"] for e in by("stream.missed"))' \
		'ev[-1]["missed_quota"] == sum(e["count"] for e in by("stream.missed") if e["reason"] == "quota")' \
		'ev[-1]["missed_quota"] > 0' \
		'one("process.exec", filename="/tmp/flood") is not None' \
		"ev[-1]['missed'] == ($2 - len([e for e in by('file.open') if e['path'] == '$FLOOD_PATH'])) + (1 - len([e for e in by('process.exit') if e['comm'] == 'flood']))"
}

@test "budget: a flood stays under --stream-max-bytes and --stream-rate; its neighbour loses nothing" {
	daemon out-flood --stream-rate 5000 --stream-burst 5000 --stream-max-bytes 1M \
		--output-max-bytes off
	make_bundle "$HT/bn" '["/bin/sh", "-c", "for i in $(seq 25); do cat /etc/group >/dev/null; sleep 0.1; done"]' \
		"$(k8s_ann neighbour)"
	flood_bundle "$HT/bf" flood 300000
	run_container sfq-n1 "$HT/bn" &
	pn=$!
	sleep 0.3
	run run_container sfq-f1 "$HT/bf"
	assert_success
	wait $pn
	f="$OUT/flood.jsonl"
	n="$OUT/neighbour.jsonl"
	ls -l "$OUT"
	# the cap holds: the only bytes past it are stream records (at most
	# one stream.missed a second, and stream.end)
	[ "$(size_of "$f")" -le $((1048576 + 4096)) ]
	[ "$(size_of "$f")" -ge $((1048576 - 4096)) ]
	assert_quota_exact "$f" 300000
	# reported at most once a second (the last one comes with stream.end)
	assert_stream "$f" \
		'all(b["ts"] - a["ts"] >= 10**9 for a, b in zip(by("stream.missed")[:-2], by("stream.missed")[1:-1]))'
	# the quota records and stream.end are what docs/events.md says
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$f" "$n"
	assert_success
	# the neighbour ran during the flood and lost nothing
	assert_seq_no_gaps "$n"
	assert_stream "$n" \
		'ev[-1]["type"] == "stream.end" and ev[-1]["missed"] == 0 and not by("stream.missed")' \
		'ev[-1]["events"] == len(ev) - 2' \
		'len([e for e in by("process.exec") if e["argv"][0] == "cat"]) == 25' \
		'ev[1]["ts"] < json.loads(open(sys.argv[1].replace("neighbour", "flood")).readline())["ts"] < ev[-2]["ts"]'
}

@test "budget: --stream-rate alone: at most burst + rate x time written, the rest counted, mostly in the kernel" {
	# -v again: the debug line that says how many the kernel did not send
	daemon out-rate --stream-rate 2000 --stream-burst 1000 --stream-max-bytes off \
		--output-max-bytes off -v
	flood_bundle "$HT/br" rated 200000
	run run_container sfq-r1 "$HT/br"
	assert_success
	f="$OUT/rated.jsonl"
	assert_quota_exact "$f" 200000
	# most of the flood never took ring-buffer space: the kernel was told
	# to stop sending (the agent refused only what was already on its way)
	kernel=$(grep -o 'workload `rated`: .*not sent by the kernel: [0-9]*' "$HT/agent.log" |
		tail -1 | grep -o '[0-9]*$')
	missed=$(tail -1 "$f" | jq .missed_quota)
	echo "kernel $kernel of $missed"
	[ "$kernel" -gt $((missed / 2)) ]
	# GCRA on the events' own times: written <= burst + rate * span
	assert_stream "$f" \
		'len(ev) - 2 - len(by("stream.missed")) <= 1000 + 2000 * (ev[-2]["ts"] - ev[1]["ts"]) / 1e9 + 1' \
		'len([e for e in by("file.open") if e["path"] == "'$FLOOD_PATH'"]) >= 900' \
		'ev[-1]["missed_ringbuf"] == 0'
}

@test "budget: on by default in -D (10000/s, burst 50000), exactly counted" {
	daemon out-default
	flood_bundle "$HT/bdef" defaulted 150000
	run run_container sfq-def1 "$HT/bdef"
	assert_success
	f="$OUT/defaulted.jsonl"
	assert_quota_exact "$f" 150000
	assert_stream "$f" \
		'len(ev) - 2 - len(by("stream.missed")) <= 50000 + 10000 * (ev[-2]["ts"] - ev[1]["ts"]) / 1e9 + 1' \
		'len(ev) - 2 - len(by("stream.missed")) >= 50000'
}

@test "budget: --output-max-bytes caps the directory, files already there included" {
	mkdir -p "$HT/out-dir"
	head -c $((1536 * 1024)) /dev/zero >"$HT/out-dir/old-data"
	daemon out-dir --stream-rate off --stream-max-bytes off --output-max-bytes 2M
	flood_bundle "$HT/bd" dircap 100000
	run run_container sfq-d1 "$HT/bd"
	assert_success
	ls -l "$OUT"
	# past the cap by stream records only (start, end, stream.missed)
	[ "$(size_of "$OUT"/*)" -le $((2 * 1048576 + 4096)) ]
	[ "$(size_of "$OUT/dircap.jsonl")" -ge $((400 * 1024)) ]
	assert_quota_exact "$OUT/dircap.jsonl" 100000
	grep -q 'over its budget (--output-max-bytes)' "$HT/agent.log"
}

@test "budget: --stream-max-bytes counts the stream's rotated files" {
	daemon out-rot --stream-rate off --stream-max-bytes 3M --max-size 1 --output-max-bytes off
	flood_bundle "$HT/bs" rot 100000
	run run_container sfq-s1 "$HT/bs"
	assert_success
	ls -l "$OUT"
	[ "$(ls "$OUT" | grep -c '^rot\.jsonl\.[0-9]')" -ge 2 ]
	for p in "$OUT"/rot.jsonl*; do
		[ "$(size_of "$p")" -le 1048576 ]
	done
	[ "$(size_of "$OUT"/rot.jsonl*)" -le $((3 * 1048576 + 4096)) ]
	pieces "$OUT/rot.jsonl" | xargs cat >"$HT/rot-joined"
	assert_quota_exact "$HT/rot-joined" 100000
}

@test "daemon files: --max-size and --max-files rotate each container's file" {
	daemon out-size --max-size 1 --max-files 2 --stream-max-bytes off --stream-rate off
	flood_bundle "$HT/bm" sized 40000
	make_bundle "$HT/bq" '["/bin/sh", "-c", "cat /etc/group >/dev/null"]' \
		"$(k8s_ann quiet)"
	run run_container sfq-m1 "$HT/bm"
	assert_success
	run run_container sfq-q1 "$HT/bq"
	assert_success
	pieces "$OUT/sized.jsonl" >"$HT/sized-pieces"
	cat "$HT/sized-pieces"
	# two rotated files kept, and the current one; whole records each
	[ "$(wc -l <"$HT/sized-pieces")" -eq 3 ]
	while read -r p; do
		[ "$(size_of "$p")" -le 1048576 ]
		python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$p"
	done <"$HT/sized-pieces"
	xargs cat <"$HT/sized-pieces" >"$HT/sized-joined"
	assert_stream "$HT/sized-joined" \
		'[e["seq"] for e in ev] == list(range(ev[0]["seq"], ev[0]["seq"] + len(ev)))' \
		'ev[0]["seq"] > 1 and ev[-1]["type"] == "stream.end" and ev[-1]["missed"] == 0'
	# another container's file is its own, not rotated
	[ ! -e "$OUT/quiet.jsonl.1" ]
	assert_stream "$OUT/quiet.jsonl" 'ev[0]["type"] == "stream.start"' 'ev[-1]["type"] == "stream.end"'
}

@test "daemon files: -G starts a new file every interval, FILE.EPOCH" {
	daemon out-time -G 1
	make_bundle "$HT/bg" '["/bin/sh", "-c", "for i in $(seq 25); do cat /etc/group >/dev/null; sleep 0.1; done"]' \
		"$(k8s_ann timed)"
	run run_container sfq-g1 "$HT/bg"
	assert_success
	pieces "$OUT/timed.jsonl" >"$HT/timed-pieces"
	cat "$HT/timed-pieces"
	[ "$(wc -l <"$HT/timed-pieces")" -ge 2 ]
	now=$(date +%s)
	for p in $(head -n -1 "$HT/timed-pieces"); do
		epoch=${p##*/timed.jsonl.}
		epoch=${epoch%%.*}
		[ $((now - epoch)) -ge 0 ]
		[ $((now - epoch)) -lt 120 ]
	done
	xargs cat <"$HT/timed-pieces" >"$HT/timed-joined"
	assert_seq_no_gaps "$HT/timed-joined"
	assert_stream "$HT/timed-joined" 'ev[-1]["type"] == "stream.end"' 'len([e for e in by("process.exec") if e["argv"][0] == "cat"]) == 25'
}

@test "daemon files: SIGHUP reopens every stream's file (logrotate moved them away)" {
	daemon out-hup
	make_bundle "$HT/bh1" '["/bin/sh", "-c", "for i in $(seq 30); do cat /etc/group >/dev/null; sleep 0.1; done"]' \
		"$(k8s_ann hup1)"
	make_bundle "$HT/bh2" '["/bin/sh", "-c", "for i in $(seq 30); do cat /etc/passwd >/dev/null; sleep 0.1; done"]' \
		"$(k8s_ann hup2)"
	run_container sfq-h1 "$HT/bh1" &
	p1=$!
	run_container sfq-h2 "$HT/bh2" &
	p2=$!
	wait_for "both streams" 20 grep -qs '"/etc/passwd"' "$OUT/hup2.jsonl"
	wait_for "both streams" 20 grep -qs '"/etc/group"' "$OUT/hup1.jsonl"
	mv "$OUT/hup1.jsonl" "$OUT/hup1.jsonl.old"
	mv "$OUT/hup2.jsonl" "$HT/hup2.moved-out"
	kill -HUP "$AGENT_PID"
	wait_for "hup1.jsonl again" 20 test -s "$OUT/hup1.jsonl"
	wait_for "hup2.jsonl again" 20 test -s "$OUT/hup2.jsonl"
	wait $p1
	wait $p2
	grep -q 'SIGHUP: reopening the files of 2 streams' "$HT/agent.log"
	cat "$OUT/hup1.jsonl.old" "$OUT/hup1.jsonl" >"$HT/hup1-joined"
	cat "$HT/hup2.moved-out" "$OUT/hup2.jsonl" >"$HT/hup2-joined"
	for j in hup1 hup2; do
		assert_seq_no_gaps "$HT/$j-joined"
		assert_stream "$HT/$j-joined" 'ev[-1]["type"] == "stream.end" and ev[-1]["missed"] == 0' \
			'len([e for e in by("process.exec") if e["argv"][0] == "cat"]) == 30'
		assert_stream "$OUT/$j.jsonl" 'ev[0]["type"] != "stream.start"' 'ev[-1]["type"] == "stream.end"'
	done
}

@test "budget: bad values exit 2 with one line naming the option" {
	for args in "--stream-rate -5" "--stream-rate 0" "--stream-rate 10000001" "--stream-rate 5x" \
		"--stream-burst -1" "--stream-burst 0" "--stream-burst 100000001" \
		"--stream-max-bytes -1M" "--stream-max-bytes 100" "--stream-max-bytes 2P" \
		"--stream-max-bytes 99999999999999999999" "--stream-max-bytes 1X" \
		"--output-max-bytes 0%" "--output-max-bytes 101%" "--output-max-bytes -3%" \
		"--output-max-bytes 1.5G"; do
		run "$SFAGENT" -D --socket "$HT/bad.sock" --output-dir "$HT/bad" $args
		assert_failure 2
		[ "${#lines[@]}" -eq 1 ]
		opt=${args%% *}
		assert_output --partial "bad $opt \`${args#* }\`: want "
	done
	run "$SFAGENT" -D --socket "$HT/bad.sock" --stream-rate off --stream-burst 10
	assert_failure 2
	assert_output 'sfagent: --stream-burst needs a --stream-rate (not off)'
	run "$SFAGENT" -X -o "$HT/x.jsonl" --stream-rate 10 -- /bin/true
	assert_failure 2
	assert_output --partial 'it applies to -D'
	[ ! -e "$HT/bad" ]
	run "$SFAGENT" --help
	assert_output --partial '--stream-max-bytes SIZE'
}
