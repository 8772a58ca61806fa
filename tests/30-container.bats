#!/usr/bin/env bats
# Container mode (sfagent -w NAME) with real runc, and the bundle list (-S).
# Needs `make build bundles unit` (make test does all three).

load test_helper

setup_file() {
	if [ ! -x "$SF_TOP/bundles/shell-demo/rootfs/bin/busybox" ]; then
		echo "bundles/shell-demo has no rootfs: run 'make bundles'" >&2
		return 1
	fi
	command -v runc >/dev/null || { echo "runc is not installed" >&2; return 1; }
}

setup() {
	T="$(mktemp -d)"
	# a bundle directory of our own; the sample bundles are symlinked in
	mkdir "$T/bundles"
	ln -s "$SF_TOP/bundles/shell-demo" "$T/bundles/shell-demo"
	ln -s "$SF_TOP/bundles/httpd" "$T/bundles/httpd"
	CG2="$(cgroup_mounts | awk '$1 == "cgroup2" { print $2; exit }')"
}

teardown() {
	if [ -n "${BG:-}" ] && kill -0 "$BG" 2>/dev/null; then
		kill -KILL "$BG" 2>/dev/null || true
	fi
	# nothing sfagent started in this test may be left behind
	local id
	for id in $(runc list -q 2>/dev/null | grep '^sfagent-sf30' || true); do
		runc delete --force "$id" || true
	done
	rm -rf "$T"
}

# "fstype mountpoint" of every cgroup mount (the fstype follows the " - ")
cgroup_mounts() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1), $5; break } }' \
		/proc/self/mountinfo | grep -E '^cgroup2? '
}

# A copy of shell-demo named NAME whose /workload.sh is SCRIPT.
make_bundle() {
	local name="$1" script="$2"
	mkdir "$T/bundles/$name"
	cp "$SF_TOP/bundles/shell-demo/config.json" "$T/bundles/$name/"
	cp -a "$SF_TOP/bundles/shell-demo/rootfs" "$T/bundles/$name/rootfs"
	printf '#!/bin/sh\n%s\n' "$script" > "$T/bundles/$name/rootfs/workload.sh"
}

# The container and cgroup the stream names must be gone.
assert_nothing_left() {
	local id cg
	id="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["container"])' "$1")"
	cg="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["cgroup_path"])' "$1")"
	[ -n "$id" ] && [ -n "$cg" ] && [ "$cg" != / ]
	run runc state "$id"
	assert_failure
	[ ! -e "$CG2$cg" ]
	# nor in the v1 hierarchies of a hybrid host
	local mnt
	for mnt in $(cgroup_mounts | awk '{ print $2 }'); do
		run find "$mnt" -maxdepth 4 -type d -name "$id"
		assert_output ""
	done
}

@test "sfagent -w shell-demo: first exec, file, net and process events, stdio passed through" {
	run timeout 120 "$SFAGENT" -w shell-demo -B "$T/bundles" -o "$T/s.jsonl"
	assert_success
	assert_output --partial "hello from shell-demo"
	f="$T/s.jsonl"
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		'ev[0]["type"] == "stream.start" and ev[0]["mode"] == "container"' \
		'ev[-1]["type"] == "stream.end" and ev[-1]["missed"] == 0' \
		'ev[-1]["events"] == len(ev) - 2' \
		'all(e["workload"] == "shell-demo" for e in ev)' \
		'ev[0]["container"].startswith("sfagent-shell-demo-")' \
		'all(e.get("container") == ev[0]["container"] for e in ev)' \
		'all(e["cgroup"] == ev[0]["cgroup"] for e in ev[1:-1])'
	# the bundle's metadata, never its environment
	assert_stream "$f" \
		'ev[0]["meta"]["bundle"] == "'"$(realpath "$T/bundles/shell-demo")"'"' \
		'ev[0]["meta"]["hostname"] == "shell-demo"' \
		'ev[0]["meta"]["args"] == ["/bin/sh", "/workload.sh"]' \
		'ev[0]["meta"]["cwd"] == "/"' \
		'ev[0]["meta"]["root"].endswith("/shell-demo/rootfs")' \
		'ev[0]["meta"]["annotations"] == {"io.sfagent.workload": "shell-demo"}' \
		'"env" not in ev[0]["meta"] and "PATH=" not in open(path).read()'
	# the very first exec of the container's process is in the stream
	assert_stream "$f" \
		'by("process.exec")[0]["argv"] == ["/bin/sh", "/workload.sh"]' \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'one("file.open", path="/workload.sh") is not None'
	# file, net, signal and process events from inside the container
	assert_stream "$f" \
		'one("file.rename", path="/tmp/work/copy", newpath="/tmp/work/moved")' \
		'one("file.symlink", path="/tmp/work/moved", newpath="/tmp/work/link")' \
		'one("file.chmod", path="/tmp/work/moved", mode="0600")' \
		'one("file.rmdir", path="/tmp/work")' \
		'one("net.bind", port=7000) and one("net.listen", port=7000)' \
		'one("net.connect", addr="127.0.0.1", port=7000, ret=0)' \
		'one("net.accept")' \
		'one("signal.kill", sig="SIGTERM")' \
		'one("process.exec", argv=["nc", "-w", "1", "127.0.0.1", "7000"])' \
		'[e for e in by("process.exit") if e["comm"] == "sh" and e.get("exit_code") == 0]'
	assert_nothing_left "$f"
}

