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

# only_links PID: PID is gone, or is sfagent-release holding BPF links only
only_links() {
	local fd l
	alive "$1" || return 0
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = sfagent-release ] || return 1
	for fd in /proc/"$1"/fd/*; do
		[ -e "$fd" ] || continue # gone meanwhile
		l=$(readlink "$fd") || continue
		[ "$l" = "anon_inode:bpf_link" ] || return 1
	done
}

@test "exit: -X holds no perf tracepoint link, so none is left to a child; its stream is whole" {
	# stdout through a pipe: if anything of sfagent's kept it open, cat
	# would not see the end and this would hang
	timeout 60 "$SFAGENT" -X -vv -w t -o - -- /bin/true 2>"$T/err" | timeout 60 cat >"$T/s.jsonl"
	assert_stream "$T/s.jsonl" "ev[0]['type'] == 'stream.start'" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
	grep -q "BPF attached" "$T/err" || { cat "$T/err"; false; }
	if grep "tracepoint links left to process" "$T/err"; then false; fi
}

@test "exit: the daemon's tracepoints (exec_fail's) are left to a child that holds nothing else, and it goes" {
	SFAGENT_TEST_IDLE_DETACH_MS=5000 hook_suite_setup
	SFAGENT_TEST_IDLE_DETACH_MS=5000 start_daemon -v --hash none
	make_bundle "$HT/p1" '["/bin/sh", "-c", "while [ ! -e /sync/go ]; do sleep 0.1; done"]' \
		"{\"io.sfagent.workload\": \"rel1\", \"io.sfagent.filter\": \"$PROC_ONLY\"}"
	bundle_sync "$HT/p1"
	run_container sfp-rel1 "$HT/p1" >/dev/null 2>&1 &
	c1=$!
	wait_for "exec_fail attached" 20 has_prog sf_exec_fail
	stop_daemon TERM
	touch "$HT/sync/go"
	wait "$c1" || true
	run sed -n 's/.* \([0-9]*\) tracepoint links left to process \([0-9]*\) to release/\1 \2/p' "$HT/agent.log"
	assert_success
	[ -n "$output" ] || { grep -v libbpf "$HT/agent.log"; false; }
	read -r n pid <<<"$output"
	[ "$n" -eq 2 ]
	# while it lives, it holds the links and nothing else (once it has
	# closed the rest: the daemon's exit may come first)
	for _ in $(seq 20); do only_links "$pid" && break; sleep 0.1; done
	only_links "$pid" || { ls -l "/proc/$pid/fd/"; cat "/proc/$pid/comm"; false; }
	# and it ends once the kernel has released them (~40 ms each)
	for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
	if alive "$pid"; then false; fi
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

# the tp_btf links (sched_process_* 3, cap_capable, sys_exit, io_uring 2)
assert_attached() {
	local n
	n=$(link_fds "$AGENT_PID")
	[ "$n" -ge 6 ] || { echo "the agent holds $n BPF links"; grep -v libbpf "$HT/agent.log"; false; }
}

idle_daemon() {
	hook_suite_setup
	SFAGENT_TEST_IDLE_DETACH_MS=5000 start_daemon -v "$@"
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
	# (links first: the detach comes before its log line)
	[ "$(link_fds "$AGENT_PID")" -ge 6 ] ||
		wait_for "probe detached" 5 grep -q "nothing tracked for" "$HT/agent.log"
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


# ---- -D: only the programs the tracked workloads need ---------------------

@test "-X: a filter keeping process exec/fork/exit keeps every program (its totals hold); failed execs come once each" {
	mkdir -p "$T/work"
	run "$SFAGENT" -X -v -w xf -o "$T/s.jsonl" --hash none \
		--filter '[type process.exec] | [type process.fork] | [type process.exit]' \
		-- "$SF_WORKLOADS/execfail" "$T/work" short
	[ "$status" -eq 0 ]
	# what -X detached would be in neither events nor filtered (46-filter)
	! echo "$output" | grep -q "detached" || { echo "$output" | grep -v libbpf; false; }
	assert_stream "$T/s.jsonl" \
		"[e['filename'] for e in by('process.exec') if e['ret'] == -2] == ['$T/work/nosuch-execve', '$T/work/nosuch-execveat']" \
		"one('process.exec', filename='$T/work/nosuch-execveat')['syscall'] == 'execveat'" \
		"one('process.exec', filename='$T/work/nosuch-execve')['argv'][:3] == ['nosuch-execve', 'two words', 'short']" \
		"[e['ret'] for e in by('process.exec') if e['filename'] == '/bin/true'] == [-14, -14]" \
		"not by('file.open')"
}

has_prog() { linked_progs "$AGENT_PID" | grep -qx "$1"; }
lacks_prog() { ! has_prog "$1"; }

# the types only sched_process_* send (failed execs aside)
PROC_ONLY='[type process.exec] | [type process.fork] | [type process.exit]'

# bundle_sync DIR: DIR's container gets $HT/sync at /sync (rw), to wait on
bundle_sync() {
	mkdir -p "$HT/sync"
	jq --arg s "$HT/sync" '.mounts += [{"destination": "/sync", "type": "bind",
		"source": $s, "options": ["rbind", "rw"]}]' \
		"$1/config.json" >"$1/config.json.tmp" && mv "$1/config.json.tmp" "$1/config.json"
}

@test "-X: every program linked, none on a per-syscall entry tracepoint (the setuid family's old ids need none)" {
	"$SFAGENT" -X -w cw -o "$T/x.jsonl" -- "$SF_WORKLOADS/credwait" "$T/go" native &
	ag=$!
	for _ in $(seq 200); do grep -q '"process.exec"' "$T/x.jsonl" 2>/dev/null && break; sleep 0.1; done
	run linked_tps "$ag"
	touch "$T/go"
	wait "$ag"
	echo "$output"
	assert_line sys_exit
	assert_line sched_process_fork
	assert_line sched_process_exec
	refute_line --regexp '^sys_enter_'
	assert_stream "$T/x.jsonl" \
		"(lambda m: m['old_uid'] == 0 and m['old_gid'] == 4321 and 'old_unknown' not in m)(one('process.setuid', syscall='setresuid', new_uid=4321))"
}

@test "-D: a workload keeping process.setuid only holds sys_exit and sched_process_fork/_exec (its old ids), no entry tracepoint; old ids right" {
	idle_daemon --hash none
	wait_for "idle daemon without links" 20 no_links
	make_bundle "$HT/s1" '["/tmp/credwait", "/sync/go", "native"]' \
		'{"io.sfagent.workload": "cred1", "io.sfagent.filter": "[type process.setuid]"}'
	bundle_sync "$HT/s1"
	jq --arg c "$SF_WORKLOADS/credwait" '.mounts += [{"destination": "/tmp/credwait",
		"type": "bind", "source": $c, "options": ["bind", "ro"]}]' \
		"$HT/s1/config.json" >"$HT/s1/c.json" && mv "$HT/s1/c.json" "$HT/s1/config.json"
	run_container sfp-cred1 "$HT/s1" >"$HT/s1.out" &
	c1=$!
	f=$(pod_file cred1 sfp-cred1)
	wait_for "its setresgid" 20 stream_check "$f" 'one("process.setuid", syscall="setresgid")'
	run linked_tps "$AGENT_PID"
	touch "$HT/sync/go"
	echo "$output"
	assert_line sys_exit
	assert_line sched_process_fork
	assert_line sched_process_exec
	refute_line --regexp '^sys_enter_'
	refute_line cap_capable
	wait "$c1"
	wait_for "stream.end" 20 grep -q stream.end "$f"
	assert_stream "$f" \
		'set(e["type"] for e in ev if not e["type"].startswith("stream.")) == {"process.setuid"}' \
		'(lambda g: g["old_gid"] == 0 and g["new_gid"] == 4321 and "old_unknown" not in g)(one("process.setuid", syscall="setresgid"))' \
		'(lambda m: m["old_uid"] == 0 and m["old_gid"] == 4321 and m["new_uid"] == 4321 and "old_unknown" not in m)(one("process.setuid", syscall="setresuid", new_uid=4321))' \
		'(lambda t: t["tid"] != t["pid"] and t["old_uid"] == 0 and t["old_gid"] == 0 and "old_unknown" not in t)(one("process.setuid", syscall="setresuid", new_uid=5432))' \
		'ev[-1]["missed"] == 0'
}

@test "-D: a workload keeping process exec/fork/exit only holds no sys_exit link; its execs, failed ones too, forks and exits are there" {
	idle_daemon --hash none
	wait_for "idle daemon without links" 20 no_links
	make_bundle "$HT/p1" '["/bin/sh", "-c", "/nosuch-p1; cat /etc/passwd >/dev/null; while [ ! -e /sync/go ]; do sleep 0.1; done; echo ran"]' \
		"{\"io.sfagent.workload\": \"proc1\", \"io.sfagent.filter\": \"$PROC_ONLY\"}"
	bundle_sync "$HT/p1"
	run_container sfp-proc1 "$HT/p1" >"$HT/p1.out" &
	c1=$!
	wait_for "attached for proc1" 20 grep -q "probe attached in" "$HT/agent.log"
	run linked_progs "$AGENT_PID"
	echo "$output"
	# sched_process_* and the two execve exits, nothing on every syscall
	assert_line sf_exec
	assert_line sf_fork
	assert_line sf_exit
	assert_line sf_exec_fail
	refute_line sf_sys_exit
	refute_line sf_capable
	refute_line sf_uring_submit
	refute_line sf_sys_enter_cred
	touch "$HT/sync/go"
	wait "$c1"
	grep -q ran "$HT/p1.out"
	f=$(pod_file proc1 sfp-proc1)
	wait_for "stream.end" 20 grep -q stream.end "$f"
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'one("process.exec", filename="/nosuch-p1")["ret"] == -2' \
		'[e for e in by("process.exec") if e.get("argv", [""])[0] == "cat"]' \
		'len(by("process.fork")) >= 2 and len(by("process.exit")) >= 2' \
		'not by("file.open")' \
		'ev[-1]["missed"] == 0'
}

@test "-D: a workload wanting file events attaches sys_exit before its ACK (its first open is seen); it goes after the hysteresis, the other's failed execs still seen" {
	idle_daemon --hash none
	wait_for "idle daemon without links" 20 no_links
	# proc2: process events only, alive across the whole test; each
	# /sync/N it finds is a failed exec of /nosuch-N
	make_bundle "$HT/p2" '["/bin/sh", "-c", "n=1; while [ ! -e /sync/done ]; do if [ -e /sync/$n ]; then /nosuch-$n; n=$((n + 1)); fi; sleep 0.1; done; echo ran"]' \
		"{\"io.sfagent.workload\": \"proc2\", \"io.sfagent.filter\": \"$PROC_ONLY\"}"
	bundle_sync "$HT/p2"
	run_container sfp-proc2 "$HT/p2" >"$HT/p2.out" &
	c2=$!
	wait_for "attached for proc2" 20 grep -q "probe attached in" "$HT/agent.log"
	lacks_prog sf_sys_exit
	touch "$HT/sync/1"
	# file2: everything; its very first syscalls open /etc/group
	make_bundle "$HT/f2" '["/bin/cat", "/etc/group"]' '{"io.sfagent.workload": "file2"}'
	run run_container sfp-file2 "$HT/f2"
	assert_success
	grep -q "probe: sys_exit,.* added in" "$HT/agent.log" || { grep -v libbpf "$HT/agent.log"; false; }
	f=$(pod_file file2 sfp-file2)
	wait_for "stream.end of file2" 20 grep -q stream.end "$f"
	assert_stream "$f" \
		'by("process.exec")[0]["filename"] == "/bin/cat"' \
		'one("file.open", path="/etc/group") is not None' \
		'ev[-1]["missed"] == 0'
	# within the hysteresis it stays (unless a loaded machine took longer
	# than it to get here: then it was detached and said so)
	has_prog sf_sys_exit ||
		wait_for "sys_exit detached" 5 grep -q "probe: sys_exit,.* detached" "$HT/agent.log"
	touch "$HT/sync/2"
	wait_for "sys_exit detached" 20 grep -q "probe: sys_exit,.* detached, no workload needed them" "$HT/agent.log"
	wait_for "sys_exit link gone" 20 lacks_prog sf_sys_exit
	has_prog sf_exec
	has_prog sf_exec_fail
	touch "$HT/sync/3"
	sleep 0.5
	touch "$HT/sync/done"
	wait "$c2"
	grep -q ran "$HT/p2.out"
	f=$(pod_file proc2 sfp-proc2)
	wait_for "stream.end of proc2" 20 grep -q stream.end "$f"
	assert_seq_no_gaps "$f"
	# each failed exec once: before, while and after sys_exit was there
	assert_stream "$f" \
		'[e["filename"] for e in by("process.exec") if e.get("ret", 0) < 0] == ["/nosuch-1", "/nosuch-2", "/nosuch-3"]' \
		'not by("file.open")' \
		'ev[-1]["missed"] == 0'
}

# ---- the kernel BTF's types for CO-RE, cached (agent/btfcache.h) ----------

# btf_run DIR|none LOG: one short -X run, libbpf's log in LOG
btf_run() {
	run "$SFAGENT" -X -w t -o "$T/s.jsonl" --btf-cache "$1" -d "$2" -- /bin/true
	assert_success
	assert_stream "$T/s.jsonl" "by('process.exec')[0]['filename'] == '/bin/true'" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
}

# relos LOG: what each CO-RE relocation came to (patched offsets, misses);
# once each: loaded in two threads (bpf_load_split), a subprogram shared by
# programs of both instances is relocated in each
relos() {
	grep -o "prog '[a-z_0-9]*': relo #[0-9]*: \(patched.*\|no matching.*\|substituting.*\)" "$1" | sort -u
}

# cands LOG: the candidates' type ids libbpf matched against
cands() {
	grep -o "found target candidate \[[0-9]*\] [a-z]* [a-z_0-9]*" "$1" | sort -u
}

@test "btf cache: a copy built once, used next, relocations exactly the kernel BTF's" {
	mkdir -m 700 "$T/c"
	btf_run none "$T/full.log"
	btf_run "$T/c" "$T/build.log"
	grep -q "BTF cache: btf-.* built" "$T/build.log" || { grep "BTF cache" "$T/build.log"; false; }
	btf_run "$T/c" "$T/hit.log"
	grep -q "BTF cache: boot-[0-9a-f-]*\.btf, task_struct [0-9]* (" "$T/hit.log"
	if grep -q "BTF cache: .* built" "$T/hit.log"; then false; fi
	# the entry and this boot's link to it
	[ "$(ls "$T/c" | wc -l)" = 2 ]
	[ "$(stat -c %a "$T/c"/btf-*.btf)" = 600 ]
	# libbpf matched against the copy (other type ids) ...
	[ -n "$(cands "$T/full.log")" ]
	[ "$(cands "$T/full.log")" != "$(cands "$T/hit.log")" ]
	# ... and every relocation came out as against the kernel's own BTF
	[ "$(relos "$T/full.log" | wc -l)" -gt 100 ]
	diff <(relos "$T/full.log") <(relos "$T/build.log")
	diff <(relos "$T/full.log") <(relos "$T/hit.log")
}

@test "btf cache: a damaged entry is removed and rebuilt, never used" {
	mkdir -m 700 "$T/c"
	btf_run none "$T/full.log"
	btf_run "$T/c" "$T/build.log"
	f=$(ls "$T/c"/btf-*.btf)
	# one byte of a member's offset changed, the name (its key) kept
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//3] ^= 0x10; open(p,"wb").write(b)' "$f"
	btf_run "$T/c" "$T/damaged.log"
	grep -q "BTF cache: $(basename "$f") damaged, removed" "$T/damaged.log"
	grep -q "BTF cache: btf-.* built" "$T/damaged.log"
	diff <(relos "$T/full.log") <(relos "$T/damaged.log")
	# and a truncated one
	f=$(ls "$T/c"/btf-*.btf)
	truncate -s 100 "$f"
	btf_run "$T/c" "$T/short.log"
	grep -q "BTF cache: $(basename "$f") damaged, removed" "$T/short.log"
	diff <(relos "$T/full.log") <(relos "$T/short.log")
}

@test "btf cache: another kernel's entry is not used and is removed; old builds' entries and dead writers' temporary files too" {
	mkdir -m 700 "$T/c"
	btf_run "$T/c" "$T/build.log"
	f=$(ls "$T/c"/btf-*.btf)
	# the same bytes under another kernel BTF's hash (another kernel:
	# another boot, so no link of this boot's)
	other="$T/c/btf-0123456789abcdef-${f#*/btf-*-}"
	mv "$f" "$other"
	rm "$T/c"/boot-*
	btf_run "$T/c" "$T/other.log"
	grep -q "BTF cache: btf-.* built" "$T/other.log"
	[ ! -e "$other" ]
	[ -e "$f" ]
	# other objects' (other builds') entries of this kernel: kept while
	# recent, removed once a day old, when an entry is written
	k=${f#*/btf-}; k=${k%%-*}
	recent="$T/c/btf-$k-0000000000000001-0000000000000001.btf"
	old="$T/c/btf-$k-0000000000000002-0000000000000002.btf"
	echo x >"$recent"
	echo x >"$old"
	touch -d "2 days ago" "$old"
	# a writer killed between open and rename: its .tmp-PID goes once
	# it is older than a write takes, a recent one (a writer now) stays
	echo x >"$T/c/.tmp-999999"
	touch -d "1 hour ago" "$T/c/.tmp-999999"
	echo x >"$T/c/.tmp-999998"
	rm "$f" "$T/c"/boot-*
	btf_run "$T/c" "$T/objects.log"
	grep -q "BTF cache: btf-.* built" "$T/objects.log"
	[ -e "$recent" ]
	[ ! -e "$old" ]
	[ -e "$f" ]
	[ ! -e "$T/c/.tmp-999999" ]
	[ -e "$T/c/.tmp-999998" ]
}

