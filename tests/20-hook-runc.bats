#!/usr/bin/env bats
# runc with sfhook in config.json and a real `sfagent -D`: streams per
# container, enrichment, poststop drain, isolation between containers.

load test_helper
load hook_helper

setup_file() {
	hook_suite_setup
	start_daemon
}

teardown_file() {
	hook_suite_teardown
}

@test "runc container with the hook: enriched stream, first exec, stream.end last" {
	make_bundle "$HT/b1" '["/bin/sh", "-c", "cat /etc/passwd >/dev/null; echo ran"]' \
		'{"io.sfagent.workload": "one", "com.example.team": "blue"}'
	run run_container sfh-h1 "$HT/b1"
	assert_success
	assert_output "ran"
	f=$(pod_file one sfh-h1)
	[ -f "$f" ]
	assert_seq_no_gaps "$f"
	assert_stream "$f" \
		'ev[0]["type"] == "stream.start" and ev[0]["mode"] == "daemon"' \
		'ev[-1]["type"] == "stream.end" and ev[-1]["events"] == len(ev) - 2' \
		'all(e["workload"] == "one" and e["container"] == "sfh-h1" for e in ev)' \
		'ev[0]["meta"]["container_id"] == "sfh-h1" and ev[0]["meta"]["workload"] == "one"' \
		'ev[0]["meta"]["bundle"] == "'"$HT/b1"'"' \
		'ev[0]["meta"]["hostname"] == "shell-demo" and ev[0]["meta"]["cwd"] == "/"' \
		'ev[0]["meta"]["args"] == ["/bin/sh", "-c", "cat /etc/passwd >/dev/null; echo ran"]' \
		'ev[0]["meta"]["root"] == "'"$ROOTFS"'"' \
		'ev[0]["meta"]["annotations"]["com.example.team"] == "blue"' \
		'"env" not in ev[0]["meta"] and "PATH=" not in open(sys.argv[1]).read()' \
		'ev[0]["meta"]["cgroup_path"] == "/sfh-h1" and ev[0]["meta"]["cgroup_id"] == ev[0]["cgroup"]' \
		'by("process.exec")[0]["filename"] == "/bin/sh"' \
		'one("file.open", path="/etc/passwd") is not None'
	# poststop drained: the container's last process exit precedes stream.end
	# (a binary digest computed after its exec may come in between:
	# process.exe_hash, docs/events.md)
	assert_stream "$f" \
		'[e for e in ev if e["type"] == "process.exit" and e["comm"] == "cat"]' \
		'[e["type"] for e in ev if e["type"] != "process.exe_hash"][-2] == "process.exit"'
}

@test "two containers at once: two streams, no cross-talk" {
	make_bundle "$HT/ba" '["/bin/sh", "-c", "for i in 1 2 3 4 5; do cat /etc/group >/tmp/only-a; sleep 0.2; done"]' \
		'{"io.sfagent.workload": "wa"}'
	make_bundle "$HT/bb" '["/bin/sh", "-c", "for i in 1 2 3 4 5; do cat /etc/group >/tmp/only-b; sleep 0.2; done"]' \
		'{"io.sfagent.workload": "wb"}'
	run_container sfh-ca "$HT/ba" &
	pa=$!
	run_container sfh-cb "$HT/bb" &
	pb=$!
	wait $pa
	wait $pb
	assert_stream "$OUT/wa.sfh-ca.jsonl" \
		'ev[-1]["type"] == "stream.end"' \
		'all(e["container"] == "sfh-ca" for e in ev)' \
		'one("file.open", path="/tmp/only-a") is not None' \
		'one("file.open", path="/tmp/only-b") is None' \
		'len(set(e["cgroup"] for e in ev if "cgroup" in e)) == 1'
	assert_stream "$OUT/wb.sfh-cb.jsonl" \
		'ev[-1]["type"] == "stream.end"' \
		'all(e["container"] == "sfh-cb" for e in ev)' \
		'one("file.open", path="/tmp/only-b") is not None' \
		'one("file.open", path="/tmp/only-a") is None'
	ca=$(head -1 "$OUT/wa.sfh-ca.jsonl" | jq .cgroup)
	cb=$(head -1 "$OUT/wb.sfh-cb.jsonl" | jq .cgroup)
	[ "$ca" != "$cb" ]
}

