#!/usr/bin/env bats
# podman with the hooks.d file that `make install` produces: containers with
# io.sfagent.export are streamed, the others are not.  podman runs on private
# storage under the suite's temp dir, from a `podman import`ed busybox rootfs.

bats_require_minimum_version 1.5.0
load test_helper
load hook_helper
load helpers/podman

setup_file() {
	hook_suite_setup
	start_daemon
	podman_suite_setup
}

teardown_file() {
	pm rm -af >/dev/null 2>&1 || true
	hook_suite_teardown
}

@test "podman run with io.sfagent.export=file is streamed via hooks.d" {
	run pm_run --cidfile "$HT/cid1" --annotation io.sfagent.export=file \
		--annotation io.sfagent.workload=podwl \
		localhost/sfagent-busybox:test /bin/sh -c 'cat /etc/passwd >/dev/null; echo hi'
	assert_success
	assert_output "hi"
	cid=$(cat "$HT/cid1")
	# the pod chose the name: the file carries the container id
	f=$(pod_file podwl "$cid")
	# podman runs poststop from its cleanup process: give it a moment
	wait_for "stream.end" 30 stream_check "$f" 'ev[-1]["type"] == "stream.end"'
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'all(e["container"] == "'"$cid"'" for e in ev)' \
		'ev[0]["meta"]["annotations"]["io.sfagent.export"] == "file"' \
		'ev[0]["meta"]["cgroup_path"].endswith("'"$cid"'")' \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'one("file.open", path="/etc/passwd") is not None'
}

@test "podman run without the annotation is not streamed" {
	before=$(ls "$OUT" | wc -l)
	run pm_run --cidfile "$HT/cid2" localhost/sfagent-busybox:test /bin/sh -c 'cat /etc/group >/dev/null; echo plain'
	assert_success
	assert_output "plain"
	cid=$(cat "$HT/cid2")
	[ "$(ls "$OUT" | wc -l)" = "$before" ]
	run grep -rl "$cid" "$OUT"
	assert_failure
}

@test "podman: file:NAME and the container id as default workload name" {
	run pm_run --cidfile "$HT/cid3" --annotation io.sfagent.export=file:podman-named.jsonl \
		localhost/sfagent-busybox:test /bin/true
	assert_success
	cid=$(cat "$HT/cid3")
	wait_for "stream.end" 30 stream_check "$OUT/podman-named.jsonl" 'ev[-1]["type"] == "stream.end"'
	assert_stream "$OUT/podman-named.jsonl" 'ev[0]["workload"] == "'"$cid"'"' \
		'by("process.exec")[0]["filename"] == "/bin/true"' \
		'ev[-1]["type"] == "stream.end"'
}

@test "podman: an invalid annotation stops the container with the hook's message" {
	run pm_run --annotation io.sfagent.export=file:../escape.jsonl \
		localhost/sfagent-busybox:test /bin/echo started
	assert_failure
	refute_output --partial "started"
	assert_output --partial "must be a plain name"
	[ ! -e "$HT/escape.jsonl" ]
}

@test "podman: agent absent, fail open starts the container, fail closed does not" {
	HOOKS_DIR="$HT/hooks-absent" run pm_run --annotation io.sfagent.export=file \
		localhost/sfagent-busybox:test /bin/echo started-open
	assert_success
	assert_output --partial "started-open"
	# podman reports a failed OCI hook as 127
	HOOKS_DIR="$HT/hooks-absent" run -127 pm_run --annotation io.sfagent.export=file \
		--annotation io.sfagent.fail=closed localhost/sfagent-busybox:test /bin/echo started-closed
	assert_failure
	refute_output --partial "started-closed"
	assert_output --partial "io.sfagent.fail=closed"
}

@test "podman: an mqtt export the agent (no -b) cannot serve still streams the container, to the default file" {
	run pm_run --cidfile "$HT/cid-mq" --annotation io.sfagent.export=mqtt \
		--annotation io.sfagent.workload=podmq localhost/sfagent-busybox:test /bin/echo hi
	assert_success
	assert_output "hi"
	cid=$(cat "$HT/cid-mq")
	wait_for "stream.end" 30 stream_check "$(pod_file podmq "$cid")" 'ev[-1]["type"] == "stream.end"'
	assert_stream "$(pod_file podmq "$cid")" \
		'"`mqtt` cannot be served" in ev[0]["meta"]["export_notes"][0]' \
		'by("process.exec")[0]["filename"] == "/bin/echo"'
}

@test "podman: hooks.d with --fail closed, the pod says io.sfagent.fail=open, agent absent: not started" {
	grep -q '"--fail", "closed"' "$HT/dest-closed/usr/share/containers/oci/hooks.d/sfagent.json"
	HOOKS_DIR="$HT/hooks-closed" run -127 pm_run --annotation io.sfagent.export=file \
		--annotation io.sfagent.fail=open localhost/sfagent-busybox:test /bin/echo started-anyway
	assert_failure
	refute_output --partial "started-anyway"
	assert_output --partial "(--fail closed)"
}
