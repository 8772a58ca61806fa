# A 3-node nats-server JetStream cluster on loopback for the NATS suite:
# free random ports, a store directory per node under $NATS_DIR.

# nats_cluster_init: ports and configs for nodes 1-3 (not started).
nats_cluster_init() {
	NATS_DIR="$SINK_DIR/nats"
	mkdir -p "$NATS_DIR"
	local i routes=""
	for i in 1 2 3; do
		eval "NATS_PORT_$i=$(free_port)"
		eval "NATS_CPORT_$i=$(free_port)"
		eval "NATS_HPORT_$i=$(free_port)"
	done
	for i in 1 2 3; do
		routes="$routes nats://127.0.0.1:$(eval echo \$NATS_CPORT_$i)"
	done
	for i in 1 2 3; do
		mkdir -p "$NATS_DIR/n$i"
		cat >"$NATS_DIR/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$(eval echo \$NATS_PORT_$i)
http: 127.0.0.1:$(eval echo \$NATS_HPORT_$i)
jetstream { store_dir: "$NATS_DIR/n$i" }
cluster {
  name: sfc
  listen: 127.0.0.1:$(eval echo \$NATS_CPORT_$i)
  routes: [$(echo $routes | sed 's/ /, /g')]
}
CONF
	done
	NATS_URLS="nats://127.0.0.1:$NATS_PORT_1,nats://127.0.0.1:$NATS_PORT_2,nats://127.0.0.1:$NATS_PORT_3"
	NATS_URL1="nats://127.0.0.1:$NATS_PORT_1"
}

nats_node_start() {
	nats-server -c "$NATS_DIR/n$1.conf" >>"$NATS_DIR/n$1.log" 2>&1 &
	eval "NATS_PID_$1=$!"
	echo $! >"$NATS_DIR/n$1.pid"
}