@test "a container without the hook produces no events" {
	make_plain_bundle "$HT/bplain" '["/bin/sh", "-c", "cat /etc/group >/tmp/unregistered-marker"]'
	make_bundle "$HT/bhooked" '["/bin/sh", "-c", "sleep 0.5; cat /etc/group >/dev/null"]' \
		'{"io.sfagent.workload": "sfh-hooked"}'
	run_container sfh-hooked "$HT/bhooked" &
	p=$!
	run run_container sfh-plain "$HT/bplain"
	assert_success
	wait $p
	run grep -rl -e unregistered-marker -e '"container":"sfh-plain"' "$OUT"
	assert_failure
	[ ! -e "$OUT/sfh-plain.jsonl" ]
	assert_stream "$OUT/sfh-hooked.jsonl" 'ev[-1]["type"] == "stream.end"'
}

@test "workload name defaults to the Kubernetes container name; meta has the pod" {
	make_bundle "$HT/bk8s" '["/bin/true"]' \
		'{"io.kubernetes.cri.container-name": "web",
		  "io.kubernetes.cri.container-type": "container",
		  "io.kubernetes.cri.sandbox-name": "shop-7d9",
		  "io.kubernetes.cri.sandbox-namespace": "prod",
		  "io.kubernetes.cri.sandbox-uid": "c0ffee",
		  "io.kubernetes.cri.image-name": "docker.io/library/busybox:1.36"}'
	run run_container sfh-k8s1 "$HT/bk8s"
	assert_success
	assert_stream "$OUT/web.jsonl" \
		'ev[0]["workload"] == "web"' \
		'ev[0]["meta"]["kubernetes"] == {"pod_name": "shop-7d9", "pod_namespace": "prod", "pod_uid": "c0ffee", "container_name": "web", "image": "docker.io/library/busybox:1.36"}' \
		'ev[0]["meta"]["kubernetes_runtime"] == "containerd" and ev[0]["meta"]["workload_source"] == "kubernetes"' \
		'"workload" not in ev[0]["meta"]["pod_asserted"] and "annotations" in ev[0]["meta"]["pod_asserted"]'
}

@test "CRI-O passes pod annotations through: forged io.kubernetes.cri.* keys are not Kubernetes identity" {
	make_bundle "$HT/bcrio" '["/bin/true"]' \
		'{"io.kubernetes.cri-o.ContainerType": "container",
		  "io.kubernetes.container.name": "real",
		  "io.kubernetes.pod.name": "real-pod",
		  "io.kubernetes.cri.container-name": "forged",
		  "io.kubernetes.cri.sandbox-name": "forged-pod"}'
	run run_container sfh-crio1 "$HT/bcrio"
	assert_success
	assert_stream "$OUT/real.jsonl" \
		'ev[0]["meta"]["kubernetes"] == {"pod_name": "real-pod", "container_name": "real"}' \
		'ev[0]["meta"]["kubernetes_runtime"] == "cri-o"' \
		'"forged" not in json.dumps(ev[0]["meta"]["kubernetes"])'
	# annotations alone (no runtime key): no identity, the name is the pod's
	make_bundle "$HT/bnok8s" '["/bin/true"]' \
		'{"io.kubernetes.cri.sandbox-name": "forged-pod", "io.sfagent.workload": "sfh-nok8s"}'
	run run_container sfh-nok8s1 "$HT/bnok8s"
	assert_success
	assert_stream "$(pod_file sfh-nok8s sfh-nok8s1)" '"kubernetes" not in ev[0]["meta"]' \
		'ev[0]["meta"]["workload_source"] == "annotation" and "workload" in ev[0]["meta"]["pod_asserted"]'
}

@test "workload name defaults to the container id" {
	make_bundle "$HT/bid" '["/bin/true"]'
	run run_container sfh-byid-1 "$HT/bid"
	assert_success
	assert_stream "$OUT/sfh-byid-1.jsonl" 'ev[0]["workload"] == "sfh-byid-1"' \
		'ev[-1]["type"] == "stream.end"'
}

@test "io.sfagent.export=file:NAME writes NAME in the output directory" {
	make_bundle "$HT/bname" '["/bin/true"]' \
		'{"io.sfagent.export": "file:custom-name.log", "io.sfagent.workload": "named"}'
	run run_container sfh-named1 "$HT/bname"
	assert_success
	[ ! -e "$OUT/named.jsonl" ]
	[ ! -e "$(pod_file named sfh-named1)" ]
	assert_stream "$OUT/custom-name.log" 'ev[0]["workload"] == "named"' \
		'by("process.exec")[0]["filename"] == "/bin/true"'
}

