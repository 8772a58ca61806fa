#!/usr/bin/env bats
# Seccomp profiles recorded from what a container did (io.sfagent.seccomp,
# --seccomp-profile), used for real by runc and podman; and the daemon's own
# sandbox (capabilities, seccomp allow-list).

bats_require_minimum_version 1.5.0
load test_helper
load hook_helper
load helpers/podman

WORK='echo hello >/tmp/f; cat /tmp/f; ls / >/dev/null'

setup_file() {
	hook_suite_setup
	mkdir -p "$HT/profiles"
	start_daemon --seccomp-dir "$HT/profiles"
	podman_suite_setup
}

teardown_file() {
	pm rm -af >/dev/null 2>&1 || true
	hook_suite_teardown
}

# with_profile SRC DST-BUNDLE: DST's config.json runs under profile SRC
with_profile() {
	jq --slurpfile p "$1" '.linux.seccomp = $p[0]' "$2/config.json" >"$2/c" &&
		mv "$2/c" "$2/config.json"
}

# names PROFILE: the names of its SCMP_ACT_ALLOW rules, one a line, sorted
allowed_names() {
	jq -r '.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]' "$1" | sort -u
}

@test "runc: record writes <workload>.seccomp.json; the container runs under it; one syscall more fails with EPERM" {
	make_bundle "$HT/r1" '["/bin/sh", "-c", "'"$WORK"'"]' \
		"$(k8s_ann rec '"io.sfagent.seccomp": "record"')"
	run run_container sc-r1 "$HT/r1"
	assert_success
	assert_output "hello"
	p="$OUT/rec.seccomp.json"
	wait_for "profile" 10 test -f "$p"
	[ ! -L "$p" ]
	run jq -r '.defaultAction, .defaultErrnoRet, (.architectures | join(","))' "$p"
	assert_output "$(printf 'SCMP_ACT_ERRNO\n1\nSCMP_ARCH_X86_64')"
	# the workload's own calls are there, sorted; nothing it never did
	allowed_names "$p" >"$HT/r1.names"
	for s in execve openat read write getdents64 exit_group; do
		grep -qx "$s" "$HT/r1.names"
	done
	run grep -x -e symlinkat -e symlink -e ptrace -e reboot -e init_module -e bpf "$HT/r1.names"
	assert_failure
	[ "$(jq -c '[.syscalls[0].names[]]' "$p")" = "$(jq -c '[.syscalls[0].names[]] | sort' "$p")" ]
	# stream.end says where and how many
	n=$(wc -l <"$HT/r1.names")
	assert_stream "$OUT/rec.jsonl" \
		'ev[-1]["type"] == "stream.end"' \
		'ev[-1]["seccomp_profile"] == "rec.seccomp.json"' \
		"ev[-1]['seccomp_syscalls'] == $n"

	# the same work under the profile: runs
	make_plain_bundle "$HT/r2" '["/bin/sh", "-c", "'"$WORK"'"]'
	with_profile "$p" "$HT/r2"
	run run_container sc-r2 "$HT/r2"
	assert_success
	assert_output "hello"
	# one syscall more (symlinkat): EPERM at that call, the rest ran
	make_plain_bundle "$HT/r3" '["/bin/sh", "-c", "'"$WORK"'; ln -s /tmp/f /tmp/g; echo after"]'
	with_profile "$p" "$HT/r3"
	run run_container sc-r3 "$HT/r3"
	assert_line "hello"
	assert_line "after"
	assert_line --partial "ln: /tmp/g: Operation not permitted"
}

