#!/usr/bin/env bats
# What docs/outputs.md and docs/modes.md promise about the command line, tried
# as written: a reader of stdout going away, -o appending, SIGHUP, and errors
# that name the fix.

load test_helper

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

@test "sfagent -R -f -o - | head: ends the stream and exits 0 once head is gone" {
	run timeout 60 bash -c "'$SFAGENT' -R -f -o - 2>'$T/err' | head -1 >/dev/null; echo \"\${PIPESTATUS[0]}\""
	assert_success
	assert_output 0
	grep -q "stdout was closed by its reader: ending the stream" "$T/err"
	# one line about it, not a warning per batch
	[ "$(grep -c "Broken pipe" "$T/err")" -eq 0 ]
}

@test "sfagent -X -o - -- PROGRAM | head: the program is stopped (SIGTERM), its status is sfagent's" {
	run timeout 60 bash -c "'$SFAGENT' -X -o - -- sh -c 'while :; do cat /etc/hostname; done' 2>'$T/err' | head -1 >/dev/null; echo \"\${PIPESTATUS[0]}\""
	assert_success
	assert_output 143
	grep -q "stdout was closed by its reader" "$T/err"
}

@test "-o FILE appends: two runs are two framed streams in one file; cadets starts its array again" {
	"$SFAGENT" -X -o "$T/s.jsonl" -- /bin/true
	"$SFAGENT" -X -o "$T/s.jsonl" -- /bin/true
	[ "$(grep -c '"type":"stream.start"' "$T/s.jsonl")" -eq 2 ]
	[ "$(grep -c '"type":"stream.end"' "$T/s.jsonl")" -eq 2 ]
	head -1 "$T/s.jsonl" | grep -q '"type":"stream.start"'
	tail -1 "$T/s.jsonl" | grep -q '"type":"stream.end"'
	"$SFAGENT" -X -F cadets -o "$T/c.json" -- /bin/true
	"$SFAGENT" -X -F cadets -o "$T/c.json" -- /bin/true
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/c.json"
}

@test "errors name the fix: -o into a missing directory, -o a directory, -w a missing path, an unreadable password file" {
	run "$SFAGENT" -X -o "$T/no/such/x.jsonl" -- /bin/true
	assert_failure 1
	assert_output --partial "cannot open output file \`$T/no/such/x.jsonl\`: No such file or directory: create its directory first (mkdir -p $T/no/such) or give another -o FILE"
	run "$SFAGENT" -X -o "$T" -- /bin/true
	assert_failure 1
	assert_output --partial "cannot open output file \`$T\`: Is a directory: give a file name in it (-o $T/stream.jsonl)"
	run "$SFAGENT" -w ./nosuch -o "$T/x.jsonl"
	assert_failure 2
	assert_output "sfagent: bundle \`./nosuch\`: No such file or directory: give the path of a bundle directory (one with a config.json), or a name \`sfagent -S\` lists"
	run "$SFAGENT" -R -b 127.0.0.1 --mqtt-user u --mqtt-password-file "$T/nope"
	assert_failure 1
	assert_output "sfagent: cannot read --mqtt-password-file \`$T/nope\`: No such file or directory: give a file this user can read"
	run "$SFAGENT" -X -o "$T/x.jsonl" -d "$T/no/debug.log" -- /bin/true
	assert_failure 1
	assert_output "sfagent: cannot open debug file \`$T/no/debug.log\`: No such file or directory: give -d a file this user can write"
	run "$SFAGENT" -X -o "$T/x.jsonl" -- "$T/nope"
	assert_failure 2
	assert_output "sfagent: program \`$T/nope\` not found: check the path"
	run "$SFAGENT" --inject-hook "$T/nope"
	assert_failure 2
	assert_output --partial "has no config.json (No such file or directory): give a bundle directory (\`runc spec\` writes a config.json)"
	# -S takes no output: refused, not ignored
	run "$SFAGENT" -S -o "$T/x"
	assert_failure 2
	assert_output "sfagent: -o does not apply to show mode (-S): remove it (it applies to -w NAME, -P, -X and -R)"
	run "$SFAGENT" -h
	assert_success
	assert_output --partial "Usage: sfagent"
}
