#!/usr/bin/env bats
# sfagent show: stored streams read back, filtered, as text, JSON or a
# process tree; rotated sets in time order, gzip, quixote; hostile bytes.

bats_require_minimum_version 1.5.0
load test_helper

FIX="$BATS_TEST_DIRNAME/fixtures"

setup() {
	T="$(mktemp -d)"
}

teardown() {
	rm -rf "$T"
}

@test "show: text and tree of a known stream, line by line" {
	run "$SFAGENT" show "$FIX/show-demo.jsonl"
	assert_success
	diff -u "$FIX/show-demo.text" <(echo "$output")
	run "$SFAGENT" show --tree "$FIX/show-demo.jsonl"
	assert_success
	diff -u "$FIX/show-demo.tree" <(echo "$output")
}

@test "show --filter, -t TEMPLATE, --format json; stream records always framed" {
	run "$SFAGENT" show --filter '[type process.exec] | [path = /etc/*]' -t '@seq @pid @type @object' "$FIX/show-demo.jsonl"
	assert_success
	assert_output "$(printf '%s\n' \
		'1 - stream.start mode execute, exporter vm' \
		'3 4801 process.exec /bin/sh [/bin/sh -c cat /etc/passwd >/dev/null; ls /tmp >/dev/null; exit 3]' \
		'8 4810 process.exec /usr/bin/cat [cat /etc/passwd]' \
		'9 4810 file.open /etc/passwd' \
		'15 4824 process.exec /usr/bin/ls [ls /tmp]' \
		'18 - stream.end events 16, missed 0')"
	run "$SFAGENT" show --format json --filter '[pid = 4824] & [type process]' "$FIX/show-demo.jsonl"
	assert_success
	echo "$output" >"$T/j.jsonl"
	assert_stream "$T/j.jsonl" \
		'[e["type"] for e in ev] == ["stream.start", "process.fork", "process.exec", "process.exit", "stream.end"] or [e["type"] for e in ev] == ["stream.start", "process.exec", "process.exit", "stream.end"]' \
		'all(e.get("pid", 4824) == 4824 for e in ev)'
}

@test "show: a real run's tree matches its processes" {
	"$SFAGENT" -X -w tree -o "$T/s.jsonl" -- /bin/sh -c 'cat /etc/passwd >/dev/null; (sleep 0.1; exit 7); exit 3' || true
	run "$SFAGENT" show --tree "$T/s.jsonl"
	assert_success
	assert_line --regexp '^stream tree: [0-9]+ processes, [0-9]+ events$'
	assert_line --regexp '^  [0-9]+ sh /bin/sh \[/bin/sh -c .*\] \(exit 3\)$'
	assert_line --regexp '^    [0-9]+ cat /usr/bin/cat \[cat /etc/passwd\] \(exit 0\)$'
	# the subshell that exits 7 and its child
	assert_line --regexp '^    [0-9]+ sh \(exit 7\)$'
	assert_line --regexp '^      [0-9]+ sleep /usr/bin/sleep \[sleep 0.1\] \(exit 0\)$'
}

@test "show: a rotated set as a directory, oldest first; gzip; quixote" {
	mkdir "$T/set"
	sed -n '1,9p' "$FIX/show-demo.jsonl" >"$T/set/demo.jsonl.1796121000"
	sed -n '10,$p' "$FIX/show-demo.jsonl" | gzip >"$T/set/demo.jsonl.gz"
	# named so that the alphabet would put the newer one first
	mv "$T/set/demo.jsonl.gz" "$T/set/a-demo.jsonl.gz"
	run "$SFAGENT" show "$T/set"
	assert_success
	diff -u "$FIX/show-demo.text" <(echo "$output")
	"$SFAGENT" -X -w q -F quixote -o "$T/q.jsonl" -- /bin/sh -c 'cat /etc/passwd >/dev/null'
	run "$SFAGENT" show --filter '[type file.open] & [path = /etc/passwd]' -t '@comm @type @object' "$T/q.jsonl"
	assert_success
	assert_line "cat file.open /etc/passwd"
	assert_line --regexp '^- stream.start'
	assert_line --regexp '^- stream.end'
}

@test "show: what a container wrote cannot drive the terminal or forge a line; junk lines are counted" {
	printf '%s\n' '{"type":"file.open","seq":2,"ts":1,"workload":"w\u001b[31m","pid":1,"comm":"x\ny","path":"/a\u0007b\\c"}' \
		'not a record' '{"type":' '[1,2]' >"$T/evil.jsonl"
	run --separate-stderr "$SFAGENT" show "$T/evil.jsonl"
	assert_success
	assert_output '1970-01-01T00:00:00.000000001Z w\x1b[31m 1 x\x0ay file.open /a\x07b\x5cc'
	[ "$stderr" = "sfagent: show: 3 lines were not stream records (skipped)" ]
	head -c 3000000 /dev/zero | tr '\0' 'a' >"$T/long.jsonl"
	run --separate-stderr "$SFAGENT" show "$T/long.jsonl"
	assert_success
	assert_output ""
	[ "$stderr" = "sfagent: show: 1 lines were not stream records (skipped)" ]
}

@test "show: bad input is one line and exit 2 or 1" {
	run "$SFAGENT" show
	assert_failure 2
	assert_output --partial "name the stream files or directories"
	run "$SFAGENT" show --filter '[type flie.open]' "$FIX/show-demo.jsonl"
	assert_failure 2
	assert_output --partial "matches no event type"
	run "$SFAGENT" show --format xml "$FIX/show-demo.jsonl"
	assert_failure 2
	assert_output --partial "unknown --format \`xml\`: use text or json"
	run "$SFAGENT" show "$T/nope.jsonl"
	assert_failure 1
	assert_output --partial "No such file or directory (give a stream file or a directory of them)"
	[ "${#lines[@]}" -eq 1 ]
}
