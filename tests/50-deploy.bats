#!/usr/bin/env bats
# deploy/: the Kubernetes manifests (schema + agreement across files), the
# systemd unit (systemd-analyze, and the agent really running inside the
# unit's capability and syscall limits), and the DaemonSet's own commands
# (agent start, readiness probe) run for real against a real sfagent -D.

load test_helper
load hook_helper

# python3 with Debian's yaml + kubernetes modules (python3-kubernetes).
deploy_python() {
	local p
	for p in python3 /usr/bin/python3; do
		if "$p" -c 'import yaml, kubernetes' 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no python3 with the yaml and kubernetes modules: make deps-test" >&2
	return 1
}

setup_file() {
	hook_suite_setup
	PY=$(deploy_python)
	export PY
	# what the image gets: make install with the image's prefix
	INST="$HT/inst"
	make -s -C "$SF_TOP" install DESTDIR="$INST" PREFIX=/usr/local >/dev/null
	# the sfhook the image carries (deploy/Containerfile)
	make -s -C "$SF_TOP" sfhook-static BUILD="$HT/sb" >/dev/null
	STATIC_HOOK="$HT/sb/static/sfhook"
	export INST STATIC_HOOK
}

teardown_file() {
	hook_suite_teardown
}

# Agents a test started in the background: stopped even when it fails early.
teardown() {
	local pid
	for pid in $(cat "$HT/pids" 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
	done
	rm -f "$HT/pids"
}

# YAML-valued snippet of a manifest: yaml_get FILE PYTHON-EXPR (d = the doc)
yaml_get() {
	"$PY" - "$1" "$2" <<'PY'
import sys, yaml
d = next(x for x in yaml.safe_load_all(open(sys.argv[1])) if x)
v = eval(sys.argv[2])
print(v if isinstance(v, str) else "\n".join(v))
PY
}

# A bundle on the shared rootfs whose hooks are exactly the base spec's.
spec_bundle() {
	local dir="$1" spec="$2" args="$3" ann="$4"
	mkdir -p "$dir"
	jq --arg r "$ROOTFS" --argjson a "$args" --argjson ann "$ann" \
		--slurpfile base "$spec" '
		.root.path = $r | .root.readonly = true | .process.args = $a |
		.annotations = $ann | .hooks = $base[0].hooks |
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
			     "options": ["nosuid", "nodev", "mode=1777"]}]' \
		"$SF_TOP/bundles/shell-demo/config.json" >"$dir/config.json"
}

@test "manifests: YAML is clean (yamllint)" {
	run yamllint -s -d '{extends: default, rules: {line-length: {max: 160}, document-start: disable}}' \
		"$SF_TOP/deploy/kubernetes"
	assert_success
}

@test "shell: the deploy scripts and the DaemonSet's inline scripts pass shellcheck" {
	local ds="$SF_TOP/deploy/kubernetes/daemonset.yaml" tspec='d["spec"]["template"]["spec"]'
	run shellcheck -s sh "$SF_TOP/deploy/node-install.sh" "$SF_TOP/oci/containerd-base-spec.sh"
	assert_success
	yaml_get "$ds" "$tspec"'["initContainers"][0]["args"][0]' >"$HT/sc-init.sh"
	yaml_get "$ds" "$tspec"'["containers"][0]["args"][0]' >"$HT/sc-agent.sh"
	yaml_get "$ds" "$tspec"'["containers"][0]["readinessProbe"]["exec"]["command"][2]' >"$HT/sc-ready.sh"
	yaml_get "$ds" "$tspec"'["containers"][0]["livenessProbe"]["exec"]["command"][2]' >"$HT/sc-live.sh"
	run shellcheck -s sh "$HT/sc-init.sh" "$HT/sc-agent.sh" "$HT/sc-ready.sh" "$HT/sc-live.sh"
	assert_success
}

@test "manifests: Kubernetes API schema, and names/handler/labels/paths agree across files and the image" {
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$SF_TOP/deploy" "$INST"
	assert_success
	assert_output ""
}

