#!/usr/bin/env bats
# Core: sfagent -X/-P/-R with real BPF programs in the real kernel.

load test_helper

setup() {
	T=$(mktemp -d)
	mkdir "$T/work"
}

teardown() {
	[ -n "${NOISE_PID:-}" ] && kill "$NOISE_PID" 2>/dev/null || true
	rm -rf "$T"
}

@test "fidelity: each event of a deterministic workload, with its fields" {
	# a noisy process outside the workload at the same time
	( while :; do cat /etc/hostname "$T/noise-marker" >/dev/null 2>&1 || true; done ) &
	NOISE_PID=$!
	run "$SFAGENT" -X -w fid -o "$T/s.jsonl" -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	[ "$status" -eq 3 ]
	kill "$NOISE_PID" # fails if the noise did not run all along
	NOISE_PID=
	W="$T/work"
	export SF_FACTS="$T/facts.json"
	assert_stream "$T/s.jsonl" \
		"ev[0]['type'] == 'stream.start' and ev[0]['workload'] == 'fid'" \
		"ev[-1]['type'] == 'stream.end' and ev[-1]['events'] == len(ev) - 2 and ev[-1]['missed'] == 0"
	# the noise ran beside it and none of it is in the stream
	assert_stream "$T/s.jsonl" \
		"not [e for e in ev if 'noise-marker' in json.dumps(e) or e.get('path') == '/etc/hostname']" \
		"not [e for e in ev if e.get('comm') == 'cat']"
	# exec of the workload itself: first event of its pid
	assert_stream "$T/s.jsonl" \
		"[e for e in by('process.exec') if e['filename'].endswith('/fidelity')][0]['argv'][1:] == ['$W', '$T/facts.json']" \
		"set(one('file.open', path='$W/a')['flags'].split('|')) >= {'O_WRONLY', 'O_CREAT', 'O_TRUNC'} and one('file.open', path='$W/a')['mode'] == '0640' and one('file.open', path='$W/a')['ret'] >= 3" \
		"one('file.open', path='$W/missing')['ret'] == -2" \
		"one('file.rename', path='$W/a')['newpath'] == '$W/b' and one('file.rename', path='$W/a')['ret'] == 0" \
		"one('file.link', path='$W/b')['newpath'] == '$W/c'" \
		"one('file.symlink', path='$W/b')['newpath'] == '$W/d'" \
		"one('file.chmod', path='$W/b')['mode'] == '0600'" \
		"one('file.chown', path='$W/b')['owner'] == 65534 and one('file.chown', path='$W/b')['group'] == 65533" \
		"one('file.truncate', path='$W/b')['length'] == 4" \
		"one('file.mkdir', path='$W/sub')['mode'] == '0750'" \
		"one('file.rmdir', path='$W/sub')['ret'] == 0" \
		"one('file.rmdir', path='$W/sub2')['syscall'] == 'unlinkat'" \
		"one('file.unlink', path='$W/sub2') is None" \
		"sorted(e['path'] for e in by('file.unlink')) == ['$W/b', '$W/c', '$W/d', '$W/f', '$W/fifo', '$W/lsock', '$W/sock']" \
		"one('file.rename', path='$W/b')['flags'] == 'RENAME_NOREPLACE' and one('file.rename', path='$W/a')['flags'] == '0'" \
		"one('file.link', path='$W/b', newpath='$W/f')['flags'] == 'AT_SYMLINK_FOLLOW' and one('file.link', newpath='$W/c')['flags'] == '0'" \
		"one('file.open', path='$W/a')['dirfd'] == -100 and one('file.rename', path='$W/a')['olddirfd'] == -100" \
		"(lambda r: len(r) >= 2 and r[-1][0] >= 0 and r[-1][1] is None and set(r[:-1]) == {(-4, True)})([(e['ret'], e.get('interrupted')) for e in by('file.open') if e['path'] == '$W/fifo' and e['pid'] == f['pid']])"
	assert_stream "$T/s.jsonl" \
		"one('net.listen', pid=f['pid'])['port'] == f['port']" \
		"one('net.connect', addr='127.0.0.1', port=f['port'])['ret'] == 0" \
		"one('net.bind', family='AF_INET', addr='127.0.0.1') is not None" \
		"one('net.bind', family='AF_UNIX', addr='$W/sock') is not None" \
		"one('net.listen', family='AF_UNIX')['addr'] == '$W/lsock'" \
		"one('net.accept', addr='127.0.0.1')['ret'] >= 3" \
		"one('net.accept', addr='127.0.0.1')['listen_fd'] == one('net.listen', pid=f['pid'])['fd']" \
		"one('net.bind', family='AF_UNIX', addr='@sfagent-abs') is not None" \
		"one('net.connect', family='AF_INET6', addr='::1', port=9) is not None" \
		"one('signal.kill', syscall='tgkill')['target_tid'] == f['pid'] and one('signal.kill', syscall='tgkill')['sig'] == '0'" \
		"len([e for e in by('net.socket') if e['family'] == 'AF_INET' and e['socktype'] == 1]) == 2"
}

