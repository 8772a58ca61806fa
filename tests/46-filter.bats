#!/usr/bin/env bats
# Filters (docs/filters.md) end to end: real BPF, the kernel's type mask, the
# agent's evaluator, per-output filters to a file and a real mosquitto
# subscriber, the daemon's --filter, io.sfagent.filter and --select through
# runc and the hook.  MQTT ports 17360-17369.

bats_require_minimum_version 1.5.0

load test_helper
load helpers/sinks

setup() {
	T=$(mktemp -d)
	mkdir "$T/work"
	sinks_setup
}

teardown() {
	[ -n "${ROOT_PID:-}" ] && kill "$ROOT_PID" 2>/dev/null || true
	[ -n "${ROOT_PID:-}" ] && wait "$ROOT_PID" 2>/dev/null || true
	sinks_teardown
	rm -rf "$T"
}

# root_start: an unfiltered root-mode stream of the whole host, the reference
# the filtered streams of the same run are checked against.
root_start() {
	# --hash none here and in the filtered runs: a digest comes from the
	# agent, when its worker gets to it, so the same exec can differ
	# between two agents; the filter's counts are of kernel events
	"$SFAGENT" -R -f -w host --hash none -o "$T/root.jsonl" 2>"$T/root.err" &
	ROOT_PID=$!
	wait_for 30 grep -qs '"stream.start"' "$T/root.jsonl"
}

root_stop() {
	kill "$ROOT_PID"
	wait "$ROOT_PID" || true
	ROOT_PID=
}

# same_events STREAM PYTHON-PREDICATE: the events of STREAM are exactly the
# events of its cgroup in the root stream that the predicate selects (each
# compared whole but for seq, ts and workload), and events + filtered +
# missed_ringbuf is every event of the cgroup.
same_events() {
	python3 - "$T/root.jsonl" "$1" "$2" <<'PY'
import collections, json, sys
from fnmatch import fnmatchcase as glob
root = [json.loads(l) for l in open(sys.argv[1])]
x = [json.loads(l) for l in open(sys.argv[2])]
pred = eval("lambda e: " + sys.argv[3])
start, end = x[0], x[-1]
assert start["type"] == "stream.start" and end["type"] == "stream.end", "no start/end"
assert root[-1]["type"] == "stream.end" and root[-1]["missed"] == 0, \
    "the reference root stream lost events: %r" % root[-1]
cg = start["cgroup"]
def key(e):
    return json.dumps({k: v for k, v in e.items()
                       if k not in ("seq", "ts", "workload")}, sort_keys=True)
mine = [e for e in root if e.get("cgroup") == cg and not e["type"].startswith("stream.")]
want = collections.Counter(key(e) for e in mine if pred(e))
got = collections.Counter(key(e) for e in x[1:-1] if not e["type"].startswith("stream."))
bad = 0
if want != got:
    print("only in the root stream:", list((want - got).elements())[:5])
    print("only in the filtered stream:", list((got - want).elements())[:5])
    bad = 1
if end["events"] + end["filtered"] + end["missed_ringbuf"] != len(mine):
    print("identity: events %d + filtered %d + missed_ringbuf %d != %d caused" %
          (end["events"], end["filtered"], end["missed_ringbuf"], len(mine)))
    bad = 1
if end["events"] != sum(got.values()) or end["missed"] != 0:
    print("stream.end events %d, %d in the stream" % (end["events"], sum(got.values())))
    bad = 1
print("%d events caused, %d kept, %d filtered (%d in the kernel)" %
      (len(mine), end["events"], end["filtered"], end.get("filtered_kernel", -1)))
sys.exit(bad)
PY
}

