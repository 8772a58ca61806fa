#!/usr/bin/env bats
# The probe's lifecycle in the real kernel: what is attached when, and that
# releasing the syscall tracepoints (slow in the kernel) waits for no one.

load test_helper

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
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
