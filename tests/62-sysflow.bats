#!/usr/bin/env bats
# -F sysflow: SysFlow's Avro container file, read back by independent
# readers (Debian's python3-avro and avrocat from avro-bin) with the schema
# the file embeds.  The fidelity workload (tests/workloads/fidelity.c)
# writes its pids, port and directory to facts.json; the checks are in
# tests/helpers/sysflow_check.py.

load test_helper
load hook_helper

PYAVRO=/usr/bin/python3 # Debian's python3-avro lives there
CHECK="$SF_TOP/tests/helpers/sysflow_check.py"

setup_file() {
	command -v avrocat >/dev/null && "$PYAVRO" -c 'import avro' ||
		{ echo "needs avro-bin and python3-avro: make deps-test" >&2; return 1; }
}

setup() {
	T=$(mktemp -d)
	mkdir "$T/work"
}

teardown() {
	[ -n "${HT:-}" ] && hook_suite_teardown
	rm -rf "$T"
}

fidelity_sysflow() {
	run "$SFAGENT" -v -X -w fid -F sysflow -o "$T/s.avro" -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	assert_equal "$status" 3 # the workload's own exit status
}

@test "sysflow: header, entities before use, process tree, FileFlow, FileEvents, NetworkFlows (python3-avro)" {
	fidelity_sysflow
	run "$PYAVRO" "$CHECK" "$T/s.avro" "$T/facts.json" "$SF_TOP/data/sysflow/SysFlow.avsc"
	assert_success
}

@test "sysflow: avrocat reads the file with its embedded schema; stream records in the log" {
	fidelity_sysflow
	# the side channel: stream.start and stream.end, native, with the
	# number of SysFlow records written
	echo "$output" | grep -q '"type":"stream.start",.*"format":"sysflow"'
	n=$(echo "$output" | sed -n 's/.*"type":"stream.end".*"sysflow_records":\([0-9]*\),.*/\1/p')
	run avrocat "$T/s.avro"
	assert_success
	assert_line --index 0 --regexp '^\{"rec": \{"SFHeader": \{"version": 5, "exporter": "[^"]+", "ip": "NA", "filename": "fid"\}\}\}$'
	[ "${#lines[@]}" -eq "$n" ]
	[ "$n" -gt 20 ]
	run "$PYAVRO" "$CHECK" --count "$T/s.avro"
	assert_output "$n"
}

@test "sysflow: a file cut inside a block reads up to the last full block" {
	fidelity_sysflow
	read -r -a syncs < <("$PYAVRO" "$CHECK" --syncs "$T/s.avro")
	# at least the header block, one batch, the end
	[ "${#syncs[@]}" -ge 3 ]
	last_full=${syncs[-2]}
	head -c "$last_full" "$T/s.avro" > "$T/full.avro"
	head -c $((last_full + 7)) "$T/s.avro" > "$T/cut.avro"
	full=$("$PYAVRO" "$CHECK" --count "$T/full.avro")
	all=$("$PYAVRO" "$CHECK" --count "$T/s.avro")
	run "$PYAVRO" "$CHECK" --count "$T/cut.avro"
	assert_output "$full"
	[ "$full" -gt 0 ] && [ "$full" -lt "$all" ]
}

@test "sysflow: a container's stream has the Container entity from its bundle" {
	[ -x "$SF_TOP/bundles/shell-demo/rootfs/bin/busybox" ] || { echo "run 'make bundles'" >&2; return 1; }
	run timeout 120 "$SFAGENT" -w "$SF_TOP/bundles/shell-demo" -F sysflow -o "$T/c.avro"
	assert_success
	run "$PYAVRO" - "$T/c.avro" <<'PY'
import sys
import avro.datafile, avro.io
recs = [r["rec"] for r in avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader())]
assert set(recs[0]) == {"version", "exporter", "ip", "filename"}, recs[0]
c = recs[1]
assert c["name"] == "shell-demo" and c["id"].startswith("sfagent-shell-demo-"), c
assert c["type"] == "CT_CUSTOM" and c["image"].endswith("/rootfs"), c
procs = [r for r in recs if "exeArgs" in r]
assert procs and all(p["containerId"] == c["id"] for p in procs), procs
assert any(p["exe"].endswith("sh") for p in procs), [p["exe"] for p in procs]
PY
	assert_success
}

