#!/usr/bin/env bats
# Bad input to sfhook (and to the agent behind it): each case gets one clear
# line and its exit status (2 bad input, 1 environment), and the agent keeps
# serving.  The "agent hanging" case is a real socket that accepts and never
# answers.

load test_helper
load hook_helper

setup_file() {
	hook_suite_setup
	start_daemon
	make_bundle "$HT/good" '["/bin/true"]'
	# a live container process with a cgroup of its own, never started
	make_plain_bundle "$HT/sfh-target" '["/bin/true"]'
	(cd "$HT/sfh-target" && runc --root "$RUNC_ROOT" create sfh-target </dev/null)
	TARGET_PID=$(runc --root "$RUNC_ROOT" state sfh-target | jq .pid)
	export TARGET_PID
}

teardown_file() {
	[ -n "${HANG_PID:-}" ] && kill "$HANG_PID" 2>/dev/null
	hook_suite_teardown
}

teardown() {
	if [ -n "${HANG_PID:-}" ]; then
		kill "$HANG_PID" 2>/dev/null || true
		wait "$HANG_PID" 2>/dev/null || true
	fi
}

# hook [ARGS...] <<<STATE: sfhook on the suite's socket, output captured
hook() {
	timeout 20 "$SFHOOK" --socket "$SOCK" "$@"
}

# a one-line message: exactly one line on stderr
assert_one_line() {
	assert_equal "${#lines[@]}" 1
}

@test "empty stdin: exit 2" {
	run hook prestart </dev/null
	assert_equal "$status" 2
	assert_output --partial "no OCI state on stdin (empty input)"
	assert_one_line
	run hook prestart <<<"   "
	assert_equal "$status" 2
}

@test "malformed JSON: exit 2" {
	run hook prestart <<<'{"id": "x", "pid": '
	assert_equal "$status" 2
	assert_output --partial "the OCI state on stdin is not valid JSON"
	assert_one_line
}

@test "JSON of the wrong shape: exit 2" {
	run hook prestart <<<'[1, 2]'
	assert_equal "$status" 2
	assert_output --partial "not a JSON object"
	run hook prestart <<<'{"id": 5, "pid": 1}'
	assert_equal "$status" 2
	assert_output --partial 'no string "id"'
	run hook prestart <<<'{"id": "x", "pid": 1, "bundle": "'"$HT/good"'", "annotations": []}'
	assert_equal "$status" 2
	assert_output --partial '"annotations" is not an object'
	run hook prestart <<<'{"id": "x", "pid": 1, "bundle": "relative/dir"}'
	assert_equal "$status" 2
	assert_output --partial "is not an absolute path"
	run hook prestart <<<'{"id": "a/b", "pid": 1, "bundle": "/x"}'
	assert_equal "$status" 2
	assert_output --partial "invalid container id"
}

@test "missing or non-numeric pid: exit 2" {
	run hook prestart <<<'{"id": "x", "bundle": "'"$HT/good"'"}'
	assert_equal "$status" 2
	assert_output --partial 'has no "pid"'
	assert_one_line
	run hook prestart <<<'{"id": "x", "pid": "12", "bundle": "'"$HT/good"'"}'
	assert_equal "$status" 2
	assert_output --partial '"pid" is not a number'
	run hook prestart <<<'{"id": "x", "pid": -4, "bundle": "'"$HT/good"'"}'
	assert_equal "$status" 2
	assert_output --partial "out of range"
}

@test "a pid that no longer exists: exit 1" {
	sleep 0 &
	gone=$!
	wait $gone
	run hook prestart <<<"$(state_json sfh-gone1 "$gone" "$HT/good")"
	assert_equal "$status" 1
	assert_output --partial "container process $gone no longer exists"
	assert_one_line
}

