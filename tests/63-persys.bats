#!/usr/bin/env bats
# Per-syscall mode: on a kernel that cannot run ia32 syscalls, the native
# syscall events come from the per-syscall tracepoints (sf_sys_exit_tp,
# bpf/persys.bpf.h) instead of the generic sys_exit (sf_sys_exit); the
# agent's probe (agent/ia32.c) picks the mode at start.  This machine runs
# ia32 syscalls, and a kernel without them cannot be had here without a
# reboot: the tests that want per-syscall mode SIMULATE A KERNEL WITHOUT
# IA32 EMULATION with the test-only SFAGENT_TEST_IA32=absent, which makes
# the probe answer "absent".  Every native event must be the same in both
# modes.

load test_helper
load hook_helper

PYAVRO=/usr/bin/python3 # Debian's python3-avro lives there
SAME="$SF_TOP/tests/helpers/stream_same.py"

setup() {
	T=$(mktemp -d)
	mkdir "$T/work"
}

teardown() {
	[ -n "${HT:-}" ] && hook_suite_teardown
	rm -rf "$T"
}

# in_mode generic|persys NAME ARGS...: sfagent -X -v -d $T/NAME.log -w eq
# -o $T/NAME.jsonl ARGS... (a fresh $T/work each time), its status in $status
in_mode() {
	local mode=$1 name=$2
	shift 2
	rm -rf "$T/work"
	mkdir "$T/work"
	if [ "$mode" = persys ]; then
		run env SFAGENT_TEST_IA32=absent "$SFAGENT" -X -v -d "$T/$name.log" -w eq -o "$T/$name.jsonl" "$@"
	else
		run env -u SFAGENT_TEST_IA32 "$SFAGENT" -X -v -d "$T/$name.log" -w eq -o "$T/$name.jsonl" "$@"
	fi
}

# same_events EXPECTED_STATUS ARGS...: the workload twice in the generic
# mode, once in per-syscall mode; the same records (tests/helpers/stream_same.py),
# but those of the syscalls this kernel has no tracepoint for (not built
# in: they only fail with ENOSYS), which per-syscall mode cannot see
same_events() {
	local want=$1 unseen
	shift
	in_mode generic g1 "$@"
	[ "$status" -eq "$want" ] || { echo "$output"; false; }
	in_mode generic g2 "$@"
	[ "$status" -eq "$want" ]
	in_mode persys p1 "$@"
	[ "$status" -eq "$want" ] || { echo "$output"; false; }
	grep -q "syscall events: per-syscall tracepoints" "$T/p1.log"
	grep -q "syscall events: generic sys_exit" "$T/g1.log"
	unseen=$(sed -n 's/.*per-syscall mode: no tracepoint (.*)://p' "$T/p1.log" | tr ' ' ,)
	run python3 "$SAME" "$T/g1.jsonl" "$T/g2.jsonl" "$T/p1.jsonl" "${unseen#,}"
	echo "$output"
	assert_success
	# and not empty: the workload's own events are there
	assert_stream "$T/p1.jsonl" "len(ev) > 3" "ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
}

@test "probe: this kernel runs int \$0x80 (ia32 emulation on): the generic sys_exit, and ia32 calls are seen; the daemon's metrics say so" {
	in_mode generic c32 -- "$SF_WORKLOADS/compat32" "$T/work"
	assert_success
	grep -q "syscall events: generic sys_exit (sf_sys_exit) (ia32 syscalls can run: int \$0x80 ran getpid)" "$T/c32.log" ||
		{ grep -v libbpf "$T/c32.log"; false; }
	assert_stream "$T/c32.jsonl" "one('file.mkdir', path='$T/work/int80-dir')['compat'] is True"
	hook_suite_setup
	unset SFAGENT_TEST_IA32
	start_daemon --metrics 127.0.0.1:0
	port=$(sed -n 's/.*metrics on http:\/\/127.0.0.1:\([0-9]*\)\/metrics.*/\1/p' "$HT/agent.log" | tail -1)
	curl -sf "http://127.0.0.1:$port/metrics" | grep -qx "sfagent_probe_per_syscall 0"
}