@test "podman: record through hooks.d, then run with --security-opt seccomp=FILE; one syscall more fails with EPERM" {
	run pm_run --cidfile "$HT/cid-rec" --annotation io.sfagent.export=file \
		--annotation io.sfagent.workload=podrec --annotation io.sfagent.seccomp=record \
		localhost/sfagent-busybox:test /bin/sh -c "$WORK"
	assert_success
	assert_output "hello"
	# the pod chose the name: its files carry the container id
	cid=$(cat "$HT/cid-rec")
	p="$OUT/podrec.$cid.seccomp.json"
	wait_for "profile" 30 test -f "$p"
	assert_stream "$(pod_file podrec "$cid")" 'ev[-1]["seccomp_profile"] == "podrec.'"$cid"'.seccomp.json"'
	run pm_run --security-opt seccomp="$p" \
		localhost/sfagent-busybox:test /bin/sh -c "$WORK"
	assert_success
	assert_output "hello"
	run pm_run --security-opt seccomp="$p" \
		localhost/sfagent-busybox:test /bin/sh -c "$WORK; ln -s /tmp/f /tmp/g; echo after"
	assert_line "hello"
	assert_line "after"
	assert_line --partial "Operation not permitted"
}

@test "-w NAME --seccomp-profile FILE: the bundle's container recorded, and it runs under the profile" {
	mkdir -p "$HT/mag"
	make_plain_bundle "$HT/mag/wrec" '["/bin/sh", "-c", "'"$WORK"'"]'
	run "$SFAGENT" -w wrec -B "$HT/mag" -o "$HT/wrec.jsonl" --seccomp-profile "$HT/wrec.json"
	assert_success
	assert_output --partial "hello"
	assert_stream "$HT/wrec.jsonl" 'ev[-1]["seccomp_profile"] == "'"$HT/wrec.json"'"'
	make_plain_bundle "$HT/w2" '["/bin/sh", "-c", "'"$WORK"'"]'
	with_profile "$HT/wrec.json" "$HT/w2"
	run run_container sc-w2 "$HT/w2"
	assert_success
	assert_output "hello"
}

# link_fds PID: the BPF links process PID holds
link_fds() {
	local n=0 fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf_link" ] && n=$((n + 1))
	done
	echo "$n"
}

@test "recording costs others nothing when no stream records: its two programs are attached only while one does" {
	make_bundle "$HT/a1" '["/bin/sh", "-c", "sleep 3"]' "$(k8s_ann plain)"
	run_container sc-a1 "$HT/a1" &
	c=$!
	sleep 1.5
	plain=$(link_fds "$AGENT_PID")
	[ "$plain" -ge 6 ]
	make_bundle "$HT/a2" '["/bin/sh", "-c", "sleep 3"]' "$(k8s_ann rec2 '"io.sfagent.seccomp": "record"')"
	run_container sc-a2 "$HT/a2" &
	c2=$!
	sleep 1.5
	# sys_enter and io_uring_submit_req: two links more, for the recording
	[ "$(link_fds "$AGENT_PID")" -eq $((plain + 2)) ]
	wait "$c" "$c2"
	wait_for "profile" 10 test -f "$OUT/rec2.seccomp.json"
	gone() { [ "$(link_fds "$AGENT_PID")" -le "$plain" ]; }
	wait_for "the recording programs detached" 10 gone
}

@test "the profile holds every syscall strace sees in the container; beyond that only runc's init after the hook" {
	make_bundle "$HT/s1" '["/bin/sh", "-c", "'"$WORK"'"]' \
		"$(k8s_ann strc '"io.sfagent.seccomp": "record"')"
	(cd "$HT/s1" && runc --root "$RUNC_ROOT" create sc-s1 </dev/null >/dev/null)
	pid=$(runc --root "$RUNC_ROOT" state sc-s1 | jq .pid)
	# -f with -p: every thread of runc's init, and its children
	strace -f -qq -o "$HT/s1.trace" -p "$pid" &
	spid=$!
	sleep 0.5
	runc --root "$RUNC_ROOT" start sc-s1
	wait "$spid" || true
	wait_for "stopped" 20 test "$(state_of sc-s1)" = stopped
	runc --root "$RUNC_ROOT" delete sc-s1
	p="$OUT/strc.seccomp.json"
	wait_for "profile" 10 test -f "$p"
	allowed_names "$p" >"$HT/s1.names"
	sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$HT/s1.trace" | sort -u >"$HT/s1.straced"
	[ "$(wc -l <"$HT/s1.straced")" -gt 10 ]
	# every syscall strace saw is in the profile
	run comm -23 "$HT/s1.straced" "$HT/s1.names"
	assert_output ""
	# what the profile has beyond: runc's init between the hook and the
	# container's exec (docs/hook.md lists this set)
	comm -13 "$HT/s1.straced" "$HT/s1.names" >"$HT/s1.extra"
	echo "# beyond strace: $(tr '\n' ' ' <"$HT/s1.extra")" >&3
	run grep -vx -f "$SF_TOP/tests/helpers/runc-after-hook.txt" "$HT/s1.extra"
	assert_output ""
}

