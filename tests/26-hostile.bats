#!/usr/bin/env bats
# The tenant being watched is hostile: every annotation, name, path and byte a
# container controls.  It can neither opt out of monitoring (the fail policy
# is the operator's; an export the agent cannot serve falls back to the
# default file), nor break the parsers (depth, NUL, surrogates, duplicate
# keys), nor starve the agent's socket.  Real runc containers, a real
# `sfagent -D`.

load test_helper
load hook_helper

setup_file() {
	hook_suite_setup
	start_daemon
	make_bundle "$HT/good" '["/bin/true"]'
	# a live container process with a cgroup of its own, never started
	make_plain_bundle "$HT/sfx-target" '["/bin/true"]'
	(cd "$HT/sfx-target" && runc --root "$RUNC_ROOT" create sfx-target </dev/null)
	TARGET_PID=$(runc --root "$RUNC_ROOT" state sfx-target | jq .pid)
	CG_MNT=$(awk '$(NF-2) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	export TARGET_PID CG_MNT
}

teardown_file() {
	[ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null
	hook_suite_teardown
}

teardown() {
	if [ -n "${EXTRA_PID:-}" ]; then
		kill -CONT "$AGENT_PID" 2>/dev/null || true
		kill "$EXTRA_PID" 2>/dev/null || true
		wait "$EXTRA_PID" 2>/dev/null || true
		EXTRA_PID=
	fi
	if [ -n "${DEEP_TOP:-}" ]; then
		find "$DEEP_TOP" -depth -type d -exec rmdir {} + 2>/dev/null || true
		DEEP_TOP=
	fi
}

hook() {
	timeout 20 "$SFHOOK" --socket "$SOCK" "$@"
}

# raw_state ID PID BUNDLE ANNOTATIONS-TEXT: the state as written, not through
# jq (which would replace a lone surrogate)
raw_state() {
	printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%s,"bundle":"%s","annotations":%s}' \
		"$1" "$2" "$3" "$4"
}

# xattr DIR NAME: the value of an xattr, empty when absent
xattr() {
	python3 -c 'import os, sys
try: print(os.getxattr(sys.argv[1], sys.argv[2]).decode())
except OSError: print("")' "$1" "$2"
}

# ---- opting out ---------------------------------------------------------

@test "operator --fail closed: a pod's io.sfagent.fail=open cannot loosen it" {
	run hook --fail closed prestart <<<"$(state_json sfx-o1 "$TARGET_PID" "$HT/good" '{"io.sfagent.fail": "open"}')"
	assert_success # the agent is there: registered
	run timeout 20 "$SFHOOK" --socket "$HT/absent.sock" --fail closed prestart \
		<<<"$(state_json sfx-o2 "$TARGET_PID" "$HT/good" '{"io.sfagent.fail": "open"}')"
	assert_equal "$status" 1
	assert_output --partial "(--fail closed)"
	assert_equal "${#lines[@]}" 1
	# the pod can make it stricter
	run timeout 20 "$SFHOOK" --socket "$HT/absent.sock" --fail open prestart \
		<<<"$(state_json sfx-o3 "$TARGET_PID" "$HT/good" '{"io.sfagent.fail": "closed"}')"
	assert_equal "$status" 1
	assert_output --partial "(io.sfagent.fail=closed)"
	run timeout 20 "$SFHOOK" --fail sideways prestart </dev/null
	assert_equal "$status" 2
	assert_output --partial "bad --fail"
	run hook poststop <<<'{"id": "sfx-o1", "status": "stopped"}'
	assert_success
}

@test "runc: --fail closed in the hook's args, pod says open, agent absent: the container never starts" {
	make_plain_bundle "$HT/bclosed" '["/bin/sh", "-c", "echo started"]'
	jq --arg h "$SFHOOK" --arg s "$HT/absent.sock" '.annotations = {"io.sfagent.fail": "open"} |
		.hooks = {prestart: [{path: $h, args: ["sfhook", "--socket", $s, "--fail", "closed", "prestart"], timeout: 10}]}' \
		"$HT/bclosed/config.json" >"$HT/c" && mv "$HT/c" "$HT/bclosed/config.json"
	run run_container sfx-closed "$HT/bclosed"
	assert_failure
	refute_output --partial "started"
	assert_output --partial "(--fail closed)"
	[ -z "$(state_of sfx-closed)" ] || runc --root "$RUNC_ROOT" delete -f sfx-closed
}

@test "mqtt and http exports the agent cannot serve: watched in the default file, with a note" {
	make_bundle "$HT/bmq" '["/bin/sh", "-c", "cat /etc/group >/dev/null"]' \
		'{"io.sfagent.export": "mqtt:x,http", "io.sfagent.workload": "sfx-mq", "io.sfagent.fail": "closed"}'
	run run_container sfx-mq1 "$HT/bmq"
	assert_success
	f=$(pod_file sfx-mq sfx-mq1)
	assert_stream "$f" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'len(ev[0]["meta"]["export_notes"]) == 2' \
		'"`mqtt:x` cannot be served" in ev[0]["meta"]["export_notes"][0] and "no broker" in ev[0]["meta"]["export_notes"][0]' \
		'"`http` cannot be served" in ev[0]["meta"]["export_notes"][1] and "no collector" in ev[0]["meta"]["export_notes"][1]' \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'one("file.open", path="/etc/group") is not None'
	grep -q "warning: container \`sfx-mq1\`: export \`mqtt:x\` cannot be served" "$HT/agent.log"
}

@test "file:NAME on a planted symlink, FIFO, hard link or in-use name: the default file, nothing written through" {
	ln -s "$HT/outside-target" "$OUT/planted-link.jsonl"
	mkfifo "$OUT/planted-fifo.jsonl"
	echo keep >"$HT/victim"
	ln "$HT/victim" "$OUT/planted-hard.jsonl"
	for kind in link fifo hard; do
		make_bundle "$HT/bp-$kind" '["/bin/true"]' \
			'{"io.sfagent.export": "file:planted-'"$kind"'.jsonl", "io.sfagent.workload": "sfx-p-'"$kind"'", "io.sfagent.fail": "closed"}'
		run run_container "sfx-p-$kind" "$HT/bp-$kind"
		assert_success
		assert_stream "$OUT/sfx-p-$kind.jsonl" \
			'"`file:planted-'"$kind"'.jsonl` cannot be served" in ev[0]["meta"]["export_notes"][0]' \
			'by("process.exec")[0]["filename"] == "/bin/true"' \
			'ev[-1]["type"] == "stream.end"'
	done
	[ ! -e "$HT/outside-target" ]
	[ "$(cat "$HT/victim")" = keep ]
	grep -q "has 2 hard links" "$HT/agent.log"
	# in use by a running container's stream
	make_bundle "$HT/buse" '["/bin/sh", "-c", "sleep 2"]' \
		'{"io.sfagent.export": "file:inuse.jsonl", "io.sfagent.workload": "sfx-use"}'
	run_container sfx-use1 "$HT/buse" &
	p=$!
	wait_for "first stream" 30 test -s "$OUT/inuse.jsonl"
	run run_container sfx-use2 "$HT/buse"
	assert_success
	wait $p
	assert_stream "$OUT/inuse.jsonl" 'all(e["container"] == "sfx-use1" for e in ev)'
	assert_stream "$(pod_file sfx-use sfx-use2)" 'all(e["container"] == "sfx-use2" for e in ev)' \
		'"is in use" in ev[0]["meta"]["export_notes"][0]'
}

@test "file:NAME of another stream's file: a pod cannot append to it once that stream stopped; the stream's own later runs can" {
	# named by the runtime (Kubernetes keys as containerd sets them)
	make_bundle "$HT/bown" '["/bin/true"]' \
		"$(k8s_ann sfx-own '"io.sfagent.export": "file:owned.jsonl", "io.sfagent.fail": "closed"')"
	run run_container sfx-own1 "$HT/bown"
	assert_success
	run run_container sfx-own2 "$HT/bown"
	assert_success
	assert_stream "$OUT/owned.jsonl" 'len(by("stream.start")) == 2' \
		'set(e["container"] for e in ev) == {"sfx-own1", "sfx-own2"}'
	[ "$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.sfagent.stream").decode())' "$OUT/owned.jsonl")" = sfx-own ]
	# a pod asserting the same workload name and naming that file
	make_bundle "$HT/bimp" '["/bin/true"]' \
		'{"io.sfagent.export": "file:owned.jsonl", "io.sfagent.workload": "sfx-own", "io.sfagent.fail": "closed"}'
	run run_container sfx-imp "$HT/bimp"
	assert_success
	assert_stream "$OUT/owned.jsonl" 'len(by("stream.start")) == 2' \
		'all(e["container"] != "sfx-imp" for e in ev)'
	assert_stream "$(pod_file sfx-own sfx-imp)" \
		'"`file:owned.jsonl` cannot be served" in ev[0]["meta"]["export_notes"][0]' \
		'by("process.exec")[0]["filename"] == "/bin/true"' 'ev[-1]["type"] == "stream.end"'
	grep -q "owned.jsonl.* belongs to another stream" "$HT/agent.log"
	# a file nobody marked (put there by hand) is nobody's: not appended to
	echo '{"planted": true}' >"$OUT/unmarked.jsonl"
	make_bundle "$HT/bun" '["/bin/true"]' \
		"$(k8s_ann sfx-un '"io.sfagent.export": "file:unmarked.jsonl", "io.sfagent.fail": "closed"')"
	run run_container sfx-un1 "$HT/bun"
	assert_success
	[ "$(cat "$OUT/unmarked.jsonl")" = '{"planted": true}' ]
	assert_stream "$OUT/sfx-un.jsonl" \
		'"`file:unmarked.jsonl` cannot be served" in ev[0]["meta"]["export_notes"][0]'
}

