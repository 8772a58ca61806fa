# Helpers for the sink suites (40-43): a real mosquitto broker and real
# subscribers on loopback, an HTTP receiver, polling instead of sleeping.
# Ports: 17300-17399 are this area's.

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1s until it succeeds.
wait_for() {
	local t="$1"
	shift
	local end=$((SECONDS + t))
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out after ${t}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

# mqtt_start PORT [CONFIG-LINES]: a broker with persistence (so persistent
# subscriber sessions survive a restart) in $SINK_DIR/mqtt.
mqtt_start() {
	MQTT_PORT="$1"
	local extra="${2:-}"
	mkdir -p "$SINK_DIR/mqtt"
	if [ ! -e "$SINK_DIR/mqtt/mosquitto.conf" ] || [ -n "$extra" ]; then
		{
			echo "user root"
			echo "persistence true"
			echo "persistence_location $SINK_DIR/mqtt/"
			echo "max_queued_messages 0"
			echo "max_inflight_messages 0"
			echo "log_dest stderr"
			if [ -n "$extra" ]; then
				printf '%s\n' "$extra"
			else
				echo "listener $MQTT_PORT 127.0.0.1"
				echo "allow_anonymous true"
			fi
		} >"$SINK_DIR/mqtt/mosquitto.conf"
	fi
	mosquitto -c "$SINK_DIR/mqtt/mosquitto.conf" >>"$SINK_DIR/mqtt/log" 2>&1 &
	MQTT_PID=$!
	wait_for 15 grep -q "running" "$SINK_DIR/mqtt/log"
	# the log line says so before the socket may listen: check the port
	wait_for 15 port_open "$MQTT_PORT"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() {
	python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' "$1" 2>/dev/null
}

# mqtt_stop: SIGTERM (the broker saves its sessions), waits for it to go.
mqtt_stop() {
	if [ -n "${MQTT_PID:-}" ]; then
		kill "$MQTT_PID" 2>/dev/null || true
		wait "$MQTT_PID" 2>/dev/null || true
		MQTT_PID=
		sed -i 's/ running$/ was running/' "$SINK_DIR/mqtt/log"
	fi
}

# sub_start NAME TOPIC [mosquitto_sub options...]: a QoS 1 subscriber with a
# persistent session, subscribed before this returns; payloads go to
# $SINK_DIR/NAME.out.
sub_start() {
	local name="$1" topic="$2"
	shift 2
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -c -i "sub-$name-$$" -t "$topic" -E "$@"
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -c -i "sub-$name-$$" -t "$topic" "$@" \
		>"$SINK_DIR/$name.out" 2>"$SINK_DIR/$name.err" &
	eval "SUB_PID_$name=$!"
	SUB_PIDS="${SUB_PIDS:-} $!"
}

# has_end FILE: the stream's end record has arrived.
has_end() {
	grep -q '"type":"stream.end"' "$1" 2>/dev/null
}

# unique_stream IN OUT: records by seq, each once (QoS 1 is at-least-once:
# a message in flight when the broker went away may come twice).
unique_stream() {
	python3 - "$1" "$2" <<'PY'
import json, sys
seen = {}
for l in open(sys.argv[1]):
    l = l.strip()
    if not l:
        continue
    e = json.loads(l)
    seen.setdefault(e["seq"], l)
with open(sys.argv[2], "w") as f:
    for s in sorted(seen):
        f.write(seen[s] + "\n")
PY
}

sinks_setup() {
	SINK_DIR="$(mktemp -d)"
	# each test its own spool (the agent's default is /var/lib/sfagent/spool)
	export SFAGENT_SPOOL_DIR="$SINK_DIR/spool"
	SUB_PIDS=
	MQTT_PID=
	SINKLOAD="$SF_WORKLOADS/sinkload"
}

sinks_teardown() {
	local p
	for p in ${SUB_PIDS:-} ${HTTP_PID:-} ${AGENT_PID:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	mqtt_stop
	if mountpoint -q "$SINK_DIR/full" 2>/dev/null; then
		umount "$SINK_DIR/full"
	fi
	rm -rf "$SINK_DIR"
}

# http_start PORT [--fail-first N | --status CODE]: the receiver, bodies in
# $SINK_DIR/http/bodies.ndjson, one line per request in requests.log.
http_start() {
	HTTP_PORT="$1"
	shift
	mkdir -p "$SINK_DIR/http"
	rm -f "$SINK_DIR/http/ready"
	python3 "$SF_TOP/tests/helpers/http_receiver.py" "$HTTP_PORT" "$SINK_DIR/http" "$@" \
		2>"$SINK_DIR/http/stderr" &
	HTTP_PID=$!
	wait_for 15 test -e "$SINK_DIR/http/ready"
}

# make_certs: in the current directory, a test CA (ca.crt/ca.key), a
# server certificate for 127.0.0.1 signed by it (srv.crt/srv.key), a
# client certificate (cli.crt/cli.key) and another CA (other.crt/other.key)
# that signed neither: what the TLS tests of the sinks need
make_certs() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=sfagent-test-ca \
		-keyout ca.key -out ca.crt 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile san.ext -out srv.crt 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout cli.key -out cli.csr 2>/dev/null
	openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-out cli.crt 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other-ca \
		-keyout other.key -out other.crt 2>/dev/null
}

# damage_middle FILE: one byte half-way into FILE (a spool segment) made
# 'X', so that a frame there no longer matches its checksum
damage_middle() {
	local size
	size=$(stat -c %s "$1")
	printf 'X' | dd of="$1" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
}
