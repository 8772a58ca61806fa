#!/usr/bin/env bats
# NATS JetStream export from the modes other than -X: a traced shell (-P),
# the whole host (-R) and a bundle run with runc (-w NAME), each into a
# real nats-server on loopback, read back by natsread (the helpers of
# tests/49-nats.bats).

load test_helper
load hook_helper
load helpers/sinks # after hook_helper: its wait_for (SECONDS CMD...) is used
load helpers/nats

setup() {
	sinks_setup
	nats_cluster_init
	nats_single_start
}

teardown() {
	local id
	for id in $(runc list -q 2>/dev/null | grep '^sfagent-shell-demo-' || true); do
		runc delete --force "$id" || true
	done
	nats_cluster_stop
	sinks_teardown
}

# stored_in_order FILE: one stream (one exporter and tag in Nats-Msg-Id),
# its stream.start stored first and its stream.end last, each once
stored_in_order() {
	python3 - "$1" <<'PY'
import json, sys
lines = [l.rstrip("\n").split("\t", 2) for l in open(sys.argv[1])]
ev = [json.loads(data) for _, _, data in lines]
assert len({mid.rsplit(".", 1)[0] for mid, _, _ in lines}) == 1, "more than one stream"
types = [e["type"] for e in ev]
assert types[0] == "stream.start", types[0]
assert types[-1] == "stream.end", types[-1]
assert types.count("stream.start") == 1 and types.count("stream.end") == 1
PY
}

@test "nats modes: -P (a traced shell fed on stdin) --nats: every record stored once, stream.start first, stream.end last" {
	run env SHELL=/bin/sh "$SFAGENT" -P -w psh --nats "$NATS_URL0" --nats-stream PM --nats-create-stream \
		<<<'for i in 1 2 3 4 5; do cat /etc/hostname >/dev/null; done; exit 3'
	echo "$output"
	# the shell's exit status is the agent's
	[ "$status" -eq 3 ]
	"$SF_WORKLOADS/natsread" "$NATS_URL0" PM '>' 1000 >"$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	stored_in_order "$SINK_DIR/r.out"
	grep -q $'\tsfagent\\.[^\t]*\\.psh\t{"type":"stream.start".*"mode":"process"' "$SINK_DIR/r.out"
	[ "$(grep -c '"type":"file.open".*"path":"/etc/hostname"' "$SINK_DIR/r.out")" -eq 5 ]
}

@test "nats modes: -R (the whole host) --duration 3 --nats: every record stored once, stream.start first, stream.end last, a marker's opens among them" {
	"$SFAGENT" -R -v -w host --nats "$NATS_URL0" --nats-stream RM --nats-create-stream --duration 3 \
		2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q 'created JetStream stream `RM`' "$SINK_DIR/agent.err"
	sleep 0.5
	for _ in 1 2 3 4 5; do cat "$SINK_DIR/root-marker" >/dev/null 2>&1 || true; done
	wait "$AGENT_PID"
	AGENT_PID=
	cat "$SINK_DIR/agent.err"
	"$SF_WORKLOADS/natsread" "$NATS_URL0" RM '>' 2000 >"$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	stored_in_order "$SINK_DIR/r.out"
	grep -q '"type":"stream.start".*"mode":"root"' "$SINK_DIR/r.out"
	[ "$(grep -c "\"type\":\"file.open\".*\"path\":\"$SINK_DIR/root-marker\"" "$SINK_DIR/r.out")" -eq 5 ]
}

@test "nats modes: -w shell-demo (a bundle run with runc) --nats: every record stored once, stream.start first, stream.end last" {
	[ -x "$SF_TOP/bundles/shell-demo/rootfs/bin/busybox" ] ||
		{ echo "bundles/shell-demo has no rootfs: run 'make bundles'" >&2; false; }
	mkdir "$SINK_DIR/bundles"
	ln -s "$SF_TOP/bundles/shell-demo" "$SINK_DIR/bundles/shell-demo"
	run timeout 120 "$SFAGENT" -w shell-demo -B "$SINK_DIR/bundles" --nats "$NATS_URL0" \
		--nats-stream WM --nats-create-stream
	echo "$output"
	assert_success
	assert_output --partial "hello from shell-demo"
	"$SF_WORKLOADS/natsread" "$NATS_URL0" WM '>' 1000 >"$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	stored_in_order "$SINK_DIR/r.out"
	grep -q $'\tsfagent\\.[^\t]*\\.shell-demo\t{"type":"stream.start".*"mode":"container"' "$SINK_DIR/r.out"
	grep -q '"type":"process.exec".*"argv":\["/bin/sh","/workload.sh"\]' "$SINK_DIR/r.out"
}