@test "missing bundle, missing or unreadable config.json: exit 1; malformed: exit 2" {
	run hook prestart <<<"$(state_json nob "$TARGET_PID" "$HT/no-such-bundle")"
	assert_equal "$status" 1
	assert_output --partial "no-such-bundle/config.json"
	assert_output --partial "No such file or directory"
	mkdir -p "$HT/empty-bundle"
	run hook prestart <<<"$(state_json noc "$TARGET_PID" "$HT/empty-bundle")"
	assert_equal "$status" 1
	assert_output --partial "empty-bundle/config.json"
	mkdir -p "$HT/dir-bundle/config.json"
	run hook prestart <<<"$(state_json dirc "$TARGET_PID" "$HT/dir-bundle")"
	assert_equal "$status" 1
	assert_output --partial "Is a directory"
	assert_one_line
	mkdir -p "$HT/bad-bundle"
	echo '{"process": ' >"$HT/bad-bundle/config.json"
	run hook prestart <<<"$(state_json badc "$TARGET_PID" "$HT/bad-bundle")"
	assert_equal "$status" 2
	assert_output --partial "bad-bundle/config.json is not valid JSON"
}

@test "oversized input is refused at the cap: exit 2" {
	python3 -c 'print("{\"id\":\"big\",\"pid\":1,\"x\":\"" + "a" * 300000 + "\"}")' >"$HT/big.json"
	run hook prestart <"$HT/big.json"
	assert_equal "$status" 2
	assert_output --partial "larger than 256 KiB"
	assert_one_line
}

