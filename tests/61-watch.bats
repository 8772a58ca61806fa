#!/usr/bin/env bats
# sfagent watch / status against a real sfagent -D and runc containers, the
# access file with real non-root users (setpriv), and --metrics scraped by a
# real Prometheus server on loopback.

bats_require_minimum_version 1.5.0
load test_helper
load hook_helper

setup_file() {
	hook_suite_setup
	# non-root watchers must reach the watch socket
	chmod 0711 "$HT"
	mkdir -m 0755 "$HT/pub"
	WSOCK="$HT/pub/watch.sock"
	export WSOCK
	cat >"$HT/access" <<-'EOF'
		# who may watch what
		watch wa-* uid=1501
		watch wb-* gid=1600
		deny  wb-secret gid=1600
	EOF
	chmod 0644 "$HT/access"
	start_daemon --watch-socket "$WSOCK" --access "$HT/access" --watch-queue 16 \
		--metrics 127.0.0.1:0
}

teardown_file() {
	kill "${PROM_PID:-}" 2>/dev/null || true
	hook_suite_teardown
}

watchers() {
	"$SFAGENT" status --socket "$WSOCK" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["watchers"])'
}

watchers_are() { [ "$(watchers)" = "$1" ]; }

# watch_bg OUT [ARGS...]: sfagent watch in the background, back once the
# agent counts it as watching; WPID is its pid
watch_bg() {
	local out="$1" n
	shift
	n=$(watchers)
	"$SFAGENT" watch --socket "$WSOCK" "$@" >"$out" 2>"$out.err" &
	WPID=$!
	wait_for "the watcher" 20 watchers_are $((n + 1))
}

@test "two watchers, two filters, two containers: each gets exactly its selection, stream.start and stream.end" {
	watch_bg "$HT/w1.out" --format json --filter '[type process.exec]'
	p1=$WPID
	watch_bg "$HT/w2.out" --format json --filter '[path = /etc/*]' wa-*
	p2=$WPID
	make_bundle "$HT/ba" '["/bin/sh", "-c", "cat /etc/passwd >/dev/null; cat /etc/group >/dev/null"]' "$(k8s_ann wa-one)"
	make_bundle "$HT/bb" '["/bin/sh", "-c", "cat /etc/group >/dev/null"]' "$(k8s_ann wb-two)"
	run_container sw-a "$HT/ba"
	run_container sw-b "$HT/bb"
	wait_for "stream.end" 10 grep -q '"stream.end".*wb-two' "$HT/w1.out"
	wait_for "stream.end" 10 grep -q '"stream.end".*wa-one' "$HT/w2.out"
	kill "$p1" "$p2"
	# watcher 1: every exec of both streams, nothing else but stream records
	python3 - "$HT/w1.out" "$OUT/wa-one.jsonl" "$OUT/wb-two.jsonl" <<-'PY'
		import json, sys
		got = [json.loads(l) for l in open(sys.argv[1])]
		files = [json.loads(l) for f in sys.argv[2:] for l in open(f)]
		want = [e for e in files if e["type"] == "process.exec"]
		ev = [e for e in got if not e["type"].startswith("stream.")]
		assert [(e["workload"], e["seq"]) for e in ev] == [(e["workload"], e["seq"]) for e in want], (ev, want)
		assert {e["workload"] for e in got if e["type"] == "stream.start"} == {"wa-one", "wb-two"}
		assert {e["workload"] for e in got if e["type"] == "stream.end"} == {"wa-one", "wb-two"}
	PY
	# watcher 2: only wa-*, only /etc paths, exactly as in the file
	python3 - "$HT/w2.out" "$OUT/wa-one.jsonl" <<-'PY'
		import json, sys
		got = [json.loads(l) for l in open(sys.argv[1])]
		want = [e for e in map(json.loads, open(sys.argv[2])) if e.get("path", "").startswith("/etc/")]
		assert {e["workload"] for e in got} == {"wa-one"}
		assert [e["seq"] for e in got if not e["type"].startswith("stream.")] == [e["seq"] for e in want]
		assert len(want) >= 2
	PY
}

