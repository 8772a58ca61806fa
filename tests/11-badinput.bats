#!/usr/bin/env bats
# Bad input: one clear line naming the problem (and the fix), exit 2 for usage
# and 1 for the environment, and nothing half-created left behind.

load test_helper

setup() {
	T=$(mktemp -d)
	CG2=$(findmnt -n -t cgroup2 -o TARGET | head -1)
}

teardown() {
	rm -rf "$T"
}

# Like `run`, but remembers the pid, which names the cgroup sfagent makes.
run_pid() {
	"$@" > "$T/out" 2>&1 &
	pid=$!
	status=0
	wait "$pid" || status=$?
	output=$(cat "$T/out")
	mapfile -t lines < "$T/out"
}

# no cgroup left behind by the failed start of sfagent $pid
assert_no_leftover_cgroup() {
	[ -n "$pid" ]
	[ ! -e "$CG2/sfagent/x-$pid" ]
}

@test "unknown option: usage error naming it" {
	run "$SFAGENT" -X --bogus -o "$T/s" -- true
	assert_failure 2
	assert_output --partial "unknown option \`--bogus\`"
	[ "${#lines[@]}" -eq 1 ]
}

@test "missing output: usage error with the fix" {
	run "$SFAGENT" -X -- true
	assert_failure 2
	assert_output --partial "no output given: use -o FILE"
}

@test "no mode, two modes, -X without a program, stray argument" {
	run "$SFAGENT" -o "$T/s"
	assert_failure 2
	assert_output --partial "no mode given"
	run "$SFAGENT" -X -R -o "$T/s" -- true
	assert_failure 2
	assert_output --partial "cannot be combined"
	run "$SFAGENT" -X -o "$T/s"
	assert_failure 2
	assert_output --partial "-X needs a program"
	run "$SFAGENT" -R -o "$T/s" extra
	assert_failure 2
	assert_output --partial "unexpected argument \`extra\`"
}

@test "bad option values are named" {
	run "$SFAGENT" -R -o "$T/s" --duration 0
	assert_failure 2
	assert_output --partial "bad --duration \`0\`"
	run "$SFAGENT" -R -o "$T/s" --ringbuf-size 5000
	assert_failure 2
	assert_output --partial "power of two"
	run "$SFAGENT" -X -o "$T/s" -F xml -- true
	assert_failure 2
	assert_output --partial "unknown format \`xml\`"
}

@test "unwritable output path: environment error, nothing left behind" {
	run_pid "$SFAGENT" -X -o "$T/no/such/dir/s.jsonl" -- /bin/true
	assert_failure 1
	assert_output --partial "cannot open output file \`$T/no/such/dir/s.jsonl\`: No such file or directory"
	assert_no_leftover_cgroup
}

@test "program not found: usage error, nothing created" {
	run "$SFAGENT" -X -o "$T/s.jsonl" -- no-such-program-sfagent
	assert_failure 2
	assert_output "sfagent: program \`no-such-program-sfagent\` not found in PATH: install it, or give its path (./no-such-program-sfagent)"
	[ ! -e "$T/s.jsonl" ]
	echo 'echo hi' > "$T/notexec"
	chmod 0644 "$T/notexec"
	run_pid "$SFAGENT" -X -o "$T/s.jsonl" -- "$T/notexec"
	assert_failure 2
	assert_output --partial "is not an executable file"
	assert_no_leftover_cgroup
}

@test "not root: environment error with the fix" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SFAGENT" -X -o /dev/null -- /bin/true
	assert_failure 1
	assert_output --partial "must run as root"
}

@test "no kernel BTF: environment error naming what is needed" {
	# hide the kernel's BTF in a private mount namespace
	run_pid unshare -m sh -c "mount --bind /dev/null /sys/kernel/btf/vmlinux && exec '$SFAGENT' -X -o '$T/s.jsonl' -- /bin/true"
	assert_failure 1
	assert_output --partial "kernel BTF not found at /sys/kernel/btf/vmlinux"
	assert_output --partial "CONFIG_DEBUG_INFO_BTF"
	assert_no_leftover_cgroup
}

@test "cgroup v2 not mounted: environment error with the fix" {
	run unshare -m sh -c "umount '$CG2' && exec '$SFAGENT' -X -o '$T/s.jsonl' -- /bin/true"
	assert_failure 1
	assert_output --partial "cgroup v2 is not mounted"
	assert_output --partial "mount -t cgroup2"
}

@test "bpffs absent is mounted; when it cannot be mounted, the error says how" {
	# absent: sfagent mounts it (in this private namespace) and works
	run unshare -m sh -c "umount /sys/fs/bpf 2>/dev/null; exec '$SFAGENT' -X -o '$T/s.jsonl' -- /bin/true"
	assert_success
	# cannot be mounted: /sys/fs hidden under an empty tmpfs, so no mount point
	run unshare -m sh -c "mount -t tmpfs none /sys/fs && exec '$SFAGENT' -X -o '$T/r.jsonl' -- /bin/true"
	assert_failure 1
	assert_output --partial "bpf is not mounted at /sys/fs/bpf and mounting it failed"
	assert_output --partial "mount -t bpf"
}

