#!/usr/bin/env bats
# What container escapes, fileless and io_uring attacks are made of
# (bpf/sec.bpf.h, bpf/uring.bpf.h, exec flags): real programs
# (tests/workloads/escape.c, uring.c) under sfagent -X and in a runc
# container through the hook; the same operations from a process outside
# the workload give zero events.

load test_helper
load hook_helper

setup() {
	T=$(mktemp -d)
	mkdir "$T/work" "$T/outside"
}

teardown() {
	if [ -n "${OUTSIDE_PID:-}" ]; then
		kill "$OUTSIDE_PID" 2>/dev/null || true
		wait "$OUTSIDE_PID" 2>/dev/null || true
	fi
	awk -v d="$T/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
		sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$T"
	if [ -n "${HT:-}" ]; then
		hook_suite_teardown
		HT=
	fi
}

# the same workload, outside, at the same time, until the traced one is done
outside() {
	( while :; do "$SF_WORKLOADS/$1" "$T/outside" "$T/outside.json" "${@:2}" >/dev/null 2>&1; rm -rf "$T/outside"/*; done ) &
	OUTSIDE_PID=$!
}

@test "escape: each security event with its fields; none from the same program outside" {
	outside escape
	run "$SFAGENT" -X -w esc -o "$T/s.jsonl" -- "$SF_WORKLOADS/escape" "$T/work" "$T/facts.json"
	[ "$status" -eq 0 ]
	kill "$OUTSIDE_PID"
	OUTSIDE_PID=
	W="$T/work"
	export SF_FACTS="$T/facts.json"
	assert_stream "$T/s.jsonl" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0" \
		"not [e for e in ev if '$T/outside' in json.dumps(e)]" \
		"len({e['cgroup'] for e in ev if 'pid' in e}) == 1" \
		"one('process.ptrace', request='PTRACE_ATTACH')['target_pid'] == f['ptrace_child'] and one('process.ptrace', request='PTRACE_ATTACH')['ret'] == 0" \
		"one('process.ptrace', request='PTRACE_POKEDATA')['addr'] == hex(f['ptrace_addr'])" \
		"one('process.ptrace', request='PTRACE_DETACH') is not None" \
		"one('process.vm_read')['target_pid'] == f['ptrace_child'] and one('process.vm_read')['bytes'] == 8" \
		"one('process.vm_write')['target_pid'] == f['ptrace_child'] and one('process.vm_write')['bytes'] == 8" \
		"one('ns.setns')['nstype'] == 'CLONE_NEWNET' and one('ns.setns')['fd_nstype'] == 'CLONE_NEWNET' and one('ns.setns')['ret'] == 0" \
		"one('ns.unshare')['flags'] == 'CLONE_NEWNS' and one('ns.unshare')['ret'] == 0" \
		"one('process.fork', child_pid=f['ns_child'])['ns_flags'] == 'CLONE_NEWUTS'" \
		"all('ns_flags' not in e for e in by('process.fork') if e['child_pid'] != f['ns_child'] and e['child_pid'] != one('ns.unshare')['pid'])"
	assert_stream "$T/s.jsonl" \
		"one('fs.mount', target='$W/mnt')['fstype'] == 'tmpfs' and one('fs.mount', target='$W/mnt')['source'] == 'sfagent-tmp'" \
		"one('fs.mount', target='$W/mnt')['flags'] == 'MS_NOSUID|MS_NODEV' and one('fs.mount', target='$W/mnt')['ret'] == 0" \
		"one('fs.mount', target='/')['flags'] == 'MS_REC|MS_PRIVATE'" \
		"one('fs.umount', target='$W/mnt')['flags'] == 'MNT_DETACH' and one('fs.umount')['ret'] == 0" \
		"one('fs.fsopen')['fstype'] == 'tmpfs' and one('fs.fsopen')['fd'] >= 3" \
		"one('fs.fsmount')['attr_flags'] == 'MOUNT_ATTR_NODEV' and one('fs.fsmount')['fs_fd'] == one('fs.fsopen')['fd']" \
		"one('fs.move_mount')['to_path'] == '$W/mnt2' and one('fs.move_mount')['flags'] == 'MOVE_MOUNT_F_EMPTY_PATH' and one('fs.move_mount')['ret'] == 0" \
		"one('fs.open_tree')['path'] == '$W/mnt2' and one('fs.open_tree')['flags'] == 'OPEN_TREE_CLONE'" \
		"one('fs.pivot_root')['new_root'] == '$W/newroot' and one('fs.pivot_root')['put_old'] == '$W/newroot/old' and one('fs.pivot_root')['ret'] == 0" \
		"one('fs.chroot')['path'] == '.' and one('fs.chroot')['ret'] == 0"
	assert_stream "$T/s.jsonl" \
		"one('kernel.module_load', syscall='init_module')['ret'] == -38 and one('kernel.module_load', syscall='init_module')['params'] == 'sfparam=1'" \
		"one('kernel.module_load', syscall='finit_module')['path'] == '$W/mod.ko' and one('kernel.module_load', syscall='finit_module')['params'] == 'sfparam=2'" \
		"one('kernel.module_delete')['name'] == 'sfagent_dummy' and one('kernel.module_delete')['ret'] == -38" \
		"one('kernel.kexec_load')['path'] == '$W/mod.ko'" \
		"one('bpf.call', cmd='BPF_PROG_LOAD')['prog_type'] == 'BPF_PROG_TYPE_SOCKET_FILTER' and one('bpf.call', cmd='BPF_PROG_LOAD')['prog_name'] == 'sfesc_prog' and one('bpf.call', cmd='BPF_PROG_LOAD')['ret'] >= 3" \
		"one('bpf.call', cmd='BPF_MAP_CREATE')['map_name'] == 'sfesc_map'" \
		"one('perf.open')['perf_type'] == 'PERF_TYPE_SOFTWARE' and one('perf.open')['cpu'] == -1 and one('perf.open')['target_pid'] == 0" \
		"one('file.open_by_handle')['mount_path'] == '$W' and one('file.open_by_handle')['handle_type'] == f['handle_type'] and one('file.open_by_handle')['ret'] >= 3" \
		"one('file.setxattr', name='user.sfagent')['path'] == '$W/xattr-target' and one('file.setxattr', name='user.sfagent')['value_len'] == 2 and one('file.setxattr', name='user.sfagent')['flags'] == 'XATTR_CREATE'" \
		"one('file.setxattr', name='user.sfagent_fd')['fd'] >= 3" \
		"one('file.setxattr', name='security.capability')['caps_permitted'] == 'CAP_NET_RAW' and one('file.setxattr', name='security.capability')['caps_effective'] is True" \
		"one('file.removexattr')['name'] == 'user.sfagent' and one('file.removexattr')['ret'] == 0"
	# mem.exec: W+X and anonymous X; the burst is rate-limited and counted
	assert_stream "$T/s.jsonl" \
		"one('mem.exec', syscall='mmap')['addr'] == hex(f['rwx_addr']) and one('mem.exec', syscall='mmap')['prot'] == 'PROT_READ|PROT_WRITE|PROT_EXEC'" \
		"one('mem.exec', prot='PROT_READ|PROT_EXEC')['flags'] == 'MAP_PRIVATE|MAP_ANONYMOUS'" \
		"one('mem.exec', syscall='mprotect')['prot'] == 'PROT_READ|PROT_WRITE|PROT_EXEC'" \
		"one('mem.exec', syscall='mprotect', prot='PROT_READ|PROT_EXEC')['addr'] == hex(f['rx_addr'])" \
		"len([e for e in by('mem.exec') if e['syscall'] == 'mprotect']) == 2" \
		"len(by('mem.exec')) == 17" \
		"by('mem.exec')[-1]['len'] == 8192 and by('mem.exec')[-1]['suppressed'] == f['mem_total'] - 17" \
		"sum(e.get('suppressed', 0) for e in by('mem.exec')) + len(by('mem.exec')) == f['mem_total']"
	# exec: memfd, a deleted file, and a normal binary (not flagged)
	assert_stream "$T/s.jsonl" \
		"one('file.memfd_create')['name'] == 'sfagent-memfd' and one('file.memfd_create')['ret'] >= 3" \
		"(lambda e: e['exe_memfd'] is True and e['filename'] == '/memfd:sfagent-memfd' and e['exe_upper_layer'] is False)(one('process.exec', exe='/memfd:sfagent-memfd'))" \
		"(lambda e: e['exe_deleted'] is True and e['exe_memfd'] is False and e['filename'] == '$W/gone')(one('process.exec', exe='$W/gone'))" \
		"(lambda e: e['exe_memfd'] is False and e['exe_deleted'] is False and e['cwd'] == '$PWD' and e['exe_ino'] == os.stat('$SF_WORKLOADS/escape').st_ino)(one('process.exec', pid=f['pid']))" \
		"one('process.exec', pid=f['pid'])['exe_mtime'] == os.stat('$SF_WORKLOADS/escape').st_mtime_ns"
	# dup onto 0/1/2 (a socket: its peer; a file: its path); sendto with an address
	assert_stream "$T/s.jsonl" \
		"one('fd.dup', syscall='dup2', newfd=0)['addr'] == '127.0.0.1' and one('fd.dup', syscall='dup2', newfd=0)['port'] == f['dup_port']" \
		"one('fd.dup', syscall='dup3')['newfd'] == 1 and one('fd.dup', syscall='dup3')['family'] == 'AF_INET'" \
		"one('fd.dup', syscall='dup2', newfd=2)['source'] == '$W/dup-log'" \
		"one('fd.dup', syscall='fcntl')['newfd'] == 0 and one('fd.dup', syscall='fcntl')['source'] == '$W/dup-log'" \
		"one('fd.dup', syscall='dup') is None" \
		"one('net.sendto', syscall='sendto')['addr'] == '127.0.0.1' and one('net.sendto', syscall='sendto')['port'] == 9 and one('net.sendto', syscall='sendto')['ret'] == 1" \
		"one('net.sendto', syscall='sendmsg')['port'] == 10" \
		"len(by('net.sendto')) == 2"
	assert_stream "$T/s.jsonl" \
		"one('io_uring.setup')['entries'] == 4 and one('io_uring.setup')['flags'] == '0' and one('io_uring.setup')['fd'] >= 3" \
		"one('io_uring.register')['opcode'] == 'IORING_UNREGISTER_BUFFERS' and one('io_uring.register')['fd'] == one('io_uring.setup')['fd']" \
		"one('process.userfaultfd') is not None" \
		"one('key.add')['key_type'] == 'user' and one('key.add')['description'] == 'sfagent-key' and one('key.add')['payload_len'] == 6" \
		"one('key.request')['description'] == 'sfagent-key'" \
		"one('key.ctl')['operation'] == 'KEYCTL_REVOKE' and one('key.ctl')['key'] == one('key.add')['ret']"
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$T/s.jsonl"
	echo "$output"
	assert_success
}

# the events of one run that an io_uring and a syscall version share:
# everything but what says how (via, opcode, syscall) and who (pid, tid, ...)
comparable() {
	python3 - "$1" "$2" <<'PY'
import json, sys
# the listener's port is the kernel's pick, different in every run
skip = {"seq", "ts", "pid", "tid", "ppid", "comm", "cgroup", "syscall", "via", "opcode", "workload", "port"}
want = ("file.", "net.")
out = []
for l in open(sys.argv[1]):
    e = json.loads(l)
    if not e["type"].startswith(want) or sys.argv[2] not in json.dumps(e) and not e["type"].startswith("net."):
        continue
    if e["type"] == "file.open" and not e["path"].startswith(sys.argv[2]):
        continue
    # the file's identity and resolved path compare too, but for what a
    # new file differs in from one run to the next
    per_run = {"file_ino", "file_ctime", "file_mtime", "file_generation"}
    out.append({k: v for k, v in e.items() if k not in skip and k not in per_run})
print(json.dumps(out, sort_keys=True, indent=0))
PY
}

@test "io_uring: the same event types and fields as the syscalls, SQPOLL too; none from outside" {
	outside uring
	for mode in syscalls ring sqpoll; do
		rm -rf "$T/work"/*
		run "$SFAGENT" -X -w u -o "$T/$mode.jsonl" -- "$SF_WORKLOADS/uring" "$T/work" "$T/$mode.json" "$mode"
		[ "$status" -eq 0 ]
	done
	kill "$OUTSIDE_PID"
	OUTSIDE_PID=
	W="$T/work"
	for mode in ring sqpoll; do
		export SF_FACTS="$T/$mode.json"
		assert_stream "$T/$mode.jsonl" \
			"not [e for e in ev if '$T/outside' in json.dumps(e)]" \
			"(lambda e: e['via'] == 'io_uring' and e['opcode'] == 'IORING_OP_OPENAT' and e['ret'] == f['fd'] and e['flags'] == 'O_RDWR|O_CREAT' and e['mode'] == '0640')(one('file.open', path='$W/secret'))" \
			"one('file.open', path='$W/missing')['ret'] == -2" \
			"one('file.rmdir', path='$W/subdir')['opcode'] == 'IORING_OP_UNLINKAT'" \
			"one('net.connect', via='io_uring')['port'] == f['port'] and one('net.connect', via='io_uring')['addr'] == '127.0.0.1'" \
			"one('file.setxattr', via='io_uring')['name'] == 'user.sfagent_uring' and one('file.setxattr', via='io_uring')['fd'] == f['fd']" \
			"len([e for e in by('io_uring.op') if e['opcode'] == 'IORING_OP_READ']) == 16" \
			"one('net.bind', via='io_uring')['addr'] == '127.0.0.1' and one('net.listen', via='io_uring')['backlog'] == 3" \
			"one('net.accept', via='io_uring')['listen_fd'] == one('net.listen', via='io_uring')['fd']" \
			"one('net.accept', via='io_uring')['ret'] >= 3 and one('net.accept', via='io_uring')['addr'] == '127.0.0.1'" \
			"one('net.sendto', via='io_uring')['port'] == 9 and one('net.sendto', via='io_uring')['opcode'] == 'IORING_OP_SENDMSG'" \
			"one('net.sendto', opcode='IORING_OP_SEND')['port'] == 10" \
			"(lambda e: e['opcode'] == 'IORING_OP_OPENAT2' and e['flags'] == 'O_RDWR|O_CREAT|O_EXCL' and e['mode'] == '0600' and e['ret'] >= 3)(one('file.open', path='$W/openat2'))" \
			"(lambda e: e['opcode'] == 'IORING_OP_SETXATTR' and e['path'] == '$W/renamed' and e['value_len'] == 2 and e['flags'] == 'XATTR_CREATE' and e['ret'] == 0)(one('file.setxattr', name='user.sfagent_path'))" \
			"all('syscall' not in e for e in ev if e.get('via') == 'io_uring')"
	done
	# SQPOLL: the kernel's submission thread, a thread of the workload
	assert_stream "$T/sqpoll.jsonl" \
		"one('io_uring.setup')['flags'] == 'IORING_SETUP_SQPOLL'" \
		"one('file.open', path='$W/secret')['comm'].startswith('iou-sqp')" \
		"one('file.open', path='$W/secret')['tid'] != one('file.open', path='$W/secret')['pid']"
	comparable "$T/syscalls.jsonl" "$W" >"$T/sys.cmp"
	comparable "$T/ring.jsonl" "$W" >"$T/ring.cmp"
	comparable "$T/sqpoll.jsonl" "$W" >"$T/sqpoll.cmp"
	[ -s "$T/sys.cmp" ] && grep -q secret "$T/sys.cmp"
	# openat2 and the path setxattr are in the comparison
	grep -q '"path": "'"$W"'/openat2"' "$T/sys.cmp" && grep -q '"name": "user.sfagent_path"' "$T/sys.cmp"
	# what is compared is there: identity and resolved paths (issue 12)
	grep -q '"resolved": "'"$W"'/secret"' "$T/sys.cmp"
	grep -q '"file_dev"' "$T/sys.cmp"
	grep -q '"resolved_lexical": true' "$T/sys.cmp"
	diff "$T/sys.cmp" "$T/ring.cmp"
	diff "$T/sys.cmp" "$T/sqpoll.cmp"
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$T/ring.jsonl" "$T/sqpoll.jsonl"
	echo "$output"
	assert_success
}

@test "io_uring: more requests in flight than the pending table holds; cancelled, left at exit, no completion: each one an event" {
	# 3,000 accepts (the table holds 2,048) + 8 opens while it is full + 4
	# opens whose success posts no completion; counts of kernel events
	# (what is left at exit is cancelled by the kernel's ring-exit work:
	# -125, or no_completion when the stream's end came first):
	# --hash none (no process.exe_hash records)
	run "$SFAGENT" -X -w u --hash none -o "$T/s.jsonl" -- "$SF_WORKLOADS/uring" "$T/work" "$T/f.json" inflight 3000
	[ "$status" -eq 0 ]
	export SF_FACTS="$T/f.json"
	W="$T/work"
	assert_stream "$T/s.jsonl" \
		"f['accepts'] == 3000 and f['accepted'] == 64 and f['cancelled'] == 1500 and f['left'] == 1436" \
		"(lambda a, o, m: len(a) + len(o) + m == f['accepts'] + f['opens'] + f['skips'])([e for e in by('net.accept') if e.get('via') == 'io_uring'], [e for e in by('file.open') if e.get('via') == 'io_uring'], ev[-1]['missed'])" \
		"ev[-1]['missed'] == 0" \
		"len([e for e in by('net.accept') if e.get('no_result') == 'table_full' and 'ret' not in e]) == 3000 - 2048" \
		"len([e for e in by('net.accept') if e.get('ret', 0) >= 3 and e.get('addr') == '127.0.0.1']) == f['accepted']" \
		"len([e for e in by('net.accept') if e.get('ret') == -125 or e.get('no_result') == 'no_completion']) == f['cancelled'] + f['left'] - (3000 - 2048)" \
		"len([e for e in by('file.open') if e['path'].startswith('$W/inflight-') and e.get('no_result') == 'table_full' and 'ret' not in e]) == f['opens']" \
		"len({e['path'] for e in by('file.open') if e['path'].startswith('$W/inflight-')}) == f['opens']" \
		"len([e for e in by('file.open') if e['path'].startswith('$W/skip-') and e.get('no_result') == 'no_completion' and 'ret' not in e]) == f['skips']" \
		"all(e['pid'] == f['pid'] for e in ev if e.get('via') == 'io_uring')"
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$T/s.jsonl"
	echo "$output"
	assert_success
}

@test "rate limits: what is suppressed is counted on the next event or on the process's exit, exactly (mem.exec, io_uring.op)" {
	# 45 of each in a burst, a new second, 20 more: 16 + 16 sent, 29 ride
	# on the second window's first event, 4 are left for the exit
	for fmt in json quixote cadets; do
		run "$SFAGENT" -X -w u --hash none -F $fmt -o "$T/r.$fmt" -- "$SF_WORKLOADS/uring" "$T/work" "$T/f.$fmt" ratelimit
		[ "$status" -eq 0 ]
	done
	export SF_FACTS="$T/f.json"
	assert_stream "$T/r.json" \
		"(lambda m, x: len(m) + sum(e.get('suppressed', 0) for e in m) + x['suppressed']['mem.exec'] == f['mem_total'])(by('mem.exec'), one('process.exit', pid=f['pid']))" \
		"(lambda r, x: len(r) + sum(e.get('suppressed', 0) for e in r) + x['suppressed']['io_uring.op:IORING_OP_READ'] == f['reads'])([e for e in by('io_uring.op') if e['opcode'] == 'IORING_OP_READ'], one('process.exit', pid=f['pid']))" \
		"len(by('mem.exec')) == 32 and one('process.exit', pid=f['pid'])['suppressed'] == {'mem.exec': 4, 'io_uring.op:IORING_OP_READ': 4}" \
		"ev[-1]['missed'] == 0"
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$T/r.json"
	echo "$output"
	assert_success
	# the other formats carry it too
	python3 - "$T/r.quixote" "$T/r.cadets" <<'PY'
import json, sys
q = [json.loads(l) for l in open(sys.argv[1])]
x = [e for e in q if e.get("event", {}).get("type") == "task_free" and "suppressed" in e["event"]]
assert x and x[0]["event"]["suppressed"]["mem.exec"] == 4, x
c = [e for e in json.load(open(sys.argv[2])) if e["event"] == "audit:event:aue_exit:" and "suppressed" in e]
assert c and c[0]["suppressed"]["io_uring.op:IORING_OP_READ"] == 4, c
PY
}

@test "module:module_load: its program loads only where the kernel has the tracepoint; here start-up skips it and says so" {
	run "$SFAGENT" -X -w m -vv -o "$T/m.jsonl" -- /bin/true
	echo "$output" | grep -v libbpf | tail -5
	[ "$status" -eq 0 ]
	if bpftool btf dump file /sys/kernel/btf/vmlinux | grep -q "TYPEDEF 'btf_trace_module_load'"; then
		! echo "$output" | grep -q "no module:module_load tracepoint"
	else
		echo "$output" | grep -q "debug: no module:module_load tracepoint on this kernel (no loadable modules): its program is not loaded"
	fi
	assert_stream "$T/m.jsonl" "ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
}

@test "runc container through the hook: the attempts are in its stream; an exec from the overlay upper layer is flagged" {
	hook_suite_setup
	start_daemon
	# an overlayfs root: the workloads in a lower layer, busybox below them
	mkdir -p "$HT/lower/sf" "$HT/upper" "$HT/ovl-work" "$HT/root"
	cp "$SF_WORKLOADS/escape" "$SF_WORKLOADS/uring" "$HT/lower/sf/"
	mount -t overlay overlay -o "lowerdir=$HT/lower:$ROOTFS,upperdir=$HT/upper,workdir=$HT/ovl-work" "$HT/root"
	ROOTFS="$HT/root" make_bundle "$HT/b" '["/bin/sh", "-c", "mkdir /tmp/w /tmp/u && /sf/escape /tmp/w /tmp/facts.json && /sf/uring /tmp/u /tmp/u.json sqpoll && cp /bin/busybox /true && /true"]' \
		'{"io.sfagent.workload": "esc"}'
	jq '.root.readonly = false' "$HT/b/config.json" >"$HT/b/c.json" && mv "$HT/b/c.json" "$HT/b/config.json"
	outside escape
	run run_container sfesc-1 "$HT/b"
	kill "$OUTSIDE_PID"
	OUTSIDE_PID=
	assert_success
	f=$(pod_file esc sfesc-1)
	assert_stream "$f" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0" \
		"not [e for e in ev if '$T/outside' in json.dumps(e)]" \
		"all(e['container'] == 'sfesc-1' for e in ev)" \
		"(lambda e: e['exe_upper_layer'] is False and e['exe'] == '/sf/escape')(one('process.exec', filename='/sf/escape'))" \
		"one('process.exec', filename='/bin/sh')['exe_upper_layer'] is False" \
		"(lambda e: e['exe_upper_layer'] is True and e['exe'] == '/true' and e['cwd'] == '/')(one('process.exec', filename='/true'))" \
		"one('process.exec', exe='/memfd:sfagent-memfd')['exe_memfd'] is True" \
		"one('process.ptrace', request='PTRACE_ATTACH') is not None" \
		"one('fs.pivot_root', comm='runc:[2:INIT]')['ret'] == 0" \
		"one('ns.unshare')['flags'] == 'CLONE_NEWNS' and one('ns.unshare')['ret'] == -1" \
		"one('kernel.module_load', syscall='init_module')['ret'] < 0" \
		"one('bpf.call', cmd='BPF_PROG_LOAD') is not None" \
		"one('file.memfd_create')['name'] == 'sfagent-memfd'" \
		"one('fd.dup', newfd=0)['family'] == 'AF_INET'" \
		"one('mem.exec') is not None" \
		"one('file.open', path='/tmp/u/secret')['via'] == 'io_uring'" \
		"one('file.open', path='/tmp/u/secret')['comm'].startswith('iou-sqp')"
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$f"
	echo "$output"
	assert_success
}

@test "quixote and cadets: each security type mapped (TSEM names where they exist), fields by name" {
	run "$SFAGENT" -X -w esc -F quixote -o "$T/q.jsonl" -- "$SF_WORKLOADS/escape" "$T/work" "$T/facts.json"
	[ "$status" -eq 0 ]
	python3 - "$T/q.jsonl" "$T/work" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
names = {e["event"]["type"] for e in ev if "event" in e}
want = {"ptrace_access_check", "sb_mount", "sb_umount", "sb_pivotroot", "path_chroot",
        "move_mount", "kernel_load_data", "kernel_read_file", "kernel_module_delete",
        "bpf", "perf_event_open", "inode_setxattr", "inode_removexattr", "mmap_file",
        "file_mprotect", "memfd_create", "fd_dup", "socket_sendmsg", "uring_setup",
        "uring_register", "userfaultfd", "key_alloc", "key_request", "key_permission",
        "ns_unshare", "ns_setns", "open_by_handle_at"}
assert want <= names, sorted(want - names)
def body(t, **kw):
    for e in ev:
        if e.get("event", {}).get("type") == t and all(e[t].get(k) == v for k, v in kw.items()):
            return e
    raise AssertionError("no %s %r" % (t, kw))
m = body("sb_mount", target=sys.argv[2] + "/mnt")
assert m["sb_mount"]["fstype"] == "tmpfs" and m["sb_mount"]["flags"] == "MS_NOSUID|MS_NODEV", m
assert body("kernel_load_data", params="sfparam=1")["event"]["ret"] == "-38"
assert body("mmap_file", prot="PROT_READ|PROT_WRITE|PROT_EXEC")["mmap_file"]["len"] == "4096"
x = body("inode_setxattr", name="security.capability")["inode_setxattr"]
assert x["caps_permitted"] == "CAP_NET_RAW" and x["caps_effective"] == "true", x
e = [e for e in ev if e.get("event", {}).get("type") == "bprm_check_security" and e["bprm_check_security"].get("exe_memfd") == "true"]
assert e and e[0]["bprm_check_security"]["file"]["path"]["pathname"] == "/memfd:sfagent-memfd", e
PY
	run "$SFAGENT" -X -w esc -F cadets -o "$T/c.json" -- "$SF_WORKLOADS/escape" "$T/work" "$T/facts.json"
	[ "$status" -eq 0 ]
	python3 - "$T/c.json" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))
names = {e["event"] for e in ev}
want = {"audit:event:aue_%s:" % s for s in ("ptrace", "mount", "umount2", "pivot_root", "chroot",
        "init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "setxattr",
        "removexattr", "mmap", "mprotect", "memfd_create", "dup2", "sendto", "io_uring_setup",
        "add_key", "keyctl", "unshare", "setns", "open_by_handle_at")}
assert want <= names, sorted(want - names)
p = [e for e in ev if e["event"] == "audit:event:aue_ptrace:" and e.get("request") == "PTRACE_ATTACH"][0]
assert isinstance(p["target_pid"], int) and p["retval"] == 0, p
PY
}