@test "sfagent -w: the container's exit status is sfagent's; meta escaped, env kept out" {
	make_bundle sf30-seven 'echo seven; exit 7'
	# untrusted annotations with quotes and newlines, a secret in the env
	python3 - "$T/bundles/sf30-seven/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["env"].append("SECRET=hunter2-sf30")
c["annotations"] = {"io.sfagent.workload": "x\"},\n{\"type\":\"fake\"", "k\\ey": "\u0001\u00e9"}
json.dump(c, open(sys.argv[1], "w"))
PY
	sum_before="$(sha256sum < "$T/bundles/sf30-seven/config.json")"
	ls_before="$(ls -A "$T/bundles/sf30-seven")"
	run timeout 120 "$SFAGENT" -w sf30-seven -B "$T/bundles" -o "$T/s.jsonl"
	assert_equal "$status" 7
	# the bundle is run as it is: no hook added, nothing written beside it
	assert_equal "$(sha256sum < "$T/bundles/sf30-seven/config.json")" "$sum_before"
	assert_equal "$(ls -A "$T/bundles/sf30-seven")" "$ls_before"
	assert_output --partial seven
	assert_seq_no_gaps "$T/s.jsonl"
	assert_stream "$T/s.jsonl" \
		'ev[-1]["type"] == "stream.end"' \
		'by("process.exec")[0]["argv"] == ["/bin/sh", "/workload.sh"]' \
		'[e for e in by("process.exit") if e["comm"] == "sh" and e.get("exit_code") == 7]' \
		'ev[0]["meta"]["annotations"] == {"io.sfagent.workload": "x\"},\n{\"type\":\"fake\"", "k\\ey": "\u0001\u00e9"}' \
		'not by("fake") and ev[0]["workload"] == "sf30-seven"' \
		'"hunter2" not in open(path).read()'
	assert_nothing_left "$T/s.jsonl"
}

@test "sfagent -w: two runs of one bundle at once get their own container and stream" {
	timeout 120 "$SFAGENT" -w shell-demo -B "$T/bundles" -o "$T/a.jsonl" >/dev/null &
	local a=$!
	timeout 120 "$SFAGENT" -w shell-demo -B "$T/bundles" -o "$T/b.jsonl" >/dev/null &
	local b=$!
	wait "$a"
	wait "$b"
	for f in "$T/a.jsonl" "$T/b.jsonl"; do
		assert_seq_no_gaps "$f"
		assert_stream "$f" 'ev[-1]["type"] == "stream.end"' \
			'by("process.exec")[0]["argv"] == ["/bin/sh", "/workload.sh"]' \
			'all(e["container"] == ev[0]["container"] for e in ev)' \
			'all(e["cgroup"] == ev[0]["cgroup"] for e in ev[1:-1])' \
			'len([e for e in by("process.exec") if e.get("argv") == ["/bin/sh", "/workload.sh"]]) == 1' \
			'len([e for e in by("process.exec") if e.get("argv") == ["cat", "/tmp/greeting"]]) == 1'
		assert_nothing_left "$f"
	done
	assert_stream "$T/a.jsonl" \
		'ev[0]["container"] != [json.loads(l) for l in open("'"$T/b.jsonl"'")][0]["container"]'
}