@test "per-syscall mode (simulated: no ia32 emulation): chosen from the probe; sf_sys_exit not loaded, so int \$0x80 calls go unseen, native ones seen" {
	# what makes this fail if the probe's answer were ignored: the ia32
	# mkdir is seen exactly when sf_sys_exit is there
	in_mode persys c32 -- "$SF_WORKLOADS/compat32" "$T/work"
	assert_success
	grep -q "syscall events: per-syscall tracepoints (sf_sys_exit_tp) (ia32 syscalls cannot run: SFAGENT_TEST_IA32=absent" "$T/c32.log" ||
		{ grep -v libbpf "$T/c32.log"; false; }
	# the per-syscall links: one per exported syscall the kernel has
	n=$(sed -n 's/.*per-syscall mode: \([0-9]*\) syscall tracepoints planned.*/\1/p' "$T/c32.log")
	[ "$n" -ge 90 ]
	assert_stream "$T/c32.jsonl" \
		"one('process.exec', filename='$SF_WORKLOADS/compat32') is not None" \
		"one('file.mkdir', path='$T/work/int80-dir') is None" \
		"not [e for e in ev if e.get('compat')]" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
}

@test "per-syscall mode: the links are on sys_exit_<name> tracepoints (no generic sys_exit), sf_sys_exit_tp's; the flow syscalls only with -F sysflow" {
	SFAGENT_TEST_IA32=absent "$SFAGENT" -X -w cw -o "$T/x.jsonl" -- "$SF_WORKLOADS/credwait" "$T/go" native &
	ag=$!
	for _ in $(seq 200); do grep -q '"process.exec"' "$T/x.jsonl" 2>/dev/null && break; sleep 0.1; done
	run linked_tps "$ag"
	progs=$(linked_progs "$ag")
	touch "$T/go"
	wait "$ag"
	echo "$output"
	refute_line sys_exit
	assert_line sys_exit_openat
	assert_line sys_exit_execve
	assert_line sys_exit_setresuid
	refute_line sys_exit_read
	refute_line sys_exit_close
	echo "$progs" | grep -qx sf_sys_exit_tp
	if echo "$progs" | grep -qx sf_sys_exit; then false; fi
	# the stream is whole: the native set*id calls with their old ids
	assert_stream "$T/x.jsonl" \
		"(lambda m: m['old_uid'] == 0 and m['old_gid'] == 4321 and 'old_unknown' not in m)(one('process.setuid', syscall='setresuid', new_uid=4321))"
}

@test "equivalence: the fidelity workload's events (file, net, process, signals, set*id) are the same in both modes" {
	same_events 3 --hash none -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	same_events 3 -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
}

@test "equivalence: the escape workload's security events (ptrace, namespaces, mounts, bpf, xattrs, W+X, memfd, dup, keys) are the same in both modes" {
	# the module and kexec calls have no tracepoint on this kernel
	# (CONFIG_MODULES off): their ENOSYS attempts are the only difference
	same_events 0 --hash none -- "$SF_WORKLOADS/escape" "$T/work" "$T/e.json"
	assert_stream "$T/g1.jsonl" "one('kernel.module_load', syscall='finit_module')['ret'] == -38"
}

@test "equivalence: failed execs (execve, execveat, EFAULT argv) are the same in both modes" {
	# (credwait's set*id calls race with its other thread's cap checks, in
	# either mode: its old ids are checked above, in per-syscall mode)
	same_events 0 --hash none -- "$SF_WORKLOADS/execfail" "$T/work" short
}

@test "equivalence: io_uring requests and --hash open (file.hash, file.mmap_exec) are the same in both modes" {
	same_events 0 --hash none -- "$SF_WORKLOADS/uring" "$T/work" "$T/u.json"
	same_events 0 --hash open -- cat /etc/hostname /etc/passwd
}

@test "equivalence: a filter's kept and filtered counts are the same in both modes" {
	same_events 3 --filter '[type file.*] & [path /etc/*]' -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	assert_stream "$T/p1.jsonl" "ev[-1]['filtered'] > 0"
}