@test "btf cache: a directory others can write, or a symlink, is not used" {
	mkdir -m 777 "$T/c"
	btf_run "$T/c" "$T/open.log"
	grep -q "BTF cache $T/c: not used (owned by uid 0, mode 777" "$T/open.log"
	[ -z "$(ls "$T/c")" ]
	mkdir -m 700 "$T/real"
	ln -s "$T/real" "$T/link"
	btf_run "$T/link" "$T/link.log"
	grep -q "BTF cache $T/link: " "$T/link.log"
	[ -z "$(ls "$T/real")" ]
	# none: not kept, not looked for
	btf_run none "$T/none.log"
	if grep -q "BTF cache" "$T/none.log"; then false; fi
}

@test "btf cache: an entry that libbpf cannot use: loaded with the kernel's BTF, the entry removed" {
	mkdir -m 700 "$T/c"
	btf_run none "$T/full.log"
	btf_run "$T/c" "$T/build.log"
	f=$(ls "$T/c"/btf-*.btf)
	# not BTF, under the name its bytes hash to (agent/btfcache.c hash64)
	bad=$(python3 - "$f" <<'PY'
import os, sys
M = (1 << 64) - 1
def h64(b):
    n = len(b); h = 0x9e3779b97f4a7c15 ^ n; i = 0
    while i + 8 <= n:
        h = ((h ^ int.from_bytes(b[i:i + 8], "little")) * 0xff51afd7ed558ccd) & M
        h ^= h >> 32; i += 8
    for c in b[i:]:
        h = ((h ^ c) * 0x100000001b3) & M
    h ^= h >> 33; h = (h * 0xc4ceb9fe1a85ec53) & M
    return h ^ (h >> 33)
f = sys.argv[1]
assert "%016x.btf" % h64(open(f, "rb").read()) == f.rsplit("-", 1)[1]
b = b"not BTF at all\n" * 100
bad = "%s-%016x.btf" % (f.rsplit("-", 1)[0], h64(b))
open(bad, "wb").write(b)
os.unlink(f)
print(bad)
PY
)
	rm "$T/c"/boot-* # found by the kernel BTF's hash: bad
	btf_run "$T/c" "$T/bad.log"
	grep -q "again with the kernel's BTF" "$T/bad.log"
	grep -q "BTF cache: $(basename "$bad") removed" "$T/bad.log"
	[ ! -e "$bad" ]
	diff <(relos "$T/full.log") <(relos "$T/bad.log")
	btf_run "$T/c" "$T/again.log"
	grep -q "BTF cache: btf-.* built" "$T/again.log"
}


