#!/usr/bin/env bats
# containerd with the `sfagent` runtime handler, for real: a private
# containerd (own root, state, socket, in its own mount namespace with a
# private /run so nothing lands on the host's /run or /opt), its config made
# by deploy/node-install.sh, its base spec by oci/containerd-base-spec.sh,
# a busybox image imported with `ctr images import`, containers run with
# `ctr run` from a spec built on that base spec, and a real `sfagent -D`.

load test_helper
load hook_helper

CTD_NS=sfagent-test
IMAGE=localhost/sfagent-test/busybox:1

# ctd_config DIR PORT: a private containerd config (before the handler).
ctd_config() {
	mkdir -p "$1"
	cat >"$1/config.toml" <<EOF
version = 2
root = "$1/root"
state = "$1/state"
[grpc]
  address = "$1/containerd.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$1/opt"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "$2"
EOF
}

# ctd_start DIR: containerd on DIR/config.toml in a new mount namespace with
# a tmpfs /run; ready when it answers.  Sets CTD_PID.
ctd_start() {
	unshare --mount --propagation private \
		sh -c 'mount -t tmpfs tmpfs /run && exec containerd --config "$1"' sh \
		"$1/config.toml" >"$1/containerd.log" 2>&1 3>&- &
	CTD_PID=$!
	echo "$CTD_PID" >>"$HT/pids"
	local i
	for i in $(seq 300); do
		ctr -a "$1/containerd.sock" version >/dev/null 2>&1 && return 0
		if ! kill -0 "$CTD_PID" 2>/dev/null; then
			tail -20 "$1/containerd.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "containerd did not answer in 30 s" >&2
	return 1
}

# ctd_stop PID DIR: stops a containerd and its shims' containers.
ctd_stop() {
	local pid="$1" dir="$2" id
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	for id in $(ctrx_in "$pid" "$dir" tasks ls -q 2>/dev/null); do
		ctrx_in "$pid" "$dir" tasks kill -s KILL "$id" >/dev/null 2>&1 || true
		ctrx_in "$pid" "$dir" tasks delete -f "$id" >/dev/null 2>&1 || true
	done
	for id in $(ctrx_in "$pid" "$dir" containers ls -q 2>/dev/null); do
		ctrx_in "$pid" "$dir" containers rm "$id" >/dev/null 2>&1 || true
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# ctr inside containerd's mount namespace (fifos, image mounts live there).
ctrx_in() {
	local pid="$1" dir="$2"
	shift 2
	nsenter --mount="/proc/$pid/ns/mnt" -- ctr -a "$dir/containerd.sock" -n "$CTD_NS" "$@"
}
ctrx() { ctrx_in "$CTD_PID" "$CT" "$@"; }

# cri_spec OUT ID ARGS-JSON [EXTRA-ANNOTATIONS-JSON]: the base spec plus
# what containerd's CRI plugin adds for a container (process, root,
# hostname, cgroup, the CRI and the passed-through pod annotations).  The
# hooks stay exactly as the handler's base spec has them.
cri_spec() {
	jq --arg id "$2" --argjson args "$3" --argjson ann "${4:-{\}}" \
		--arg root "$CT/rootfs" '
		.process.args = $args | .process.env = ["PATH=/bin"] |
		.process.cwd = "/" | .root = {path: $root, readonly: true} |
		.hostname = "ctd-demo" |
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
			     "options": ["nosuid", "nodev", "mode=1777"]}] |
		.linux.cgroupsPath = "/sfagent-test-ctd-\($id)" |
		.annotations = ({"io.kubernetes.cri.container-type": "container",
				 "io.kubernetes.cri.container-name": "demo",
				 "io.kubernetes.cri.sandbox-name": "sfagent-demo",
				 "io.kubernetes.cri.sandbox-namespace": "default",
				 "io.sfagent.export": "file"} + $ann)' \
		"$CT/base-spec.json" >"$1"
}