@test "sfagent -w: a container killed by a signal exits 128+N" {
	# a pid namespace's init cannot be killed from inside: no pid namespace
	# here, which also has a background child outlive the init
	make_bundle sf30-killed '(sleep 1; echo late child done) & kill -KILL $$'
	python3 - "$T/bundles/sf30-killed/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
json.dump(c, open(sys.argv[1], "w"))
PY
	run timeout 120 "$SFAGENT" -w sf30-killed -B "$T/bundles" -o "$T/s.jsonl"
	assert_equal "$status" 137
	# sfagent waited for the child the init left behind
	assert_output --partial "late child done"
	assert_stream "$T/s.jsonl" 'ev[-1]["type"] == "stream.end"' \
		'one("signal.kill", sig="SIGKILL")' \
		'one("process.exit", comm="sh", sig="SIGKILL")' \
		'one("process.exec", argv=["sleep", "1"])'
	assert_nothing_left "$T/s.jsonl"
}

@test "sfagent -w BUNDLE_PATH: a path runs that bundle, named after its directory" {
	run timeout 120 "$SFAGENT" -w "$T/bundles/shell-demo" -B /nonexistent -o "$T/s.jsonl"
	assert_success
	assert_stream "$T/s.jsonl" 'ev[0]["workload"] == "shell-demo"' \
		'ev[-1]["type"] == "stream.end"'
}

# Runs httpd (which traps TERM and INT and exits 0; it serves on loopback in
# its own netns), sends SIG to sfagent once the service answered a request.
signal_httpd() {
	local sig="$1"
	"$SFAGENT" -w httpd -B "$T/bundles" -o "$T/h.jsonl" >"$T/out" 2>&1 &
	BG=$!
	for _ in $(seq 300); do
		grep -q '"net.accept"' "$T/h.jsonl" 2>/dev/null && break
		sleep 0.1
	done
	run grep -c '"net.accept"' "$T/h.jsonl"
	assert_success
	kill -"$sig" "$BG"
	for _ in $(seq 300); do
		kill -0 "$BG" 2>/dev/null || break
		sleep 0.1
	done
	run wait "$BG"
	assert_success
	assert_seq_no_gaps "$T/h.jsonl"
	assert_stream "$T/h.jsonl" 'ev[-1]["type"] == "stream.end"' \
		'by("process.exec")[0]["argv"] == ["/bin/sh", "/service.sh"]' \
		'one("net.listen", port=8080)' \
		'[e for e in by("signal.kill") if e["sig"] == "SIGTERM"]' \
		'[e for e in by("process.exit") if e["comm"] == "sh" and e.get("exit_code") == 0]'
	assert_nothing_left "$T/h.jsonl"
}

@test "sfagent -w: SIGTERM is forwarded to the container and the stream finished" {
	signal_httpd TERM
}

@test "sfagent -w: SIGHUP reopens -o FILE (logrotate) and the container keeps running" {
	"$SFAGENT" -w httpd -B "$T/bundles" -o "$T/h.jsonl" >"$T/out" 2>&1 &
	BG=$!
	for _ in $(seq 300); do
		grep -q '"net.accept"' "$T/h.jsonl" 2>/dev/null && break
		sleep 0.1
	done
	mv "$T/h.jsonl" "$T/h.jsonl.1"
	kill -HUP "$BG"
	for _ in $(seq 100); do
		[ -e "$T/h.jsonl" ] && break
		sleep 0.1
	done
	[ -e "$T/h.jsonl" ]
	sleep 1
	# not forwarded: the container and sfagent still run
	kill -0 "$BG"
	kill -TERM "$BG"
	for _ in $(seq 300); do
		kill -0 "$BG" 2>/dev/null || break
		sleep 0.1
	done
	run wait "$BG"
	assert_success
	grep -q '"type":"stream.start"' "$T/h.jsonl.1"
	tail -1 "$T/h.jsonl" | grep -q '"type":"stream.end"'
	! grep -q '"sig":"SIGHUP"' "$T/h.jsonl.1" "$T/h.jsonl"
}