@test "runs of the same workload append stream after stream to its file" {
	# the runtime names the workload: a pod-asserted name gets a file per
	# container (26-hostile)
	make_bundle "$HT/bapp" '["/bin/true"]' "$(k8s_ann again)"
	run_container sfh-again1 "$HT/bapp"
	run_container sfh-again2 "$HT/bapp"
	assert_stream "$OUT/again.jsonl" \
		'[e["type"] for e in ev if e["type"].startswith("stream.")] == ["stream.start", "stream.end", "stream.start", "stream.end"]' \
		'[e["container"] for e in by("stream.start")] == ["sfh-again1", "sfh-again2"]'
}

@test "--inject-hook is idempotent and keeps the rest of config.json" {
	b="$HT/binject"
	make_plain_bundle "$b" '["/bin/true"]'
	jq '.hooks = {"poststart": [{"path": "/bin/true"}]}' "$b/config.json" >"$b/c"
	# a number as written (1.50), which a JSON round trip must not rewrite
	sed '0,/{/s//{"x": 1.50,/' "$b/c" >"$b/config.json"
	cp "$b/config.json" "$HT/orig.json"
	run "$SFAGENT" --inject-hook "$b" --hook-path "$SFHOOK" --socket "$SOCK"
	assert_success
	assert_output --partial "added sfhook"
	cp "$b/config.json" "$HT/once.json"
	run "$SFAGENT" --inject-hook "$b" --hook-path "$SFHOOK" --socket "$SOCK"
	assert_success
	assert_output --partial "already present"
	cmp "$b/config.json" "$HT/once.json"
	# everything but the two added entries is the same JSON
	diff <(jq -S 'del(.hooks.prestart, .hooks.poststop)' "$HT/orig.json") \
	     <(jq -S 'del(.hooks.prestart, .hooks.poststop)' "$b/config.json")
	grep -q '1.50' "$b/config.json"
	run jq -c '[.hooks.prestart[].args, .hooks.poststop[].args]' "$b/config.json"
	assert_output '[["sfhook","--socket","'"$SOCK"'","prestart"],["sfhook","--socket","'"$SOCK"'","poststop"]]'
}

@test "--inject-hook keeps the file's layout: a diff shows the added hooks and nothing else" {
	b="$HT/blayout"
	mkdir -p "$b"
	# two spaces, as runc spec writes (bundles/shell-demo), with an empty []
	cp "$SF_TOP/bundles/shell-demo/config.json" "$b/config.json"
	grep -q '\[\]' "$b/config.json"
	cp "$b/config.json" "$HT/layout.orig"
	run "$SFAGENT" --inject-hook "$b" --hook-path "$SFHOOK" --socket "$SOCK"
	assert_success
	# nothing removed or changed: only added lines
	run diff "$HT/layout.orig" "$b/config.json"
	refute_line --regexp '^[<-]'
	assert_line --regexp '^>   "hooks": \{$'
	# tabs stay tabs; a compact file stays on one line
	printf '{\n\t"ociVersion": "1.0.2",\n\t"mounts": []\n}\n' >"$b/config.json"
	run "$SFAGENT" --inject-hook "$b" --hook-path "$SFHOOK"
	assert_success
	run head -3 "$b/config.json"
	assert_output "$(printf '{\n\t"ociVersion": "1.0.2",\n\t"mounts": [],')"
	printf '{"ociVersion":"1.0.2","mounts":[]}' >"$b/config.json"
	run "$SFAGENT" --inject-hook "$b" --hook-path "$SFHOOK"
	assert_success
	[ "$(wc -l <"$b/config.json")" -eq 0 ]
	jq -e '.hooks.prestart[0].args == ["sfhook", "prestart"]' "$b/config.json"
}

@test "--inject-hook on a directory without config.json: exit 2, nothing created" {
	mkdir -p "$HT/notabundle"
	run "$SFAGENT" --inject-hook "$HT/notabundle"
	assert_equal "$status" 2
	assert_output --partial "has no config.json"
	[ -z "$(ls -A "$HT/notabundle")" ]
}