setup_file() {
	hook_suite_setup
	echo -n >"$HT/pids"
	CT="$HT/ctd"
	export CT
	ctd_config "$CT" 17500
	cp "$CT/config.toml" "$CT/config.orig.toml"
	"$SF_TOP/deploy/node-install.sh" --config "$CT/config.toml" --hook "$SFHOOK" \
		--base-spec "$CT/base-spec.json" --socket "$SOCK" 2>"$CT/install.log"
	start_daemon
	ctd_start "$CT"
	export CTD_PID
	"$SF_TOP/tests/oci_image.py" "$ROOTFS" "$IMAGE" "$CT/busybox-oci.tar"
	ctrx images import "$CT/busybox-oci.tar" >/dev/null
	mkdir -p "$CT/rootfs"
	# rw: runc creates mount points (/run) in it; the spec keeps it read-only
	ctrx images mount --rw "$IMAGE" "$CT/rootfs" >/dev/null
}

teardown_file() {
	if [ -n "${CTD_PID:-}" ]; then
		ctrx images unmount --rm "$CT/rootfs" >/dev/null 2>&1 || true
		ctd_stop "$CTD_PID" "$CT"
	fi
	[ -n "${HT:-}" ] && for pid in $(cat "$HT/pids" 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
	done
	# the mount namespace went with containerd; nothing of ours on the host
	if [ -n "${HT:-}" ] && grep -q " $HT/" /proc/self/mountinfo; then
		echo "mounts left under $HT" >&2
		grep " $HT/" /proc/self/mountinfo >&2
	fi
	hook_suite_teardown
}

@test "node-install: the handler is merged into containerd's config; config dump shows it, keeps the rest; idempotent; uninstall restores" {
	local d="$HT/ni"
	ctd_config "$d" 17501
	cp "$d/config.toml" "$d/orig.toml"
	run "$SF_TOP/deploy/node-install.sh" --config "$d/config.toml" --hook "$SFHOOK" \
		--base-spec "$d/spec.json" --socket "$SOCK"
	assert_success
	assert_output --partial "changed: restart containerd"
	run containerd --config "$d/config.toml" config dump
	assert_success
	local cri='\[plugins."io.containerd.grpc.v1.cri"'
	# the handler, as the fragment defines it, with this node's base spec
	assert_line --regexp "^ *${cri}\\.containerd\\.runtimes\\.sfagent\\]\$"
	assert_line --regexp "^ *base_runtime_spec = \"$d/spec.json\"\$"
	assert_line --regexp '^ *pod_annotations = \["io.sfagent.\*"\]$'
	assert_line --regexp '^ *runtime_type = "io.containerd.runc.v2"$'
	# what was there stays: our stream port, and containerd's built-in runc
	# (declaring any runtime drops the built-in table on 1.x: node-install
	# carries it over, else the CRI plugin refuses to load at all)
	assert_line --regexp '^ *stream_server_port = "17501"$'
	assert_line --regexp "^ *${cri}\\.containerd\\.runtimes\\.runc\\]\$"
	assert_line --regexp '^ *default_runtime_name = "runc"$'
	# the base spec: the node's own default spec plus exactly our hooks
	run jq -c '.hooks' "$d/spec.json"
	assert_output '{"createRuntime":[{"path":"'"$SFHOOK"'","args":["sfhook","--socket","'"$SOCK"'","--fail","open","createRuntime"],"timeout":10}],"poststop":[{"path":"'"$SFHOOK"'","args":["sfhook","--socket","'"$SOCK"'","--fail","open","poststop"],"timeout":10}]}'
	# (less what the CRI plugin drops from its default spec: rlimits, seccomp,
	# AppArmor; kept in a base spec, they would set nofile 1024 on the pods)
	ctr oci spec | jq -S 'del(.hooks, .process.rlimits, .process.apparmorProfile, .linux.seccomp)' \
		>"$d/default.json"
	ctr oci spec | jq -e '.process.rlimits' >/dev/null
	run jq -c '.process.rlimits' "$d/spec.json"
	assert_output null
	jq -S 'del(.hooks)' "$d/spec.json" >"$d/base-nohooks.json"
	cmp "$d/default.json" "$d/base-nohooks.json"
	# again: nothing changes, nothing to restart
	cp "$d/config.toml" "$d/first.toml"
	run "$SF_TOP/deploy/node-install.sh" --config "$d/config.toml" --hook "$SFHOOK" \
		--base-spec "$d/spec.json" --socket "$SOCK"
	assert_success
	refute_output --partial "changed"
	cmp "$d/first.toml" "$d/config.toml"
	# uninstall: back to the original, byte for byte
	run "$SF_TOP/deploy/node-install.sh" --config "$d/config.toml" --hook "$SFHOOK" \
		--base-spec "$d/spec.json" --socket "$SOCK" --uninstall
	assert_success
	cmp "$d/orig.toml" "$d/config.toml"
	[ ! -e "$d/spec.json" ]
}

@test "node-install and containerd-base-spec: bad input is one clear line and changes nothing" {
	local d="$HT/bad"
	mkdir -p "$d"
	printf '[plugins.cri]\n  sandbox_image = "x"\n' >"$d/v1.toml"
	cp "$d/v1.toml" "$d/v1.orig"
	run "$SF_TOP/deploy/node-install.sh" --config "$d/v1.toml" --hook "$SFHOOK" --base-spec "$d/s.json"
	assert_failure 1
	assert_output --partial "is containerd config version 1"
	assert_output --partial "containerd config migrate"
	cmp "$d/v1.orig" "$d/v1.toml"
	[ ! -e "$d/s.json" ]

	run "$SF_TOP/deploy/node-install.sh" --config "$d/missing.toml" --hook "$SFHOOK"
	assert_failure 1
	assert_output --partial "no containerd config at"

	ctd_config "$d/c" 17502
	run "$SF_TOP/deploy/node-install.sh" --config "$d/c/config.toml" --hook "$d/no-such-sfhook" \
		--base-spec "$d/s.json"
	assert_failure 1
	assert_output --partial "sfhook is not installed at"

	run "$SF_TOP/deploy/node-install.sh" --config "$d/c/config.toml" --hook relative/sfhook
	assert_failure 2
	assert_output --partial "node paths must be absolute"

	run "$SF_TOP/oci/containerd-base-spec.sh" --stage start
	assert_failure 2
	assert_output "containerd-base-spec: bad --stage \`start\`: want createRuntime or prestart"

	echo '{"not": "a spec"}' >"$d/notspec.json"
	run "$SF_TOP/oci/containerd-base-spec.sh" --from "$d/notspec.json" -o "$d/out.json"
	assert_failure 1
	assert_output --partial "input is not an OCI runtime spec"
	[ ! -e "$d/out.json" ]
	[ -z "$(ls -A "$d" | grep '^\.out.json')" ]
}

@test "containerd-base-spec: idempotent, keeps other vendors' hooks, prestart on request" {
	local d="$HT/bs"
	mkdir -p "$d"
	ctr oci spec | jq '.hooks = {"prestart": [{"path": "/usr/bin/other-hook"}],
				      "poststop": [{"path": "/usr/bin/other-hook", "args": ["x"]}]}' >"$d/in.json"
	"$SF_TOP/oci/containerd-base-spec.sh" --from "$d/in.json" --hook /opt/s/sfhook >"$d/once.json"
	"$SF_TOP/oci/containerd-base-spec.sh" --from "$d/once.json" --hook /opt/s/sfhook >"$d/twice.json"
	cmp "$d/once.json" "$d/twice.json"
	run jq -c '[.hooks.prestart[].path, .hooks.createRuntime[].path, .hooks.poststop[].path]' "$d/twice.json"
	assert_output '["/usr/bin/other-hook","/opt/s/sfhook","/usr/bin/other-hook","/opt/s/sfhook"]'
	"$SF_TOP/oci/containerd-base-spec.sh" --from "$d/twice.json" --hook /opt/s/sfhook --stage prestart >"$d/pre.json"
	run jq -c '[(.hooks.prestart | map(.args[-1] // "-")), (.hooks.createRuntime // [] | length)]' "$d/pre.json"
	assert_output '[["-","prestart"],0]'
}