@test "btf cache: the task read through the kernel's task_struct id it keeps (bpf_rdonly_cast): pid, ppid, uid, gid, comm right" {
	mkdir -m 700 "$T/c"
	for v in build hit none; do
		c="$T/c"
		[ $v = none ] && c=none
		run "$SFAGENT" -X -w t -o "$T/$v.jsonl" --btf-cache "$c" -d "$T/$v.log" \
			-- /bin/sh -c 'echo "$PPID $$ $(id -u) $(id -g)"'
		assert_success
		read -r ppid pid uid gid <<<"$output"
		assert_stream "$T/$v.jsonl" \
			"[(e['pid'], e['ppid'], e['uid'], e['gid'], e['euid'], e['comm']) for e in by('process.exec') if e['pid'] == $pid][0] == ($pid, $ppid, $uid, $gid, $uid, 'sh')" \
			"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
		if grep -q "again with the kernel's BTF" "$T/$v.log"; then false; fi
	done
	# the id came from the copy, built and used
	id=$(sed -n 's/.*BTF cache: btf-.* built, task_struct \([0-9]*\) .*/\1/p' "$T/build.log")
	[ -n "$id" ] && [ "$id" -gt 0 ]
	grep -q "BTF cache: boot-[0-9a-f-]*\.btf, task_struct $id (" "$T/hit.log"
}