@test "filter: the fidelity workload under four filters keeps exactly what each selects" {
	root_start
	i=0
	for f in '[type process]' \
		'[type file] & ![path = */b]' \
		'[priority >= 300] | [ret < 0]' \
		'[comm = fidelity] & ![type cap] & [uid = 0]'; do
		i=$((i + 1))
		rm -rf "$T/work" && mkdir "$T/work"
		run "$SFAGENT" -X -w "f$i" --hash none --filter "$f" -o "$T/f$i.jsonl" -- \
			"$SF_WORKLOADS/fidelity" "$T/work" "$T/facts$i.json"
		[ "$status" -eq 3 ]
		assert_seq_no_gaps "$T/f$i.jsonl"
	done
	root_stop
	run same_events "$T/f1.jsonl" 'e["type"].startswith("process.")'
	echo "$output"
	assert_success
	run same_events "$T/f2.jsonl" 'e["type"].startswith("file.") and not ("path" in e and glob(e["path"], "*/b"))'
	echo "$output"
	assert_success
	run same_events "$T/f3.jsonl" 'e["type"] in ("process.exec", "process.setuid", "file.chmod", "file.chown") or e.get("ret", 0) < 0'
	echo "$output"
	assert_success
	run same_events "$T/f4.jsonl" 'e["comm"] == "fidelity" and not e["type"].startswith("cap.") and e["uid"] == 0'
	echo "$output"
	assert_success
	# stream.start records the filter in effect
	assert_stream "$T/f2.jsonl" "ev[0]['filter'] == '[type file] & ![path = */b]'"
	assert_stream "$T/f1.jsonl" "ev[-1]['filtered'] > 0 and ev[-1]['filtered_kernel'] == ev[-1]['filtered']"
}

@test "filter: pushdown: [type process] drops an open loop in the kernel, counted exactly" {
	root_start
	run "$SFAGENT" -X -w push --hash none --filter '[type process]' -o "$T/p.jsonl" -- \
		"$SINKLOAD" opens 2000
	assert_success
	root_stop
	run same_events "$T/p.jsonl" 'e["type"].startswith("process.")'
	echo "$output"
	assert_success
	# every event that is not process.* was dropped before the ring buffer:
	# the kernel's counter is the reference's count of them, the loop's 2000
	# opens of /dev/null among them; the agent dropped none
	python3 - "$T/root.jsonl" "$T/p.jsonl" <<'PY'
import json, sys
root = [json.loads(l) for l in open(sys.argv[1])]
x = [json.loads(l) for l in open(sys.argv[2])]
cg, end = x[0]["cgroup"], x[-1]
mine = [e for e in root if e.get("cgroup") == cg and not e["type"].startswith("stream.")]
other = [e for e in mine if not e["type"].startswith("process.")]
loop = [e for e in other if e["type"] == "file.open" and e.get("path") == "/dev/null"]
print("kernel filtered %d, reference %d non-process events, %d loop opens" %
      (end["filtered_kernel"], len(other), len(loop)))
assert len(loop) == 2000
assert end["filtered_kernel"] == len(other) == end["filtered"]
assert not [e for e in x if e["type"] == "file.open"]
PY
}

@test "filter: per-output filters: the file gets the stream, mosquitto_sub what --mqtt-filter selects" {
	mqtt_start 17360
	sub_start m 'flt/#'
	rm -rf "$T/work" && mkdir "$T/work"
	run "$SFAGENT" -X -w po -o "$T/all.jsonl" -b 127.0.0.1 -p 17360 -t flt/po \
		--filter '![type cap]' --mqtt-filter '[priority >= 300] | [type net]' -- \
		"$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	[ "$status" -eq 3 ]
	wait_for 30 has_end "$SINK_DIR/m.out"
	unique_stream "$SINK_DIR/m.out" "$T/mqtt.jsonl"
	assert_seq_no_gaps "$T/all.jsonl"
	python3 - "$T/all.jsonl" "$T/mqtt.jsonl" <<'PY'
import json, sys
full = [json.loads(l) for l in open(sys.argv[1])]
mq = [json.loads(l) for l in open(sys.argv[2])]
sel = lambda e: (e["type"] in ("process.exec", "process.setuid", "file.chmod", "file.chown")
                 or e["type"].startswith("net."))
ev = [e for e in full if not e["type"].startswith("stream.")]
assert not [e for e in ev if e["type"].startswith("cap.")], "the stream's filter applies to the file"
want = [e for e in full if e["type"].startswith("stream.") or sel(e)]
assert mq == want, "mqtt got %d records, want %d" % (len(mq), len(want))
assert len([e for e in mq if not e["type"].startswith("stream.")]) < len(ev)
end = full[-1]
assert end == mq[-1] and end["sink_filtered"] == {"mqtt": len(ev) - len(want) + 2}, end
assert full[0]["sink_filters"] == {"mqtt": "[priority >= 300] | [type net]"}, full[0]
print("file %d events, mqtt %d" % (len(ev), len(want) - 2))
PY
}