@test "sfagent -w: SIGINT is forwarded to the container and the stream finished" {
	signal_httpd INT
}

@test "sfagent -S lists bundles, broken ones with the reason" {
	mkdir "$T/bundles/bad-json" "$T/bundles/no-config" "$T/bundles/no-rootfs" \
		"$T/bundles/no-program" "$T/bundles/.hidden"
	printf '{"process": {"args": ["/bin/sh"],, }\n' > "$T/bundles/bad-json/config.json"
	cp "$SF_TOP/bundles/shell-demo/config.json" "$T/bundles/no-rootfs/"
	sed 's|"/bin/sh",|"/bin/nosuch",|' "$SF_TOP/bundles/shell-demo/config.json" \
		> "$T/bundles/no-program/config.json"
	mkdir "$T/bundles/no-program/rootfs"
	echo "not a bundle" > "$T/bundles/README"
	ln -s "$T/gone" "$T/bundles/dangling"
	run "$SFAGENT" -S -B "$T/bundles"
	assert_success
	echo "$output"
	assert_line --index 0 --regexp '^NAME +CONFIG +ROOTFS +PROCESS$'
	# plain files (a README, a script) are not bundles; a link to nothing is broken
	refute_output --partial README
	assert_line --regexp '^dangling +- +- +broken: not a directory$'
	assert_line --regexp '^bad-json +invalid +- +broken: config.json: parse error at line 1, column [0-9]+: '
	assert_line --regexp '^httpd +ok +ok +/bin/sh /service.sh$'
	assert_line --regexp '^no-config +missing +- +broken: config.json is missing'
	assert_line --regexp '^no-program +ok +invalid +broken: rootfs .* has no executable `/bin/nosuch`'
	assert_line --regexp '^no-rootfs +ok +missing +broken: rootfs .*/no-rootfs/rootfs` does not exist'
	assert_line --regexp '^shell-demo +ok +ok +/bin/sh /workload.sh$'
	refute_output --partial hidden
	# columns line up: PROCESS starts at the same offset on every line
	run bash -c "\"$SFAGENT\" -S -B \"$T/bundles\" | awk '{ print index(\$0, \$4) }' | sort -u | wc -l"
	assert_output 1
	# SFAGENT_BUNDLES names the directory too
	SFAGENT_BUNDLES="$T/bundles" run "$SFAGENT" -S
	assert_success
	assert_line --regexp '^shell-demo +ok +ok'
}