@test "manifest checker: each kind of mistake is caught" {
	local d="$HT/mut"
	mutate() { # mutate FILE SED-EXPR: a fresh copy of deploy/ with one edit
		rm -rf "$d"
		cp -r "$SF_TOP/deploy" "$d"
		sed -i "$2" "$d/$1"
		! cmp -s "$SF_TOP/deploy/$1" "$d/$1" || { echo "edit did not apply: $2"; return 1; }
	}
	mutate kubernetes/runtimeclass.yaml 's/^handler: sfagent/handler: runc/'
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial 'handler `runc` is not the containerd runtime `sfagent`'

	mutate kubernetes/runtimeclass.yaml 's/enabled: "true"/enabled: true/'
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial 'want a string, got True (quote it)'
	assert_output --partial "differs from the RuntimeClass's"

	mutate kubernetes/daemonset.yaml 's/      hostPID: true/      hostPid: true/'
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial 'unknown field `hostPid` in V1PodSpec'

	mutate kubernetes/example-pod.yaml 's/^  runtimeClassName: sfagent//'
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial 'runtimeClassName is not the RuntimeClass'

	mutate kubernetes/runtimeclass.yaml '/^handler:/d'
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial 'Invalid value for `handler`, must not be `None`'

	mutate kubernetes/daemonset.yaml 's|sfhook --socket /run/sfagent/sfagent.sock --timeout 1000|sfhook --socket /run/sfagent/other.sock --timeout 1000|'
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial 'readinessProbe asks socket'

	mutate kubernetes/configmap.yaml 's/^  SFAGENT_PORT: "1883"/  SFAGENT_PORT: "1883"\n  SFAGENT_UNUSED: "x"/'
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial 'key SFAGENT_UNUSED is used by no container'

	mutate systemd/sfagent.service 's/^CapabilityBoundingSet=CAP_BPF /CapabilityBoundingSet=CAP_NET_ADMIN CAP_BPF /'
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial "differ from the systemd unit's"

	mutate containerd/sfagent-v3.toml "s|base_runtime_spec = '/etc/sfagent/|base_runtime_spec = '/etc/other/|"
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$d"
	assert_failure
	assert_output --partial 'sfagent-v2.toml and sfagent-v3.toml disagree'

	# the image must carry what the DaemonSet runs
	rm -rf "$d" && cp -r "$INST" "$d"
	rm "$d/usr/local/share/sfagent/node-install.sh"
	run "$PY" "$SF_TOP/tests/deploy_check.py" "$SF_TOP/deploy" "$d"
	assert_failure
	assert_output --partial 'runs /usr/local/share/sfagent/node-install.sh, which `make install PREFIX=/usr/local` does not install'
}

@test "systemd unit: make install puts it in place and systemd-analyze verify is clean" {
	local unit="$INST/usr/local/lib/systemd/system/sfagent.service"
	[ -f "$unit" ]
	grep -qx 'ExecStart=/usr/local/bin/sfagent -D --socket /run/sfagent/sfagent.sock --output-dir /var/log/sfagent $SFAGENT_OPTS' "$unit"
	grep -qx 'Restart=on-failure' "$unit"
	# verify needs ExecStart to exist: the same unit, pointed at the DESTDIR
	# tree (never `make install` without DESTDIR here: that writes the host)
	mkdir -p "$HT/prefix/lib/systemd/system"
	sed "s|^ExecStart=/usr/local/bin/sfagent |ExecStart=$INST/usr/local/bin/sfagent |" "$unit" \
		>"$HT/prefix/lib/systemd/system/sfagent.service"
	grep -q "^ExecStart=$INST/" "$HT/prefix/lib/systemd/system/sfagent.service"
	run systemd-analyze verify "$HT/prefix/lib/systemd/system/sfagent.service"
	assert_success
	assert_output ""
	run systemd-analyze security --offline=yes --threshold=50 \
		"$HT/prefix/lib/systemd/system/sfagent.service"
	assert_success
	assert_output --partial 'Overall exposure level for sfagent.service'
	# a typo in a directive is what verify exists to catch
	sed 's/^ProtectSystem=strict/ProtectSytem=strict/' \
		"$HT/prefix/lib/systemd/system/sfagent.service" >"$HT/typo.service"
	run systemd-analyze verify "$HT/typo.service"
	assert_output --partial "Unknown key 'ProtectSytem'"
}