@test "the daemon makes its socket root-only (0600); a socket directory that does not exist is refused" {
	[ "$(stat -c %a "$SOCK")" = 600 ]
	# a typo in --socket must not serve where no hook looks (only the
	# default's /run/sfagent is made, 0700)
	run "$SFAGENT" -D --socket "$HT/rundir/sub/s.sock" --output-dir "$HT/out2"
	assert_equal "$status" 1
	assert_output "sfagent: the directory of --socket \`$HT/rundir/sub/s.sock\` does not exist: create it (mkdir -m 0700 $HT/rundir/sub) or correct the path"
	[ ! -e "$HT/rundir" ]
	mkdir -p -m 0700 "$HT/rundir/sub"
	"$SFAGENT" -D --socket "$HT/rundir/sub/s.sock" --output-dir "$HT/out2" 2>"$HT/d2.log" &
	p=$!
	wait_for "second daemon socket" 30 test -S "$HT/rundir/sub/s.sock"
	[ "$(stat -c %a "$HT/rundir/sub/s.sock")" = 600 ]
	[ "$(stat -c %a "$HT/out2")" = 750 ]
	kill -TERM $p
	wait $p
	# a clean stop removes the socket
	[ ! -e "$HT/rundir/sub/s.sock" ]
}

@test "a non-root peer is refused (SO_PEERCRED), the agent keeps serving" {
	# open the socket to everyone for a moment so the kernel lets nobody in:
	# then the agent's own peer check is what refuses
	chmod 0755 "$HT"
	chmod 0666 "$SOCK"
	state='{"id":"nobody-1","status":"stopped","annotations":{"io.sfagent.fail":"closed"}}'
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$SFHOOK" --socket "$SOCK" poststop <<<"$state"
	chmod 0600 "$SOCK"
	chmod 0700 "$HT"
	assert_equal "$status" 1
	assert_output --partial "permission denied: only root"
	grep -q "refused a client with uid 65534" "$HT/agent.log"
	make_bundle "$HT/bafter" '["/bin/true"]' '{"io.sfagent.workload": "sfh-after-nobody"}'
	run run_container sfh-after-nobody "$HT/bafter"
	assert_success
}

@test "malformed and oversized messages get an error reply; others are served" {
	run raw_request 'this is not json'
	assert_success
	assert_output --partial '"op":"error"'
	assert_output --partial 'malformed request'
	run raw_request '{"v":99,"op":"register"}'
	assert_output --partial 'protocol version 99 is not supported'
	run raw_request '{"v":1,"op":"register","container_id":"x"}'
	assert_output --partial 'register: no \"pid\"'
	run raw_request "$(python3 -c 'print("{\"v\":1,\"op\":\"ack\",\"error\":\"" + "x" * 70000 + "\"}")')"
	assert_output --partial 'larger than'
	run raw_request '{"v":1,"op":"unregister","container_id":"never-registered"}'
	assert_output '{"v":1,"op":"ack"}'
	make_bundle "$HT/bok" '["/bin/true"]' '{"io.sfagent.workload": "sfh-after-garbage"}'
	run run_container sfh-after-garbage "$HT/bok"
	assert_success
	assert_stream "$OUT/sfh-after-garbage.jsonl" 'ev[-1]["type"] == "stream.end"'
	kill -0 "$AGENT_PID"
}

@test "a second daemon on the same socket refuses to start" {
	run "$SFAGENT" -D --socket "$SOCK" --output-dir "$OUT"
	assert_equal "$status" 1
	assert_output --partial "another agent is already listening on \`$SOCK\`: stop it first, or give this one another --socket PATH"
	[ -S "$SOCK" ]
}

@test "no poststop configured: the stream ends once the cgroup is gone" {
	make_bundle "$HT/bnopost" '["/bin/true"]' '{"io.sfagent.workload": "nopost"}'
	jq 'del(.hooks.poststop)' "$HT/bnopost/config.json" >"$HT/c" && mv "$HT/c" "$HT/bnopost/config.json"
	run run_container sfh-nopost1 "$HT/bnopost"
	assert_success
	wait_for "stream.end" 30 stream_check "$(pod_file nopost sfh-nopost1)" 'ev[-1]["type"] == "stream.end"'
	assert_stream "$(pod_file nopost sfh-nopost1)" 'by("process.exec")[0]["filename"] == "/bin/true"'
	grep -q "container \`sfh-nopost1\`: cgroup \`/sfh-nopost1\` is gone but no poststop came" "$HT/agent.log"
}

