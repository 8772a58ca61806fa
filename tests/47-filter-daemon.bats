#!/usr/bin/env bats
# Filters in daemon mode (docs/filters.md): the daemon's --filter for every
# stream, io.sfagent.filter narrows one container's and cannot widen it,
# --select decides which containers are tracked; real runc, real hook.

load test_helper
load hook_helper

setup_file() {
	hook_suite_setup
	start_daemon --filter '[type process] | [type file]' \
		--file-filter '![type process.exit]' \
		--select '![annotation.team = red] & ![workload = skip-*]'
}

teardown_file() {
	hook_suite_teardown
}

# a container that execs, opens a file and connects to a closed port
WORK='["/bin/sh", "-c", "cat /etc/passwd >/dev/null; nc 127.0.0.1 1 </dev/null 2>/dev/null; echo ran"]'

@test "daemon --filter applies to every container's stream, --file-filter to its files" {
	make_bundle "$HT/b1" "$WORK" "$(k8s_ann plain)"
	run run_container flt-plain "$HT/b1"
	assert_success
	assert_output "ran"
	f="$OUT/plain.jsonl"
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		"ev[0]['filter'] == '[type process] | [type file]'" \
		"by('process.exec') and one('file.open', path='/etc/passwd')" \
		"not [e for e in ev[1:-1] if e['type'].split('.')[0] not in ('process', 'file')]" \
		"not by('process.exit') and ev[0]['sink_filters'] == {'file': '![type process.exit]'}" \
		"ev[-1]['events'] == len(ev) - 2" \
		"ev[-1]['filtered'] == ev[-1]['filtered_kernel'] > 0" \
		"ev[-1]['sink_filtered'] == {'file': 0}"
	# the only output does not take process.exit: the kernel drops it, so
	# it is in filtered (filtered_kernel), not in sink_filtered
}

@test "io.sfagent.filter narrows the daemon's filter and cannot widen it" {
	# asks for file and net: gets file only (net is outside the daemon's)
	make_bundle "$HT/b2" "$WORK" \
		"$(k8s_ann narrow '"io.sfagent.filter": "[type file] | [type net]"')"
	run run_container flt-narrow "$HT/b2"
	assert_success
	assert_output "ran"
	f="$OUT/narrow.jsonl"
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		"ev[0]['filter'] == '([type process] | [type file]) & ([type file] | [type net])'" \
		"one('file.open', path='/etc/passwd')" \
		"not [e for e in ev[1:-1] if not e['type'].startswith('file.')]" \
		"ev[-1]['filtered'] > 0"
}

@test "an invalid io.sfagent.filter refuses the container with one clear line" {
	make_bundle "$HT/b3" '["/bin/true"]' \
		"$(k8s_ann badf '"io.sfagent.fail": "closed", "io.sfagent.filter": "[type flie]"')"
	run run_container flt-badf "$HT/b3"
	assert_failure
	assert_output --partial 'io.sfagent.filter: column 7: type `flie` matches no event type'
	[ ! -e "$OUT/badf.jsonl" ]
}

@test "--select skips a container by annotation and by workload: it runs, untracked, logged once" {
	make_bundle "$HT/b4" "$WORK" "$(k8s_ann redteam '"team": "red"')"
	run run_container flt-red "$HT/b4"
	assert_success
	assert_output "ran"
	make_bundle "$HT/b5" "$WORK" "$(k8s_ann skip-me)"
	run run_container flt-skip "$HT/b5"
	assert_success
	assert_output "ran"
	[ ! -e "$OUT/redteam.jsonl" ]
	[ ! -e "$OUT/skip-me.jsonl" ]
	[ "$(grep -c 'container `flt-red` (workload `redteam`) is not selected by --select' "$HT/agent.log")" -eq 1 ]
	[ "$(grep -c 'container `flt-skip` (workload `skip-me`) is not selected by --select' "$HT/agent.log")" -eq 1 ]
	# a selected one next to them still streams
	make_bundle "$HT/b6" "$WORK" "$(k8s_ann blueteam '"team": "blue"')"
	run run_container flt-blue "$HT/b6"
	assert_success
	assert_stream "$OUT/blueteam.jsonl" "by('process.exec')"
}