@test "systemd unit: sfagent -D streams a container within the unit's capabilities and syscall filter" {
	local unit="$SF_TOP/deploy/systemd/sfagent.service" caps filter allowed
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	[ -n "$caps" ]
	filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
	[ -n "$filter" ]
	# The agent as the unit starts it: only the bounding set, no new privileges,
	# every syscall recorded (strace) to hold against the unit's filter.
	# (the agent's own pid, not strace's, is what gets SIGTERM at the end)
	setpriv --bounding-set "-all,$caps" --inh-caps -all --no-new-privs -- \
		strace -f -qq -o "$HT/unit.trace" \
		sh -c 'echo $$ >"$1"; echo $$ >>"$2"; shift 2; exec "$@"' sh \
		"$HT/unit.pid" "$HT/pids" \
		"$SFAGENT" -D --socket "$HT/unit.sock" --output-dir "$HT/unit-out" \
		2>"$HT/unit-agent.log" 3>&- &
	local spid=$! apid
	echo "$spid" >>"$HT/pids"
	probe() { echo '{"ociVersion":"1.0.2","id":"probe","status":"stopped","bundle":"/","annotations":{"io.sfagent.fail":"closed"}}' |
		"$SFHOOK" --socket "$HT/unit.sock" --timeout 1000 poststop 2>/dev/null; }
	wait_for "agent socket answers" 30 probe
	apid=$(cat "$HT/unit.pid")
	"$SF_TOP/oci/containerd-base-spec.sh" --from "$SF_TOP/bundles/shell-demo/config.json" \
		--hook "$SFHOOK" --socket "$HT/unit.sock" -o "$HT/unit-spec.json"
	spec_bundle "$HT/ub" "$HT/unit-spec.json" '["/bin/sh", "-c", "cat /etc/passwd >/dev/null"]' \
		'{"io.sfagent.workload": "unit"}'
	run run_container sfd-unit1 "$HT/ub"
	assert_success
	kill "$apid"
	wait "$spid" || true
	assert_stream "$HT/unit-out/unit.sfd-unit1.jsonl" \
		'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
		'by("process.exec")[0]["argv"] == ["/bin/sh", "-c", "cat /etc/passwd >/dev/null"]' \
		'one("file.open", path="/etc/passwd") is not None'
	# The syscalls it made, against what @system-service + the extras allow.
	run "$PY" - "$HT/unit.trace" "$filter" <<'PY'
import re, subprocess, sys
groups, cur = {}, None
for l in subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                        text=True, check=True).stdout.splitlines():
    s = l.strip()
    if l.startswith("@"):
        cur = s.split()[0]; groups[cur] = []
    elif s and not s.startswith("#") and cur:
        groups[cur].append(s)
def expand(x):
    return set().union(*(expand(y) for y in groups.get(x, []))) if x.startswith("@") else {x}
allowed = set().union(*(expand(x) for x in sys.argv[2].split()))
made = set()
for l in open(sys.argv[1]):
    m = re.match(r"\d+\s+([a-z0-9_]+)\(", l)
    if m:
        made.add(m.group(1))
if len(made) < 10:
    sys.exit("strace recorded only %r" % sorted(made))
missing = sorted(made - allowed)
print("syscalls made: %d; outside SystemCallFilter: %s" % (len(made), missing or "none"))
sys.exit(1 if missing else 0)
PY
	assert_success
	assert_output --partial 'outside SystemCallFilter: none'
}