@test "a 128-character workload in cadets whose file exists: tracked again, under a name that fits" {
	w=$(printf 'w%.0s' $(seq 128))
	make_bundle "$HT/bcad" '["/bin/true"]' \
		'{"io.sfagent.workload": "'"$w"'", "io.sfagent.format": "cadets", "io.sfagent.fail": "closed"}'
	# a 64-byte id: workload.id.epoch.json was 209 bytes
	id=sfx-cadets-$(printf 'c%.0s' $(seq 53))
	run run_container "$id" "$HT/bcad"
	assert_success
	run run_container "$id" "$HT/bcad"
	assert_success
	[ "$(ls "$OUT" | grep -c "^wwww.*\.$id\.")" -eq 2 ]
}

@test "a registration the agent refuses (cgroup 16 levels deep) fails closed, and open starts untagged" {
	DEEP_TOP="$CG_MNT/sfx-deep"
	d="$DEEP_TOP"
	for i in $(seq 2 16); do d="$d/l$i"; done
	mkdir -p "$d"
	sleep 30 &
	EXTRA_PID=$!
	echo "$EXTRA_PID" >"$d/cgroup.procs"
	run hook --fail closed prestart <<<"$(state_json sfx-deep1 "$EXTRA_PID" "$HT/good")"
	assert_equal "$status" 1
	assert_output --partial "is 16 levels deep: the agent tracks cgroups up to level 15"
	run hook prestart <<<"$(state_json sfx-deep2 "$EXTRA_PID" "$HT/good")"
	assert_success
	assert_output --partial "warning: container \`sfx-deep2\` is not tracked"
	# runtimes hide a hook's stderr when it exits 0: the agent says it too
	grep -q "container \`sfx-deep2\` not registered: .* levels deep.*; it starts untracked if its hook is fail-open (the default)" "$HT/agent.log"
	[ -z "$(xattr "$d" trusted.sfagent.container)" ]
	# one level less is tracked
	echo "$EXTRA_PID" >"$(dirname "$d")/cgroup.procs"
	run hook --fail closed prestart <<<"$(state_json sfx-deep3 "$EXTRA_PID" "$HT/good")"
	assert_success
	run hook poststop <<<'{"id": "sfx-deep3", "status": "stopped"}'
	kill "$EXTRA_PID"
	wait "$EXTRA_PID" || true
	EXTRA_PID=
}

