#!/usr/bin/env bats
# `make demo` (tests/demo.sh): the sample bundle through the hook path
# (sfagent -D + runc + sfhook), summarised.

load test_helper

@test "tests/demo.sh runs shell-demo through sfhook and sfagent -D and summarises its stream" {
	if [ ! -x "$SF_TOP/bundles/shell-demo/rootfs/bin/busybox" ]; then
		echo "bundles/shell-demo has no rootfs: run 'make bundles'" >&2
		return 1
	fi
	run timeout 120 "$SF_TOP/tests/demo.sh"
	assert_success
	# the container's own output passes through
	assert_line "hello from shell-demo"
	assert_line --regexp "^Stream build/demo/streams/shell-demo.sfdemo.jsonl: [0-9]+ records, workload 'shell-demo', container sfdemo$"
	assert_line --regexp "^  stream.end: [0-9]+ events, 0 missed; container exit status 0$"
	assert_line "Events by type:"
	# counts by type, each matching the stream
	f="$SF_TOP/build/demo/streams/shell-demo.sfdemo.jsonl"
	for t in process.exec process.fork process.exit file.open file.rename \
		file.symlink net.connect net.listen; do
		n="$(grep -c "\"type\":\"$t\"" "$f")"
		[ "$n" -gt 0 ]
		assert_line --regexp "^  ${t//./\\.} +$n$"
	done
	# the first events in one-line form, from the workload's first exec on
	assert_line --regexp "^First events from the container's process on \([0-9]+ events of runc's own container setup came before\):$"
	assert_line --regexp "^ +[0-9]+  process\.exec +sh +/bin/sh /workload\.sh = 0$"
	assert_line --regexp "^ +[0-9]+  file\.open +sh +/workload\.sh = [0-9]+$"
	# where the log is, and what to try next
	assert_line "  the agent's log: build/demo/agent.log"
	assert_line "What next:"
	assert_output --partial "build/sfagent -w shell-demo -B bundles -o -"
	[ -s "$SF_TOP/build/demo/agent.log" ]
	assert_seq_no_gaps "$f"
}

@test "the demo's printed commands replay as written, from the top of the tree" {
	run timeout 120 "$SF_TOP/tests/demo.sh"
	assert_success
	# the "$ " lines, as printed; the agent's pid in the last one is this
	# run's, so the replay stops its own agent (%1, as the demo says)
	printf '%s\n' "${lines[@]}" | sed -n 's/^\$ //p' |
		sed 's/^kill [0-9][0-9]*$/kill %1; wait/' >"$BATS_TEST_TMPDIR/replay.sh"
	grep -q "^build/sfagent -D " "$BATS_TEST_TMPDIR/replay.sh"
	grep -q "^runc " "$BATS_TEST_TMPDIR/replay.sh"
	rm -rf "$SF_TOP/build/demo"
	cd "$SF_TOP"
	run timeout 120 bash "$BATS_TEST_TMPDIR/replay.sh"
	assert_success
	assert_line "hello from shell-demo"
	run tail -1 "$SF_TOP/build/demo/streams/shell-demo.sfdemo.jsonl"
	assert_output --partial '"type":"stream.end"'
}

@test "make demo installs only what the demo needs (runc, busybox-static, python3)" {
	run make -s -C "$SF_TOP" -pn
	assert_line "PKGS_DEMO := runc busybox-static python3"
	assert_line "demo: deps-demo build bundles"
	assert_line "deps-demo: deps"
}
