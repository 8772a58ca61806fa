#!/usr/bin/env bats
# Agent restart: tagged cgroups are rediscovered and their streams resumed
# (appended, with stream.missed "agent_restart"); containers that ended while
# the agent was down are closed out.

load test_helper
load hook_helper

setup() {
	hook_suite_setup
	start_daemon
	MNT=$(awk '$(NF-2) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
}

teardown() {
	hook_suite_teardown
}

LOOP='["/bin/sh", "-c", "while true; do cat /etc/hostname >/dev/null; sleep 0.1; done"]'

run_detached() {
	(cd "$2" && runc --root "$RUNC_ROOT" run -d "$1" </dev/null >/dev/null 2>&1)
}

# count_in FILE PYTHON-EXPR: true when the expression holds for the stream
holds() {
	stream_check "$@" >/dev/null 2>&1
}

xattrs_of() {
	python3 -c 'import os,sys; print(" ".join(os.listxattr(sys.argv[1])))' "$1"
}

@test "restart after SIGTERM: the running container's stream is resumed and ends at poststop" {
	make_bundle "$HT/b" "$LOOP" '{"io.sfagent.workload": "long"}'
	run_detached sfh-long1 "$HT/b"
	f=$(pod_file long sfh-long1)
	wait_for "events" 30 holds "$f" 'one("file.open", path="/etc/hostname")'
	stop_daemon TERM
	# a clean stop ends the stream, the tags stay for the next agent
	assert_stream "$f" 'ev[-1]["type"] == "stream.end"'
	run xattrs_of "$MNT/sfh-long1"
	assert_output --partial "trusted.sfagent.container"
	assert_output --partial "trusted.sfagent.register"
	start_daemon
	grep -q "1 streams resumed" "$HT/agent.log"
	wait_for "events after the restart" 30 holds "$f" \
		'len(by("stream.start")) == 2 and any(e.get("path") == "/etc/hostname" for e in ev[ev.index(by("stream.start")[1]):])'
	stop_container sfh-long1
	runc --root "$RUNC_ROOT" delete sfh-long1
	wait_for "stream.end" 30 holds "$f" 'ev[-1]["type"] == "stream.end" and len(by("stream.end")) == 2'
	assert_stream "$f" \
		'[e["type"] for e in ev if e["type"].startswith("stream.")] == ["stream.start", "stream.end", "stream.start", "stream.missed", "stream.end"]' \
		'"resumed" not in by("stream.start")[0] and by("stream.start")[1]["resumed"] is True' \
		'by("stream.missed")[0]["reason"] == "agent_restart"' \
		'ev.index(by("stream.missed")[0]) == ev.index(by("stream.start")[1]) + 1' \
		'all(e["container"] == "sfh-long1" for e in ev)' \
		'by("stream.start")[1]["meta"] == by("stream.start")[0]["meta"]'
}

@test "restart after SIGKILL: stale socket replaced, stream resumed" {
	make_bundle "$HT/b" "$LOOP" '{"io.sfagent.workload": "killed"}'
	run_detached sfh-killed1 "$HT/b"
	f=$(pod_file killed sfh-killed1)
	wait_for "events" 30 holds "$f" 'one("file.open", path="/etc/hostname")'
	stop_daemon KILL
	[ -S "$SOCK" ]
	start_daemon
	wait_for "resumed stream" 30 holds "$f" 'len(by("stream.start")) == 2'
	assert_stream "$f" 'len(by("stream.end")) == 0' \
		'by("stream.start")[1]["resumed"] is True' \
		'by("stream.missed")[-1]["reason"] == "agent_restart"'
	# and the hook contract holds for new containers
	make_bundle "$HT/b2" '["/bin/true"]' '{"io.sfagent.workload": "new-after-kill"}'
	run run_container sfh-new1 "$HT/b2"
	assert_success
	assert_stream "$(pod_file new-after-kill sfh-new1)" 'ev[-1]["type"] == "stream.end"'
}

@test "a container that ended while the agent was down is closed out and untagged" {
	make_bundle "$HT/b" "$LOOP" '{"io.sfagent.workload": "gone"}'
	run_detached sfh-gone1 "$HT/b"
	f=$(pod_file gone sfh-gone1)
	wait_for "events" 30 holds "$f" 'one("file.open", path="/etc/hostname")'
	stop_daemon TERM
	stop_container sfh-gone1
	[ -d "$MNT/sfh-gone1" ]
	wait_for "cgroup empty" 30 grep -q "populated 0" "$MNT/sfh-gone1/cgroup.events"
	start_daemon
	grep -q "1 closed out" "$HT/agent.log"
	assert_stream "$f" \
		'[e["type"] for e in ev if e["type"].startswith("stream.")] == ["stream.start", "stream.end", "stream.start", "stream.missed", "stream.end"]'
	run xattrs_of "$MNT/sfh-gone1"
	refute_output --partial "sfagent"
	# its poststop comes later and is still answered
	run runc --root "$RUNC_ROOT" delete sfh-gone1
	assert_success
	kill -0 "$AGENT_PID"
}

@test "a forged tag that does not match its cgroup is ignored" {
	make_plain_bundle "$HT/p" "$LOOP"
	run_detached sfh-forged1 "$HT/p"
	python3 -c '
import os, sys
d = sys.argv[1]
os.setxattr(d, "trusted.sfagent.container", b"someone-else")
os.setxattr(d, "trusted.sfagent.agent", sys.argv[2].encode())
os.setxattr(d, "trusted.sfagent.register", b"{\"v\":1,\"op\":\"register\",\"container_id\":\"someone-else\",\"pid\":1,\"cgroup_id\":1,\"cgroup_path\":\"/elsewhere\",\"bundle\":\"/x\",\"workload\":\"forged\"}")
' "$MNT/sfh-forged1" "$SOCK"
	stop_daemon TERM
	start_daemon
	grep -q "sfagent tags do not match the cgroup; ignored" "$HT/agent.log"
	run ls "$OUT"
	refute_output --partial forged
}

@test "a container started (fail open) while the agent was down is picked up when it starts" {
	stop_daemon TERM
	make_bundle "$HT/b" "$LOOP" '{"io.sfagent.workload": "early"}'
	run_detached sfh-early1 "$HT/b"
	[ "$(state_of sfh-early1)" = running ]
	run xattrs_of "$MNT/sfh-early1"
	assert_output --partial "trusted.sfagent.register"
	start_daemon
	f=$(pod_file early sfh-early1)
	wait_for "events" 30 holds "$f" 'one("file.open", path="/etc/hostname")'
	assert_stream "$f" 'ev[0]["type"] == "stream.start" and ev[0]["resumed"] is True' \
		'ev[1]["type"] == "stream.missed" and ev[1]["reason"] == "agent_restart"'
	stop_container sfh-early1
	runc --root "$RUNC_ROOT" delete sfh-early1
	wait_for "stream.end" 30 holds "$f" 'ev[-1]["type"] == "stream.end"'
}

@test "a second private agent on another socket leaves this agent's containers alone" {
	make_bundle "$HT/b" "$LOOP" '{"io.sfagent.workload": "mine"}'
	run_detached sfh-mine1 "$HT/b"
	f=$(pod_file mine sfh-mine1)
	wait_for "events" 30 holds "$f" 'one("file.open", path="/etc/hostname")'
	# the tags say which agent registered it
	run python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.sfagent.agent").decode())' "$MNT/sfh-mine1"
	assert_output "$SOCK"
	# a private agent elsewhere: it must not resume (a second stream) nor,
	# at its exit, close out and untag what is not its own
	mkdir "$HT/other"
	"$SFAGENT" -D --socket "$HT/other/s.sock" --output-dir "$HT/other/out" -v 2>"$HT/other.log" &
	other=$!
	wait_for "the other agent" 30 grep -q "listening on" "$HT/other.log"
	# (other agents on this machine may have containers too: at least ours)
	grep -Eq "restart recovery: 0 streams resumed, 0 closed out, [0-9]+ tags ignored, [1-9][0-9]* of other agents left alone" "$HT/other.log"
	kill -TERM "$other"
	wait "$other"
	[ -z "$(ls -A "$HT/other/out" 2>/dev/null)" ]
	run xattrs_of "$MNT/sfh-mine1"
	assert_output --partial "trusted.sfagent.register"
	# its own agent still streams it and ends it at poststop
	kill -0 "$AGENT_PID"
	stop_container sfh-mine1
	runc --root "$RUNC_ROOT" delete sfh-mine1
	wait_for "stream.end" 30 holds "$f" 'ev[-1]["type"] == "stream.end"'
	assert_stream "$f" 'len(by("stream.start")) == 1 and len(by("stream.end")) == 1'
}

@test "restart: a task running before the agent restarted has its old ids right at its set*id calls, each thread its own" {
	mkdir -p "$HT/sync"
	make_bundle "$HT/b" '["/tmp/credwait", "/sync/go", "native"]' '{"io.sfagent.workload": "cred"}'
	jq --arg c "$SF_WORKLOADS/credwait" --arg s "$HT/sync" '.mounts += [
		{"destination": "/tmp/credwait", "type": "bind", "source": $c, "options": ["bind", "ro"]},
		{"destination": "/sync", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]' \
		"$HT/b/config.json" >"$HT/b/c.json" && mv "$HT/b/c.json" "$HT/b/config.json"
	run_detached sfh-cred1 "$HT/b"
	f=$(pod_file cred sfh-cred1)
	wait_for "its setresgid" 30 holds "$f" 'one("process.setuid", syscall="setresgid")'
	stop_daemon TERM
	start_daemon
	grep -q "1 streams resumed" "$HT/agent.log"
	touch "$HT/sync/go"
	wait_for "its setresuid calls" 30 holds "$f" 'len([e for e in by("process.setuid") if e["syscall"] == "setresuid"]) == 2'
	stop_container sfh-cred1
	runc --root "$RUNC_ROOT" delete sfh-cred1
	wait_for "stream.end" 30 holds "$f" 'len(by("stream.end")) == 2'
	assert_stream "$f" \
		'(lambda g: g["old_gid"] == 0 and g["new_gid"] == 4321 and "old_unknown" not in g)(one("process.setuid", syscall="setresgid"))' \
		'ev.index(by("stream.start")[1]) < ev.index(one("process.setuid", syscall="setresuid", new_uid=4321))' \
		'(lambda m: m["tid"] == m["pid"] and m["old_uid"] == 0 and m["old_euid"] == 0 and m["old_gid"] == 4321 and m["new_euid"] == 4321 and "old_unknown" not in m)(one("process.setuid", syscall="setresuid", new_uid=4321))' \
		'(lambda t: t["tid"] != t["pid"] and t["old_uid"] == 0 and t["old_gid"] == 0 and t["new_gid"] == 0 and "old_unknown" not in t)(one("process.setuid", syscall="setresuid", new_uid=5432))'
}