@test "sysflow: message sinks and --file-filter are refused with one line" {
	run "$SFAGENT" -X -F sysflow -b 127.0.0.1 -o "$T/x.avro" -- true
	assert_failure 2
	assert_output --partial "-F sysflow writes an Avro file: use -o FILE"
	run "$SFAGENT" -X -F sysflow --http http://127.0.0.1:1/ -o "$T/x.avro" -- true
	assert_failure 2
	run "$SFAGENT" -X -F sysflow --file-filter '[name file.*]' -o "$T/x.avro" -- true
	assert_failure 2
	assert_output --partial "filter it with -f EXPR"
}

@test "sysflow: -G rotation gives complete Avro files, each with its header and the entities it uses" {
	mkdir "$T/w2"
	run "$SFAGENT" -X -w fid -F sysflow -G 1 -o "$T/r.avro" -- sh -c \
		"'$SF_WORKLOADS/fidelity' '$T/work' '$T/f1.json'; sleep 1.3; '$SF_WORKLOADS/fidelity' '$T/w2' '$T/f2.json'; sleep 1.3; exec true"
	assert_success
	files=("$T"/r.avro.*)
	[ "${#files[@]}" -ge 2 ]
	run "$PYAVRO" "$CHECK" --self-contained "$T"/r.avro*
	assert_success
	# the second workload's process and its parent, the shell, again in
	# the file it is in
	pid2=$(jq .pid "$T/f2.json")
	for f in "$T"/r.avro*; do avrocat "$f" | grep -q "\"hpid\": $pid2}" && last="$f"; done
	avrocat "$last" | grep -q '"exe": "/bin/sh"\|"exe": "sh"'
}

@test "sysflow: -D, io.sfagent.format=sysflow: the container's own Avro file; mqtt asked: refused, the file instead" {
	hook_suite_setup
	start_daemon -e hostS
	make_bundle "$HT/b" '["/bin/sh", "-c", "echo x > /tmp/f; cat /tmp/f; ls /"]' \
		'{"io.sfagent.workload": "dsf", "io.sfagent.format": "sysflow", "io.sfagent.export": "file,mqtt"}'
	run run_container ds-1 "$HT/b"
	assert_success
	wait_for "the stream's end" 30 grep -q '"type":"stream.end","seq":[0-9]*,"ts":[0-9]*,"workload":"dsf"' "$HT/agent.log"
	grep -q 'io.sfagent.format `sysflow` writes files only' "$HT/agent.log"
	run "$PYAVRO" "$CHECK" --self-contained "$OUT/dsf.ds-1.avro"
	assert_success
	run "$PYAVRO" - "$OUT/dsf.ds-1.avro" <<'PY'
import sys
import avro.datafile, avro.io
recs = [r["rec"] for r in avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader())]
assert recs[0]["exporter"] == "hostS" and recs[0]["filename"] == "dsf", recs[0]
assert recs[1]["id"] == "ds-1" and recs[1]["name"] == "dsf", recs[1]
files = {r["oid"]: r["path"] for r in recs if "restype" in r}
flows = [r for r in recs if "openFlags" in r and files[r["fileOID"]] == "/tmp/f"]
assert len(flows) == 2 and {f["openFlags"] & 3 for f in flows} == {0, 1}, flows
PY
	assert_success
}

@test "sysflow: valgrind: the encoder, its tables and a rotation leak nothing" {
	run valgrind --suppressions="$SF_TOP/tests/valgrind.supp" --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 -q "$SFAGENT" -X -w fid -F sysflow -G 1 -o "$T/v.avro" -- \
		sh -c "'$SF_WORKLOADS/fidelity' '$T/work' '$T/f.json'; sleep 1.2; exec true"
	echo "$output" | grep -v "unhandled eBPF" || true
	assert_success
	run "$PYAVRO" "$CHECK" --self-contained "$T"/v.avro*
	assert_success
}

flow_workload() { # FORMAT [SPLIT_SECS]: tests/helpers/flow_workload.py
	# --hash none: no process.exe_hash records (kernel events only)
	run "$SFAGENT" -v -X -w fl -F "$1" --hash none ${2:+--flow-interval "$2"} \
		-o "$T/s.$1" -- "$PYAVRO" "$SF_TOP/tests/helpers/flow_workload.py" "$T/work" "$T/facts.json" ${2:+"$2"}
	assert_success
}