@test "--help and --version" {
	run "$SFAGENT" --help
	assert_success
	assert_output --partial "Usage: sfagent"
	assert_output --partial "Examples:"
	run "$SFAGENT" --version
	assert_success
	assert_output --regexp '^sfagent [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "-d FILE collects debug logs including libbpf's" {
	run "$SFAGENT" -X -o "$T/s.jsonl" -d "$T/debug.log" -- /bin/true
	assert_success
	grep -q "libbpf: loading object" "$T/debug.log"
	grep -q "BPF loaded" "$T/debug.log"
	# and none of it on stderr without -v
	refute_output --partial "libbpf"
}

@test "a program the kernel refuses to run: 126, a complete stream, no cgroup left" {
	printf '\x7fELFgarbage' > "$T/badelf"
	chmod 0755 "$T/badelf"
	run_pid "$SFAGENT" -X -o "$T/s.jsonl" -- "$T/badelf"
	assert_failure 126
	assert_output --partial "cannot run \`$T/badelf\`: Exec format error"
	assert_no_leftover_cgroup
	assert_stream "$T/s.jsonl" "ev[-1]['type'] == 'stream.end'" \
		"one('process.exec', filename='$T/badelf')['ret'] == -8"
}

# The network outputs' libraries are opened by the first sink that needs one
# (agent/lazylib.h).  SFAGENT_TEST_LIB_* names another library: here one that
# does not exist, which simulates a host without libcurl, paho-mqtt or cnats
# (uninstalling them is not possible on a shared test host).
@test "a network output's library missing (simulated): one line naming it, status 1, the program not run" {
	for o in curl:http paho:mqtt nats:nats; do
		lib=${o%%:*} kind=${o#*:}
		case $kind in
		http) args=(--http http://127.0.0.1:1/x) what="the HTTP output" ;;
		mqtt) args=(-b 127.0.0.1 -t x) what="the MQTT output" ;;
		nats) args=(--nats nats://127.0.0.1:1) what="the NATS output" ;;
		esac
		env_var=SFAGENT_TEST_LIB_$(tr a-z A-Z <<<"$lib")
		run_pid env "$env_var=libsfagent-nosuch-$lib.so.1" \
			"$SFAGENT" -X -w t "${args[@]}" -- /bin/sh -c "touch $T/ran"
		[ "$status" -eq 1 ]
		[ "$output" = "sfagent: workload \`t\`: cannot load libsfagent-nosuch-$lib.so.1 for $what: libsfagent-nosuch-$lib.so.1: cannot open shared object file: No such file or directory" ]
		[ ! -e "$T/ran" ]
		assert_no_leftover_cgroup
	done
	# and a library without the functions: named, with the first missing
	# (the first of agent/sinks/lazy_nats.h's table)
	run_pid env SFAGENT_TEST_LIB_NATS=libz.so.1 "$SFAGENT" -X -w t --nats nats://127.0.0.1:1 -- /bin/true
	[ "$status" -eq 1 ]
	[ "$output" = "sfagent: workload \`t\`: cannot load libz.so.1 for the NATS output: no jsAccountInfo_Destroy in it" ]
	# the agent itself links none of them: they cost its start nothing
	if ldd "$SFAGENT" | grep -E "libcurl|libpaho|libnats"; then false; fi
}

# libavro likewise, opened for -F sysflow (agent/encoders/lazy_avro.h)
@test "-F sysflow's library missing (simulated): one line naming it, status 1, the program not run; other formats need it not" {
	run_pid env SFAGENT_TEST_LIB_AVRO=libsfagent-nosuch-avro.so.1 \
		"$SFAGENT" -X -w t -F sysflow -o "$T/s.avro" -- /bin/sh -c "touch $T/ran"
	[ "$status" -eq 1 ]
	[ "$output" = "sfagent: workload \`t\`: cannot load libsfagent-nosuch-avro.so.1 for the sysflow format: libsfagent-nosuch-avro.so.1: cannot open shared object file: No such file or directory" ]
	[ ! -e "$T/ran" ]
	assert_no_leftover_cgroup
	run env SFAGENT_TEST_LIB_AVRO=libsfagent-nosuch-avro.so.1 \
		"$SFAGENT" -X -w t -o "$T/s.jsonl" -- /bin/true
	assert_success
	assert_stream "$T/s.jsonl" "ev[-1]['type'] == 'stream.end' and ev[-1]['missed'] == 0"
	# not linked: it (and jansson, snappy, libstdc++...) costs no start
	if ldd "$SFAGENT" | grep -E "libavro|libstdc"; then false; fi
}