@test "a refused registration leaves a live container's tags alone" {
	make_bundle "$HT/blive" '["/bin/true"]' '{"io.sfagent.workload": "sfx-live"}'
	(cd "$HT/blive" && runc --root "$RUNC_ROOT" create sfx-live </dev/null)
	live_pid=$(runc --root "$RUNC_ROOT" state sfx-live | jq .pid)
	dir="$CG_MNT/sfx-live"
	[ "$(xattr "$dir" trusted.sfagent.container)" = sfx-live ]
	# another id for the same process: the agent refuses (already tracked)
	run hook prestart <<<"$(state_json sfx-intruder "$live_pid" "$HT/good" '{"io.sfagent.workload": "intruder"}')"
	assert_success
	assert_output --partial "already tracked for container \`sfx-live\`"
	[ "$(xattr "$dir" trusted.sfagent.container)" = sfx-live ]
	[ "$(xattr "$dir" trusted.sfagent.workload)" = sfx-live ]
	xattr "$dir" trusted.sfagent.register | grep -q '"container_id":"sfx-live"'
	runc --root "$RUNC_ROOT" delete -f sfx-live
}

@test "60 KiB of process args: the container starts, args truncated with a flag" {
	big=$(head -c 61440 /dev/zero | tr '\0' a)
	make_bundle "$HT/bbig" '["/bin/sh", "-c", "true", "'"$big"'"]' \
		'{"io.sfagent.workload": "sfx-bigargs", "io.sfagent.fail": "closed"}'
	run run_container sfx-bigargs1 "$HT/bbig"
	assert_success
	assert_stream "$(pod_file sfx-bigargs sfx-bigargs1)" \
		'ev[0]["meta"]["args_truncated"] is True' \
		'ev[0]["meta"]["args"][:3] == ["/bin/sh", "-c", "true"]' \
		'len("".join(ev[0]["meta"]["args"])) <= 16384' \
		'by("process.exec")[0]["filename"] == "/bin/sh"'
}