@test "a client that connects and says nothing does not hold up others" {
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
time.sleep(8)
' "$SOCK" &
	silent=$!
	make_bundle "$HT/bsilent" '["/bin/true"]' '{"io.sfagent.workload": "sfh-beside-silent"}'
	run run_container sfh-beside-silent "$HT/bsilent"
	assert_success
	assert_stream "$OUT/sfh-beside-silent.jsonl" 'ev[-1]["type"] == "stream.end"'
	wait_for "idle client dropped" 30 grep -q "dropped a client that sent no request" "$HT/agent.log"
	kill $silent 2>/dev/null || true
	wait $silent 2>/dev/null || true
}

@test "two running containers of one workload: the second gets <workload>.<id>.jsonl" {
	make_bundle "$HT/bsame" '["/bin/sh", "-c", "sleep 1; cat /etc/group >/dev/null"]' \
		"$(k8s_ann same)"
	run_container sfh-same1 "$HT/bsame" &
	p=$!
	wait_for "first stream" 30 test -s "$OUT/same.jsonl"
	run run_container sfh-same2 "$HT/bsame"
	assert_success
	wait $p
	assert_stream "$OUT/same.jsonl" 'all(e["container"] == "sfh-same1" for e in ev)' \
		'ev[-1]["type"] == "stream.end"'
	assert_stream "$OUT/same.sfh-same2.jsonl" 'all(e["container"] == "sfh-same2" for e in ev)' \
		'ev[-1]["type"] == "stream.end"'
}

@test "an explicit file:NAME in use by a running container: the second goes to its default file" {
	make_bundle "$HT/bexp" '["/bin/sh", "-c", "sleep 1"]' \
		'{"io.sfagent.export": "file:shared.jsonl", "io.sfagent.fail": "closed", "io.sfagent.workload": "sfh-exp"}'
	run_container sfh-exp1 "$HT/bexp" &
	p=$!
	wait_for "first stream" 30 test -s "$OUT/shared.jsonl"
	run run_container sfh-exp2 "$HT/bexp"
	assert_success
	wait $p
	assert_stream "$OUT/shared.jsonl" 'all(e["container"] == "sfh-exp1" for e in ev)'
	assert_stream "$(pod_file sfh-exp sfh-exp2)" 'all(e["container"] == "sfh-exp2" for e in ev)' \
		'"output file `shared.jsonl` is in use" in ev[0]["meta"]["export_notes"][0]'
	grep -q 'output file `shared.jsonl` is in use' "$HT/agent.log"
}

@test "daemon command line: misuse is exit 2, an unusable output dir exit 1" {
	run "$SFAGENT" -D -o "$HT/x.jsonl"
	assert_equal "$status" 2
	assert_output --partial "-o does not apply to daemon mode"
	run "$SFAGENT" -D --socket relative.sock
	assert_equal "$status" 2
	assert_output --partial "want an absolute path"
	run "$SFAGENT" -X --socket "$HT/s" -o "$HT/x.jsonl" -- /bin/true
	assert_equal "$status" 2
	assert_output --partial "apply to -D and --inject-hook only"
	run "$SFAGENT" -D --inject-hook "$HT"
	assert_equal "$status" 2
	assert_output --partial "options -D and --inject-hook cannot be combined"
	touch "$HT/not-a-dir"
	run "$SFAGENT" -D --socket "$HT/other.sock" --output-dir "$HT/not-a-dir"
	assert_equal "$status" 1
	assert_output --partial "open output directory"
	assert_output --partial "Not a directory"
	[ ! -e "$HT/other.sock" ]
}

@test "ten containers at once: ten streams, each complete" {
	make_bundle "$HT/bten" '["/bin/sh", "-c", "cat /etc/passwd >/dev/null"]'
	pids=()
	for i in $(seq 1 10); do
		run_container "sfh-ten-$i" "$HT/bten" >/dev/null &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for i in $(seq 1 10); do
		assert_stream "$OUT/sfh-ten-$i.jsonl" \
			'ev[0]["type"] == "stream.start" and ev[-1]["type"] == "stream.end"' \
			'all(e["container"] == "sfh-ten-'"$i"'" for e in ev)' \
			'one("file.open", path="/etc/passwd") is not None'
	done
}