@test "a stalled watcher (SIGSTOP) is told what it missed after SIGCONT; the file stream loses nothing" {
	watch_bg "$HT/slow.out" --format json wa-*
	ps=$WPID
	kill -STOP "$ps"
	make_bundle "$HT/bf" '["/bin/sh", "-c", "i=0; while [ $i -lt 400 ]; do cat /etc/passwd /etc/group >/dev/null; i=$((i+1)); done"]' "$(k8s_ann wa-flood)"
	run_container sw-f "$HT/bf"
	wait_for "stream.end in the file" 20 stream_check "$OUT/wa-flood.jsonl" 'ev[-1]["type"] == "stream.end"'
	kill -CONT "$ps"
	wait_for "missed notice" 20 grep -q '"reason":"subscriber"' "$HT/slow.out"
	sleep 1
	kill "$ps"
	assert_seq_no_gaps "$OUT/wa-flood.jsonl"
	assert_stream "$OUT/wa-flood.jsonl" 'ev[-1]["missed"] == 0'
	python3 - "$HT/slow.out" "$OUT/wa-flood.jsonl" <<-'PY'
		import json, sys
		got = [json.loads(l) for l in open(sys.argv[1])]
		file = [json.loads(l) for l in open(sys.argv[2])]
		mine = [e for e in got if e.get("reason") != "subscriber"]
		told = sum(e["count"] for e in got if e.get("reason") == "subscriber")
		assert told > 0
		# what came plus what it was told it missed is the whole stream
		assert len(mine) + told == len(file), (len(mine), told, len(file))
		seqs = [e["seq"] for e in mine]
		assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
	PY
	run "$SFAGENT" status --socket "$WSOCK" --json
	assert_success
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["watch_dropped"] > 0' "$output"
}

@test "access: a user sees what a rule grants, a wildcard narrows, deny wins, another user's group rule is not honoured" {
	make_bundle "$HT/bs" '["/bin/sh", "-c", "sleep 4; cat /etc/group >/dev/null"]' "$(k8s_ann wb-secret)"
	make_bundle "$HT/bo" '["/bin/sh", "-c", "sleep 4; cat /etc/group >/dev/null"]' "$(k8s_ann wb-open)"
	make_bundle "$HT/bw" '["/bin/sh", "-c", "sleep 4; cat /etc/group >/dev/null"]' "$(k8s_ann wa-mine)"
	run_container sw-s "$HT/bs" &
	c1=$!
	run_container sw-o "$HT/bo" &
	c2=$!
	run_container sw-w "$HT/bw" &
	c3=$!
	three() { [ "$(ls "$OUT" | grep -c -e wb-secret -e wb-open -e wa-mine)" -eq 3 ]; }
	wait_for "three streams" 20 three
	sleep 0.5
	as1501() { setpriv --reuid=1501 --regid=1501 --clear-groups "$@"; }
	as1502() { setpriv --reuid=1502 --regid=1502 --groups=1600 "$@"; }
	as1503() { setpriv --reuid=1503 --regid=1503 --clear-groups "$@"; }
	run as1501 "$SFAGENT" status --socket "$WSOCK" --json
	assert_success
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert sorted(x["workload"] for x in s["streams"]) == ["wa-mine"], s' "$output"
	run as1502 "$SFAGENT" status --socket "$WSOCK" --json
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert sorted(x["workload"] for x in s["streams"]) == ["wb-open"], s' "$output"
	# a name the rules do not grant: refused, named
	run as1501 "$SFAGENT" watch --socket "$WSOCK" wb-open
	assert_failure 1
	assert_output --partial "not allowed to watch \`wb-open\`"
	run as1502 "$SFAGENT" watch --socket "$WSOCK" wb-secret
	assert_failure 1
	assert_output --partial "not allowed to watch \`wb-secret\`"
	# the group rule is for members only
	run as1503 "$SFAGENT" status --socket "$WSOCK" --json
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["streams"] == [], s' "$output"
	# a wildcard watch by 1502 gets wb-open's records only
	as1502 "$SFAGENT" watch --socket "$WSOCK" --format json >"$HT/as1502.out" 2>&1 &
	pw=$!
	wait "$c1" "$c2" "$c3"
	sleep 1
	kill "$pw" 2>/dev/null || true
	python3 - "$HT/as1502.out" <<-'PY'
		import json, sys
		got = [json.loads(l) for l in open(sys.argv[1])]
		assert got and {e["workload"] for e in got} == {"wb-open"}, got[:3]
	PY
	# and the hook's socket still refuses non-root peers
	run as1501 python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])' "$SOCK"
	assert_failure
}