@test "DaemonSet on a simulated node: init container installs the handler, agent starts, probe answers, a container through the base spec is streamed" {
	local ds="$SF_TOP/deploy/kubernetes/daemonset.yaml"
	local cm="$SF_TOP/deploy/kubernetes/configmap.yaml"
	local tspec='d["spec"]["template"]["spec"]'
	yaml_get "$ds" "$tspec"'["initContainers"][0]["args"][0]' >"$HT/init.sh"
	yaml_get "$ds" "$tspec"'["containers"][0]["args"][0]' >"$HT/agent.sh"
	yaml_get "$ds" "$tspec"'["containers"][0]["readinessProbe"]["exec"]["command"][2]' >"$HT/probe.sh"
	# the ConfigMap as the pods' environment
	"$PY" - "$cm" >"$HT/env.sh" <<'PY'
import shlex, sys, yaml
for k, v in yaml.safe_load(open(sys.argv[1]))["data"].items():
    print("export %s=%s" % (k, shlex.quote(v)))
PY
	# Image paths -> the `make install` tree and the static sfhook the image
	# carries; the node's / (mounted at /host in the pod) -> a fake node root;
	# restarting containerd through PID 1 -> a marker file.  Each edit must
	# apply, or the manifest changed under this test.
	subst() { # FILE FROM TO
		grep -qF -- "$2" "$1" || { echo "$1 has no \`$2\`"; return 1; }
		FROM="$2" TO="$3" "$PY" -c 'import os,sys; p=sys.argv[1]; s=open(p).read(); open(p,"w").write(s.replace(os.environ["FROM"], os.environ["TO"]))' "$1"
	}
	subst "$HT/init.sh" /usr/local/share/sfagent/ "$INST/usr/local/share/sfagent/"
	subst "$HT/init.sh" /usr/local/libexec/sfagent/sfhook "$STATIC_HOOK"
	subst "$HT/init.sh" "--root /host" "--root $HT/node"
	subst "$HT/init.sh" '"nsenter --target 1 --mount --uts --ipc --net --pid -- systemctl restart containerd"' \
		"\"touch $HT/restarted\""
	subst "$HT/probe.sh" /usr/local/libexec/sfagent/sfhook "$STATIC_HOOK"
	mkdir -p "$HT/bin" "$HT/node/usr" "$HT/node/etc/containerd" "$HT/node/tmp" "$HT/node/opt"
	ln -sf "$SFAGENT" "$HT/bin/sfagent"
	local d
	for d in bin sbin lib lib64; do
		[ -L "/$d" ] && ln -sfn "$(readlink "/$d")" "$HT/node/$d"
	done
	# a kubeadm-style node config: runc declared, systemd cgroups
	cat >"$HT/node/etc/containerd/config.toml" <<'EOF'
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
EOF
	cat >"$HT/pod.sh" <<EOF
set -e
# the node: its /usr for chroot; the pod's view: private /run, /var/log, /opt
mount --rbind /usr "$HT/node/usr"
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/log
mount -t tmpfs tmpfs /opt
. "$HT/env.sh"
export NODE_NAME=node-a PATH="$HT/bin:\$PATH"
# init container, twice: the second run must change nothing
sh "$HT/init.sh"
test -f "$HT/restarted" || { echo "init did not restart containerd after a change"; exit 1; }
rm "$HT/restarted"
sh "$HT/init.sh"
test ! -f "$HT/restarted" || { echo "init restarted containerd with nothing changed"; exit 1; }
# what runc on the node would run: the hook where init put it
mkdir -p /opt/sfagent /run/sfagent /var/log/sfagent
mount --bind "$HT/node/opt/sfagent" /opt/sfagent
if sh "$HT/probe.sh" 2>/dev/null; then echo "probe passed with no agent"; exit 1; fi
sh "$HT/agent.sh" >/dev/null 2>"$HT/ds-agent.log" &
agent=\$!
trap 'kill \$agent 2>/dev/null || true' EXIT
i=0
until sh "$HT/probe.sh" 2>/dev/null; do
	i=\$((i + 1)); [ \$i -lt 300 ] || { echo "probe never passed"; cat "$HT/ds-agent.log"; exit 1; }
	kill -0 \$agent || { echo "agent died"; cat "$HT/ds-agent.log"; exit 1; }
	sleep 0.1
done
echo ready
(cd "$HT/db" && runc --root "$HT/runc" run sfd-dsc1 </dev/null)
kill \$agent; wait \$agent || true
if sh "$HT/probe.sh" 2>/dev/null; then echo "probe passed after the agent stopped"; exit 1; fi
cp /var/log/sfagent/sfd-dsc1.jsonl "$HT/ds-stream.jsonl"
EOF
	# the bundle is made after init wrote the base spec (inside pod.sh's
	# namespace the paths are the same): build it lazily from there
	sed -i "s|^echo ready\$|echo ready\nsh \"$HT/mkbundle.sh\"|" "$HT/pod.sh"
	cat >"$HT/mkbundle.sh" <<EOF
jq --arg r "$ROOTFS" --slurpfile base "$HT/node/etc/sfagent/containerd-base-spec.json" '
	.root.path = \$r | .root.readonly = true |
	.process.args = ["/bin/sh", "-c", "cat /etc/passwd >/dev/null"] |
	.annotations = {} | .hooks = \$base[0].hooks |
	.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]' \
	"$SF_TOP/bundles/shell-demo/config.json" >"$HT/db/config.json"
