#!/usr/bin/env bats
# NATS JetStream export against a real 3-node nats-server cluster on
# loopback (free random ports, a store directory per node), read back by a
# real JetStream consumer (tests/helpers/natsread.c on libnats).  Outages
# are a few seconds long so that make test stays short.

load test_helper
load hook_helper
load helpers/sinks # after hook_helper: its wait_for (SECONDS CMD...) is used
load helpers/nats

setup() {
	sinks_setup
	SPOOL="$SINK_DIR/spool"
	nats_cluster_init
}

teardown() {
	if [ -n "${HT:-}" ]; then
		hook_suite_teardown
	fi
	nats_cluster_stop
	sinks_teardown
}

# leader_killed STREAM WORKLOAD [SFAGENT-OPTIONS...]: a workload streams
# into an R3 stream whose leader is killed mid-stream and restarted; the
# records read back (r.out) are then checked by the caller
leader_killed() {
	local stream=$1 name=$2
	shift 2
	nats_cluster_start
	"$SFAGENT" -X -v -w "$name" --nats "$NATS_URLS" --nats-stream "$stream" --nats-create-stream \
		--nats-replicas 3 --drain-timeout 60 "$@" -- "$SINKLOAD" rate 30000 5000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q "created JetStream stream \`$stream\`" "$SINK_DIR/agent.err"
	sleep 1.5
	leader=$(nats_stream_leader "$stream")
	echo "# killing n$leader, the stream's leader" >&3
	nats_node_kill "$leader"
	sleep 2
	nats_node_start "$leader"
	wait "$AGENT_PID"
	AGENT_PID=
	cat "$SINK_DIR/agent.err"
	nats_read "$stream" 'sfagent.>' "$SINK_DIR/r.out"
}

@test "nats: R3 stream; the node leading it killed mid-stream and restarted: every record stored once, seq without gaps" {
	leader_killed SF lead
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	[ "$(grep -c '"file.open"' "$SINK_DIR/r.out")" -ge 30000 ]
}

@test "nats: agent SIGKILLed while the whole cluster is down, both started again: every record stored once" {
	nats_cluster_start
	"$SFAGENT" -X -v -w killed --nats "$NATS_URLS" --nats-stream SK --nats-create-stream \
		--nats-replicas 3 -- "$SINKLOAD" rate 1000000 5000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q 'created JetStream stream `SK`' "$SINK_DIR/agent.err"
	sleep 1.5
	nats_cluster_stop
	# told as a lost connection, or as JetStream not answering first
	wait_for 30 grep -q 'retrying with backoff' "$SINK_DIR/agent.err" || { cat "$SINK_DIR/agent.err"; false; }
	sleep 2
	load_pid=$(pgrep -P "$AGENT_PID" | head -1)
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	[ -z "$load_pid" ] || kill -KILL "$load_pid" 2>/dev/null || true
	nats_cluster_start
	run "$SFAGENT" -X -w killed --nats "$NATS_URLS" --nats-stream SK -- "$SINKLOAD" opens 200
	echo "$output"
	assert_success
	assert_output --regexp 'replaying [0-9]+ records an earlier run left'
	nats_read SK 'sfagent.>' "$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	# both streams: the killed run's and the new one
	[ "$(grep -c '^# stream' <<<"$output")" -eq 2 ]
}

@test "nats: --nats-batch 16, R3 stream; its leader killed mid-stream and restarted: every record stored once, seq without gaps" {
	leader_killed SB leadb --nats-batch 16
	BATCH=16 run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	[ "$(grep -c '"file.open"' "$SINK_DIR/r.out")" -ge 30000 ]
	# batched: far fewer messages than records
	[ "$(cut -f1 "$SINK_DIR/r.out" | sort -u | wc -l)" -lt 10000 ]
}