@test "btf cache: this boot's link finds the entry without the kernel's BTF read; another boot's is not used and goes; a link libbpf cannot use goes with its entry" {
	mkdir -m 700 "$T/c"
	btf_run "$T/c" "$T/build.log"
	b=$(ls "$T/c"/boot-*.btf)
	f=$(ls "$T/c"/btf-*.btf)
	# a hard link of the entry
	[ "$(stat -c %i "$b")" = "$(stat -c %i "$f")" ]
	strace -f -qq -e trace=openat -o "$T/st" \
		"$SFAGENT" -X -w t -o "$T/s.jsonl" --btf-cache "$T/c" -d "$T/hit.log" -- /bin/true
	grep -q "BTF cache: $(basename "$b"), task_struct [0-9]* (" "$T/hit.log"
	grep -q "openat(.*$(basename "$b")" "$T/st"
	if grep -q "/sys/kernel/btf/vmlinux" "$T/st"; then false; fi
	assert_stream "$T/s.jsonl" "by('process.exec')[0]['filename'] == '/bin/true'" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
	# another boot's link: not used; found by the kernel BTF's hash, and
	# this boot's link made again, the other removed
	other="$T/c/boot-0123456789abcdef-${b#*/boot-*-}"
	mv "$b" "$other"
	btf_run "$T/c" "$T/other.log"
	grep -q "BTF cache: $(basename "$f"), task_struct" "$T/other.log"
	if grep -q "BTF cache: .* built" "$T/other.log"; then false; fi
	[ ! -e "$other" ]
	[ -e "$b" ]
	# a link whose bytes libbpf cannot use (their hash in its name, as
	# tests above): it and its entry removed, the load again with the
	# kernel's BTF, the next start builds them again
	python3 -c 'import sys; open(sys.argv[1], "wb").write(b"not BTF at all\n" * 100)' "$T/bad"
	h=$(python3 - "$T/bad" <<'PY'
import sys
M = (1 << 64) - 1
b = open(sys.argv[1], "rb").read(); n = len(b); h = 0x9e3779b97f4a7c15 ^ n; i = 0
while i + 8 <= n:
    h = ((h ^ int.from_bytes(b[i:i + 8], "little")) * 0xff51afd7ed558ccd) & M
    h ^= h >> 32; i += 8
for c in b[i:]:
    h = ((h ^ c) * 0x100000001b3) & M
h ^= h >> 33; h = (h * 0xc4ceb9fe1a85ec53) & M
print("%016x" % (h ^ (h >> 33)))
PY
)
	rm "$b" "$f"
	bad_link="${b%-*}-$h.btf"
	bad_entry="${f%-*}-$h.btf"
	cp "$T/bad" "$bad_entry"
	ln "$bad_entry" "$bad_link"
	btf_run "$T/c" "$T/bad.log"
	grep -q "again with the kernel's BTF" "$T/bad.log"
	grep -q "BTF cache: $(basename "$bad_link") removed" "$T/bad.log"
	grep -q "BTF cache: $(basename "$bad_entry") removed" "$T/bad.log"
	[ ! -e "$bad_link" ] && [ ! -e "$bad_entry" ]
	btf_run "$T/c" "$T/again.log"
	grep -q "BTF cache: btf-.* built" "$T/again.log"
}