# ---- parsers and the wire -------------------------------------------------

@test "wire: \\u0000 in a string is refused, not cut short" {
	run raw_request '{"v":1,"op":"unregister","container_id":"ab\u0000/../x"}'
	assert_output --partial '"op":"error"'
	assert_output --partial 'NUL character'
}

@test "annotations: duplicate keys and lone surrogates are refused (exit 2), consistently with the agent" {
	run hook prestart <<<"$(raw_state sfx-dup "$TARGET_PID" "$HT/good" '{"io.sfagent.export":"file","io.sfagent.export":"mqtt"}')"
	assert_equal "$status" 2
	assert_output --partial 'has the key `io.sfagent.export` twice'
	run hook prestart <<<"$(raw_state sfx-sur "$TARGET_PID" "$HT/good" '{"k": "a\udc00b"}')"
	assert_equal "$status" 2
	assert_output --partial "lone UTF-16 surrogate"
	run hook prestart <<<"$(raw_state sfx-sur2 "$TARGET_PID" "$HT/good" '{"k": "a\ud800b"}')"
	assert_equal "$status" 2
	assert_output --partial "lone UTF-16 surrogate"
	# raw bytes that are not UTF-8 (an overlong form yajl lets through,
	# found by tests/fuzz/fuzz_oci)
	run hook prestart <<<"$(raw_state sfx-ovl "$TARGET_PID" "$HT/good" "$(printf '{"k": "a\301\226b"}')")"
	assert_equal "$status" 2
	assert_output --partial "bytes that are not UTF-8"
	# the agent refuses the same
	run raw_request '{"v":1,"op":"unregister","container_id":"x","container_id":"y"}'
	assert_output --partial 'twice'
	run raw_request '{"v":1,"op":"unregister","container_id":"x\udc00"}'
	assert_output --partial 'lone UTF-16 surrogate'
	# a pair is fine
	run hook prestart <<<"$(raw_state sfx-pair "$TARGET_PID" "$HT/good" '{"k": "\ud83d\ude00"}')"
	assert_success
	run hook poststop <<<'{"id": "sfx-pair", "status": "stopped"}'
}