@test "filter: three outputs, three subsets of one run: file and MQTT filtered, HTTP the whole stream" {
	mqtt_start 17361
	sub_start m 'flt3/#'
	http_start 17362
	rm -rf "$T/work" && mkdir "$T/work"
	run "$SFAGENT" -X -w three -o "$T/file.jsonl" -b 127.0.0.1 -p 17361 -t flt3/x \
		--http http://127.0.0.1:17362/in --http-interval 50 \
		--file-filter '[type file] & ![path = */b]' --mqtt-filter '[priority >= 300] | [ret < 0]' -- \
		"$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	[ "$status" -eq 3 ]
	wait_for 30 has_end "$SINK_DIR/m.out"
	wait_for 30 has_end "$SINK_DIR/http/bodies.ndjson"
	unique_stream "$SINK_DIR/m.out" "$T/mqtt.jsonl"
	assert_seq_no_gaps "$SINK_DIR/http/bodies.ndjson"
	python3 - "$SINK_DIR/http/bodies.ndjson" "$T/file.jsonl" "$T/mqtt.jsonl" <<'PY'
import json, sys
from fnmatch import fnmatchcase as glob
full, fil, mq = ([json.loads(l) for l in open(p)] for p in sys.argv[1:4])
ev = [e for e in full if not e["type"].startswith("stream.")]
sel_file = lambda e: e["type"].startswith("file.") and not ("path" in e and glob(e["path"], "*/b"))
sel_mqtt = lambda e: e["type"] in ("process.exec", "process.setuid", "file.chmod", "file.chown") or e.get("ret", 0) < 0
for name, got, sel in (("file", fil, sel_file), ("mqtt", mq, sel_mqtt)):
    want = [e for e in full if e["type"].startswith("stream.") or sel(e)]
    assert got == want, "%s: %d records, want %d; missing %s; extra %s" % (name, len(got), len(want), [(e["type"], e.get("seq")) for e in want if e not in got], [(e["type"], e.get("seq")) for e in got if e not in want])
    assert full[-1]["sink_filtered"][name] == len(ev) - (len(want) - 2), (name, full[-1])
    assert full[0]["sink_filters"][name], full[0]
assert "http" not in full[-1]["sink_filtered"]
assert full[-1]["filtered"] == 0 and full[-1]["events"] == len(ev)
print("http %d events, file %d, mqtt %d" % (len(ev), len(fil) - 2, len(mq) - 2))
PY
}

@test "filter: every named field the decoder gives is a filter key; fields filter newer types" {
	# the names decode_sec.c gives its kv_*() calls, all in one filter
	f=$(grep -o 'kv_[a-z]*(v, "[a-z_0-9]*"' "$SF_TOP/agent/encoders/decode_sec.c" |
		sed 's/.*"\(.*\)"/[field.\1 = 1]/' | sort -u | paste -sd'|')
	[ -n "$f" ]
	run "$SFAGENT" -X -w fields --filter "$f" -o "$T/fields.jsonl" -- /bin/true
	assert_success
	run "$SFAGENT" -X -w fs --filter '[fstype = tmpfs] | [flags = *CLONE_NEWNS*] | [flags = *O_CREAT*]' \
		-o "$T/fs.jsonl" -- unshare -m sh -c "mount -t tmpfs none /mnt; echo x >$T/created"
	assert_success
	assert_stream "$T/fs.jsonl" \
		"[e['fstype'] for e in by('fs.mount')] == ['tmpfs']" \
		"[e['flags'] for e in by('ns.unshare')] == ['CLONE_NEWNS']" \
		"one('file.open', path='$T/created')['flags'] == 'O_WRONLY|O_CREAT|O_TRUNC'" \
		"set(e['type'] for e in ev[1:-1]) == {'fs.mount', 'ns.unshare', 'file.open'}"
}