@test "fidelity: process, signal and credential events carry pids and ids" {
	run "$SFAGENT" -X -w fid -o "$T/s.jsonl" -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	[ "$status" -eq 3 ]
	export SF_FACTS="$T/facts.json"
	assert_stream "$T/s.jsonl" \
		"(lambda f: \
		  one('process.fork', child_pid=f['exec_child'])['pid'] == f['pid'] and \
		  one('process.exec', pid=f['exec_child'])['argv'] == ['sh', '-c', 'exit 5'] and \
		  one('process.exec', pid=f['exec_child'])['ppid'] == f['pid'] and \
		  one('process.exit', pid=f['exec_child'])['exit_code'] == 5 and \
		  one('process.exec', pid=f['exec_child'])['syscall'] == 'execve' and \
		  one('process.fork', child_pid=f['exec_child'])['ret'] == f['exec_child'] and \
		  one('process.exec', filename=f['dir'] + '/nosuch')['ret'] == -2 and \
		  one('process.exec', filename=f['dir'] + '/nosuch')['argv'] == ['nosuch', 'arg'] and \
		  one('signal.kill', target_pid=f['kill_child'])['sig'] == 'SIGTERM' and \
		  one('process.exit', pid=f['kill_child'])['sig'] == 'SIGTERM' and \
		  'exit_code' not in one('process.exit', pid=f['kill_child']) and \
		  one('process.setuid', pid=f['uid_child'], syscall='setresuid')['new_uid'] == 65534 and \
		  one('process.setuid', pid=f['uid_child'], syscall='setresuid')['old_uid'] == 0 and \
		  one('process.setuid', pid=f['uid_child'], syscall='setresgid')['new_gid'] == 65534 and \
		  one('process.exit', pid=f['uid_child'])['uid'] == 65534 and \
		  one('process.exit', pid=f['uid_child'])['euid'] == 65534 and \
		  one('process.exit', pid=f['uid_child'])['gid'] == 65534 and \
		  one('process.exit', pid=f['pid'])['exit_code'] == 3 and \
		  one('process.exit', pid=f['pid'])['comm'] == 'fidelity' and \
		  all(e['tid'] == e['pid'] for e in ev if e.get('pid') == f['pid']) \
		)(f)"
}

@test "setuid: ia32 (int 0x80) set*id calls carry the ids before the call, each thread its own" {
	run "$SFAGENT" -X -w cw -o "$T/c.jsonl" -- "$SF_WORKLOADS/credwait" - ia32
	[ "$status" -eq 0 ]
	assert_stream "$T/c.jsonl" \
		"(lambda g: g['compat'] is True and g['old_gid'] == 0 and g['new_gid'] == 4321 and 'old_unknown' not in g)(one('process.setuid', syscall='setresgid'))" \
		"(lambda m: m['compat'] is True and m['tid'] == m['pid'] and m['old_uid'] == 0 and m['old_euid'] == 0 and m['old_gid'] == 4321 and m['new_euid'] == 4321 and 'old_unknown' not in m)(one('process.setuid', syscall='setresuid', new_uid=4321))" \
		"(lambda t: 'compat' not in t and t['tid'] != t['pid'] and t['old_uid'] == 0 and t['old_gid'] == 0 and t['new_gid'] == 0 and 'old_unknown' not in t)(one('process.setuid', syscall='setresuid', new_uid=5432))"
}