nats_node_stop() {
	local pid
	pid=$(cat "$NATS_DIR/n$1.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$NATS_DIR/n$1.pid"
}

nats_node_kill() {
	local pid
	pid=$(cat "$NATS_DIR/n$1.pid" 2>/dev/null) || return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$NATS_DIR/n$1.pid"
}

# JetStream is up when every running node answers /healthz and a meta
# leader is known.
nats_ready() {
	local i
	for i in 1 2 3; do
		[ -e "$NATS_DIR/n$i.pid" ] || continue
		curl -fs "http://127.0.0.1:$(eval echo \$NATS_HPORT_$i)/healthz" >/dev/null || return 1
	done
	curl -fs "http://127.0.0.1:$NATS_HPORT_1/jsz" 2>/dev/null | grep -q '"leader"' ||
		curl -fs "http://127.0.0.1:$NATS_HPORT_2/jsz" 2>/dev/null | grep -q '"leader"'
}

nats_cluster_start() {
	local i
	for i in 1 2 3; do
		nats_node_start "$i"
	done
	wait_for 60 nats_ready
}

nats_cluster_stop() {
	local i
	for i in 0 1 2 3; do
		nats_node_stop "$i"
	done
}

# nats_single_start: one JetStream server outside the cluster (node 0).
nats_single_start() {
	local p h
	p=$(free_port)
	h=$(free_port)
	mkdir -p "$NATS_DIR/n0"
	cat >"$NATS_DIR/n0.conf" <<CONF
server_name: n0
listen: 127.0.0.1:$p
http: 127.0.0.1:$h
jetstream { store_dir: "$NATS_DIR/n0" }
CONF
	NATS_URL0="nats://127.0.0.1:$p"
	nats_node_start 0
	wait_for 60 curl -fs "http://127.0.0.1:$h/healthz" -o /dev/null
}

# nats_operator_start: node 0 in operator mode: the operator, accounts and
# users made by helpers/natsjwt.py in $NATS_DIR/jwt (a.creds: a user of
# the account with JetStream; see there for the others), the accounts
# preloaded (resolver: MEMORY).
nats_operator_start() {
	local p h
	p=$(free_port)
	h=$(free_port)
	NATS_JWT="$NATS_DIR/jwt"
	mkdir -p "$NATS_DIR/n0" "$NATS_JWT"
	python3 "$BATS_TEST_DIRNAME/helpers/natsjwt.py" "$NATS_JWT"
	cat >"$NATS_DIR/n0.conf" <<CONF
server_name: n0
listen: 127.0.0.1:$p
http: 127.0.0.1:$h
jetstream { store_dir: "$NATS_DIR/n0" }
$(cat "$NATS_JWT/resolver.conf")
CONF
	NATS_URL0="nats://127.0.0.1:$p"
	nats_node_start 0
	wait_for 60 curl -fs "http://127.0.0.1:$h/healthz" -o /dev/null
}

# nats_stream_leader STREAM: the node number (1-3) leading the stream.
nats_stream_leader() {
	local i
	for i in 1 2 3; do
		[ -e "$NATS_DIR/n$i.pid" ] || continue
		curl -fs "http://127.0.0.1:$(eval echo \$NATS_HPORT_$i)/jsz?streams=true" 2>/dev/null |
			python3 -c '
import json, sys
d = json.load(sys.stdin)
for a in d.get("account_details") or []:
    for s in a.get("stream_detail") or []:
        if s["name"] == sys.argv[1] and s.get("cluster", {}).get("leader"):
            print(s["cluster"]["leader"][1:])
            sys.exit(0)
sys.exit(1)' "$1" && return 0
	done
	return 1
}

# nats_read STREAM SUBJECT OUT [IDLE_MS]: the stream's records from the
# start.  A consumer that cannot be made yet (a node just restarted, the
# stream's leader being elected: natsread exits 1 before reading) is tried
# again, up to 10 times.
nats_read() {
	local i
	for i in $(seq 10); do
		"$SF_WORKLOADS/natsread" "$NATS_URLS" "$1" "$2" "${4:-2000}" >"$3" 2>"$3.err" && return 0
		cat "$3.err" >&2
		sleep 1
	done
	return 1
}

# check_exactly_once FILE: the natsread output holds every record of each
# stream (told apart by the tag in Nats-Msg-Id) once, seq from 1 without a
# gap; prints a summary.  With `ended`, the newest stream has its end.
# $BATCH (default 1): at most that many records per NATS message (one
# Nats-Msg-Id: EXPORTER.TAG.RID or EXPORTER.TAG.FIRST-LAST, the records in
# FIRST..LAST, within one aligned window of BATCH), a stream record alone
# in its message when BATCH > 1.  BATCH=A,B,...: the streams' in tag order
# (each run's --nats-batch, the last one for streams past the list).
# Storage order is not checked: a record in flight when a connection broke
# can be stored after newer ones (docs/outputs.md, "Order"), so the records
# are put in seq order first and how many were stored out of it is printed.
check_exactly_once() {
	python3 - "$@" <<'PY'
import json, os, sys
batches = [int(b) for b in os.environ.get("BATCH", "1").split(",")]
streams, msgs = {}, {}
for line in open(sys.argv[1]):
    mid, subject, data = line.rstrip("\n").split("\t", 2)
    ev = json.loads(data)
    streams.setdefault(int(mid.rsplit(".", 2)[1]), []).append(ev)
    msgs.setdefault(mid, []).append(ev)
assert streams, "no records"
order = sorted(streams)
for mid, ev in msgs.items():
    exporter, tag, rids = mid.rsplit(".", 2)
    batch = batches[min(order.index(int(tag)), len(batches) - 1)]
    lo, _, hi = rids.partition("-")
    assert int(lo) <= int(hi or lo) < int(lo) + batch, (mid, batch)
    assert int(lo) // batch == int(hi or lo) // batch, ("spans two windows", mid, batch)
    assert len(ev) <= batch, (mid, len(ev))
    if batch > 1 and len(ev) > 1:
        assert not any(e["type"].startswith("stream.") for e in ev), mid
print("# %d messages, %d of them with more than one record" %
      (len(msgs), sum(1 for ev in msgs.values() if len(ev) > 1)))
for tag in sorted(streams):
    ev = streams[tag]
    stored = [e["seq"] for e in ev]
    late = sum(1 for a, b in zip(stored, stored[1:]) if b < a)
    ev.sort(key=lambda e: e["seq"])
    seqs = [e["seq"] for e in ev]
    dups = len(seqs) - len(set(seqs))
    assert dups == 0, "stream %d: %d records stored twice" % (tag, dups)
    assert seqs == list(range(1, len(seqs) + 1)), \
        "stream %d: gap near %s" % (tag, [s for a, s in zip(seqs, seqs[1:]) if s != a + 1][:3])
    assert ev[0]["type"] == "stream.start"
    print("# stream %d: %d records, seq 1-%d, each once; %d stored after a newer one" %
          (tag, len(ev), seqs[-1], late))
newest = streams[max(streams)]
if len(sys.argv) > 2:
    assert newest[-1]["type"] == "stream.end" and newest[-1]["missed"] == 0, newest[-1]
PY
}