@test "record:BASE: the base profile's rules stay, denied syscalls stay denied and are counted" {
	cat >"$HT/profiles/base.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
		 "syscalls": [{"names": ["getdents64"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
	EOF
	make_bundle "$HT/b1" '["/bin/sh", "-c", "'"$WORK"'"]' \
		"$(k8s_ann based '"io.sfagent.seccomp": "record:base.json"')"
	run run_container sc-b1 "$HT/b1"
	assert_success
	p="$OUT/based.seccomp.json"
	wait_for "profile" 10 test -f "$p"
	run jq -c '.syscalls[0]' "$p"
	assert_output '{"names":["getdents64"],"action":"SCMP_ACT_ERRNO","errnoRet":13}'
	run allowed_names "$p"
	refute_line "getdents64"
	assert_line "execve"
	run jq -r '.syscalls[-1].comment' "$p"
	assert_output --partial "denied by the base profile"
	assert_stream "$OUT/based.jsonl" \
		'ev[-1]["seccomp_profile"] == "based.seccomp.json"' \
		'ev[-1]["seccomp_blocked"] == 1'
}

@test "bad seccomp input: unknown mode, base missing, outside the directory, not JSON: stream unaffected, stream.end says why" {
	echo '{"defaultAction": ' >"$HT/profiles/broken.json"
	i=0
	for mode in enforce record:nope.json record:../etc/passwd record:broken.json; do
		i=$((i + 1))
		make_bundle "$HT/x$i" '["/bin/sh", "-c", "cat /etc/group >/dev/null; echo ok"]' \
			"$(k8s_ann "bad$i" '"io.sfagent.seccomp": "'"$mode"'"')"
		run run_container sc-x$i "$HT/x$i"
		assert_success
		assert_output "ok"
		f="$OUT/bad$i.jsonl"
		wait_for "stream.end" 10 stream_check "$f" 'ev[-1]["type"] == "stream.end"'
		assert_seq_no_gaps "$f"
		assert_stream "$f" \
			'one("file.open", path="/etc/group") is not None' \
			'"seccomp_profile" not in ev[-1] and ev[-1]["seccomp_error"]'
		[ ! -e "$OUT/bad$i.seccomp.json" ]
	done
	assert_stream "$OUT/bad1.jsonl" '"unknown mode `enforce`" in ev[-1]["seccomp_error"]'
	assert_stream "$OUT/bad2.jsonl" '"nope.json" in ev[-1]["seccomp_error"] and "No such file" in ev[-1]["seccomp_error"]'
	assert_stream "$OUT/bad3.jsonl" '"no '"'/'"'" in ev[-1]["seccomp_error"]'
	assert_stream "$OUT/bad4.jsonl" '"not valid JSON" in ev[-1]["seccomp_error"]'
}

@test "-X --seccomp-profile: a program's profile; 32-bit calls add the compat architecture" {
	run "$SFAGENT" -X -w c32 -o "$HT/c32.jsonl" --seccomp-profile "$HT/c32.json" -- "$SF_WORKLOADS/compat32" "$HT"
	assert_success
	run jq -r '.architectures | join(",")' "$HT/c32.json"
	assert_output "SCMP_ARCH_X86_64,SCMP_ARCH_X86"
	assert_stream "$HT/c32.jsonl" 'ev[-1]["seccomp_profile"] == "'"$HT/c32.json"'"'
	run "$SFAGENT" -X -o "$HT/t.jsonl" --seccomp-profile "$HT/t.json" -- /bin/true
	assert_success
	run jq -r '.architectures | join(",")' "$HT/t.json"
	assert_output "SCMP_ARCH_X86_64"
	run "$SFAGENT" -X -o "$HT/t.jsonl" --seccomp-profile "$HT/no/such/dir/p.json" -- /bin/true
	assert_failure 1
	assert_output --partial "its directory does not exist"
}

@test "the daemon sandboxes itself: capabilities dropped, seccomp on; a forbidden call fails with EPERM, is logged, and it keeps serving" {
	pid=$AGENT_PID
	run grep -E '^Seccomp:' /proc/$pid/status
	assert_output --regexp 'Seccomp:[[:space:]]+2'
	capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$pid/status)
	# CAP_SYS_ADMIN (21) kept, CAP_KILL (5) and CAP_NET_ADMIN (12) gone
	(((0x$capeff >> 21) & 1))
	(((0x$capeff >> 5 & 1) == 0))
	(((0x$capeff >> 12 & 1) == 0))
	grep -q "sandbox: capabilities kept: CAP_SYS_ADMIN" "$HT/agent.log"

	# a second daemon asked to make a forbidden call
	local sock2="$HT/st.sock"
	mkdir -p "$HT/out2"
	chmod 0750 "$HT/out2"
	"$SFAGENT" -D --socket "$sock2" --output-dir "$HT/out2" -v --sandbox-selftest 2>"$HT/st.log" &
	p2=$!
	wait_for "listening" 30 grep -q "listening on" "$HT/st.log"
	grep -q "sandbox self-test: personality() failed with EPERM: denied as designed" "$HT/st.log"
	grep -q "sandbox: denied syscall personality" "$HT/st.log"
	# and it keeps serving: a container through it is streamed
	make_bundle "$HT/st" '["/bin/sh", "-c", "cat /etc/group >/dev/null"]' "$(k8s_ann afterst)"
	jq --arg s "$sock2" '(.hooks.prestart[], .hooks.poststop[]).args |= (map(if . == "'"$SOCK"'" then $s else . end))' \
		"$HT/st/config.json" >"$HT/st/c" && mv "$HT/st/c" "$HT/st/config.json"
	run run_container sc-st "$HT/st"
	assert_success
	wait_for "stream.end" 10 stream_check "$HT/out2/afterst.jsonl" 'ev[-1]["type"] == "stream.end"'
	assert_stream "$HT/out2/afterst.jsonl" 'one("file.open", path="/etc/group") is not None'
	kill "$p2"
	wait "$p2" || true
	# --no-sandbox: no filter
	"$SFAGENT" -D --socket "$sock2" --output-dir "$HT/out2" -v --no-sandbox --sandbox-selftest 2>"$HT/ns.log" &
	p3=$!
	wait_for "listening" 30 grep -q "listening on" "$HT/ns.log"
	grep -q "the sandbox is NOT in force" "$HT/ns.log"
	grep -E '^Seccomp:[[:space:]]+0' /proc/$p3/status
	kill "$p3"
	wait "$p3" || true
}

@test "the systemd unit's SystemCallFilter allows every syscall of the agent's own allow-list" {
	unit="$SF_TOP/deploy/systemd/sfagent.service"
	filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
	run "$SFAGENT" --sandbox-list
	assert_success
	echo "$output" >"$HT/allow.txt"
	[ "$(wc -l <"$HT/allow.txt")" -gt 100 ]
	python3 - "$HT/allow.txt" $filter <<'PY'
import subprocess, sys
allow = [l.strip() for l in open(sys.argv[1]) if l.strip()]
groups = {}
cur = None
for l in subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True).stdout.splitlines():
    if l.startswith("@"):
        cur = l.strip(); groups[cur] = set()
    elif cur and l.strip() and not l.strip().startswith("#"):
        groups[cur].add(l.strip())
def expand(n, seen=()):
    if n.startswith("@"):
        out = set()
        for m in groups.get(n, ()):
            out |= expand(m, seen + (n,))
        return out
    return {n}
ok = set()
for f in sys.argv[2:]:
    ok |= expand(f)
missing = sorted(a for a in allow if a not in ok)
print("outside SystemCallFilter: %s" % (missing or "none"))
sys.exit(1 if missing else 0)
PY
}