@test "setuid: a task moved into a tracked cgroup from outside has old_unknown, its old ids the new ones" {
	# the workload: a shell waiting for go; credwait starts outside it
	"$SF_WORKLOADS/credwait" "$T/go" native &
	cw=$!
	"$SFAGENT" -X -w mv -o "$T/m.jsonl" -- /bin/sh -c "echo \$\$ >$T/sh.pid; while [ ! -e $T/go ]; do sleep 0.05; done; sleep 0.3" &
	ag=$!
	for _ in $(seq 200); do [ -s "$T/sh.pid" ] && break; sleep 0.1; done
	cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$(cat "$T/sh.pid")/cgroup")
	mnt=$(awk '$(NF-2) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	echo "$cw" >"$mnt$cg/cgroup.procs" || moved=no
	touch "$T/go" # whatever happened: nothing is left waiting
	[ -z "${moved:-}" ]
	wait "$cw"
	wait "$ag"
	assert_stream "$T/m.jsonl" \
		"(lambda m: m['pid'] == $cw and m['old_unknown'] is True and m['old_uid'] == 4321 and m['new_uid'] == 4321 and m['old_gid'] == 4321)(one('process.setuid', syscall='setresuid', new_uid=4321))" \
		"(lambda t: t['old_unknown'] is True and t['old_uid'] == 5432)(one('process.setuid', syscall='setresuid', new_uid=5432))" \
		"not one('process.setuid', syscall='setresgid')"
}

@test "schema: the fidelity stream is what docs/events.md says (keys, types, presence)" {
	run "$SFAGENT" -X -w fid -o "$T/s.jsonl" -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	[ "$status" -eq 3 ]
	run "$SFAGENT" -X -w c32 -o "$T/c.jsonl" -- "$SF_WORKLOADS/compat32" "$T/work"
	[ "$status" -eq 0 ]
	# the security and io_uring types (tests/15-escape.bats checks their values)
	mkdir "$T/esc" "$T/ring"
	run "$SFAGENT" -X -w esc -o "$T/e.jsonl" -- "$SF_WORKLOADS/escape" "$T/esc" "$T/e.json"
	[ "$status" -eq 0 ]
	run "$SFAGENT" -X -w ring -o "$T/u.jsonl" -- "$SF_WORKLOADS/uring" "$T/ring" "$T/u.json"
	[ "$status" -eq 0 ]
	# file.mmap_exec and file.hash come with --hash open only (54-filehash)
	run "$SFAGENT" -X --hash open -w hash -o "$T/h.jsonl" -- cat /etc/hostname
	[ "$status" -eq 0 ]
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" --all-types "$T/s.jsonl" "$T/c.jsonl" "$T/e.jsonl" "$T/u.jsonl" "$T/h.jsonl"
	echo "$output"
	assert_success
	assert_output --regexp ', 0 problems$'
	# the check bites: an undocumented key, a wrong type, a missing key
	sed -n 2p "$T/s.jsonl" | sed 's/}$/,"bogus":1}/' >"$T/bad.jsonl"
	grep -m1 '"file.rename"' "$T/s.jsonl" | sed 's/"flags":"[^"]*"/"flags":0/' >>"$T/bad.jsonl"
	grep -m1 '"process.fork"' "$T/s.jsonl" | sed 's/"ret":[0-9]*,//' >>"$T/bad.jsonl"
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$T/bad.jsonl"
	assert_failure
	assert_output --partial 'not documented for it'
	assert_output --partial 'documented as string'
	assert_output --partial 'lacks `ret` (documented: always)'
}

@test "a failed exec carries the argv it was given, cut as a successful one; an unreadable argv (EFAULT) has none" {
	# execfail: execve and execveat of missing files, with a space in one
	# argument, an empty one and one longer than the 1024-byte cut; then
	# two execs the kernel refuses with EFAULT (argv, argv[1] unmapped)
	long=$(head -c 1100 /dev/zero | tr '\0' L)
	mkdir -p "$T/work"
	run "$SFAGENT" -X -w xf -o "$T/s.jsonl" --hash none -- "$SF_WORKLOADS/execfail" "$T/work" "$long"
	[ "$status" -eq 0 ]
	# the cut: 1024 bytes of NUL-separated arguments, as for a successful
	# exec (14 + 10 bytes before the long one: 1000 of it remain)
	assert_stream "$T/s.jsonl" \
		"one('process.exec', filename='$T/work/nosuch-execve')['ret'] == -2" \
		"one('process.exec', filename='$T/work/nosuch-execve')['argv'] == ['nosuch-execve', 'two words', 'L' * 1000]" \
		"one('process.exec', filename='$T/work/nosuch-execve')['argv_truncated'] is True" \
		"one('process.exec', filename='$T/work/nosuch-execveat')['syscall'] == 'execveat'" \
		"one('process.exec', filename='$T/work/nosuch-execveat')['argv'] == ['nosuch-execveat', 'a b', '']" \
		"'argv_truncated' not in one('process.exec', filename='$T/work/nosuch-execveat')" \
		"[e['ret'] for e in by('process.exec') if e['filename'] == '/bin/true'] == [-14, -14]" \
		"not [e for e in by('process.exec') if e['filename'] == '/bin/true' and ('argv' in e or 'argv_truncated' in e)]"
	# the successful exec of execfail itself is cut the same way
	assert_stream "$T/s.jsonl" \
		"(lambda a: a[:2] == ['$SF_WORKLOADS/execfail', '$T/work'] and len(a[2]) == 1024 - len(a[0]) - len(a[1]) - 2)(by('process.exec')[0]['argv'])" \
		"by('process.exec')[0]['argv_truncated'] is True"
	# quixote and cadets through the same decoded view
	run "$SFAGENT" -X -w xf -F quixote -o "$T/q.jsonl" --hash none -- "$SF_WORKLOADS/execfail" "$T/work" "$long"
	[ "$status" -eq 0 ]
	python3 - "$T/q.jsonl" "$T/work" <<-'PY'
	import json, sys
	ex = [e["bprm_check_security"] for e in map(json.loads, open(sys.argv[1])) if "bprm_check_security" in e]
	at = [e for e in ex if e["file"]["path"]["pathname"] == sys.argv[2] + "/nosuch-execveat"]
	assert at and at[0]["argv"] == ["nosuch-execveat", "a b", ""], at
	assert [e for e in ex if e["file"]["path"]["pathname"] == sys.argv[2] + "/nosuch-execve"][0]["argv"][:2] == ["nosuch-execve", "two words"]
	faults = [e for e in ex if e["file"]["path"]["pathname"] == "/bin/true"]
	assert len(faults) == 2 and not [e for e in faults if "argv" in e], faults
	PY
	run "$SFAGENT" -X -w xf -F cadets -o "$T/c.json" --hash none -- "$SF_WORKLOADS/execfail" "$T/work" "$long"
	[ "$status" -eq 0 ]
	python3 - "$T/c.json" "$T/work" <<-'PY'
	import json, sys
	ev = json.load(open(sys.argv[1]))
	at = [e for e in ev if e.get("upath1") == sys.argv[2] + "/nosuch-execveat"]
	assert at and at[0]["cmdline"] == "nosuch-execveat a b ", at
	faults = [e for e in ev if e.get("upath1") == "/bin/true"]
	assert len(faults) == 2 and not [e for e in faults if "cmdline" in e], faults
	PY
	# 32-bit (int \$0x80) execve: its 32-bit argv
	run "$SFAGENT" -X -w c32 -o "$T/c32.jsonl" --hash none -- "$SF_WORKLOADS/compat32" "$T/work"
	[ "$status" -eq 0 ]
	assert_stream "$T/c32.jsonl" \
		"one('process.exec', filename='$T/work/nosuch-int80')['compat'] is True" \
		"one('process.exec', filename='$T/work/nosuch-int80')['argv'] == ['nosuch-int80', 'x y']"
}

@test "32-bit syscalls (int \$0x80 from a 64-bit program) are traced too" {
	run "$SFAGENT" -X -w c32 -o "$T/s.jsonl" -- "$SF_WORKLOADS/compat32" "$T/work"
	[ "$status" -eq 0 ]
	assert_stream "$T/s.jsonl" \
		"one('file.mkdir', path='$T/work/int80-dir')['compat'] is True" \
		"one('file.mkdir', path='$T/work/int80-dir')['mode'] == '0750'" \
		"(lambda o: o['compat'] is True and o['dirfd'] == -100 and o['syscall'] == 'openat')(one('file.open', path='$T/work/int80-dir'))" \
		"set(one('file.open', path='$T/work/int80-file')['flags'].split('|')) >= {'O_WRONLY', 'O_CREAT'}" \
		"one('file.open', path='$T/work/int80-file')['ret'] >= 3" \
		"one('file.unlink', path='$T/work/int80-file')['compat'] is True" \
		"one('file.rmdir', path='$T/work/int80-dir')['ret'] == 0"
}

@test "cgroups left behind by a killed sfagent are swept at the next start" {
	mnt=$(findmnt -n -t cgroup2 -o TARGET | head -1)
	sh -c 'exit 0' & dead=$!
	wait "$dead"
	mkdir -p "$mnt/sfagent/x-$dead"
	run "$SFAGENT" -X -o "$T/s.jsonl" -- /bin/true
	[ "$status" -eq 0 ]
	[ ! -e "$mnt/sfagent/x-$dead" ]
}

@test "noise outside the workload contributes zero events" {
	( while :; do cat "$T/noise-marker" >/dev/null 2>&1 || true; done ) &
	NOISE_PID=$!
	run "$SFAGENT" -X -w quiet -o "$T/s.jsonl" -- /bin/sh -c 'for i in 1 2 3 4 5; do cat /etc/hostname >/dev/null; done'
	[ "$status" -eq 0 ]
	kill -0 "$NOISE_PID" # the noise really ran all along
	assert_stream "$T/s.jsonl" \
		"not [e for e in ev if 'noise-marker' in json.dumps(e)]" \
		"len({e['cgroup'] for e in ev if 'pid' in e}) == 1" \
		"len([e for e in by('process.exec') if e['filename'] == '/usr/bin/cat']) == 5"
}

@test "seq has no gaps; every descendant's fork, exec and exit appear" {
	# (a binary's digest, process.exe_hash, may come after the last exit)
	run "$SFAGENT" -X -w tree -o "$T/s.jsonl" -- /bin/sh -c '(/bin/true; /bin/sh -c "/bin/true &"; wait) ; /bin/true'
	[ "$status" -eq 0 ]
	assert_seq_no_gaps "$T/s.jsonl"
	assert_stream "$T/s.jsonl" \
		"all(any(x['pid'] == f['child_pid'] for x in by('process.exit')) for f in by('process.fork') if not f['thread'])" \
		"len([e for e in by('process.exec') if e['filename'] == '/bin/true']) == 3" \
		"[e['type'] for e in ev if e['type'] != 'process.exe_hash'][-2:] == ['process.exit', 'stream.end']"
}

@test "exit status of the program is sfagent's exit status" {
	run "$SFAGENT" -X -o "$T/s.jsonl" -- /bin/sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run "$SFAGENT" -X -o "$T/s.jsonl" -- /bin/sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
	assert_stream "$T/s.jsonl" "by('process.exit')[-1]['sig'] == 'SIGKILL'"
}

@test "descendants that outlive the program are followed until the last exits" {
	run "$SFAGENT" -X -w bg -o "$T/s.jsonl" -- /bin/sh -c '(sleep 1; cat /etc/hostname > /dev/null) & exit 0'
	[ "$status" -eq 0 ]
	assert_stream "$T/s.jsonl" \
		"one('file.open', path='/etc/hostname') is not None" \
		"ev[-1]['type'] == 'stream.end'"
}

@test "cgroups created inside the workload stay tracked" {
	run "$SFAGENT" -X -w nest -o "$T/s.jsonl" -- /bin/sh -c '
		mnt=$(findmnt -n -t cgroup2 -o TARGET | head -1)
		cg=$(sed -n "s/^0:://p" /proc/self/cgroup)
		mkdir "$mnt$cg/inner"
		echo $$ > "$mnt$cg/inner/cgroup.procs"
		cat /etc/hostname /nonexistent-nested-marker 2>/dev/null
		echo $$ > "$mnt$cg/cgroup.procs"
		rmdir "$mnt$cg/inner"
		true'
	[ "$status" -eq 0 ]
	assert_stream "$T/s.jsonl" \
		"one('file.open', path='/nonexistent-nested-marker')['cgroup'] != ev[0]['cgroup']" \
		"one('file.open', path='/nonexistent-nested-marker')['ret'] == -2"
}

@test "-o - writes the stream to stdout with its stream.start fields; the cgroup is removed afterwards" {
	run "$SFAGENT" -X -w out -e exporter-1 -o - -- /bin/true
	[ "$status" -eq 0 ]
	echo "$output" > "$T/s.jsonl"
	assert_stream "$T/s.jsonl" "ev[0]['type'] == 'stream.start'" "ev[-1]['type'] == 'stream.end'" \
		"ev[0]['exporter'] == 'exporter-1' and ev[0]['workload'] == 'out'" \
		"ev[0]['version'] == '$("$SFAGENT" --version | cut -d' ' -f2)' and ev[0]['schema'] == 1" \
		"abs(ev[0]['start'] - $(date +%s%N)) < 120 * 10**9" \
		"ev[0]['start'] <= ev[1]['ts'] <= ev[-1]['ts']"
	cgpath=$(python3 -c "import json;print(json.loads(open('$T/s.jsonl').readline())['cgroup_path'])")
	mnt=$(findmnt -n -t cgroup2 -o TARGET | head -1)
	[ ! -e "$mnt$cgpath" ]
}

@test "SIGTERM to sfagent stops the workload and still ends the stream" {
	"$SFAGENT" -X -w term -o "$T/s.jsonl" -- /bin/sleep 60 &
	pid=$!
	for _ in $(seq 300); do grep -q '"process.exec"' "$T/s.jsonl" 2>/dev/null && break; sleep 0.05; done
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 143 ]
	assert_stream "$T/s.jsonl" "ev[-1]['type'] == 'stream.end'" \
		"by('process.exit')[-1]['sig'] == 'SIGTERM'"
}

@test "root mode: host-wide events, none from sfagent itself" {
	"$SFAGENT" -R -o "$T/s.jsonl" --duration 3 &
	pid=$!
	for _ in $(seq 300); do [ -s "$T/s.jsonl" ] && break; sleep 0.05; done
	for _ in 1 2 3 4 5; do cat "$T/root-marker" >/dev/null 2>&1 || true; done
	wait "$pid"
	assert_stream "$T/s.jsonl" \
		"ev[0]['type'] == 'stream.start' and ev[0]['mode'] == 'root'" \
		"len([e for e in by('file.open') if e['path'] == '$T/root-marker']) == 5" \
		"not [e for e in ev if e.get('pid') == $pid]" \
		"ev[-1]['type'] == 'stream.end'"
}

@test "process mode runs \$SHELL under tracking" {
	run env SHELL=/bin/sh "$SFAGENT" -P -w sh -o "$T/s.jsonl" <<<'cat /etc/hostname >/dev/null; exit 4'
	[ "$status" -eq 4 ]
	assert_stream "$T/s.jsonl" "by('process.exec')[0]['filename'] == '/bin/sh'" \
		"one('file.open', path='/etc/hostname') is not None"
}
