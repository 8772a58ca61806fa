# Helpers for the hook suites (20-24): a private daemon, bundles, runc.
# Each suite gets its own temp dir, socket, output dir and runc state root, so
# suites never see each other's containers.

hook_suite_setup() {
	HT="$(mktemp -d)"
	SOCK="$HT/sfagent.sock"
	OUT="$HT/out"
	RUNC_ROOT="$HT/runc"
	ROOTFS="$SF_TOP/bundles/shell-demo/rootfs"
	export HT SOCK OUT RUNC_ROOT ROOTFS
	if [ ! -x "$SFHOOK" ]; then
		echo "build/sfhook is missing: run 'make build'" >&2
		return 1
	fi
	if [ ! -x "$ROOTFS/bin/busybox" ]; then
		make -s -C "$SF_TOP" bundles >&2 || return 1
	fi
}

hook_suite_teardown() {
	stop_daemon
	# The daemon sandboxes itself (agent/seccomp/seccomp_self.c): a call its
	# filter refused is a defect wherever it shows up, unless a test asked.
	if [ -z "${SANDBOX_DENIAL_EXPECTED:-}" ] && [ -f "$HT/agent.log" ] &&
		grep "sandbox: denied" "$HT/agent.log" >&2; then
		echo "the agent's seccomp filter refused a syscall (above)" >&2
		return 1
	fi
	local id
	for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
		runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	if [ -n "${HT:-}" ]; then
		# anything a runtime left mounted below the temp dir, deepest first
		awk -v d="$HT/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
			sort -r | xargs -r -n1 umount -l 2>/dev/null || true
		rm -rf "$HT"
	fi
}

# start_daemon [ARGS...]: sfagent -D on the suite's socket, ready when the
# socket answers.  Its stderr goes to $HT/agent.log.
start_daemon() {
	# the log is appended to: only this daemon's lines say it is ready
	# (a restarted agent recovers streams before it listens)
	local from
	from=$(cat "$HT/agent.log" 2>/dev/null | wc -l)
	"$SFAGENT" -D --socket "$SOCK" --output-dir "$OUT" -v "$@" \
		2>>"$HT/agent.log" &
	AGENT_PID=$!
	export AGENT_PID
	local i
	for i in $(seq 300); do
		if [ -S "$SOCK" ] && tail -n +"$((from + 1))" "$HT/agent.log" | grep -q "listening on"; then
			return 0
		fi
		if ! kill -0 "$AGENT_PID" 2>/dev/null; then
			cat "$HT/agent.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "agent did not start listening in 30 s" >&2
	return 1
}

# stop_daemon [SIGNAL]: stops the daemon and waits for it.
stop_daemon() {
	[ -n "${AGENT_PID:-}" ] || return 0
	kill -"${1:-TERM}" "$AGENT_PID" 2>/dev/null || true
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
}

# make_bundle DIR ARGS-JSON [ANNOTATIONS-JSON]: a bundle on the shared
# read-only rootfs (tmpfs /tmp) with sfhook injected for the suite's socket.
make_bundle() {
	local dir="$1" args="$2" ann="${3:-{\}}"
	mkdir -p "$dir"
	jq --arg r "$ROOTFS" --argjson a "$args" --argjson ann "$ann" '
		.root.path = $r | .root.readonly = true | .process.args = $a |
		.annotations = $ann |
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
			     "options": ["nosuid", "nodev", "mode=1777"]}]' \
		"$SF_TOP/bundles/shell-demo/config.json" >"$dir/config.json"
	"$SFAGENT" --inject-hook "$dir" --hook-path "$SFHOOK" --socket "$SOCK" >/dev/null
	# a loaded test machine must not turn a slow ACK into a fail-open start
	hook_timeout "$dir" 10000
}

# k8s_ann NAME [MORE-PAIRS]: annotations as containerd sets them for the
# Kubernetes container NAME, so the runtime (not the pod) names the workload
# and its default file and topic are NAME's own (docs/hook.md "Stream
# names"); MORE-PAIRS: extra '"key": "value"' pairs, comma-separated.
k8s_ann() {
	printf '{"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.container-name": "%s"%s}' \
		"$1" "${2:+, $2}"
}

# pod_file WORKLOAD ID [EXT]: the default file of a container whose pod
# asserted its workload name (io.sfagent.workload): it carries the id
pod_file() {
	echo "$OUT/$1.$2.${3:-jsonl}"
}

# hook_timeout BUNDLE MS: sfhook --timeout MS (the runtime gets twice that)
hook_timeout() {
	jq --arg ms "$2" '(.hooks.prestart[], .hooks.poststop[]) |=
		(.args |= ((indices("--timeout") | first) as $i |
			   if $i then .[$i + 1] = $ms
			   else .[0:1] + ["--timeout", $ms] + .[1:] end) |
		 .timeout = (($ms | tonumber) * 2 / 1000 | ceil))' \
		"$1/config.json" >"$1/config.json.tmp" && mv "$1/config.json.tmp" "$1/config.json"
}

# make_plain_bundle DIR ARGS-JSON: the same without any hook.
make_plain_bundle() {
	mkdir -p "$1"
	jq --arg r "$ROOTFS" --argjson a "$2" '
		.root.path = $r | .root.readonly = true | .process.args = $a |
		.annotations = {} |
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]' \
		"$SF_TOP/bundles/shell-demo/config.json" >"$1/config.json"
}

# run_container ID BUNDLE: runc run in the foreground (hooks run as configured).
run_container() {
	(cd "$2" && timeout 60 runc --root "$RUNC_ROOT" run "$1" </dev/null)
}

# state_of ID: runc's status of a container, "" when gone.
state_of() {
	runc --root "$RUNC_ROOT" state "$1" 2>/dev/null | jq -r .status
}

# stop_container ID: SIGKILL until runc says stopped (the cgroup stays)
stop_container() {
	local i
	for i in $(seq 120); do
		[ "$(state_of "$1")" = stopped ] && return 0
		runc --root "$RUNC_ROOT" kill "$1" KILL 2>/dev/null || true
		sleep 0.5
	done
	echo "container $1 did not stop: $(runc --root "$RUNC_ROOT" state "$1")" >&2
	return 1
}

# wait_for DESC SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
	local desc="$1" secs="$2" i
	shift 2
	for i in $(seq $((secs * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	echo "timed out after ${secs}s waiting for: $desc" >&2
	return 1
}

# raw_request JSON-OR-TEXT: one packet to the agent's socket, prints the reply.
raw_request() {
	python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(10)
s.connect(sys.argv[1])
s.send(sys.argv[2].encode())
print(s.recv(65536).decode())
PY
}

# state_json ID PID BUNDLE [ANNOTATIONS-JSON]: an OCI state as runc writes it.
state_json() {
	jq -cn --arg id "$1" --argjson pid "$2" --arg b "$3" --argjson ann "${4:-{\}}" \
		'{ociVersion: "1.0.2", id: $id, status: "creating", pid: $pid,
		  bundle: $b, annotations: $ann}'
}
