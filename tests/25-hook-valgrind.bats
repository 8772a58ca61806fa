#!/usr/bin/env bats
# The daemon under valgrind: container churn, bad requests, a restart that
# resumes a running container.  valgrind makes the agent slow, so the hooks
# here get a long timeout and fail closed (a missed registration is an error,
# not a silent fail-open).

load test_helper
load hook_helper

setup() {
	hook_suite_setup
}

teardown() {
	[ -n "${VG_PID:-}" ] && kill "$VG_PID" 2>/dev/null && wait "$VG_PID" 2>/dev/null
	hook_suite_teardown
}

# slow_hook BUNDLE: sfhook waits up to 30 s for the agent (runtime: 60 s)
slow_hook() {
	hook_timeout "$1" 30000
}

quiet() {
	"$@" >/dev/null 2>&1
}

@test "valgrind: the daemon through container churn, bad requests and a restart frees everything" {
	vgd() {
		valgrind --suppressions="$SF_TOP/tests/valgrind.supp" --leak-check=full \
			--show-leak-kinds=definite,indirect \
			--errors-for-leak-kinds=definite,indirect --error-exitcode=99 -q \
			"$SFAGENT" -D --socket "$SOCK" --output-dir "$OUT" 2>>"$HT/vg.log" &
		VG_PID=$!
		wait_for "agent under valgrind" 120 test -S "$SOCK"
	}
	vgd
	make_bundle "$HT/bvg" '["/bin/sh", "-c", "cat /etc/passwd >/dev/null"]' \
		'{"io.sfagent.export": "file,file:vg-copy.jsonl", "io.sfagent.fail": "closed"}'
	slow_hook "$HT/bvg"
	for i in 1 2 3 4 5; do
		run_container "sfh-vg-$i" "$HT/bvg" >/dev/null || fail "container sfh-vg-$i"
	done
	raw_request 'not json' >/dev/null
	raw_request '{"v":1,"op":"register","container_id":"x","pid":1,"cgroup_id":1,"cgroup_path":"/nope","bundle":"/b","workload":"w"}' >/dev/null
	make_bundle "$HT/bvgl" '["/bin/sleep", "60"]' \
		'{"io.sfagent.workload": "vg-long", "io.sfagent.fail": "closed"}'
	slow_hook "$HT/bvgl"
	(cd "$HT/bvgl" && runc --root "$RUNC_ROOT" run -d sfh-vg-long </dev/null >/dev/null 2>&1)
	assert_stream "$(pod_file vg-long sfh-vg-long)" 'len(by("stream.start")) == 1'
	kill -TERM $VG_PID
	rc=0
	wait $VG_PID || rc=$?
	[ "$rc" = 0 ] || { cat "$HT/vg.log"; false; }
	# again, resuming the running container on start
	vgd
	wait_for "resumed" 120 quiet stream_check "$(pod_file vg-long sfh-vg-long)" 'len(by("stream.start")) == 2'
	stop_container sfh-vg-long
	runc --root "$RUNC_ROOT" delete sfh-vg-long
	kill -TERM $VG_PID
	rc=0
	wait $VG_PID || rc=$?
	[ "$rc" = 0 ] || { cat "$HT/vg.log"; false; }
	VG_PID=
	run grep -v "unhandled eBPF" "$HT/vg.log"
	refute_output --partial "definitely lost"
	refute_output --partial "Invalid"
	assert_stream "$(pod_file vg-long sfh-vg-long)" 'ev[-1]["type"] == "stream.end"'
}