@test "deeply nested config.json: exit 2, no crash; --inject-hook leaves the file unchanged" {
	mkdir -p "$HT/bdeep"
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
c["x"] = json.loads("[" * 200 + "]" * 200)
json.dump(c, open(sys.argv[2], "w"))' "$HT/good/config.json" "$HT/bdeep/config.json"
	run hook prestart <<<"$(state_json sfx-deepj "$TARGET_PID" "$HT/bdeep")"
	assert_equal "$status" 2
	assert_output --partial "nested deeper than 64 levels"
	cp "$HT/bdeep/config.json" "$HT/deep.orig"
	run "$SFAGENT" --inject-hook "$HT/bdeep" --hook-path /x/sfhook
	assert_equal "$status" 2
	assert_output --partial "nested deeper than 64 levels"
	cmp "$HT/bdeep/config.json" "$HT/deep.orig"
	[ "$(ls "$HT/bdeep")" = config.json ]
	# 4 MiB of nesting: a message, not a stack overflow
	mkdir -p "$HT/bdeep4"
	python3 -c 'import sys; sys.stdout.write("[" * (4 * 1024 * 1024 - 2))' >"$HT/bdeep4/config.json"
	run hook prestart <<<"$(state_json sfx-deep4 "$TARGET_PID" "$HT/bdeep4")"
	assert_equal "$status" 2
	assert_output --partial "nested deeper"
	# the same limit on stdin and on the wire
	run hook prestart <<<"$(python3 -c 'print("{\"id\":\"x\",\"a\":" + "[" * 100 + "]" * 100 + "}")')"
	assert_equal "$status" 2
	assert_output --partial "nested deeper"
	run raw_request "$(python3 -c 'print("{\"v\":1,\"op\":\"unregister\",\"container_id\":\"x\",\"m\":" + "[" * 100 + "]" * 100 + "}")')"
	assert_output --partial "nested deeper"
}

@test "an annotation value with a newline gives a one-line error" {
	run hook prestart <<<"$(state_json sfx-nl "$TARGET_PID" "$HT/good" '{"io.sfagent.format": "json\nsfhook: forged second line"}')"
	assert_equal "$status" 2
	assert_equal "${#lines[@]}" 1
	assert_output --partial 'json\nsfhook: forged'
}

@test "output directory: group/other-writable or not root's is refused with the fix" {
	mkdir -m 0777 "$HT/out-open"
	chmod 0777 "$HT/out-open"
	run timeout 10 "$SFAGENT" -D --socket "$HT/od.sock" --output-dir "$HT/out-open"
	assert_equal "$status" 2
	assert_output --partial "chmod go-w $HT/out-open"
	mkdir -m 0750 "$HT/out-nobody"
	chown 65534 "$HT/out-nobody"
	run timeout 10 "$SFAGENT" -D --socket "$HT/od.sock" --output-dir "$HT/out-nobody"
	assert_equal "$status" 2
	assert_output --partial "owned by uid 65534"
	assert_output --partial "chown root"
}

@test "a non-root peer's REGISTER is refused unparsed; nothing registered" {
	chmod 0755 "$HT"
	chmod 0666 "$SOCK"
	msg=$(jq -cn --arg b "$HT/good" --argjson pid "$TARGET_PID" \
		'{v: 1, op: "register", container_id: "sfx-nobody", pid: $pid, cgroup_id: 1,
		  cgroup_path: "/sfx-target", bundle: $b, workload: "sfx-nobody"}')
	run setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(10)
s.connect(sys.argv[1])
s.send(sys.argv[2].encode())
print(s.recv(65536).decode())' "$SOCK" "$msg"
	chmod 0600 "$SOCK"
	chmod 0700 "$HT"
	assert_success
	assert_output --partial "permission denied: only root"
	run ls "$OUT"
	refute_output --partial sfx-nobody
	grep -q "refused a client with uid 65534" "$HT/agent.log"
}

@test "hundreds of idle root connections: a fail-closed hook still gets through" {
	python3 -c '
import os, socket, sys, time
# 40 processes x 8 connections: more than the agent table holds
for i in range(40):
    if os.fork() == 0:
        held = []
        for j in range(8):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.connect(sys.argv[1]); held.append(s)
            except OSError:
                pass
        time.sleep(6)
        os._exit(0)
# and one process that tries to hold 256 by itself
held = []
for j in range(256):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1]); held.append(s)
time.sleep(6)
for i in range(40):
    os.wait()
' "$SOCK" &
	HOLD_PID=$!
	sleep 1.5
	run hook --fail closed --timeout 3000 prestart <<<"$(state_json sfx-busy "$TARGET_PID" "$HT/good")"
	assert_success
	run hook --fail closed --timeout 3000 poststop <<<'{"id": "sfx-busy", "status": "stopped"}'
	assert_success
	wait "$HOLD_PID" || true
	HOLD_PID=
	grep -q "dropped an idle client" "$HT/agent.log"
}