# What the agent sent to a frozen cluster (SIGSTOP: the connection holds,
# nothing is acked) is stored once the cluster goes on, after the agent
# was SIGKILLed; the next run replays it from the spool: only the
# Nats-Msg-Id keeps it from being stored twice (a cluster stopped instead
# stores nothing of it: the test above passes without the id).
@test "nats: R3 cluster frozen with 20,000 records/s in flight, agent SIGKILLed, both go on: the replayed records stored once (Nats-Msg-Id)" {
	nats_cluster_start
	"$SFAGENT" -X -v -w frozen --nats "$NATS_URLS" --nats-stream SF3 --nats-create-stream \
		--nats-replicas 3 -- "$SINKLOAD" rate 1000000 20000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q 'created JetStream stream `SF3`' "$SINK_DIR/agent.err"
	sleep 1.5
	for i in 1 2 3; do kill -STOP "$(cat "$NATS_DIR/n$i.pid")"; done
	# in flight for more than SINK_NET_SPILL_MS: on disk
	sleep 2
	load_pid=$(pgrep -P "$AGENT_PID" | head -1)
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	[ -z "$load_pid" ] || kill -KILL "$load_pid" 2>/dev/null || true
	for i in 1 2 3; do kill -CONT "$(cat "$NATS_DIR/n$i.pid")"; done
	wait_for 60 nats_ready
	run "$SFAGENT" -X -v -w frozen --nats "$NATS_URLS" --nats-stream SF3 -- "$SINKLOAD" opens 200
	echo "$output"
	assert_success
	assert_output --regexp 'replaying [0-9]+ records an earlier run left'
	nats_read SF3 'sfagent.>' "$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	[ "$(grep -c '^# stream' <<<"$output")" -eq 2 ]
	if ls "$SPOOL"/nats-* 2>/dev/null; then false; fi
}