@test "filter: @FILE with comments; bad filters exit 2 with one line" {
	printf '# only what runs\n[type process.exec]  # execs\n| [type process.exit] # exits\n' >"$T/keep.filter"
	run "$SFAGENT" -X -w ff --filter "@$T/keep.filter" -o "$T/ff.jsonl" -- /bin/true
	assert_success
	assert_stream "$T/ff.jsonl" \
		"ev[0]['filter'] == '[type process.exec] | [type process.exit]'" \
		"set(e['type'] for e in ev[1:-1]) == {'process.exec', 'process.exit'}"
	run -2 "$SFAGENT" -X --filter '[comm = fooo bar]' -o "$T/x" -- /bin/true
	assert_output "sfagent: filter: column 14: expected ']' after value"
	run -2 "$SFAGENT" -X --filter '[type flie.open]' -o "$T/x" -- /bin/true
	assert_output --partial "sfagent: filter: column 7: type \`flie.open\` matches no event type"
	[ "${#lines[@]}" -eq 1 ]
	run -2 "$SFAGENT" -X --filter '[colour = red]' -o "$T/x" -- /bin/true
	assert_output --regexp '^sfagent: filter: column 2: unknown key `colour`: valid keys are type \(name\), priority, pid, .*annotation.NAME$'
	run -2 "$SFAGENT" -X --mqtt-filter all -o "$T/x" -- /bin/true
	assert_output "sfagent: --mqtt-filter needs a broker: add -b HOST"
	run -2 "$SFAGENT" -X --filter "@$T/nonexistent" -o "$T/x" -- /bin/true
	assert_output --partial "sfagent: filter: @$T/nonexistent"
	[ "${#lines[@]}" -eq 1 ]
	printf '[type file]\n\n  & [uid = ]\n' >"$T/bad.filter"
	run -2 "$SFAGENT" -X --filter "@$T/bad.filter" -o "$T/x" -- /bin/true
	assert_output "sfagent: filter: $T/bad.filter: line 3, column 12: expected a value for \`uid\`"
	head -c 5000 /dev/zero | tr '\0' ' ' >"$T/long"
	run -2 "$SFAGENT" -X --filter "all $(cat "$T/long")" -o "$T/x" -- /bin/true
	assert_output "sfagent: filter: 5004 bytes, longer than the 4096 a filter may have"
	run -2 "$SFAGENT" -D --select '[pid = 1]' --socket "$T/s.sock"
	assert_output --partial "sfagent: select: \`pid\` is a key of events"
	[ ! -e "$T/x" ]
}

@test "filter: valgrind: stream and output filters, event keys, @FILE: no leak, no invalid access" {
	printf '# file events under /etc, and whatever root does\n[type file] & [path = /etc/*] | [uid = 0]\n' >"$T/f"
	run valgrind --suppressions="$SF_TOP/tests/valgrind.supp" --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 -q "$SFAGENT" -X -w vg --filter "@$T/f" -o "$T/v.jsonl" \
		--file-filter '![type cap] & [comm != nosuch*]' -- /bin/sh -c 'cat /etc/hostname >/dev/null'
	echo "$output" | grep -v "unhandled eBPF" || true
	assert_success
	assert_stream "$T/v.jsonl" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['filtered'] > 0" \
		"one('file.open', path='/etc/hostname')" \
		"not by('cap.capable')"
}