@test "private containerd loads the handler: CRI plugin up with its base spec; a broken base spec is refused" {
	run ctr -a "$CT/containerd.sock" plugins ls
	assert_success
	assert_line --regexp '^io\.containerd\.grpc\.v1 +cri +[^ ]+ +ok *$'
	# The CRI plugin really reads base_runtime_spec: break it in a second
	# containerd and the plugin refuses to load.
	local d="$HT/broken"
	ctd_config "$d" 17503
	"$SF_TOP/deploy/node-install.sh" --config "$d/config.toml" --hook "$SFHOOK" \
		--base-spec "$d/spec.json" --socket "$SOCK" 2>/dev/null
	head -c 200 "$CT/base-spec.json" >"$d/spec.json"
	local main_pid="$CTD_PID"
	ctd_start "$d"
	local broken_pid="$CTD_PID"
	CTD_PID="$main_pid"
	run ctr -a "$d/containerd.sock" plugins ls
	ctd_stop "$broken_pid" "$d"
	assert_line --regexp '^io\.containerd\.grpc\.v1 +cri +[^ ]+ +error *$'
	run grep -c "$d/spec.json" "$d/containerd.log"
	assert_success
}

@test "ctr run with the handler's base spec: the stream starts with the container's first exec and poststop ends it" {
	cri_spec "$CT/run1.json" run1 '["/bin/sh", "-c", "cat /etc/passwd >/dev/null; echo hello-from-ctr"]'
	run timeout 60 nsenter --mount="/proc/$CTD_PID/ns/mnt" -- \
		ctr -a "$CT/containerd.sock" -n "$CTD_NS" run --rm --config "$CT/run1.json" ctd-run1
	assert_success
	assert_output "hello-from-ctr"
	local f="$OUT/demo.jsonl"
	[ -f "$f" ]
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		'ev[0]["type"] == "stream.start" and ev[0]["mode"] == "daemon"' \
		'ev[0]["meta"]["container_id"] == "ctd-run1" and ev[0]["meta"]["workload"] == "demo"' \
		'ev[0]["meta"]["annotations"]["io.sfagent.export"] == "file"' \
		'ev[0]["meta"]["annotations"]["io.kubernetes.cri.sandbox-name"] == "sfagent-demo"' \
		'ev[0]["meta"]["kubernetes"]["pod_name"] == "sfagent-demo"' \
		'ev[0]["meta"]["kubernetes"]["pod_namespace"] == "default"' \
		'ev[0]["meta"]["hostname"] == "ctd-demo"' \
		'ev[0]["meta"]["cgroup_path"].endswith("/sfagent-test-ctd-run1")' \
		'all(e["container"] == "ctd-run1" for e in ev)' \
		'by("process.exec")[0]["pid"] == ev[0]["meta"]["pid"]' \
		'by("process.exec")[0]["argv"] == ["/bin/sh", "-c", "cat /etc/passwd >/dev/null; echo hello-from-ctr"]' \
		'one("file.open", path="/etc/passwd") is not None' \
		'ev[-1]["type"] == "stream.end" and ev[-1]["events"] == len(ev) - 2 and ev[-1]["missed"] == 0'
	# --rm deleted it: no task, no container left in containerd
	run ctrx tasks ls -q
	assert_output ""
}

@test "ctr: stream.end comes with the poststop hook (task delete), not before" {
	rm -f "$OUT/late.jsonl"
	cri_spec "$CT/run2.json" run2 '["/bin/sh", "-c", "cat /etc/group >/dev/null"]' \
		'{"io.kubernetes.cri.container-name": "late"}'
	ctrx run -d --config "$CT/run2.json" ctd-run2 >/dev/null
	stopped() { [ "$(ctrx tasks ls | awk '$1 == "ctd-run2" { print $3 }')" = STOPPED ]; }
	wait_for "ctd-run2 to stop" 30 stopped
	local f="$OUT/late.jsonl"
	assert_stream "$f" \
		'ev[0]["type"] == "stream.start"' \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'not by("stream.end")'
	ctrx tasks delete ctd-run2 >/dev/null
	ended() { tail -1 "$f" | grep -q '"type":"stream.end"'; }
	wait_for "stream.end after task delete" 30 ended
	ctrx containers rm ctd-run2
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		'len(by("stream.end")) == 1 and ev[-1]["type"] == "stream.end"' \
		'all(e["workload"] == "late" for e in ev)'
}