@test "sysflow: FileFlows and NetworkFlows carry the kernel's exact read/write counts and both ports; close then reuse of the fd is two flows" {
	flow_workload sysflow
	# 5 writes of 100 B, 4 reads of 125 B; 1 then 2 writes on one fd
	# number; TCP 3 x 1000 B one way, 2 x 50 B back, with both ports
	run "$PYAVRO" "$CHECK" --flows "$T/s.sysflow" "$T/facts.json"
	assert_success
	# the counters of the flows still open (the two sockets) were in the
	# kernel's map while the workload ran
	run "$PYAVRO" -c 'import json,sys; print(json.load(open(sys.argv[1]))["map_entries"])' "$T/facts.json"
	assert_output 2
}

@test "sysflow: --flow-interval splits a long flow; the parts add up to the whole" {
	flow_workload sysflow 1
	run "$PYAVRO" "$CHECK" --flows "$T/s.sysflow" "$T/facts.json"
	assert_success
	[ "$output" -ge 2 ] # pieces of the long flow
	run "$SFAGENT" -X -F sysflow --flow-interval 0 -o "$T/x" -- true
	assert_failure 2
	assert_output --partial 'bad --flow-interval `0`'
}

@test "sysflow: a json stream counts nothing: the kernel's flow map stays empty" {
	flow_workload json
	run "$PYAVRO" -c 'import json,sys; print(json.load(open(sys.argv[1]))["map_entries"])' "$T/facts.json"
	assert_output 0
}

@test "sysflow: flows that do not fit the kernel's map are counted in stream.end" {
	SFAGENT_TEST_FLOW_MAP_ENTRIES=1 run "$SFAGENT" -v -X -w fl -F sysflow --hash none -o "$T/s.avro" -- \
		"$PYAVRO" "$SF_TOP/tests/helpers/flow_workload.py" "$T/work" "$T/facts.json"
	assert_success
	n=$(echo "$output" | sed -n 's/.*"type":"stream.end".*"sysflow_flows_uncounted":\([0-9]*\).*/\1/p')
	# one entry: the client's socket had it while the server's was open
	[ "$n" -gt 0 ]
}

@test "sysflow: a file that cannot be written counts its loss in SysFlow records" {
	run "$SFAGENT" -v -X -w fid -F sysflow -o /dev/full -- "$SF_WORKLOADS/fidelity" "$T/work" "$T/facts.json"
	assert_equal "$status" 3
	end=$(echo "$output" | grep '"type":"stream.end"')
	lost=$(echo "$end" | sed -n 's/.*"missed_sink":\([0-9]*\).*/\1/p')
	recs=$(echo "$end" | sed -n 's/.*"sysflow_records":\([0-9]*\).*/\1/p')
	# all but the stream records' batches (the header; flows ended by the
	# stream's end), which are not counted as lost events
	[ "$lost" -le $((recs - 1)) ] && [ "$lost" -ge $((recs - 5)) ]
}

uring_flows() { # FORMAT: tests/workloads/uringflow.c, the maps looked at mid-run
	# --hash none: no process.exe_hash records (kernel events only)
	run "$SFAGENT" -v -X -w ur -F "$1" --hash none -o "$T/s.$1" -- "$SF_WORKLOADS/uringflow" "$T/work" "$T/facts.json" \
		"'$PYAVRO' '$SF_TOP/tests/helpers/flow_workload.py' --maps '$T/maps.json'"
	assert_success
	END=$(echo "$output" | grep '"type":"stream.end"' || true)
}

@test "sysflow: io_uring reads, writes, sends and receives are counted into FileFlows and NetworkFlows exactly" {
	uring_flows sysflow
	run "$PYAVRO" "$CHECK" --uring-flows "$T/s.sysflow" "$T/facts.json"
	assert_success
	# mid-run: the socket pair's counters, and the receive waiting for
	# its completion
	run jq -c . "$T/maps.json"
	assert_output '{"flow_counts":2,"flow_uring":1}'
	# the fixed file's 2 writes of 10 bytes: in no flow, in stream.end
	echo "$END" | grep -q '"sysflow_uring_fixed_ops":2,"sysflow_uring_fixed_bytes":20}'
}

@test "sysflow: a json stream counts nothing through io_uring either" {
	uring_flows json
	run jq -c . "$T/maps.json"
	assert_output '{"flow_counts":0,"flow_uring":0}'
}

@test "sysflow: 32-bit (ia32) reads, writes, sends and receives are counted exactly" {
	run "$SFAGENT" -v -X -w f32 -F sysflow --hash none -o "$T/s.avro" -- "$SF_WORKLOADS/flow32" "$T/work" "$T/facts.json"
	assert_success
	run "$PYAVRO" "$CHECK" --flows32 "$T/s.avro" "$T/facts.json"
	assert_success
}
