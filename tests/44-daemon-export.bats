#!/usr/bin/env bats
# Daemon mode exporting per container to MQTT and HTTP: a real mosquitto and
# real mosquitto_sub subscribers, the real HTTP receiver, a real `sfagent -D`
# and real runc containers through the real sfhook.  The broker and the
# receiver on free ports (D_MQTT, D_HTTP), found at the suite's start.

load test_helper
load hook_helper
load helpers/sinks # after hook_helper: its wait_for (SECONDS CMD...) is used

setup_file() {
	hook_suite_setup
	export SINK_DIR="$HT/sinks"
	export SFAGENT_SPOOL_DIR="$HT/spool"
	mkdir -p "$SINK_DIR"
	D_MQTT=$(free_port)
	D_HTTP=$(free_port)
	export D_MQTT D_HTTP
	broker_start
	http_start "$D_HTTP"
	export MQTT_PORT HTTP_PORT HTTP_PID
	start_main_daemon
}

# The suite's daemon; its pid in a file too, as a test may restart it.
start_main_daemon() {
	start_daemon -e hostT -b 127.0.0.1 -p "$D_MQTT" --http "http://127.0.0.1:$D_HTTP/ingest" \
		--http-interval 100 --drain-timeout 20 -q 500 --spool-max 0
	echo "$AGENT_PID" >"$HT/agent.pid"
}