# ---- the load in two threads (agent/probe.c bpf_load_split) ---------------

# split_run 0|1 NAME: a -X run of a file workload, loaded whole or split
split_run() {
	SFAGENT_LOAD_SPLIT=$1 run "$SFAGENT" -X -w t -o "$T/$2.jsonl" --btf-cache "$T/c" -d "$T/$2.log" \
		-- /bin/sh -c "cat /etc/hostname >/dev/null; ls /nosuch-$2 2>/dev/null; exit 3"
	[ "$status" -eq 3 ]
}

@test "load in two threads: the same programs attached, every class of event there, the totals whole" {
	mkdir -m 700 "$T/c"
	split_run 0 whole
	grep -q "BPF object loaded whole (no CPU free, or forced)" "$T/whole.log"
	split_run 1 split
	grep -q "BPF object loaded in two threads" "$T/split.log"
	for v in whole split; do
		grep -o "BPF attached: .*" "$T/$v.log" >"$T/$v.att"
		assert_stream "$T/$v.jsonl" \
			"one('file.open', path='/etc/hostname') is not None" \
			"[e.get('ret', 0) for e in by('process.exec') if e['filename'].endswith('/cat')] == [0]" \
			"by('process.exit')[-1]['exit_code'] == 3" \
			"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0" \
			"ev[-1]['events'] == len([e for e in ev if not e['type'].startswith('stream.')])"
	done
	diff "$T/whole.att" "$T/split.att"
}