# A slow stream cuts its windows short (a message as soon as a record is
# there): the cut points must reach the spool before those messages go out,
# or the run after the SIGKILL cuts the replayed records into other
# messages (other ids) and JetStream stores what was in flight twice.  The
# cluster is frozen (SIGSTOP), not killed, so what was sent to it before
# the agent died is stored once it goes on.
@test "nats: --nats-batch 16, slow stream; cluster frozen with messages in flight, agent SIGKILLed, both go on: every record once (cut points kept in the spool)" {
	nats_cluster_start
	"$SFAGENT" -X -v -w cuts --nats "$NATS_URLS" --nats-stream SC --nats-create-stream \
		--nats-replicas 3 --nats-batch 16 -- "$SINKLOAD" opens 100000 2000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q 'created JetStream stream `SC`' "$SINK_DIR/agent.err"
	sleep 1.5
	for i in 1 2 3; do kill -STOP "$(cat "$NATS_DIR/n$i.pid")"; done
	# in flight for more than SINK_NET_SPILL_MS: on disk
	sleep 2
	ls -l "$SPOOL" >&3
	[ -s "$(ls "$SPOOL"/*.cuts | head -1)" ]
	load_pid=$(pgrep -P "$AGENT_PID" | head -1)
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	[ -z "$load_pid" ] || kill -KILL "$load_pid" 2>/dev/null || true
	for i in 1 2 3; do kill -CONT "$(cat "$NATS_DIR/n$i.pid")"; done
	wait_for 60 nats_ready
	run "$SFAGENT" -X -v -w cuts --nats "$NATS_URLS" --nats-stream SC --nats-batch 16 \
		-- "$SINKLOAD" opens 200
	echo "$output"
	assert_success
	assert_output --regexp 'replaying [0-9]+ records an earlier run left'
	assert_output --regexp '[0-9]+ batch cut points from the spool'
	nats_read SC 'sfagent.>' "$SINK_DIR/r.out"
	BATCH=16 run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	[ "$(grep -c '^# stream' <<<"$output")" -eq 2 ]
	# all acked: the spool and its cut points are gone
	if ls "$SPOOL"/*.cuts 2>/dev/null; then false; fi
}

# batch_restart FROM TO: a stream at 20,000 records/s with --nats-batch
# FROM into a JetStream server that is frozen (SIGSTOP: the connection
# holds, what was sent waits in its socket, nothing is acked) until the
# records in flight are on disk; the agent is SIGKILLed, the server goes
# on (storing what was sent to it), and the agent runs again with
# --nats-batch TO.  What it replays of the killed run must go out in the
# messages that run made of it (its windows of FROM), or JetStream takes
# the resends, under other ids, for new messages and stores them twice.
batch_restart() {
	local from=$1 to=$2
	nats_single_start
	"$SFAGENT" -X -v -w rb --nats "$NATS_URL0" --nats-stream RB --nats-create-stream \
		--nats-batch "$from" -- "$SINKLOAD" rate 1000000 20000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q 'created JetStream stream `RB`' "$SINK_DIR/agent.err"
	sleep 1.5
	kill -STOP "$(cat "$NATS_DIR/n0.pid")"
	# in flight for more than SINK_NET_SPILL_MS: on disk
	sleep 2
	load_pid=$(pgrep -P "$AGENT_PID" | head -1)
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	[ -z "$load_pid" ] || kill -KILL "$load_pid" 2>/dev/null || true
	kill -CONT "$(cat "$NATS_DIR/n0.pid")"
	run "$SFAGENT" -X -v -w rb --nats "$NATS_URL0" --nats-stream RB --nats-batch "$to" \
		-- "$SINKLOAD" opens 200
	echo "$output"
	assert_success
	assert_output --regexp 'replaying [0-9]+ records an earlier run left'
	"$SF_WORKLOADS/natsread" "$NATS_URL0" RB '>' 2000 >"$SINK_DIR/r.out"
	BATCH=$from,$to run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	# both streams: the killed run's (stored before the kill, in flight
	# and replayed) and the new one
	[ "$(grep -c '^# stream' <<<"$output")" -eq 2 ]
	if ls "$SPOOL"/nats-* 2>/dev/null; then false; fi
}

@test "nats: SIGKILLed with --nats-batch 16 while messages were in flight, run again with --nats-batch 4: every record once" {
	batch_restart 16 4
}

@test "nats: SIGKILLed with --nats-batch 64 while messages were in flight, run again with --nats-batch 1: every record once" {
	batch_restart 64 1
}

@test "nats: SIGKILLed with --nats-batch 1 while messages were in flight, run again with --nats-batch 16: every record once, the replayed ones one per message" {
	batch_restart 1 16
}

# A stream record the killed or stopped run never sent (the server away
# when the stream ended) goes alone when a later run replays it, as the
# run that wrote it would have sent it: the stream.end is put after the
# window of messages in flight is full, so it waits in the spool.
@test "nats: --nats-batch 16, server frozen until the agent gave up draining; the next run (--nats-batch 4) sends the stream.end left in the spool alone, every record once" {
	nats_single_start
	"$SFAGENT" -X -v -w re --nats "$NATS_URL0" --nats-stream RE --nats-create-stream \
		--nats-batch 16 --drain-timeout 1 -- "$SINKLOAD" rate 40000 20000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q 'created JetStream stream `RE`' "$SINK_DIR/agent.err"
	sleep 1
	kill -STOP "$(cat "$NATS_DIR/n0.pid")"
	wait "$AGENT_PID" || true
	AGENT_PID=
	kill -CONT "$(cat "$NATS_DIR/n0.pid")"
	grep 'kept in the spool' "$SINK_DIR/agent.err"
	run "$SFAGENT" -X -v -w re --nats "$NATS_URL0" --nats-stream RE --nats-batch 4 \
		-- "$SINKLOAD" opens 200
	echo "$output"
	assert_success
	assert_output --regexp 'replaying [0-9]+ records an earlier run left'
	"$SF_WORKLOADS/natsread" "$NATS_URL0" RE '>' 2000 >"$SINK_DIR/r.out"
	BATCH=16,4 run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	# each stream's end, the first run's too, with nothing missed
	[ "$(grep -c '"type":"stream.end".*"missed":0' "$SINK_DIR/r.out")" -eq 2 ]
	if ls "$SPOOL"/nats-* 2>/dev/null; then false; fi
}

@test "nats: bad --nats-batch: 0, 65, abc, without --nats" {
	for b in 0 65 abc -1 ''; do
		run "$SFAGENT" -X --nats nats://127.0.0.1:1 --nats-batch "$b" -- /bin/true
		assert_failure 2
		assert_output --partial "bad --nats-batch \`$b\`: want 1-64"
		[ "${#lines[@]}" -eq 1 ]
	done
	run "$SFAGENT" -X --nats-batch 16 -o - -- /bin/true
	assert_failure 2
	assert_output --partial '--nats-* options need --nats URL'
}

@test "nats: bad input: wildcards or spaces in the subject, bad stream name, bad URL, no server, wrong password or creds file, missing stream: one line each" {
	for s in 'a.*' 'a.>' 'a b' 'a..b' '.a' 'a.%q'; do
		run "$SFAGENT" -X --nats nats://127.0.0.1:1 --nats-subject "$s" -- /bin/true
		assert_failure 2
		assert_output --partial "NATS subject \`$s\`"
	done
	run "$SFAGENT" -X --nats http://127.0.0.1:1 -- /bin/true
	assert_failure 2
	assert_output --partial 'bad --nats server `http://127.0.0.1:1`'
	run "$SFAGENT" -X --nats-stream S -o - -- /bin/true
	assert_failure 2
	assert_output --partial '--nats-* options need --nats URL'
	run "$SFAGENT" -X --nats nats://127.0.0.1:1 --nats-replicas 3 -- /bin/true
	assert_failure 2
	assert_output --partial 'need --nats-stream NAME'
	# names JetStream refuses (as a timeout or an error number, if sent)
	for n in 'a b' 'a.b' 'a*' 'a>' 'a/b' 'a\b' $'a\tb'; do
		run "$SFAGENT" -X --nats nats://127.0.0.1:1 --nats-stream "$n" -- /bin/true
		assert_failure 2
		assert_output --partial 'bad --nats-stream `a'
		assert_output --partial ': a JetStream stream name has no spaces'
		[ "${#lines[@]}" -eq 1 ]
	done
	P=$(free_port)
	run "$SFAGENT" -X --nats "nats://127.0.0.1:$P" -- /bin/true
	assert_failure 1
	assert_output --partial "cannot connect to NATS nats://127.0.0.1:$P"
	# a server with a password
	cat >"$NATS_DIR/auth.conf" <<CONF
listen: 127.0.0.1:$P
jetstream { store_dir: "$NATS_DIR/auth" }
authorization {
	users = [
		{ user: sf, password: right }
		# least privilege: its subjects and the acks' inbox, no JetStream API
		{ user: pub, password: right, permissions: {
			publish: ["lab.>"], subscribe: ["_INBOX.>"] } }
	]
}
CONF
	nats-server -c "$NATS_DIR/auth.conf" >"$NATS_DIR/auth.log" 2>&1 &
	echo $! >"$NATS_DIR/n1.pid"
	wait_for 30 port_open "$P"
	echo wrong >"$SINK_DIR/pw"
	run "$SFAGENT" -X --nats "nats://127.0.0.1:$P" --nats-user sf --nats-password-file "$SINK_DIR/pw" \
		-- /bin/true
	assert_failure 1
	assert_output --partial 'Authorization Violation'
	[ "${#lines[@]}" -eq 1 ]
	echo 'not a creds file' >"$SINK_DIR/bad.creds"
	run "$SFAGENT" -X --nats "nats://127.0.0.1:$P" --nats-creds "$SINK_DIR/bad.creds" -- /bin/true
	assert_failure 1
	assert_output --partial "no nkey user seed found in '$SINK_DIR/bad.creds'"
	[ "${#lines[@]}" -eq 1 ]
	echo right >"$SINK_DIR/pw"
	run "$SFAGENT" -X --nats "nats://127.0.0.1:$P" --nats-user sf --nats-password-file "$SINK_DIR/pw" \
		--nats-stream NOPE -- /bin/true
	assert_failure 1
	assert_output --partial 'JetStream stream `NOPE` does not exist (create it, or add --nats-create-stream)'
	# the cause alone, not also the test connection's end as an outage
	[ "${#lines[@]}" -eq 1 ]
	run "$SFAGENT" -X --nats "nats://127.0.0.1:$P" --nats-user sf --nats-password-file "$SINK_DIR/pw" \
		--nats-stream OK --nats-create-stream --nats-subject 'lab.%w' -w x.y -- "$SINKLOAD" opens 20
	assert_success
	"$SF_WORKLOADS/natsread" "nats://sf:right@127.0.0.1:$P" OK 'lab.*' 1000 >"$SINK_DIR/r.out"
	# a workload name cannot add subject tokens: '.' became '_'
	grep -q $'\tlab.x_y\t{"type":"stream.start".*"workload":"x.y"' "$SINK_DIR/r.out"
	[ "$(grep -c '"file.open"' "$SINK_DIR/r.out")" -ge 20 ]
	# a user that may publish to its subjects but not ask JetStream's API
	# (no --nats-stream then): not refused for the unanswered account check
	run "$SFAGENT" -X --nats "nats://127.0.0.1:$P" --nats-user pub --nats-password-file "$SINK_DIR/pw" \
		--nats-subject 'lab.%w' -w lp -- "$SINKLOAD" opens 20
	echo "$output"
	assert_success
	"$SF_WORKLOADS/natsread" "nats://sf:right@127.0.0.1:$P" OK 'lab.lp' 1000 >"$SINK_DIR/lp.out"
	run check_exactly_once "$SINK_DIR/lp.out" ended
	assert_success
	[ "$(grep -c '"file.open"' "$SINK_DIR/lp.out")" -ge 20 ]
}

@test "nats: TLS (tls:// URL, --nats-cafile, --nats-cert, --nats-key) with certificates made by the test; a wrong CA or no client certificate refused in one line" {
	cd "$SINK_DIR"
	make_certs
	P=$(free_port)
	cat >"$NATS_DIR/tls.conf" <<CONF
listen: 127.0.0.1:$P
jetstream { store_dir: "$NATS_DIR/tls" }
tls {
  cert_file: "$SINK_DIR/srv.crt"
  key_file: "$SINK_DIR/srv.key"
  ca_file: "$SINK_DIR/ca.crt"
  verify: true
}
CONF
	nats-server -c "$NATS_DIR/tls.conf" >"$NATS_DIR/tls.log" 2>&1 &
	echo $! >"$NATS_DIR/n1.pid"
	wait_for 30 port_open "$P"
	run "$SFAGENT" -X -w tls --nats "tls://127.0.0.1:$P" --nats-cafile ca.crt --nats-cert cli.crt \
		--nats-key cli.key --nats-stream TLS --nats-create-stream -- "$SINKLOAD" opens 20
	assert_success
	NATSREAD_CAFILE=ca.crt NATSREAD_CERT=cli.crt NATSREAD_KEY=cli.key \
		"$SF_WORKLOADS/natsread" "tls://127.0.0.1:$P" TLS '>' 1000 >"$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	[ "$(grep -c '"file.open"' "$SINK_DIR/r.out")" -ge 20 ]
	# the server's certificate from another CA; no client certificate
	run "$SFAGENT" -X --nats "tls://127.0.0.1:$P" --nats-cafile other.crt --nats-cert cli.crt \
		--nats-key cli.key -- /bin/true
	assert_failure 1
	assert_output --partial "cannot connect to NATS tls://127.0.0.1:$P"
	[ "${#lines[@]}" -eq 1 ]
	run "$SFAGENT" -X --nats "tls://127.0.0.1:$P" --nats-cafile ca.crt -- /bin/true
	assert_failure 1
	assert_output --partial "cannot connect to NATS tls://127.0.0.1:$P"
	assert_output --partial "does it want a client certificate? --nats-cert FILE --nats-key FILE"
	[ "${#lines[@]}" -eq 1 ]
	# a plain connection to a server that wants TLS
	run "$SFAGENT" -X --nats "nats://127.0.0.1:$P" -- /bin/true
	assert_failure 1
	assert_output --partial "cannot connect to NATS nats://127.0.0.1:$P"
	[ "${#lines[@]}" -eq 1 ]
}

# --nats-creds with a server in operator mode: the operator, its accounts
# and users made by the test (helpers/natsjwt.py, Ed25519 NKeys), the
# accounts preloaded.  The user of the account with JetStream streams; a
# user the server does not know, a JWT changed after signing, a JWT with
# another user's seed and an account without JetStream are each refused in
# one line.
@test "nats: --nats-creds against an operator-mode server (JWTs and NKeys made by the test): every record stored once; an unknown account, a tampered JWT, the wrong seed, no JetStream refused in one line" {
	nats_operator_start
	run "$SFAGENT" -X -w cr --nats "$NATS_URL0" --nats-creds "$NATS_JWT/a.creds" \
		--nats-stream CR --nats-create-stream -- "$SINKLOAD" opens 200
	echo "$output"
	assert_success
	NATSREAD_CREDS="$NATS_JWT/a.creds" "$SF_WORKLOADS/natsread" "$NATS_URL0" CR '>' 1000 >"$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	[ "$(grep -c '"file.open"' "$SINK_DIR/r.out")" -ge 200 ]
	# the stream is the account's: nobody else reads it
	run "$SF_WORKLOADS/natsread" "$NATS_URL0" CR '>' 500
	assert_failure 1
	for c in c a-tampered a-wrongseed; do
		run "$SFAGENT" -X --nats "$NATS_URL0" --nats-creds "$NATS_JWT/$c.creds" --nats-stream CR \
			-- "$SINKLOAD" opens 20
		echo "$c: $output"
		assert_failure 1
		assert_output --partial "cannot connect to NATS $NATS_URL0: (conn.c:"
		assert_output --partial "Authorization Violation"
		[ "${#lines[@]}" -eq 1 ]
	done
	run "$SFAGENT" -X --nats "$NATS_URL0" --nats-creds "$NATS_JWT/b.creds" --nats-stream CR \
		--nats-create-stream -- "$SINKLOAD" opens 20
	echo "$output"
	assert_failure 1
	assert_output --partial 'JetStream stream `CR`: '
	assert_output --partial 'JetStream not enabled for account (error 10039)'
	[ "${#lines[@]}" -eq 1 ]
	# without --nats-stream too: refused at start, not every record spooled
	# for an ack that never comes
	run "$SFAGENT" -X --nats "$NATS_URL0" --nats-creds "$NATS_JWT/b.creds" -- "$SINKLOAD" opens 20
	echo "$output"
	assert_failure 1
	assert_output --partial 'JetStream not enabled for account (error 10039): enable JetStream for this account on the server'
	[ "${#lines[@]}" -eq 1 ]
	# the server refused each for its credentials (and natsread without
	# any): four authentication errors, not a connection cut otherwise
	[ "$(grep -c 'authentication error' "$NATS_DIR/n0.log")" -eq 4 ]
	# nothing of the refused runs reached the stream
	NATSREAD_CREDS="$NATS_JWT/a.creds" "$SF_WORKLOADS/natsread" "$NATS_URL0" CR '>' 1000 >"$SINK_DIR/r2.out"
	cmp "$SINK_DIR/r.out" "$SINK_DIR/r2.out"
}

@test "nats: daemon mode: io.sfagent.export=nats and nats:SUBJECT per container; a subject with a wildcard refused by the hook" {
	hook_suite_setup
	nats_single_start
	start_daemon -e hostN --nats "$NATS_URL0" --nats-stream SD --nats-create-stream
	make_bundle "$HT/b1" '["/bin/sh", "-c", "i=0; while [ $i -lt 50 ]; do cat /etc/group >/dev/null; i=$((i+1)); done"]' \
		"$(k8s_ann wn1 '"io.sfagent.export": "nats"')"
	make_bundle "$HT/b2" '["/bin/true"]' \
		'{"io.sfagent.workload": "wn2", "io.sfagent.export": "file,nats:sfagent.node-b.web"}'
	make_bundle "$HT/b3" '["/bin/true"]' \
		'{"io.sfagent.workload": "wn3", "io.sfagent.export": "nats:lab.*", "io.sfagent.fail": "closed"}'
	run_container dn-1 "$HT/b1"
	run_container dn-2 "$HT/b2"
	run run_container dn-3 "$HT/b3"
	assert_failure
	assert_output --partial 'nats:lab.*`: the subject must be printable ASCII'
	wait_for 30 grep -q 'workload `wn1`: [0-9]* events' "$HT/agent.log"
	wait_for 30 grep -q 'workload `wn2`: [0-9]* events' "$HT/agent.log"
	sleep 1
	"$SF_WORKLOADS/natsread" "$NATS_URL0" SD '>' 1500 >"$SINK_DIR/r.out"
	# each container's stream whole on its subject; wn2's name is the pod's,
	# so its %w carries the container id (a '.' becomes '_' in a token), and
	# its own subject stays below its stream's: another node's subject is
	# only a suffix there
	python3 - "$SINK_DIR/r.out" <<'PY'
import json, sys
by = {}
for line in open(sys.argv[1]):
    mid, subject, data = line.rstrip("\n").split("\t", 2)
    by.setdefault(subject, []).append(json.loads(data))
assert set(by) == {"sfagent.hostN.wn1", "sfagent.hostN.wn2_dn-2.dn-2.sfagent.node-b.web"}, set(by)
for subject, ev in by.items():
    assert ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end", subject
    assert [e["seq"] for e in ev] == list(range(1, len(ev) + 1)), subject
    assert ev[-1]["missed"] == 0, ev[-1]
assert len([e for e in by["sfagent.hostN.wn1"] if e["type"] == "file.open"]) >= 50
PY
	# file,nats: the file too
	ls "$OUT" | grep -q wn2
}

# The daemon checks its servers at start; a container's stream connects in
# the background: servers gone then are told once with the cause, and the
# stream waits in the spool until they are back.
@test "nats: daemon mode: the servers gone when a container starts: told with the cause, the stream spooled and stored once they are back" {
	hook_suite_setup
	nats_single_start
	start_daemon -e hostN --nats "$NATS_URL0" --nats-stream SG --nats-create-stream
	nats_node_stop 0
	make_bundle "$HT/b1" '["/bin/sh", "-c", "sleep 3; i=0; while [ $i -lt 50 ]; do cat /etc/group >/dev/null; i=$((i+1)); done"]' \
		'{"io.sfagent.workload": "wg", "io.sfagent.export": "nats"}'
	run_container dg-1 "$HT/b1" &
	CPID=$!
	# its workload name asserted by the container: %w carries the id
	wait_for 30 grep -q 'subject `sfagent.hostN.wg_dg-1`: .*No server available for connection; retrying with backoff' "$HT/agent.log"
	nats_node_start 0
	wait "$CPID"
	wait_for 30 grep -q 'workload `wg`: [0-9]* events' "$HT/agent.log"
	sleep 1
	"$SF_WORKLOADS/natsread" "$NATS_URL0" SG '>' 1500 >"$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	[ "$(grep -c '"file.open"' "$SINK_DIR/r.out")" -ge 50 ]
}

@test "nats: daemon mode: the server gone past --drain-timeout when a stream ends: the running daemon stores its spool once it is back, every record once, nothing left on disk" {
	hook_suite_setup
	nats_single_start
	start_daemon -e hostN --nats "$NATS_URL0" --nats-stream SL --nats-create-stream --drain-timeout 1
	make_bundle "$HT/b1" '["/bin/sh", "-c", "i=0; while [ $i -lt 50 ]; do cat /etc/group >/dev/null; i=$((i+1)); done"]' \
		'{"io.sfagent.workload": "wl", "io.sfagent.export": "nats"}'
	nats_node_stop 0
	run run_container dl-1 "$HT/b1"
	assert_success
	wait_for 30 grep -q 'records not delivered within 1s: kept in the spool' "$HT/agent.log"
	wait_for 30 grep -q 'of a stream that ended undelivered: replaying it' "$HT/agent.log"
	sleep 2
	nats_node_start 0
	# the same daemon, not restarted, delivers it
	wait_for 60 grep -q 'of a stream that ended undelivered: all delivered' "$HT/agent.log"
	kill -0 "$AGENT_PID"
	"$SF_WORKLOADS/natsread" "$NATS_URL0" SL '>' 1500 >"$SINK_DIR/r.out"
	run check_exactly_once "$SINK_DIR/r.out" ended
	echo "$output" >&3
	assert_success
	[ "$(grep -c '"file.open"' "$SINK_DIR/r.out")" -ge 50 ]
	run ls -A "$SPOOL"
	assert_output ""
}

# The spool smaller than an outage: what the consumer misses is what the
# stream.missed records it got say (spool_full), counted in records also
# with several records per message.
@test "nats: --spool-max 1M, the server stopped 3 s at 10,000 events/s: what is missing at the consumer is what its stream.missed records say" {
	nats_single_start
	"$SFAGENT" -X -v -w full --spool-max 1M --nats "$NATS_URL0" --nats-stream SFULL --nats-create-stream \
		--nats-batch 16 -- "$SINKLOAD" rate 70000 10000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q 'created JetStream stream `SFULL`' "$SINK_DIR/agent.err"
	sleep 1
	nats_node_stop 0
	wait_for 30 grep -q 'retrying with backoff' "$SINK_DIR/agent.err"
	sleep 3
	nats_node_start 0
	wait "$AGENT_PID"
	AGENT_PID=
	"$SF_WORKLOADS/natsread" "$NATS_URL0" SFULL '>' 2000 >"$SINK_DIR/r.out"
	cut -f3 "$SINK_DIR/r.out" >"$SINK_DIR/r.jsonl"
	unique_stream "$SINK_DIR/r.jsonl" "$SINK_DIR/r.uniq"
	assert_stream "$SINK_DIR/r.uniq" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'sum(e["count"] for e in by("stream.missed") if e["reason"] == "spool_full") > 0' \
		'ev[-1]["seq"] - len(ev) == sum(e["count"] for e in by("stream.missed"))' \
		'ev[-1]["missed"] == sum(e["count"] for e in by("stream.missed"))'
	python3 -c 'import json, sys; ev = [json.loads(l) for l in open(sys.argv[1])]; m = [(e["reason"], e["count"]) for e in ev if e["type"] == "stream.missed"]; print("# %d records at the consumer, %d missing, stream.missed: %s" % (len(ev), ev[-1]["seq"] - len(ev), m[:8]))' "$SINK_DIR/r.uniq" >&3
}

@test "nats: a frame damaged in the middle of a spool segment: the stream.missed (spool_damaged) stored once with the exact count, also when the damaged spool is replayed a second time (its Nats-Msg-Id made again)" {
	nats_single_start
	# 1 MiB segments (--spool-max / 8); the stream ends while the server
	# is down, its end spooled; --drain-timeout 1: kept for the next start
	"$SFAGENT" -X -v -w dmg --spool-max 8M --drain-timeout 1 --nats "$NATS_URL0" --nats-stream SDMG \
		--nats-create-stream -- "$SINKLOAD" rate 6000 1000 2>"$SINK_DIR/agent.err" &
	AGENT_PID=$!
	wait_for 30 grep -q 'created JetStream stream `SDMG`' "$SINK_DIR/agent.err"
	nats_node_stop 0
	wait "$AGENT_PID" || true
	AGENT_PID=
	grep -q 'kept in the spool' "$SINK_DIR/agent.err"
	mapfile -t segs < <(find "$SPOOL" -name 'nats-*.[0-9]*' | sort)
	[ "${#segs[@]}" -ge 3 ]
	damage_middle "${segs[1]}"
	cp -a "$SPOOL" "$SINK_DIR/spool.damaged"
	nats_node_start 0
	wait_for 60 curl -fs "$(sed -n 's/^http: /http:\/\//p' "$NATS_DIR/n0.conf")/healthz" -o /dev/null
	for run in 1 2; do
		run "$SFAGENT" -X -w dmg --nats "$NATS_URL0" --nats-stream SDMG -- /bin/true
		assert_success
		assert_output --partial 'told in the stream (stream.missed, reason spool_damaged)'
		# the same damaged spool once more: made again, the same ids
		rm -rf "$SPOOL"
		cp -a "$SINK_DIR/spool.damaged" "$SPOOL"
	done
	"$SF_WORKLOADS/natsread" "$NATS_URL0" SDMG '>' 2000 >"$SINK_DIR/r.out"
	python3 - "$SINK_DIR/r.out" <<'PY'
import json, sys
by_tag = {}
for line in open(sys.argv[1]):
    mid, subject, data = line.rstrip("\n").split("\t", 2)
    by_tag.setdefault(int(mid.rsplit(".", 2)[1]), []).append((mid, json.loads(data)))
old = by_tag[min(by_tag)]
dmg = [(m, e) for m, e in old if e["type"] == "stream.missed"]
assert len(dmg) == 1, dmg  # stored once, though made twice
mid, d = dmg[0]
assert d["reason"] == "spool_damaged" and "count_at_least" not in d and d["count"] > 0, d
seqs = [e["seq"] for m, e in old if "seq" in e]
assert len(seqs) == len(set(seqs)), "records stored twice"
end = [e for m, e in old if e["type"] == "stream.end"][0]
assert end["missed"] == 0, end
assert len(seqs) + d["count"] == end["seq"], (len(seqs), d["count"], end["seq"])
missing = sorted(set(range(1, end["seq"] + 1)) - set(seqs))
assert missing == list(range(missing[0], missing[0] + d["count"])), missing[:3]
# its number: the last record lost's (the rid of seq N is N here: the
# stream's records are numbered as they were handed to the output)
assert mid.endswith("." + str(missing[-1])), (mid, missing[-1])
print("# gap %d-%d, stream.missed %s count %d, stream.end seq %d, %d streams" %
      (missing[0], missing[-1], mid, d["count"], end["seq"], len(by_tag)))
PY
}