# ---- cgroups --------------------------------------------------------------

@test "an agent inside a cgroup namespace still refuses its own cgroup" {
	mkdir -p "$CG_MNT/sfx-selfns"
	DEEP_TOP="$CG_MNT/sfx-selfns"
	sh -c 'echo $$ >"$1/cgroup.procs"; exec unshare -C "$2" -D --socket "$3" --output-dir "$4" -v' \
		sh "$CG_MNT/sfx-selfns" "$SFAGENT" "$HT/ns.sock" "$HT/ns-out" 2>"$HT/ns.log" &
	EXTRA_PID=$!
	wait_for "namespaced agent" 30 grep -q "listening on" "$HT/ns.log"
	grep -q "reads as \`/\` inside its cgroup namespace" "$HT/ns.log"
	id=$(stat -c %i "$CG_MNT/sfx-selfns")
	msg=$(jq -cn --arg b "$HT/good" --argjson pid "$EXTRA_PID" --argjson id "$id" \
		'{v: 1, op: "register", container_id: "sfx-selfns", pid: $pid, cgroup_id: $id,
		  cgroup_path: "/sfx-selfns", bundle: $b, workload: "sfx-selfns"}')
	SOCK="$HT/ns.sock" run raw_request "$msg"
	assert_output --partial "holds the agent itself"
	kill "$EXTRA_PID"
	wait "$EXTRA_PID" || true
	EXTRA_PID=
}

# ---- the first instruction ------------------------------------------------

@test "ordering: the agent frozen while a fail-closed container starts; nothing runs before the ACK" {
	make_bundle "$HT/bord" '["/bin/sh", "-c", "echo started"]' \
		'{"io.sfagent.workload": "sfx-ord", "io.sfagent.fail": "closed"}'
	kill -STOP "$AGENT_PID"
	run_container sfx-ord1 "$HT/bord" >"$HT/ord.out" 2>&1 &
	EXTRA_PID=$!
	sleep 1.5
	# a hook that returned without the agent's answer would have let it run
	[ "$(state_of sfx-ord1)" != running ]
	[ "$(state_of sfx-ord1)" != stopped ]
	run grep -c started "$HT/ord.out"
	assert_output 0
	kill -CONT "$AGENT_PID"
	wait "$EXTRA_PID"
	EXTRA_PID=
	grep -q started "$HT/ord.out"
	assert_stream "$(pod_file sfx-ord sfx-ord1)" \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'ev[-1]["type"] == "stream.end"'
}

@test "ordering: a test-only delay before the map update; the first exec is still streamed" {
	# SFAGENT_TEST_TRACK_DELAY_MS is a test knob: the agent waits that long
	# before it puts the cgroup into the BPF map.  An agent that sent its
	# ACK before the map update would let the container run in that window
	# and lose its first exec, every time.
	SFAGENT_TEST_TRACK_DELAY_MS=700 "$SFAGENT" -D --socket "$HT/slow.sock" \
		--output-dir "$HT/slow-out" -v 2>"$HT/slow.log" &
	EXTRA_PID=$!
	wait_for "slow agent" 30 grep -q "listening on" "$HT/slow.log"
	make_plain_bundle "$HT/bslow" '["/bin/sh", "-c", "echo started"]'
	jq '.annotations = {"io.sfagent.workload": "sfx-slow", "io.sfagent.fail": "closed"}' \
		"$HT/bslow/config.json" >"$HT/c" && mv "$HT/c" "$HT/bslow/config.json"
	"$SFAGENT" --inject-hook "$HT/bslow" --hook-path "$SFHOOK" --socket "$HT/slow.sock" >/dev/null
	hook_timeout "$HT/bslow" 10000
	t0=$(date +%s%N)
	run run_container sfx-slow1 "$HT/bslow"
	t1=$(date +%s%N)
	assert_success
	assert_output --partial started
	[ $(((t1 - t0) / 1000000)) -ge 700 ]
	assert_stream "$HT/slow-out/sfx-slow.sfx-slow1.jsonl" \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'ev[-1]["type"] == "stream.end"'
	kill "$EXTRA_PID"
	wait "$EXTRA_PID" || true
	EXTRA_PID=
}