EOF
	mkdir -p "$HT/db"
	run unshare --mount --propagation private sh "$HT/pod.sh"
	assert_success
	assert_line ready
	# the node after init: handler in its containerd config, hooks in its base spec
	run containerd --config "$HT/node/etc/containerd/config.toml" config dump
	assert_success
	assert_line --regexp '^ *\[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.sfagent\]$'
	assert_line --regexp '^ *base_runtime_spec = "/etc/sfagent/containerd-base-spec.json"$'
	assert_line --regexp '^ *SystemdCgroup = true$'
	run jq -r '[.hooks.createRuntime[0].path, .hooks.poststop[0].path] | join(" ")' \
		"$HT/node/etc/sfagent/containerd-base-spec.json"
	assert_output "/opt/sfagent/bin/sfhook /opt/sfagent/bin/sfhook"
	cmp "$STATIC_HOOK" "$HT/node/opt/sfagent/bin/sfhook"
	# exporter id = the node (-e \$NODE_NAME): what the topic template's %h uses
	assert_stream "$HT/ds-stream.jsonl" \
		'ev[0]["type"] == "stream.start" and ev[0]["exporter"] == "node-a"' \
		'ev[-1]["type"] == "stream.end"' \
		'by("process.exec")[0]["filename"] == "/bin/sh"'
}

@test "Containerfile: the make targets it runs exist; the image's sfhook is static and works" {
	local cf="$SF_TOP/deploy/Containerfile" t
	for t in $(grep -oE '(RUN|&&) +make [a-z -]+' "$cf" | sed -E 's/^(RUN|&&) +make //' |
		tr ' ' '\n' | grep -v '^-' | sort -u); do
		run make -n -C "$SF_TOP" "$t"
		assert_success
	done
	grep -q 'install -m 0755 build/static/sfhook /out/usr/local/libexec/sfagent/sfhook' "$cf"
	# its runtime-package step, run here on this Debian's build/sfagent
	sed -n '/^RUN for lib in/,/runtime-packages$/p' "$cf" |
		sed 's/^RUN //; s|/out/runtime-packages|"$1"|; s|build/sfagent|"$2"|' >"$HT/pkgs.sh"
	grep -q 'dpkg -S' "$HT/pkgs.sh"
	run sh "$HT/pkgs.sh" "$HT/runtime-packages" "$SFAGENT"
	assert_success
	run cat "$HT/runtime-packages"
	assert_line libbpf1
	assert_line libyajl2
	assert_line libc6
	# and those the network sinks open when used (not in ldd's list)
	assert_line libcurl4
	assert_line libnats3.4
	assert_line --regexp '^libpaho-mqtt1'
	# static (static-pie: ASLR kept): no program interpreter, no library
	run readelf -lW "$STATIC_HOOK"
	assert_success
	refute_output --partial "INTERP"
	run readelf -dW "$STATIC_HOOK"
	refute_output --partial "(NEEDED)"
	run "$STATIC_HOOK" --version
	assert_success
}
