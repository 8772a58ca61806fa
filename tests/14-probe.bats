#!/usr/bin/env bats
# The probe's lifecycle in the real kernel: what is attached when, and that
# releasing the syscall tracepoints (slow in the kernel) waits for no one.

load test_helper
load hook_helper

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
	[ -z "${HT:-}" ] || hook_suite_teardown
}

# Process $1 still runs (a zombie has ended: its parent is init now).
alive() {
	local st
	st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

@test "exit: the tracepoints are left to a child that holds nothing else, and it goes" {
	# stdout through a pipe: if anything of sfagent's kept it open, cat
	# would not see the end and this would hang
	timeout 60 "$SFAGENT" -X -vv -w t -o - -- /bin/true 2>"$T/err" | timeout 60 cat >"$T/s.jsonl"
	assert_stream "$T/s.jsonl" "ev[0]['type'] == 'stream.start'" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
	run sed -n 's/.* \([0-9]*\) tracepoint links left to process \([0-9]*\) to release/\1 \2/p' "$T/err"
	assert_success
	[ -n "$output" ] || { cat "$T/err"; false; }
	read -r n pid <<<"$output"
	[ "$n" -ge 1 ]
	# while it lives, it holds the links and nothing else
	if alive "$pid"; then
		run cat "/proc/$pid/comm"
		[ "$status" -ne 0 ] || [ "$output" = sfagent-release ]
		for fd in /proc/"$pid"/fd/*; do
			[ -e "$fd" ] || continue # gone meanwhile
			l=$(readlink "$fd") || continue
			[ "$l" = "anon_inode:bpf_link" ] || { echo "child holds $fd -> $l"; false; }
		done
	fi
	# and it ends once the kernel has released them (~40 ms each)
	for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
	! alive "$pid"
}

@test "exit: without -v nothing is said about the release" {
	run "$SFAGENT" -X -w t -o /dev/null -- /bin/true
	assert_success
	assert_output ""
}

# ---- -D: idle = free ------------------------------------------------------

# link_fds PID: how many BPF links process PID holds (its releaser thread's
# included: a link is gone only once the kernel has released it)
link_fds() {
	local fd n=0
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf_link" ] && n=$((n + 1))
	done
	echo "$n"
}

no_links() { [ "$(link_fds "$AGENT_PID")" -eq 0 ]; }

# the 5 tp_btf links and the sys_enter_set*id ones
assert_attached() {
	local n
	n=$(link_fds "$AGENT_PID")
	[ "$n" -ge 6 ] || { echo "the agent holds $n BPF links"; grep -v libbpf "$HT/agent.log"; false; }
}

idle_daemon() {
	hook_suite_setup
	SFAGENT_TEST_IDLE_DETACH_MS=5000 start_daemon -v
}

@test "-D idle: no BPF link at all; the first container attaches before its first exec; detached after the hysteresis" {
	idle_daemon
	# the attach checked at start is released within a second or so
	wait_for "idle daemon without links" 20 no_links
	make_bundle "$HT/b1" '["/bin/sh", "-c", "cat /etc/passwd >/dev/null; sleep 1; echo ran"]' \
		'{"io.sfagent.workload": "idle1"}'
	run_container sfp-idle1 "$HT/b1" >"$HT/c1.out" &
	c1=$!
	wait_for "links while the container runs" 20 bash -c "[ \$(grep -c 'probe attached in' '$HT/agent.log') -ge 1 ]"
	assert_attached
	wait "$c1"
	grep -q ran "$HT/c1.out"
	f=$(pod_file idle1 sfp-idle1)
	wait_for "stream.end" 20 grep -q stream.end "$f"
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'one("file.open", path="/etc/passwd") is not None' \
		'ev[-1]["missed"] == 0'
	# attached still during the hysteresis (unless a loaded machine took
	# longer than it to get here), then detached and released
	grep -q "nothing tracked for" "$HT/agent.log" || assert_attached
	wait_for "probe detached" 20 grep -q "nothing tracked for" "$HT/agent.log"
	wait_for "links released" 20 no_links
	run grep -c "probe attached in" "$HT/agent.log"
	[ "$output" = 1 ] || { grep -v libbpf "$HT/agent.log"; false; }
}

@test "-D: a container within the hysteresis finds the probe attached; one after it attaches again" {
	idle_daemon
	for w in idle2 idle3 idle4; do
		make_bundle "$HT/$w" '["/bin/sh", "-c", "cat /etc/group >/dev/null"]' \
			'{"io.sfagent.workload": "'"$w"'"}'
	done
	run run_container sfp-idle2 "$HT/idle2"
	assert_success
	run run_container sfp-idle3 "$HT/idle3"
	assert_success
	run grep -c "probe attached in" "$HT/agent.log"
	assert_output 1
	wait_for "probe detached" 20 grep -q "nothing tracked for" "$HT/agent.log"
	run run_container sfp-idle4 "$HT/idle4"
	assert_success
	run grep -c "probe attached in" "$HT/agent.log"
	assert_output 2
	# every stream is whole, its first exec in it
	for w in idle2 idle3 idle4; do
		wait_for "stream.end of $w" 20 grep -q stream.end "$(pod_file $w sfp-$w)"
		assert_stream "$(pod_file $w sfp-$w)" \
			'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
			'ev[-1]["missed"] == 0' \
			'by("process.exec")[0]["filename"] == "/bin/sh"'
	done
}