# late_bundle DIR NAME POLICY: a container named NAME by the runtime
# (Kubernetes keys), its hooks on the late agent with --timeout 300 and
# --fail POLICY
late_bundle() {
	make_plain_bundle "$1" '["/bin/sh", "-c", "sleep 2; cat /etc/group >/dev/null; echo ran"]'
	jq --arg h "$SFHOOK" --arg s "$HT/late.sock" --arg f "$3" --argjson ann "$(k8s_ann "$2")" '
		.annotations = $ann |
		.hooks = {prestart: [{path: $h, args: ["sfhook", "--socket", $s, "--timeout", "300", "--fail", $f, "prestart"], timeout: 5}],
			  poststop: [{path: $h, args: ["sfhook", "--socket", $s, "--timeout", "5000", "poststop"], timeout: 10}]}' \
		"$1/config.json" >"$HT/c" && mv "$HT/c" "$1/config.json"
}

late_status() {
	"$SFAGENT" status --socket "$HT/late-watch.sock" --json
}

@test "a reply the hook stopped waiting for (test-only delay): logged; fail-closed never runs and its stream ends; fail-open runs, tracked after a gap, counted" {
	# SFAGENT_TEST_TRACK_DELAY_MS is a test-only knob (read once at daemon
	# start): the agent pauses 1.5 s inside the registration, before the
	# cgroup goes into the BPF map and the ACK goes out.  sfhook's
	# --timeout 300 runs out first: the one way to have a real agent answer
	# a hook that has already given up, every time.
	SFAGENT_TEST_TRACK_DELAY_MS=1500 "$SFAGENT" -D --socket "$HT/late.sock" \
		--output-dir "$HT/late-out" -v 2>"$HT/late.log" &
	EXTRA_PID=$!
	wait_for "late agent" 30 grep -q "listening on" "$HT/late.log"
	late_bundle "$HT/blc" late-closed closed
	late_bundle "$HT/blo" late-open open
	# fail-closed: the hook gives up, the container never runs
	run run_container sfx-late-c "$HT/blc"
	assert_failure
	refute_output --partial ran
	assert_output --partial "(--fail closed)"
	[ -z "$(state_of sfx-late-c)" ] || runc --root "$RUNC_ROOT" delete -f sfx-late-c
	wait_for "late reply logged" 30 grep -q "reply to register \`sfx-late-c\`: .*: its hook gave up waiting (sfhook --timeout); if fail-open, the container started before it was tracked" "$HT/late.log"
	# ... and the agent keeps no stream for it: it ends once the cgroup is gone
	wait_for "closed stream ended" 30 grep -qs '"stream.end"' "$HT/late-out/late-closed.jsonl"
	assert_stream "$HT/late-out/late-closed.jsonl" \
		'[e["type"] for e in ev if e["type"].startswith("stream.")][0] == "stream.start"' \
		'ev[-1]["type"] == "stream.end"' \
		'not [e for e in ev if e.get("comm") == "cat"]'
	gone() { late_status | jq -e '[.streams[] | select(.container == "sfx-late-c")] == []' >/dev/null; }
	wait_for "no stream left for sfx-late-c" 30 gone
	# fail-open: it starts before it is tracked; tracked from then on, the
	# gap told in its stream, the late start counted
	run run_container sfx-late-o "$HT/blo"
	assert_success
	assert_output --partial ran
	wait_for "open stream ended" 30 grep -qs '"stream.end"' "$HT/late-out/late-open.jsonl"
	assert_stream "$HT/late-out/late-open.jsonl" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'one("stream.missed", reason="hook_gave_up")["count"] == 0' \
		'ev.index(one("stream.missed", reason="hook_gave_up")) < ev.index(one("file.open", path="/etc/group"))' \
		'all(e["container"] == "sfx-late-o" for e in ev)'
	grep -q "reply to register \`sfx-late-o\`: .*: its hook gave up waiting (sfhook --timeout); if fail-open, the container started before it was tracked" "$HT/late.log"
	run late_status
	assert_success
	[ "$(echo "$output" | jq .registrations_late)" = 2 ]
	[ "$(echo "$output" | jq .registrations_refused)" = 0 ]
	kill "$EXTRA_PID"
	wait "$EXTRA_PID" || true
	EXTRA_PID=
}