@test "access file: refused at start when others may write it; SIGHUP with a broken file keeps the rules" {
	cp "$HT/access" "$HT/access-w"
	chmod 0666 "$HT/access-w"
	run "$SFAGENT" -D --socket "$HT/x.sock" --output-dir "$OUT" --watch-socket "$HT/pub/x.sock" --access "$HT/access-w"
	assert_failure 1
	assert_output --partial "must be owned by root and not writable by group or others (fix: chown root"
	[ "${#lines[@]}" -eq 1 ]
	echo "watch" >"$HT/access-bad"
	run "$SFAGENT" -D --socket "$HT/x.sock" --output-dir "$OUT" --watch-socket "$HT/pub/x.sock" --access "$HT/access-bad"
	assert_failure 2
	assert_output --partial "access-bad:1: want three words"
	cp "$HT/access" "$HT/access.good"
	echo "watch * who=me" >>"$HT/access"
	kill -HUP "$AGENT_PID"
	wait_for "kept" 10 grep -q "keeping the 3 rules read before" "$HT/agent.log"
	cp "$HT/access.good" "$HT/access"
	run setpriv --reuid=1501 --regid=1501 --clear-groups "$SFAGENT" status --socket "$WSOCK" --json
	assert_success
}

@test "watch and status: no daemon, unknown workload, garbage from a client" {
	run "$SFAGENT" watch --socket "$HT/pub/none.sock"
	assert_failure 1
	assert_output --partial "no agent answers on \`$HT/pub/none.sock\`"
	run "$SFAGENT" status --socket "$HT/pub/none.sock"
	assert_failure 1
	run "$SFAGENT" watch --socket "$WSOCK" no-such-workload
	assert_failure 1
	assert_output --partial "no running stream of workload or container \`no-such-workload\`"
	run python3 - "$WSOCK" <<-'PY'
		import socket, sys
		for junk in [b"\xff\xfe garbage\n", b"[" * 5000 + b"\n", b'{"op":"watch","names":"x"}\n', b'{"op":"rm"}\n']:
		    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		    s.connect(sys.argv[1]); s.sendall(junk)
		    print(s.recv(4096).decode().strip())
	PY
	assert_success
	[ "$(echo "$output" | grep -c '"type":"watch.error"')" -eq 4 ]
	run "$SFAGENT" status --socket "$WSOCK"
	assert_success
	assert_line --regexp '^agent [0-9.]+: up [0-9]+ s'
	assert_line --regexp '^registrations refused: [0-9]+; sandbox: seccomp allow-list of [0-9]+ syscalls \(0 calls denied\), capabilities CAP_SYS_ADMIN CAP_BPF'
	# a registration the agent refuses (an invalid filter): counted, in
	# status and in the metrics, as a fail-open hook starts it untracked
	before=$("$SFAGENT" status --socket "$WSOCK" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["registrations_refused"])')
	make_bundle "$HT/brf" '["/bin/true"]' "$(k8s_ann wa-refused '"io.sfagent.filter": "[type flie]"')"
	run run_container sw-rf "$HT/brf"
	after=$("$SFAGENT" status --socket "$WSOCK" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["registrations_refused"])')
	[ "$after" -eq $((before + 1)) ]
	port=$(sed -n 's/.*metrics on http:\/\/127.0.0.1:\([0-9]*\)\/metrics.*/\1/p' "$HT/agent.log" | tail -1)
	curl -sf "http://127.0.0.1:$port/metrics" | grep -qx "sfagent_registrations_refused_total $after"
}