stop_main_daemon() {
	local pid
	pid=$(cat "$HT/agent.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	wait_for 60 sh -c "! kill -0 $pid 2>/dev/null"
	rm -f "$HT/agent.pid"
	AGENT_PID=
}

teardown_file() {
	local p
	stop_main_daemon
	broker_stop
	for p in ${HTTP_PID:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	hook_suite_teardown
}

setup() {
	SUB_PIDS=
}

# The broker is stopped and started by some tests: its pid is kept in a file,
# so that every test and the suite's teardown stop the one that runs.
broker_start() {
	mqtt_start "$D_MQTT"
	echo "$MQTT_PID" >"$HT/mqtt.pid"
}

broker_stop() {
	local pid
	pid=$(cat "$HT/mqtt.pid" 2>/dev/null) || return 0
	MQTT_PID=$pid
	mqtt_stop
	# started by another test's shell: not a child to wait for
	wait_for 15 sh -c "! kill -0 $pid 2>/dev/null"
	rm -f "$HT/mqtt.pid"
}

teardown() {
	local p
	for p in ${SUB_PIDS:-} ${AGENT2_PID:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# busybox activity: N rounds of a fork, an exec and opens
busy() {
	echo '["/bin/sh", "-c", "i=0; while [ $i -lt '"$1"' ]; do cat /etc/group >/dev/null; i=$((i+1)); done"]'
}

# same_records A B: the same records in the same order (a file's lines and
# an MQTT topic's payloads).
same_records() {
	python3 - "$1" "$2" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
b = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(a) > 2 and a == b, (len(a), len(b))
PY
}

@test "export=mqtt: the stream on sfagent/<exporter>/<workload>, in order, no gaps, stream.end last" {
	sub_start m1 'sfagent/hostT/dm1'
	make_bundle "$HT/b1" "$(busy 20)" \
		"$(k8s_ann dm1 '"io.sfagent.export": "mqtt"')"
	run run_container dx-1 "$HT/b1"
	assert_success
	wait_for 30 has_end "$SINK_DIR/m1.out"
	assert_seq_no_gaps "$SINK_DIR/m1.out"
	assert_stream "$SINK_DIR/m1.out" \
		'ev[0]["type"] == "stream.start" and ev[0]["mode"] == "daemon"' \
		'ev[0]["meta"]["container_id"] == "dx-1" and ev[0]["exporter"] == "hostT"' \
		'ev[-1]["type"] == "stream.end" and ev[-1]["events"] == len(ev) - 2' \
		'ev[-1]["missed"] == 0 and not by("stream.missed")' \
		'all(e["container"] == "dx-1" for e in ev)' \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'len([e for e in by("file.open") if e.get("path") == "/etc/group"]) >= 20'
	# mqtt alone: no file
	[ ! -e "$OUT/dm1.jsonl" ]
}

@test "export=file,mqtt: the file and the topic get the same records" {
	sub_start m2 'sfagent/hostT/dm2.dx-2'
	make_bundle "$HT/b2" "$(busy 10)" \
		'{"io.sfagent.workload": "dm2", "io.sfagent.export": "file,mqtt"}'
	run run_container dx-2 "$HT/b2"
	assert_success
	wait_for 30 has_end "$SINK_DIR/m2.out"
	wait_for 10 has_end "$(pod_file dm2 dx-2)"
	assert_seq_no_gaps "$(pod_file dm2 dx-2)"
	same_records "$(pod_file dm2 dx-2)" "$SINK_DIR/m2.out"
}

@test "export=mqtt:TOPIC publishes below ROOT/<workload>/<id>; workload names cannot add topic levels" {
	sub_start all '#' -v
	sub_start wild 'sfagent/hostT/#' -v
	make_bundle "$HT/b3" "$(busy 3)" \
		'{"io.sfagent.workload": "dm3", "io.sfagent.export": "mqtt:custom/topic"}'
	make_bundle "$HT/b4" "$(busy 3)" \
		'{"io.sfagent.workload": "a/b+c#d", "io.sfagent.export": "mqtt"}'
	run run_container dx-3 "$HT/b3"
	assert_success
	run run_container dx-4 "$HT/b4"
	assert_success
	wait_for 30 grep -q '^sfagent/hostT/dm3\.dx-3/dx-3/custom/topic {"type":"stream.end"' "$SINK_DIR/all.out"
	wait_for 30 grep -q '^sfagent/hostT/a_b_c_d\.dx-4 {"type":"stream.end"' "$SINK_DIR/wild.out"
	# every record on exactly the topic asked for, nothing on custom/topic
	run grep -c '^custom/' "$SINK_DIR/all.out"
	assert_output 0
	run grep -c '"container":"dx-3"' "$SINK_DIR/all.out"
	[ "$output" -gt 2 ]
	run sh -c "grep '\"container\":\"dx-3\"' '$SINK_DIR/all.out' | grep -vc '^sfagent/hostT/dm3\.dx-3/dx-3/custom/topic {'"
	assert_output 0
	run grep -vc '^sfagent/hostT/a_b_c_d\.dx-4 {\|^sfagent/hostT/dm3\.dx-3/dx-3/custom/topic {' "$SINK_DIR/wild.out"
	assert_output 0
}

@test "export=mqtt:TOPIC cannot leave its own subtree: another node, another stream, an unrelated topic" {
	sub_start esc '#' -v
	make_bundle "$HT/besc" "$(busy 1)" \
		'{"io.sfagent.workload": "web", "io.sfagent.export": "mqtt:../../node-b/web,mqtt:app/door/open"}'
	run run_container dx-esc "$HT/besc"
	assert_success
	wait_for 30 grep -q '^sfagent/hostT/web\.dx-esc/dx-esc/app/door/open {"type":"stream.end"' "$SINK_DIR/esc.out"
	wait_for 30 grep -q '^sfagent/hostT/web\.dx-esc/dx-esc/\.\./\.\./node-b/web {"type":"stream.end"' "$SINK_DIR/esc.out"
	run grep -vc '^sfagent/hostT/web\.dx-esc/dx-esc/' "$SINK_DIR/esc.out"
	assert_output 0
}

@test "impersonation: a pod asserting io.sfagent.workload=web, nothing else running, gets neither web.jsonl nor sfagent/<host>/web" {
	sub_start imp 'sfagent/hostT/#' -v
	make_bundle "$HT/bimp" "$(busy 2)" \
		'{"io.sfagent.workload": "web", "io.sfagent.export": "file,mqtt"}'
	run run_container dx-imp "$HT/bimp"
	assert_success
	# its own names: the workload name followed by the runtime's container id
	wait_for 30 grep -q '^sfagent/hostT/web\.dx-imp {"type":"stream.end"' "$SINK_DIR/imp.out"
	assert_stream "$(pod_file web dx-imp)" \
		'ev[0]["meta"]["workload_source"] == "annotation" and ev[0]["workload"] == "web"' \
		'all(e["container"] == "dx-imp" for e in ev)' \
		'ev[-1]["type"] == "stream.end" and by("process.exec")'
	[ ! -e "$OUT/web.jsonl" ]
	# nothing on web's own topic nor in its subtree (where replicas go)
	run grep -c '^sfagent/hostT/web[ /]' "$SINK_DIR/imp.out"
	assert_output 0
}

@test "impersonation: a runtime-named workload web and a pod asserting web: the pod's records never join web's file or topic, before or after web stops" {
	sub_start kweb 'sfagent/hostT/web/#' -v
	sub_start allweb 'sfagent/hostT/#' -v
	make_bundle "$HT/bkweb" '["/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do cat /etc/group >/tmp/only-k; sleep 0.2; done"]' \
		"$(k8s_ann web '"io.sfagent.export": "file,mqtt"')"
	make_bundle "$HT/bpweb" '["/bin/sh", "-c", "cat /etc/group >/tmp/only-p"]' \
		'{"io.sfagent.workload": "web", "io.sfagent.export": "file,mqtt"}'
	run_container dx-kweb "$HT/bkweb" &
	pk=$!
	wait_for 10 grep -q "container \`dx-kweb\` registered" "$HT/agent.log"
	# while web runs
	run run_container dx-pweb1 "$HT/bpweb"
	assert_success
	wait $pk
	wait_for 30 has_end "$OUT/web.jsonl"
	# and after it stopped: its file and topic are free, yet not the pod's
	run run_container dx-pweb2 "$HT/bpweb"
	assert_success
	for c in dx-pweb1 dx-pweb2; do
		# the stream ends once the agent has seen the container go
		wait_for 30 has_end "$(pod_file web $c)"
		assert_stream "$(pod_file web $c)" \
			'all(e["container"] == "'"$c"'" for e in ev)' \
			'ev[-1]["type"] == "stream.end" and one("file.open", path="/tmp/only-p")'
		wait_for 30 grep -q "^sfagent/hostT/web\\.$c {\"type\":\"stream.end\"" "$SINK_DIR/allweb.out"
	done
	assert_stream "$OUT/web.jsonl" \
		'ev[0]["meta"]["workload_source"] == "kubernetes"' \
		'[e["type"] for e in ev if e["type"].startswith("stream.")] == ["stream.start", "stream.end"]' \
		'all(e["container"] == "dx-kweb" for e in ev)' \
		'one("file.open", path="/tmp/only-k") and not one("file.open", path="/tmp/only-p")'
	wait_for 30 has_end "$SINK_DIR/kweb.out"
	run grep -vc '"container":"dx-kweb"' "$SINK_DIR/kweb.out"
	assert_output 0
	run grep -c '^sfagent/hostT/web {' "$SINK_DIR/kweb.out"
	[ "$output" -gt 2 ]
}

@test "export=mqtt:bad/# and other bad topics: the hook refuses the container, exit 2" {
	local bad
	for bad in 'mqtt:bad/#' 'mqtt:a/+/b' 'mqtt:$SYS/x' 'mqtt:x/%q' 'http:http://127.0.0.1:1/'; do
		make_bundle "$HT/b5" "$(busy 1)" \
			"$(jq -cn --arg e "$bad" '{"io.sfagent.workload": "dm5", "io.sfagent.export": $e}')"
		run run_container dx-5 "$HT/b5"
		assert_failure
		assert_output --partial "io.sfagent.export \`$bad\`"
		assert_output --partial "exit status 2"
		runc --root "$RUNC_ROOT" delete -f dx-5 >/dev/null 2>&1 || true
	done
	# a NUL cannot cut a value short ("mqtt:a" + NUL + "#" read as "mqtt:a")
	# (set after --inject-hook, whose yajl rewrite would cut it short itself)
	make_bundle "$HT/b5" "$(busy 1)" '{"io.sfagent.workload": "dm5"}'
	jq '.annotations["io.sfagent.export"] = "mqtt:a\u0000#"' "$HT/b5/config.json" >"$HT/b5/c.json"
	mv "$HT/b5/c.json" "$HT/b5/config.json"
	run run_container dx-5 "$HT/b5"
	assert_failure
	assert_output --partial "holds a NUL character"
	runc --root "$RUNC_ROOT" delete -f dx-5 >/dev/null 2>&1 || true
	# an agent that never heard of it
	! grep -q 'dx-5' "$HT/agent.log"
	run ls "$OUT"
	refute_output --partial dm5
}

@test "export=http: the stream is POSTed to the collector as x-ndjson" {
	make_bundle "$HT/b6" "$(busy 5)" \
		'{"io.sfagent.workload": "dm6", "io.sfagent.export": "http"}'
	run run_container dx-6 "$HT/b6"
	assert_success
	wait_for 30 has_end "$SINK_DIR/http/bodies.ndjson"
	assert_seq_no_gaps "$SINK_DIR/http/bodies.ndjson"
	assert_stream "$SINK_DIR/http/bodies.ndjson" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'all(e["container"] == "dx-6" for e in ev)' \
		'ev[-1]["events"] == len(ev) - 2'
	grep -q '^200 application/x-ndjson' "$SINK_DIR/http/requests.log"
	run ls "$OUT"
	refute_output --partial dm6
}

@test "mqtt or http asked of an agent without a broker or collector: the default file, with a note" {
	local sock2="$HT/s2.sock"
	"$SFAGENT" -D --socket "$sock2" --output-dir "$HT/out2" -v 2>"$HT/agent2.log" &
	AGENT2_PID=$!
	wait_for 30 grep -q "listening on" "$HT/agent2.log" || { cat "$HT/agent2.log" >&3; false; }
	SOCK="$sock2" make_bundle "$HT/b7" "$(busy 1)" \
		'{"io.sfagent.workload": "dm7", "io.sfagent.export": "file,mqtt", "io.sfagent.fail": "closed"}'
	run run_container dx-7 "$HT/b7"
	assert_success
	assert_stream "$HT/out2/dm7.dx-7.jsonl" \
		'"asks for mqtt but the agent has no broker: start it with -b HOST" in ev[0]["meta"]["export_notes"][0]' \
		'ev[-1]["type"] == "stream.end" and by("process.exec")'
	SOCK="$sock2" make_bundle "$HT/b8" "$(busy 1)" \
		'{"io.sfagent.workload": "dm8", "io.sfagent.export": "http", "io.sfagent.fail": "closed"}'
	run run_container dx-8 "$HT/b8"
	assert_success
	assert_stream "$HT/out2/dm8.dx-8.jsonl" \
		'"asks for http but the agent has no collector: start it with --http URL" in ev[0]["meta"]["export_notes"][0]'
}

@test "two containers at once: two topics, no cross-talk; one workload twice: the second on <topic>/<id>" {
	sub_start both 'sfagent/hostT/#' -v
	make_bundle "$HT/ba" '["/bin/sh", "-c", "for i in 1 2 3 4 5; do cat /etc/group >/tmp/only-a; sleep 0.2; done"]' \
		"$(k8s_ann dwa '"io.sfagent.export": "mqtt"')"
	make_bundle "$HT/bb" '["/bin/sh", "-c", "for i in 1 2 3 4 5; do cat /etc/group >/tmp/only-b; sleep 0.2; done"]' \
		"$(k8s_ann dwb '"io.sfagent.export": "mqtt"')"
	make_bundle "$HT/bc" '["/bin/sh", "-c", "for i in 1 2 3 4 5; do cat /etc/group >/tmp/only-c; sleep 0.2; done"]' \
		"$(k8s_ann dwa '"io.sfagent.export": "mqtt"')"
	run_container dx-a "$HT/ba" &
	pa=$!
	wait_for 10 grep -q "container \`dx-a\` registered" "$HT/agent.log"
	run_container dx-b "$HT/bb" &
	pb=$!
	run_container dx-c "$HT/bc" &
	pc=$!
	wait $pa
	wait $pb
	wait $pc
	for t in dwa dwb dwa/dx-c; do
		wait_for 30 grep -q "^sfagent/hostT/$t {\"type\":\"stream.end\"" "$SINK_DIR/both.out"
	done
	python3 - "$SINK_DIR/both.out" <<'PY'
import json, sys
topics = {}
for l in open(sys.argv[1]):
    t, p = l.rstrip("\n").split(" ", 1)
    topics.setdefault(t, []).append(json.loads(p))
want = {"sfagent/hostT/dwa": ("dx-a", "/tmp/only-a"),
        "sfagent/hostT/dwb": ("dx-b", "/tmp/only-b"),
        "sfagent/hostT/dwa/dx-c": ("dx-c", "/tmp/only-c")}
for t, (cid, path) in want.items():
    ev = topics[t]
    assert all(e["container"] == cid for e in ev), t
    assert [e["seq"] for e in ev] == list(range(1, len(ev) + 1)), t
    opens = {e.get("path") for e in ev if e["type"] == "file.open"}
    assert path in opens and not ({"/tmp/only-a", "/tmp/only-b", "/tmp/only-c"} - {path}) & opens, t
    assert ev[-1]["type"] == "stream.end"
PY
}

# count_at_least N PATTERN FILE: (polled) FILE has N lines matching PATTERN
count_at_least() {
	[ "$(grep -c "$2" "$3" 2>/dev/null)" -ge "$1" ]
}

# agent_res: threads and sockets of the daemon (an MQTT client has both; files
# are left out: the daemon may resume other suites' tagged containers)
agent_res() {
	echo "$(awk '/^Threads:/ { print $2 }' /proc/"$AGENT_PID"/status)" \
		"$(find /proc/"$AGENT_PID"/fd -lname 'socket:*' | wc -l)"
}

sockets_are() {
	[ "$(agent_res | cut -d' ' -f2)" = "$1" ]
}

threads_at_most() {
	[ "$(agent_res | cut -d' ' -f1)" -le "$1" ]
}

@test "50 containers back to back with file,mqtt: every stream whole on its topic, nothing grows with churn" {
	sub_start churn 'sfagent/hostT/#' -v
	make_bundle "$HT/bn" '["/bin/true"]' '{"io.sfagent.export": "file,mqtt"}'
	make_bundle "$HT/bf" '["/bin/true"]' '{"io.sfagent.export": "file"}'
	# the first MQTT client loads what paho keeps for the process's life
	run_container dx-warm "$HT/bn"
	# the warm-up stream's client closed (in the background): the listening
	# sockets only (the hook's and the watchers'); paho may keep its own
	# threads for the next client
	wait_for 15 sockets_are 2
	before=$(agent_res)
	t0=$(date +%s%N)
	for i in $(seq 1 50); do
		run_container "dx-n$i" "$HT/bn" || fail "container dx-n$i failed"
	done
	t1=$(date +%s%N)
	for i in $(seq 1 10); do
		run_container "dx-f$i" "$HT/bf" || fail "container dx-f$i failed"
	done
	t2=$(date +%s%N)
	wait_for 30 grep -q '^sfagent/hostT/dx-n50 {"type":"stream.end"' "$SINK_DIR/churn.out"
	# every stream ended (by its poststop, or by the reaper when runc
	# removed the cgroup first)
	wait_for 10 count_at_least 61 'workload `dx-.*`: [0-9]* events' "$HT/agent.log"
	# every MQTT client is gone again, and its thread
	w0=$SECONDS
	wait_for 15 sockets_are 2
	# the last closer thread and paho's own threads end just after
	# the socket closes: give them a moment, not a single sample
	wait_for 10 threads_at_most "${before% *}" || true
	echo "# idle again $((SECONDS - w0)) s after the last stream.end;" \
		"threads, sockets: $before before, $(agent_res) after" >&3
	[ "$(agent_res | cut -d' ' -f1)" -le "${before% *}" ]
	echo "# 50 file,mqtt containers: $(((t1 - t0) / 50000000)) ms each;" \
		"10 file-only: $(((t2 - t1) / 10000000)) ms each" >&3
	python3 - "$SINK_DIR/churn.out" "$OUT" <<'PY'
import json, os, sys
topics = {}
for l in open(sys.argv[1]):
    t, p = l.rstrip("\n").split(" ", 1)
    topics.setdefault(t, []).append(json.loads(p))
bad = []
for i in range(1, 51):
    cid = "dx-n%d" % i
    ev = topics.get("sfagent/hostT/" + cid, [])
    f = [json.loads(l) for l in open(os.path.join(sys.argv[2], cid + ".jsonl"))]
    if ev != f:
        bad.append("%s: topic and file differ (%d, %d records)" % (cid, len(ev), len(f)))
    elif ev[0]["type"] != "stream.start" or ev[-1]["type"] != "stream.end":
        bad.append("%s: not framed" % cid)
    elif not [e for e in ev if e["type"] == "process.exec" and e["filename"] == "/bin/true"]:
        bad.append("%s: first exec missing" % cid)
    elif [e["seq"] for e in ev] != list(range(1, len(ev) + 1)):
        bad.append("%s: seq gaps" % cid)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}

@test "broker down: poststop does not wait, others register meanwhile; queue overflow is stream.missed on the topic" {
	sub_start m9 'sfagent/hostT/dm9.dx-9'
	broker_stop
	make_bundle "$HT/b9" "$(busy 300)" \
		'{"io.sfagent.workload": "dm9", "io.sfagent.export": "mqtt"}'
	make_bundle "$HT/b10" "$(busy 1)" \
		'{"io.sfagent.workload": "dm10"}'
	start=$SECONDS
	run run_container dx-9 "$HT/b9"
	assert_success
	# its stream is still draining (no broker): a file container goes through
	run run_container dx-10 "$HT/b10"
	assert_success
	has_end "$(pod_file dm10 dx-10)"
	[ $((SECONDS - start)) -lt 15 ]
	grep -q 'container `dx-9`: draining in the background' "$HT/agent.log"
	# its stream connects in the background: the cause is told
	grep -q 'topic `sfagent/hostT/dm9.dx-9`: cannot connect: .*; retrying with backoff' "$HT/agent.log"
	broker_start
	wait_for 30 has_end "$SINK_DIR/m9.out"
	unique_stream "$SINK_DIR/m9.out" "$SINK_DIR/m9.u"
	# -q 500: what did not fit is counted, reported on the topic, and the
	# counts add up
	assert_stream "$SINK_DIR/m9.u" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'sum(e["count"] for e in by("stream.missed") if e["reason"] == "sink") == ev[-1]["missed"]' \
		'ev[-1]["missed"] > 0' \
		'len([e for e in ev if not e["type"].startswith("stream.")]) + ev[-1]["missed"] == ev[-1]["events"]'
}

@test "broker down past --drain-timeout when a stream ends: the running daemon delivers its spool once the broker is back, no restart, nothing left on disk" {
	local sock2="$HT/lo.sock" spool="$HT/spool-lo"
	sub_start lo 'sfagent/hostL/dlo'
	SFAGENT_SPOOL_DIR="$spool" "$SFAGENT" -D --socket "$sock2" --output-dir "$HT/outlo" -e hostL \
		-b 127.0.0.1 -p "$D_MQTT" --drain-timeout 1 -v 2>"$HT/lo.log" &
	AGENT2_PID=$!
	wait_for 30 grep -q "listening on" "$HT/lo.log"
	# a burst, a pause (nothing in flight when the broker stops), a burst
	# while it is away, then the container ends
	SOCK="$sock2" make_bundle "$HT/blo" \
		'["/bin/sh", "-c", "i=0; while [ $i -lt 20 ]; do cat /etc/group >/dev/null; i=$((i+1)); done; sleep 3; i=0; while [ $i -lt 200 ]; do cat /etc/group >/dev/null; i=$((i+1)); done"]' \
		"$(k8s_ann dlo '"io.sfagent.export": "mqtt"')"
	run_container dx-lo "$HT/blo" &
	c=$!
	# the first burst delivered (runc's own open of /etc/group and 20
	# cats'), its acks back: the container sleeps
	wait_for 30 count_at_least 21 '"path":"/etc/group"' "$SINK_DIR/lo.out"
	sleep 0.5
	broker_stop
	wait "$c"
	# given up after 1 s: kept in the spool, not lost, not counted
	wait_for 30 grep -q 'records not delivered within 1s: kept in the spool' "$HT/lo.log"
	sleep 3
	run has_end "$SINK_DIR/lo.out"
	assert_failure
	broker_start
	# the same daemon replays it: no restart
	wait_for 60 has_end "$SINK_DIR/lo.out"
	kill -0 "$AGENT2_PID"
	grep -q 'of a stream that ended undelivered: replaying it' "$HT/lo.log"
	wait_for 30 grep -q 'of a stream that ended undelivered: all delivered' "$HT/lo.log"
	# every record once: seq 1 to stream.end, no gap, no duplicate
	python3 - "$SINK_DIR/lo.out" <<'PY'
import collections, json, sys
seqs = [json.loads(l)["seq"] for l in open(sys.argv[1]) if l.strip()]
dup = [s for s, n in collections.Counter(seqs).items() if n > 1]
gap = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
back = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
assert not dup and not gap and not back, ("dup", dup[:10], "gap", gap[:10], "jumps", back[:10], len(seqs))
PY
	assert_stream "$SINK_DIR/lo.out" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'ev[-1]["missed"] == 0 and not by("stream.missed")' \
		'ev[-1]["events"] == len(ev) - 2' \
		'len([e for e in by("file.open") if e.get("path") == "/etc/group"]) >= 220'
	# nothing of it left on disk
	run ls -A "$spool"
	assert_output ""
	kill -TERM "$AGENT2_PID"
	wait "$AGENT2_PID"
	AGENT2_PID=
}

@test "sfagent status: a network output's state, backlog, connections and last error through a broker outage" {
	make_bundle "$HT/bst" '["/bin/sh", "-c", "while :; do cat /etc/group >/dev/null; sleep 0.1; done"]' \
		'{"io.sfagent.workload": "dst", "io.sfagent.export": "file,mqtt"}'
	run_container dx-st "$HT/bst" &
	c=$!
	st() { "$SFAGENT" status --socket "$HT/sfagent-watch.sock" --json; }
	out_of() { st | python3 -c 'import json,sys; s=json.load(sys.stdin); o=[x for w in s["streams"] if w["workload"]=="dst" for x in w["sinks"] if "state" in x]; print(json.dumps(o[0]) if o else "")'; }
	up() { [ "$(out_of | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null)" = up ]; }
	wait_for 20 up
	broker_stop
	down() { out_of | python3 -c 'import json,sys; o=json.load(sys.stdin); sys.exit(0 if o["state"] != "up" and o["last_error"] and o["backlog"] > 0 else 1)'; }
	wait_for 20 down
	run "$SFAGENT" status --socket "$HT/sfagent-watch.sock"
	assert_success
	assert_line --regexp '^dst .*backlog [1-9][0-9]*, connects 1, last error: '
	broker_start
	again() { out_of | python3 -c 'import json,sys; o=json.load(sys.stdin); sys.exit(0 if o["state"] == "up" and o["connects"] >= 2 else 1)'; }
	wait_for 30 again
	runc --root "$RUNC_ROOT" kill dx-st KILL
	wait "$c" || true
}

@test "io.sfagent.format per container: quixote to file and topic, cadets a JSON array file; bad values refused" {
	sub_start q 'sfagent/hostT/dfq.dx-q'
	make_bundle "$HT/bq" "$(busy 3)" \
		'{"io.sfagent.workload": "dfq", "io.sfagent.export": "file,mqtt", "io.sfagent.format": "quixote"}'
	make_bundle "$HT/bc" "$(busy 3)" \
		'{"io.sfagent.workload": "dfc", "io.sfagent.format": "cadets"}'
	run run_container dx-q "$HT/bq"
	assert_success
	run run_container dx-c1 "$HT/bc"
	assert_success
	wait_for 30 grep -q '"stream.end"' "$SINK_DIR/q.out"
	same_records "$(pod_file dfq dx-q)" "$SINK_DIR/q.out"
	cp "$(pod_file dfq dx-q)" "$HT/q.cp"
	python3 - "$HT/q.cp" "$OUT/dfc.dx-c1.json" <<'PY'
import json, sys
q = [json.loads(l) for l in open(sys.argv[1])]
assert q[0]["export"]["type"] == "stream.start" and q[-1]["export"]["type"] == "stream.end"
assert q[0]["sfagent"]["format"] == "quixote"
ev = [e for e in q if e["export"]["type"] == "async_event"]
assert any(e["event"]["type"] == "file_open" for e in ev)
c = json.load(open(sys.argv[2]))  # one JSON array
assert isinstance(c, list) and any(e.get("event", "").startswith("audit:event:") for e in c), c[:3]
PY
	# the same workload again in cadets: a new array, never appended to one
	run run_container dx-c2 "$HT/bc"
	assert_success
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT/dfc.dx-c2.json"
	make_bundle "$HT/bbad" "$(busy 1)" '{"io.sfagent.workload": "dfb", "io.sfagent.format": "xml"}'
	run run_container dx-fb "$HT/bbad"
	assert_failure
	assert_output --partial 'io.sfagent.format `xml` is invalid: use one of json, quixote, cadets'
	runc --root "$RUNC_ROOT" delete -f dx-fb >/dev/null 2>&1 || true
	# the agent checks it again
	run raw_request '{"v":1,"op":"register","container_id":"x","pid":1,"cgroup_id":1,"cgroup_path":"/nope","bundle":"/b","workload":"w","format":"xml"}'
	assert_output --partial 'io.sfagent.format `xml` is invalid'
}

@test "daemon command line: bad template, unreachable broker, bad URL, options without -b: clear, exit 2 or 1" {
	local d="$HT/cli"
	run "$SFAGENT" -D --socket "$d/s" --output-dir "$d/o" -b 127.0.0.1 -p "$D_MQTT" -t 'fixed/topic'
	assert_equal "$status" 2
	assert_output --partial "has neither %w nor %c: every container would publish to one topic"
	run "$SFAGENT" -D --socket "$d/s" --output-dir "$d/o" -b 127.0.0.1 -p "$D_MQTT" -t 'a/#/%w'
	assert_equal "$status" 2
	assert_output --partial "holds a wildcard"
	run "$SFAGENT" -D --socket "$d/s" --output-dir "$d/o" -b 127.0.0.1 -p 17619
	assert_equal "$status" 1
	assert_output --partial "cannot connect to MQTT broker tcp://127.0.0.1:17619"
	run "$SFAGENT" -D --socket "$d/s" --output-dir "$d/o" --http 'ftp://127.0.0.1/'
	assert_equal "$status" 2
	assert_output --partial "bad --http URL"
	run "$SFAGENT" -D --socket "$d/s" --output-dir "$d/o" --topic-template 'x/%w'
	assert_equal "$status" 2
	assert_output --partial "need a broker: add -b HOST"
	run "$SFAGENT" -D --socket "$d/s" --output-dir "$d/o" --http-header 'X-A: b'
	assert_equal "$status" 2
	assert_output --partial "need --http URL"
	# nothing left listening
	[ ! -e "$d/s" ]
}

@test "agent restart: an mqtt stream is resumed on its topic, the gap told there" {
	sub_start rs 'sfagent/hostT/drs.dx-rs'
	make_bundle "$HT/brs" '["/bin/sh", "-c", "while :; do cat /etc/group >/dev/null; sleep 0.2; done"]' \
		'{"io.sfagent.workload": "drs", "io.sfagent.export": "mqtt"}'
	(cd "$HT/brs" && runc --root "$RUNC_ROOT" run -d dx-rs </dev/null >/dev/null 2>&1)
	wait_for 30 grep -q '"file.open"' "$SINK_DIR/rs.out"
	stop_main_daemon
	has_end "$SINK_DIR/rs.out"
	mv "$HT/agent.log" "$HT/agent.log.1"
	start_main_daemon
	wait_for 30 grep -q '"agent_restart"' "$SINK_DIR/rs.out"
	n=$(grep -c '"file.open"' "$SINK_DIR/rs.out")
	wait_for 30 count_at_least $((n + 5)) '"file.open"' "$SINK_DIR/rs.out"
	stop_container dx-rs
	runc --root "$RUNC_ROOT" delete dx-rs
	wait_for 30 count_at_least 2 '"stream.end"' "$SINK_DIR/rs.out"
	assert_stream "$SINK_DIR/rs.out" \
		'len(by("stream.start")) == 2 and by("stream.start")[1].get("resumed") is True' \
		'one("stream.missed", reason="agent_restart") is not None' \
		'[e for e in ev[ev.index(by("stream.start")[1]):] if e["type"] == "file.open"]' \
		'ev[-1]["type"] == "stream.end"' \
		'all(e["container"] == "dx-rs" for e in ev)'
}

@test "valgrind: the daemon with MQTT and HTTP streams, a background drain and a stop while draining frees everything" {
	local sock2="$HT/vg.sock"
	valgrind --suppressions="$SF_TOP/tests/valgrind.supp" --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 -q \
		"$SFAGENT" -D --socket "$sock2" --output-dir "$HT/outvg" -e hostV -b 127.0.0.1 -p "$D_MQTT" \
		--http "http://127.0.0.1:$D_HTTP/vg" --drain-timeout 3 -v 2>"$HT/vg.log" &
	AGENT2_PID=$!
	wait_for 120 grep -q "listening on" "$HT/vg.log"
	SOCK="$sock2" make_bundle "$HT/bvg1" "$(busy 3)" \
		'{"io.sfagent.workload": "vg1", "io.sfagent.export": "file,mqtt,http"}'
	SOCK="$sock2" make_bundle "$HT/bvg2" "$(busy 3)" \
		'{"io.sfagent.workload": "vg2", "io.sfagent.export": "mqtt", "io.sfagent.format": "cadets"}'
	SOCK="$sock2" make_bundle "$HT/bvg3" '["/bin/sleep", "30"]' \
		'{"io.sfagent.workload": "vg3", "io.sfagent.export": "mqtt"}'
	run_container dx-vg1 "$HT/bvg1"
	run_container dx-vg2 "$HT/bvg2"
	(cd "$HT/bvg3" && runc --root "$RUNC_ROOT" run -d dx-vg3 </dev/null >/dev/null 2>&1)
	broker_stop
	# vg3 ends while the broker is away: drained in the background, then
	# the agent is stopped while it drains
	stop_container dx-vg3
	runc --root "$RUNC_ROOT" delete dx-vg3
	wait_for 30 grep -q 'dx-vg3`: draining in the background' "$HT/vg.log"
	# given up on (3 s): its spool goes to the replay, which is still
	# waiting for the broker when the agent stops
	wait_for 60 grep -q 'of a stream that ended undelivered: replaying it' "$HT/vg.log"
	kill -TERM "$AGENT2_PID"
	rc=0
	wait "$AGENT2_PID" || rc=$?
	AGENT2_PID=
	broker_start
	[ "$rc" = 0 ] || { cat "$HT/vg.log"; false; }
	run grep -v "unhandled eBPF" "$HT/vg.log"
	refute_output --partial "definitely lost"
	refute_output --partial "Invalid"
	refute_output --partial "uninitialised"
	grep -q 'records not delivered within 3s' "$HT/vg.log"
}

@test "the DaemonSet's agent command with SFAGENT_BROKER, SFAGENT_TOPIC_TEMPLATE and SFAGENT_HTTP_URL set streams mqtt containers" {
	stop_main_daemon
	# the agent container's script and the ConfigMap's keys, broker set
	python3 - "$SF_TOP/deploy/kubernetes/daemonset.yaml" "$SF_TOP/deploy/kubernetes/configmap.yaml" \
		>"$HT/ds-agent.sh" <<'PY'
import os, shlex, sys, yaml
ds = next(x for x in yaml.safe_load_all(open(sys.argv[1])) if x)
cm = next(x for x in yaml.safe_load_all(open(sys.argv[2])) if x)
env = dict(cm["data"], SFAGENT_BROKER="127.0.0.1", SFAGENT_PORT=os.environ["D_MQTT"],
           SFAGENT_TOPIC_TEMPLATE="k8s/%h/%w",
           SFAGENT_HTTP_URL="http://127.0.0.1:%s/ds" % os.environ["D_HTTP"],
           SFAGENT_EXTRA_ARGS="-v", NODE_NAME="node-a",
           SFAGENT_METRICS="127.0.0.1:0")
for k, v in env.items():
    print("export %s=%s" % (k, shlex.quote(v)))
print(ds["spec"]["template"]["spec"]["containers"][0]["args"][0])
PY
	# `sfagent` on its PATH: the real one, on this suite's socket and
	# output directory (the last --socket and --output-dir count)
	mkdir -p "$HT/dsbin"
	printf '#!/bin/sh\nexec "%s" "$@" --socket "%s" --output-dir "%s"\n' \
		"$SFAGENT" "$SOCK" "$OUT" >"$HT/dsbin/sfagent"
	chmod +x "$HT/dsbin/sfagent"
	PATH="$HT/dsbin:$PATH" sh "$HT/ds-agent.sh" 2>>"$HT/ds.log" &
	AGENT2_PID=$!
	wait_for 30 grep -q "listening on" "$HT/ds.log"
	sub_start ds 'k8s/node-a/dds.dx-ds'
	make_bundle "$HT/bds" "$(busy 2)" \
		'{"io.sfagent.workload": "dds", "io.sfagent.export": "mqtt,http"}'
	run run_container dx-ds "$HT/bds"
	assert_success
	wait_for 30 has_end "$SINK_DIR/ds.out"
	assert_seq_no_gaps "$SINK_DIR/ds.out"
	assert_stream "$SINK_DIR/ds.out" 'ev[0]["exporter"] == "node-a"'
	wait_for 30 grep -q '"container":"dx-ds".*"stream.end"\|"stream.end".*"container":"dx-ds"' \
		"$SINK_DIR/http/bodies.ndjson"
}