@test "load in two threads: two instances of the object, each map created once, the kernel's BTF parsed by neither (its ids from the cache)" {
	mkdir -m 700 "$T/c"
	split_run 0 warm # the cache built (its own parse of the kernel's BTF)
	split_run 0 whole
	split_run 1 split
	grep -q "BPF object loaded in two threads" "$T/split.log"
	# no third instance that only creates the maps
	[ "$(grep -c "libbpf: loading object 'sfagent_bpf'" "$T/split.log")" = 2 ]
	# libbpf parses the kernel's BTF (5.5 MB) for any tp_btf attach
	# target or kfunc it has to find itself: none (agent/kernel_ids.h),
	# loaded whole or split; every bpf_rdonly_cast a kfunc call
	for v in whole split; do
		[ "$(grep -c "libbpf: loading kernel BTF" "$T/$v.log")" = 0 ]
		grep -q "prog 'sf_sys_exit': 2 calls of bpf_rdonly_cast made kfunc calls" "$T/$v.log"
		grep -q "prog 'sf_exec': 1 calls of bpf_rdonly_cast made kfunc calls" "$T/$v.log"
		if grep -q "bpf_rdonly_cast made moves\|libbpf's to find" "$T/$v.log"; then false; fi
	done
	# without the cache libbpf finds them, once per instance, and the
	# cast is a move (no task id: bpf/event.bpf.h task_ro)
	SFAGENT_LOAD_SPLIT=1 run "$SFAGENT" -X -w t -o "$T/none.jsonl" --btf-cache none -d "$T/none.log" -- /bin/true
	assert_success
	[ "$(grep -c "libbpf: loading kernel BTF '/sys/kernel/btf/vmlinux'" "$T/none.log")" = 2 ]
	grep -q "prog 'sf_sys_exit': 2 calls of bpf_rdonly_cast made moves" "$T/none.log"
	# the first creates every map but the ring (made on a thread of its
	# own beforehand: agent/probe.c ring_early), the second takes each of
	# them
	n=$(grep -c "libbpf: map '[^']*': created successfully" "$T/split.log")
	[ "$n" -gt 10 ]
	if grep -q "libbpf: map 'events': created successfully" "$T/split.log"; then false; fi
	[ "$(grep -c "libbpf: map 'events': skipping creation (preset fd" "$T/split.log")" = 2 ]
	[ "$(grep -c "libbpf: map '[^']*': skipping creation (preset fd" "$T/split.log")" = $((n + 2)) ]
}

# tiny_btf FILE: a raw BTF of one type (int): none of the kernel's
tiny_btf() {
	python3 -c '
import struct, sys
strs = b"\0int\0"
types = struct.pack("<IIII", 1, 1 << 24, 4, 32)  # "int": kind INT, 4 bytes, 32 bits
hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
open(sys.argv[1], "wb").write(hdr + types + strs)' "$1"
}

# A load that fails, whole or in two threads: one line, status 1, and no
# thread left waiting for the other (timeout: 124).  Real refusals of the
# kernel: a map of 0 entries as the first instance creates the maps (before
# the second may take them), and a BTF without the kernel's types (the
# verifier refuses sf_exec after the maps were taken).
@test "load in two threads: a load that fails before or after the maps are shared fails as a whole load does" {
	mkdir -m 700 "$T/c"
	tiny_btf "$T/tiny.btf"
	for split in 0 1; do
		SFAGENT_TEST_FLOW_MAP_ENTRIES=0 SFAGENT_LOAD_SPLIT=$split run timeout 60 \
			"$SFAGENT" -X -w t -o "$T/m$split.jsonl" --btf-cache "$T/c" -- /bin/true
		[ "$status" -eq 1 ]
		[ "$output" = "sfagent: load BPF programs: Invalid argument (kernel BTF /sys/kernel/btf/vmlinux; run with -d FILE for libbpf's and the verifier's log)" ]
		SFAGENT_LOAD_SPLIT=$split run timeout 60 \
			"$SFAGENT" -X -w t -o "$T/b$split.jsonl" --btf "$T/tiny.btf" -- /bin/true
		[ "$status" -eq 1 ]
		[ "$(grep -c "load BPF programs: " <<<"$output")" = 1 ]
		[ "$(echo "$output" | tail -1)" = "sfagent: load BPF programs: Invalid argument (kernel BTF $T/tiny.btf; run with -d FILE for libbpf's and the verifier's log)" ]
	done
}

# ---- -X's child: born in its cgroup (agent/modes/run_exec.c fork_into) ----

@test "-X: the program is born in its cgroup (clone3), or joins it after a fork (SFAGENT_TEST_FORK=1); seen from its first exec either way" {
	for v in clone3 fork; do
		if [ $v = fork ]; then export SFAGENT_TEST_FORK=1; else unset SFAGENT_TEST_FORK; fi
		run "$SFAGENT" -X -vv -w t -o "$T/$v.jsonl" -- /bin/cat /proc/self/cgroup
		assert_success
		# the program itself says where it runs
		grep -q "^0::/.*sfagent/x-[0-9]*$" <<<"$output" || { grep -v libbpf <<<"$output"; false; }
		if [ $v = fork ]; then
			grep -q "fork into the cgroup: .*: fork, then join it" <<<"$output"
		else
			if grep -q "fork into the cgroup" <<<"$output"; then false; fi
		fi
		assert_stream "$T/$v.jsonl" \
			"by('process.exec')[0]['filename'] == '/bin/cat'" \
			"one('file.open', path='/proc/self/cgroup') is not None" \
			"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
	done
	unset SFAGENT_TEST_FORK
}

# prog_loaded LOG NAME: the load in LOG (-d) verified program NAME (each
# instance says "skipped loading" for what it did not load)
prog_loaded() {
	local skipped instances
	skipped=$(grep -c "libbpf: prog '$2': skipped loading" "$1" || true)
	instances=$(grep -c "libbpf: loading object 'sfagent_bpf'" "$1" || true)
	[ "$skipped" -lt "$instances" ]
}

@test "-X: programs it can never attach are not loaded (seccomp recording's without --seccomp-profile, failed execs' without a filter); with them they are" {
	"$SFAGENT" -X -w p0 -o "$T/p0.jsonl" -d "$T/p0.log" -- /bin/sh -c '/nonexistent 2>/dev/null; true'
	if prog_loaded "$T/p0.log" sf_seccomp_enter; then false; fi
	if prog_loaded "$T/p0.log" sf_seccomp_uring; then false; fi
	if prog_loaded "$T/p0.log" sf_exec_fail; then false; fi
	prog_loaded "$T/p0.log" sf_exec
	# the failed exec is still there, from sf_sys_exit
	assert_stream "$T/p0.jsonl" "one('process.exec', ret=-2)"
	# a filter may need the failed-exec tracepoints: loaded
	"$SFAGENT" -X -w p1 -o "$T/p1.jsonl" -d "$T/p1.log" --filter '[type process]' -- /bin/true
	prog_loaded "$T/p1.log" sf_exec_fail
	# --seccomp-profile records: loaded, and the profile written
	"$SFAGENT" -X -w p2 -o "$T/p2.jsonl" -d "$T/p2.log" --seccomp-profile "$T/p2.json" -- /bin/true
	prog_loaded "$T/p2.log" sf_seccomp_enter
	prog_loaded "$T/p2.log" sf_seccomp_uring
	python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert "execve" in json.dumps(p)' "$T/p2.json"
}

# flow_entries PID: max_entries of flow_counts among PID's BPF maps (a hash
# of 16-byte keys and 40-byte values: struct sf_flow_key, sf_flow_counts)
flow_entries() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "map_type:" { t = $2 } $1 == "key_size:" { k = $2 }
			$1 == "value_size:" { v = $2 } $1 == "max_entries:" { m = $2 }
			END { if (t == 1 && k == 16 && v == 40) print m }' "$f" 2>/dev/null
	done | head -1
}

@test "-X: the flow counters' maps take one entry unless a stream counts flows (-F sysflow: full size)" {
	local fmt want
	for fmt in json sysflow; do
		"$SFAGENT" -X -F "$fmt" -w "f$fmt" -o "$T/f.$fmt" -- /bin/sleep 1.5 &
		ag=$!
		for _ in $(seq 100); do [ -n "$(flow_entries "$ag")" ] && break; sleep 0.05; done
		n=$(flow_entries "$ag")
		wait "$ag"
		want=1
		[ "$fmt" = json ] || want=65536
		echo "$fmt: flow_counts max_entries $n, want $want"
		[ "$n" = "$want" ]
	done
}