@test "metrics: a real Prometheus scrapes sfagent_events_total of a stream; promtool accepts the exposition; /healthz" {
	port=$(sed -n 's/.*metrics on http:\/\/127.0.0.1:\([0-9]*\)\/metrics.*/\1/p' "$HT/agent.log" | tail -1)
	[ -n "$port" ]
	curl -sf "http://127.0.0.1:$port/healthz" | grep -qx ok
	make_bundle "$HT/bm" '["/bin/sh", "-c", "cat /etc/passwd >/dev/null; sleep 1"]' "$(k8s_ann wa-metrics)"
	run_container sw-m "$HT/bm"
	wait_for "stream.end" 10 stream_check "$OUT/wa-metrics.jsonl" 'ev[-1]["type"] == "stream.end"'
	n=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["events"])' "$OUT/wa-metrics.jsonl")
	curl -sf "http://127.0.0.1:$port/metrics" >"$HT/metrics.txt"
	grep -q "^sfagent_events_total{workload=\"wa-metrics\",container=\"sw-m\"} $n\$" "$HT/metrics.txt"
	promtool check metrics <"$HT/metrics.txt"
	# the executables' digests (--hash exec, the default; computed off the
	# consumer's thread): busybox at least
	hashed() { curl -sf "http://127.0.0.1:$port/metrics" | grep -Eq '^sfagent_exe_hashes_total\{result="computed"\} [1-9]'; }
	wait_for "a digest computed" 10 hashed
	# the programs' own cost, while the kernel counts it
	run grep -c '^sfagent_bpf_runs_total' "$HT/metrics.txt"
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = 1 ] || assert_output 0
	old=$(cat /proc/sys/kernel/bpf_stats_enabled)
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	run_container sw-m2 "$HT/bm"
	curl -sf "http://127.0.0.1:$port/metrics" >"$HT/metrics2.txt"
	echo "$old" >/proc/sys/kernel/bpf_stats_enabled
	grep -Eq '^sfagent_bpf_runs_total\{program="sf_exec"\} [1-9]' "$HT/metrics2.txt"
	grep -Eq '^sfagent_bpf_run_seconds_total\{program="sf_exec"\} 0\.[0-9]*[1-9]' "$HT/metrics2.txt"
	promtool check metrics <"$HT/metrics2.txt"
	# a real Prometheus on loopback
	pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$HT/prom.yml" <<-EOF
		global: {scrape_interval: 1s}
		scrape_configs:
		  - job_name: sfagent
		    static_configs: [{targets: ["127.0.0.1:$port"]}]
	EOF
	prometheus --config.file="$HT/prom.yml" --storage.tsdb.path="$HT/prom" \
		--web.listen-address="127.0.0.1:$pport" >"$HT/prom.log" 2>&1 &
	PROM_PID=$!
	q() {
		curl -sf "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
			python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
	}
	scraped() { [ -n "$(q 'sfagent_events_total{workload="wa-metrics"}' 2>/dev/null)" ]; }
	wait_for "prometheus has the series" 60 scraped
	[ "$(q 'sfagent_events_total{workload="wa-metrics"}')" = "$n" ]
	[ "$(q 'sfagent_missed_total{workload="wa-metrics",reason="ringbuf"}')" = "0" ]
	kill "$PROM_PID"
	PROM_PID=
}

@test "metrics: bad --metrics values are one line, exit 2" {
	for v in 70000 nope 1.2.3.4.5:80 '[::1' ; do
		run "$SFAGENT" -D --socket "$HT/y.sock" --output-dir "$OUT" --watch-socket "$HT/pub/y.sock" --metrics "$v"
		assert_failure 2
		assert_output --partial -- "--metrics \`$v\`"
		[ "${#lines[@]}" -eq 1 ]
	done
}