@test "invalid annotation values: exit 2, nothing tagged" {
	run hook prestart <<<"$(state_json a1 "$TARGET_PID" "$HT/good" '{"io.sfagent.fail": "maybe"}')"
	assert_equal "$status" 2
	assert_output --partial 'io.sfagent.fail `maybe` is invalid: use `open`'
	assert_one_line
	run hook prestart <<<"$(state_json a2 "$TARGET_PID" "$HT/good" '{"io.sfagent.workload": "bad\u0001name"}')"
	assert_equal "$status" 2
	assert_output --partial "io.sfagent.workload is invalid"
	long=$(printf 'w%.0s' $(seq 200))
	run hook prestart <<<"$(state_json a3 "$TARGET_PID" "$HT/good" '{"io.sfagent.workload": "'"$long"'"}')"
	assert_equal "$status" 2
	run hook prestart <<<"$(state_json a4 "$TARGET_PID" "$HT/good" '{"io.sfagent.export": "ftp:x"}')"
	assert_equal "$status" 2
	assert_output --partial 'unknown export kind `ftp`'
	run hook prestart <<<"$(state_json a5 "$TARGET_PID" "$HT/good" '{"io.sfagent.export": "file,"}')"
	assert_equal "$status" 2
	assert_output --partial "empty entry"
	run hook prestart <<<"$(state_json a6 "$TARGET_PID" "$HT/good" '{"io.sfagent.export": "file:"}')"
	assert_equal "$status" 2
	mnt=$(awk '$(NF-2) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	run python3 -c 'import os,sys; print(os.listxattr(sys.argv[1]))' "$mnt/sfh-target"
	refute_output --partial "sfagent"
}

@test "path traversal in io.sfagent.export is refused by the hook: exit 2" {
	for bad in "file:../escape" "file:/etc/passwd" "file:.." "file:a/b" \
		"file:.hidden" "file:..\\\\x" "file,file:../../x"; do
		run hook prestart <<<"$(state_json trav "$TARGET_PID" "$HT/good" '{"io.sfagent.export": "'"$bad"'"}')"
		assert_equal "$status" 2
		assert_output --partial "must be a plain name inside the agent's output directory"
		assert_one_line
	done
	[ ! -e "$HT/escape" ] && [ ! -e "$HT/x" ]
}

@test "path traversal sent straight to the agent is refused there too" {
	mnt=$(awk '$(NF-2) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	cgid=$(stat -c %i "$mnt/sfh-target")
	req='{"v":1,"op":"register","container_id":"sfh-target","pid":'"$TARGET_PID"',"cgroup_id":'"$cgid"',"cgroup_path":"/sfh-target","bundle":"'"$HT/sfh-target"'","workload":"t","export":"file:../escape.jsonl"}'
	run raw_request "$req"
	assert_output --partial '"op":"error"'
	assert_output --partial "plain name"
	[ ! -e "$HT/escape.jsonl" ]
	# a cgroup id that does not match the path is refused
	req='{"v":1,"op":"register","container_id":"sfh-target","pid":1,"cgroup_id":1,"cgroup_path":"/sfh-target","bundle":"/x","workload":"t"}'
	run raw_request "$req"
	assert_output --partial "does not have id 1"
	req='{"v":1,"op":"register","container_id":"sfh-target","pid":1,"cgroup_id":1,"cgroup_path":"/../x","bundle":"/x","workload":"t"}'
	run raw_request "$req"
	assert_output --partial "clean absolute path"
}

@test "a workload name with slashes still lands inside the output directory" {
	make_bundle "$HT/bslash" '["/bin/true"]' '{"io.sfagent.workload": "../../escape"}'
	run run_container sfh-slash1 "$HT/bslash"
	assert_success
	[ ! -e "$HT/escape.jsonl" ] && [ ! -e "$(dirname "$HT")/escape.jsonl" ]
	assert_stream "$OUT/_._.._escape.sfh-slash1.jsonl" 'ev[0]["workload"] == "../../escape"'
}

@test "agent socket missing: fail open starts with one warning, fail closed exits 1" {
	run timeout 20 "$SFHOOK" --socket "$HT/absent.sock" prestart <<<"$(state_json m1 "$TARGET_PID" "$HT/good")"
	assert_success
	assert_output --partial "warning: container \`m1\` is not tracked"
	assert_output --partial "is \`sfagent -D\` running?"
	assert_one_line
	run timeout 20 "$SFHOOK" --socket "$HT/absent.sock" prestart <<<"$(state_json m2 "$TARGET_PID" "$HT/good" '{"io.sfagent.fail": "closed"}')"
	assert_equal "$status" 1
	assert_output --partial "(io.sfagent.fail=closed)"
	assert_one_line
}

start_hanging_agent() {
	rm -f "$HT/hang.sock"
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(8)
held = []
while True:
    held.append(s.accept()[0])   # accept, read nothing, answer nothing
' "$HT/hang.sock" &
	HANG_PID=$!
	wait_for "hanging socket" 10 test -S "$HT/hang.sock"
}

@test "agent hanging: the hook's timeout fires; open starts, closed refuses" {
	start_hanging_agent
	run timeout 20 "$SFHOOK" --socket "$HT/hang.sock" --timeout 500 prestart <<<"$(state_json sfh-h1 "$TARGET_PID" "$HT/good")"
	assert_success
	assert_output --partial "did not answer within 500 ms"
	assert_one_line
	run timeout 20 "$SFHOOK" --socket "$HT/hang.sock" --timeout 500 prestart <<<"$(state_json h2 "$TARGET_PID" "$HT/good" '{"io.sfagent.fail": "closed"}')"
	assert_equal "$status" 1
	assert_output --partial "did not answer within 500 ms"
}

@test "agent hanging under runc: default timeout, fail-closed container never starts" {
	start_hanging_agent
	mkdir -p "$HT/bhang"
	make_plain_bundle "$HT/bhang" '["/bin/sh", "-c", "echo started"]'
	jq '.annotations = {"io.sfagent.fail": "closed"}' "$HT/bhang/config.json" >"$HT/bhang/c" && mv "$HT/bhang/c" "$HT/bhang/config.json"
	"$SFAGENT" --inject-hook "$HT/bhang" --hook-path "$SFHOOK" --socket "$HT/hang.sock" >/dev/null
	run run_container sfh-hang-closed "$HT/bhang"
	assert_failure
	refute_output --partial "started"
	assert_output --partial "did not answer within 2000 ms"
	[ -z "$(state_of sfh-hang-closed)" ] || runc --root "$RUNC_ROOT" delete -f sfh-hang-closed
	jq '.annotations = {}' "$HT/bhang/config.json" >"$HT/bhang/c" && mv "$HT/bhang/c" "$HT/bhang/config.json"
	run run_container sfh-hang-open "$HT/bhang"
	assert_success
	assert_output --partial "started"
}

@test "a planted symlink as file:NAME: the default file instead, nothing written outside" {
	# the agent opens output files with O_NOFOLLOW: a planted symlink is
	# refused, and the stream goes to the default file (tests/26-hostile.bats
	# has the refusals that fail a container)
	ln -s "$HT/outside-target" "$OUT/planted.jsonl"
	make_bundle "$HT/bplant" '["/bin/sh", "-c", "echo started"]' \
		'{"io.sfagent.export": "file:planted.jsonl", "io.sfagent.fail": "closed", "io.sfagent.workload": "planted-w"}'
	run run_container sfh-planted1 "$HT/bplant"
	assert_success
	assert_output "started"
	[ ! -e "$HT/outside-target" ]
	assert_stream "$(pod_file planted-w sfh-planted1)" 'ev[0]["container"] == "sfh-planted1"' \
		'"cannot be served" in ev[0]["meta"]["export_notes"][0]'
}

@test "bad options and stages: exit 2" {
	run hook poststart <<<'{"id": "x", "status": "running"}'
	assert_equal "$status" 2
	assert_output --partial 'stage `poststart` is not handled'
	run hook <<<'{"id": "x", "status": "running"}'
	assert_equal "$status" 2
	assert_output --partial "does not tell one"
	run "$SFHOOK" --bogus
	assert_equal "$status" 2
	assert_output --partial "unknown option"
	run "$SFHOOK" --timeout 0
	assert_equal "$status" 2
	assert_output --partial "bad --timeout"
	# an unknown stage is named before stdin is read (empty here)
	run "$SFHOOK" bogus </dev/null
	assert_equal "$status" 2
	assert_output 'sfhook: stage `bogus` is not handled: configure sfhook for prestart (or createRuntime) and poststop'
	run "$SFHOOK" prestart extra </dev/null
	assert_equal "$status" 2
	assert_output --partial 'unexpected argument `extra`'
	run "$SFHOOK" prestart -- --socket </dev/null
	assert_equal "$status" 2
	assert_output --partial 'unexpected argument `--socket`'
	run "$SFHOOK" --help
	assert_output --partial "at most 60000"
}

@test "options after the stage (GNU order): prestart --socket PATH registers the container" {
	make_bundle "$HT/bgnu" '["/bin/true"]' '{"io.sfagent.workload": "gnu", "io.sfagent.fail": "closed"}'
	# the stage first, then the options, as runc users write config.json
	jq '(.hooks.prestart[], .hooks.poststop[]) |= (.args |= [.[0], .[-1]] + .[1:-1])' \
		"$HT/bgnu/config.json" >"$HT/bgnu/c.tmp" && mv "$HT/bgnu/c.tmp" "$HT/bgnu/config.json"
	run jq -r '.hooks.prestart[0].args | "\(.[1]) \(.[-2])"' "$HT/bgnu/config.json"
	assert_output "prestart --socket"
	run run_container sfh-gnu1 "$HT/bgnu"
	assert_success
	assert_stream "$(pod_file gnu sfh-gnu1)" 'by("process.exec")[0]["filename"] == "/bin/true"' \
		'ev[-1]["type"] == "stream.end"'
}

@test "after all that the agent is alive and serves a container" {
	kill -0 "$AGENT_PID"
	make_bundle "$HT/bfinal" '["/bin/true"]' '{"io.sfagent.workload": "final"}'
	run run_container sfh-final1 "$HT/bfinal"
	assert_success
	assert_stream "$(pod_file final sfh-final1)" 'by("process.exec")[0]["filename"] == "/bin/true"' \
		'ev[-1]["type"] == "stream.end"'
}

@test "stdin that never ends: the hook gives up after its timeout, exit 2" {
	# a writer that keeps stdin open and says nothing
	mkfifo "$HT/stdin.fifo"
	sleep 20 >"$HT/stdin.fifo" &
	writer=$!
	run timeout 15 "$SFHOOK" --socket "$SOCK" --timeout 300 prestart <"$HT/stdin.fifo"
	kill $writer
	wait $writer || true
	assert_equal "$status" 2
	assert_output --partial "did not end within 300 ms"
}