@test "per-syscall mode: -F sysflow counts every read and write exactly (the flow syscalls' tracepoints attached for it)" {
	run env SFAGENT_TEST_IA32=absent "$SFAGENT" -v -d "$T/fl.log" -X -w fl -F sysflow --hash none \
		-o "$T/s.sysflow" -- "$PYAVRO" "$SF_TOP/tests/helpers/flow_workload.py" "$T/work" "$T/facts.json"
	assert_success
	grep -q "flow_syscalls added" "$T/fl.log" || { grep -v libbpf "$T/fl.log"; false; }
	run "$PYAVRO" "$SF_TOP/tests/helpers/sysflow_check.py" --flows "$T/s.sysflow" "$T/facts.json"
	echo "$output"
	assert_success
}

@test "per-syscall mode: -X leaves its ~90 tracepoint links to a child that holds nothing else; the stream is whole" {
	SFAGENT_TEST_IA32=absent timeout 60 "$SFAGENT" -X -vv -w t -o - -- /bin/true 2>"$T/err" | timeout 60 cat >"$T/s.jsonl"
	assert_stream "$T/s.jsonl" "ev[0]['type'] == 'stream.start'" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
	run sed -n 's/.* \([0-9]*\) tracepoint links left to process \([0-9]*\) to release/\1 \2/p' "$T/err"
	[ -n "$output" ] || { grep -v libbpf "$T/err"; false; }
	read -r n pid <<<"$output"
	[ "$n" -ge 80 ]
	# the child holds BPF links only, and goes
	for _ in $(seq 300); do
		[ -d "/proc/$pid" ] || break
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sfagent-release ] || break
		for fd in /proc/"$pid"/fd/*; do
			[ -e "$fd" ] || continue
			l=$(readlink "$fd") || continue
			[ "$l" = "anon_inode:bpf_link" ] || { echo "child holds $l"; false; }
		done
		sleep 0.1
	done
	[ ! -d "/proc/$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != sfagent-release ]
}

@test "per-syscall mode -D: a process-only workload attaches no syscall tracepoint but execve's; a file one attaches them before its ACK" {
	hook_suite_setup
	SFAGENT_TEST_IA32=absent SFAGENT_TEST_IDLE_DETACH_MS=5000 start_daemon --hash none -d "$HT/debug.log" \
		--metrics 127.0.0.1:0
	grep -q "syscall events: per-syscall tracepoints" "$HT/debug.log"
	port=$(sed -n 's/.*metrics on http:\/\/127.0.0.1:\([0-9]*\)\/metrics.*/\1/p' "$HT/agent.log" | tail -1)
	curl -sf "http://127.0.0.1:$port/metrics" | grep -qx "sfagent_probe_per_syscall 1"
	make_bundle "$HT/p1" '["/bin/sh", "-c", "ls /nosuch 2>/dev/null; cat /etc/passwd >/dev/null"]' \
		'{"io.sfagent.workload": "pp1", "io.sfagent.filter": "[type process.exec] | [type process.fork] | [type process.exit]"}'
	run run_container sfp-pp1 "$HT/p1"
	assert_success
	run grep "probe attached in" "$HT/agent.log"
	echo "$output"
	assert_output --partial "(sched,exec_fail)"
	make_bundle "$HT/f1" '["/bin/sh", "-c", "cat /etc/passwd >/dev/null"]' '{"io.sfagent.workload": "ff1"}'
	run run_container sfp-ff1 "$HT/f1"
	assert_success
	f=$(pod_file ff1 sfp-ff1)
	wait_for "stream.end" 20 grep -q stream.end "$f"
	assert_stream "$f" 'one("file.open", path="/etc/passwd") is not None' 'ev[-1]["missed"] == 0'
	run grep "probe: .* added in .* for a workload that needs them" "$HT/agent.log"
	echo "$output"
	assert_output --partial "sys_exit"
	refute_output --partial "flow_syscalls"
}

@test "per-syscall mode, the object loaded in two threads (SFAGENT_LOAD_SPLIT=1: sf_sys_exit_tp in the second): the same events" {
	export SFAGENT_LOAD_SPLIT=1
	same_events 3 --hash none -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	grep -q "BPF object loaded in two threads" "$T/p1.log"
}
