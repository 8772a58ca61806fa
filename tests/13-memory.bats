#!/usr/bin/env bats
# The agent under valgrind: no leaks, no invalid accesses (libbpf's bpf(2)
# attribute noise is suppressed in tests/valgrind.supp, which says why).

load test_helper

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

vg() {
	valgrind --suppressions="$SF_TOP/tests/valgrind.supp" --leak-check=full \
		--show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		-q "$@"
}

@test "valgrind: -X with a busy workload and ring-buffer loss" {
	run vg "$SFAGENT" -X -o "$T/s.jsonl" --ringbuf-size 16K -- "$SF_WORKLOADS/flood" 20000
	echo "$output" | grep -v "unhandled eBPF" || true
	assert_success
	assert_stream "$T/s.jsonl" "ev[-1]['type'] == 'stream.end'"
}

@test "valgrind: -R for a second" {
	run vg "$SFAGENT" -R -o "$T/s.jsonl" --duration 1
	echo "$output" | grep -v "unhandled eBPF" || true
	assert_success
}

@test "valgrind: failing starts free what they took" {
	run vg "$SFAGENT" -X -o "$T/no/dir/s.jsonl" -- /bin/true
	assert_failure 1
	refute_output --partial "definitely lost"
	run vg "$SFAGENT" -X -o "$T/s.jsonl" -- no-such-program
	assert_failure 2
	refute_output --partial "definitely lost"
}