@test "docs/modes.md's -S example is what sfagent -S -B bundles prints" {
	run "$SFAGENT" -S -B "$SF_TOP/bundles"
	assert_success
	real=$output
	# the indented block after "    $ sfagent -S -B bundles" in the -S section
	doc=$(awk '/^## `-S`/ { s = 1 } s && /^    \$ sfagent -S -B bundles$/ { p = 1; next }
		p && /^    / { print substr($0, 5); next } p { exit }' "$SF_TOP/docs/modes.md")
	[ -n "$doc" ]
	assert_equal "$doc" "$real"
}

@test "sfagent -S: control characters from config.json are escaped" {
	mkdir -p "$T/bundles/evil/rootfs/bin"
	cp "$SF_TOP/bundles/shell-demo/rootfs/bin/busybox" "$T/bundles/evil/rootfs/bin/sh"
	printf '{"process":{"args":["/bin/sh","-c","echo \\u001b[31mred"],"cwd":"/"},"root":{"path":"rootfs"}}' \
		> "$T/bundles/evil/config.json"
	run "$SFAGENT" -S -B "$T/bundles"
	assert_success
	assert_line --regexp "^evil +ok +ok +/bin/sh -c 'echo \\\\x1b\[31mred'$"
	refute_output --partial $'\e'
}

@test "sfagent -S: a missing bundle directory is an error" {
	run "$SFAGENT" -S -B "$T/nope"
	assert_equal "$status" 1
	assert_output "sfagent: bundle directory \`$T/nope\` does not exist: create it, or point -B DIR or SFAGENT_BUNDLES at one"
	run "$SFAGENT" -S -B "$T/bundles/shell-demo/config.json"
	assert_equal "$status" 1
	assert_output --partial "is not a directory"
}

@test "sfagent -w: unknown bundle name is a usage error" {
	run "$SFAGENT" -w sf30-nope -B "$T/bundles" -o "$T/s.jsonl"
	assert_equal "$status" 2
	assert_output "sfagent: no bundle \`sf30-nope\` in \`$T/bundles\` (list them with \`sfagent -S\`, or give a path containing '/')"
	[ ! -e "$T/s.jsonl" ]
	run "$SFAGENT" -w .. -B "$T/bundles" -o "$T/s.jsonl"
	assert_equal "$status" 2
	assert_output --partial "is not a bundle name"
	run "$SFAGENT" -w sf30-nope -B "$T/none" -o "$T/s.jsonl"
	assert_equal "$status" 2
	assert_output --partial "bundle directory \`$T/none\` does not exist"
}

@test "sfagent -w: bundle without rootfs, malformed config.json: clear message, exit 1, nothing left" {
	mkdir "$T/bundles/sf30-norootfs" "$T/bundles/sf30-badjson"
	cp "$SF_TOP/bundles/shell-demo/config.json" "$T/bundles/sf30-norootfs/"
	printf '{"process": {"args": ["/bin/sh"]}\n' > "$T/bundles/sf30-badjson/config.json"
	run "$SFAGENT" -w sf30-norootfs -B "$T/bundles" -o "$T/s.jsonl"
	assert_equal "$status" 1
	assert_output --regexp "^sfagent: bundle \`.*/sf30-norootfs\`: rootfs \`.*/sf30-norootfs/rootfs\` does not exist: build it"
	[ ! -e "$T/s.jsonl" ]
	run "$SFAGENT" -w sf30-badjson -B "$T/bundles" -o "$T/s.jsonl"
	assert_equal "$status" 1
	assert_output --regexp "^sfagent: bundle \`.*/sf30-badjson\`: config.json: parse error at line 2, column [0-9]+: premature EOF"
	[ ! -e "$T/s.jsonl" ]
	[ "$(runc list -q | grep -c '^sfagent-sf30' || true)" = 0 ]
}

@test "sfagent -w: a bundle runc refuses: runc's message, exit 1, no stream file, nothing left" {
	mkdir "$T/bundles/sf30-bogus"
	ln -s "$SF_TOP/bundles/shell-demo/rootfs" "$T/bundles/sf30-bogus/rootfs"
	python3 - "$SF_TOP/bundles/shell-demo/config.json" "$T/bundles/sf30-bogus/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["namespaces"].append({"type": "bogus"})
json.dump(c, open(sys.argv[2], "w"))
PY
	run "$SFAGENT" -w sf30-bogus -B "$T/bundles" -o "$T/s.jsonl"
	assert_equal "$status" 1
	assert_output --partial 'namespace {\"bogus\"'
	assert_line "sfagent: runc create failed (exit status 1); runc's message is above"
	[ ! -e "$T/s.jsonl" ]
	[ "$(runc list -q | grep -c '^sfagent-sf30' || true)" = 0 ]
	run bash -c "ls '$CG2' | grep -c '^sfagent-sf30'"
	assert_output 0
}

@test "sfagent -w: process.terminal true is refused with the fix" {
	mkdir "$T/bundles/sf30-tty"
	ln -s "$SF_TOP/bundles/shell-demo/rootfs" "$T/bundles/sf30-tty/rootfs"
	sed 's/"terminal": false/"terminal": true/' "$SF_TOP/bundles/shell-demo/config.json" \
		> "$T/bundles/sf30-tty/config.json"
	run "$SFAGENT" -w sf30-tty -B "$T/bundles" -o "$T/s.jsonl"
	assert_equal "$status" 1
	assert_output --partial "config.json: process.terminal is true: sfagent passes its own stdio to the container; set it to false"
}
