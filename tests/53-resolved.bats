#!/usr/bin/env bats
# Resolved paths (issue 12; docs/events.md "Resolved paths"): the workload
# (tests/workloads/resolved.c) does each operation and writes down what
# readlink(/proc/self/fd/N) or realpath() says the object is; the stream's
# resolved / resolved2 / host_path / flags must say the same
# (tests/helpers/resolved_check.py).

load test_helper
load hook_helper

setup() {
	T=$(mktemp -d)
	X="$SF_WORKLOADS/resolved"
	CHECK="$SF_TOP/tests/helpers/resolved_check.py"
}

teardown() {
	awk -v d="$T/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
		sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$T"
	if [ -n "${HT:-}" ]; then
		hook_suite_teardown
		HT=
	fi
}

@test "resolved: dirfd, cwd after chdir, '..', a symlink, path and fd calls, deleted, memfd, a too-long path; json schema" {
	mkdir "$T/w"
	run "$SFAGENT" -X -w r --hash none -o "$T/s.jsonl" -- "$X" basic "$T/w" "$T/exp.json"
	echo "$output"
	assert_success
	run python3 "$CHECK" "$T/s.jsonl" "$T/exp.json" --no-host-path
	echo "$output"
	assert_success
	# each kind was there to check
	for k in '"file.open", "syscall": "openat", "path": "b/../b/f"' '"path": "ln"' \
		'"file.rename"' '"file.link"' '"deleted": true, "resolved_partial": true' \
		'"file.memfd_create"' '"file.chmod", "syscall": "fchmod"'; do
		grep -qF "$k" "$T/exp.json" || grep -qF "${k%%, \"resolved_partial*}" "$T/exp.json" || {
			echo "workload did not check $k"
			false
		}
	done
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$T/s.jsonl"
	echo "$output"
	assert_success
}

@test "resolved: a failed call has no resolved path; cadets keeps upath1 as passed and adds resolved" {
	mkdir -p "$T/w/d"
	run "$SFAGENT" -X -w c --hash none -F cadets -o "$T/c.jsonl" -- sh -c "cd '$T/w/d' && cat ../nope; cat ../d/./x 2>/dev/null; : > ../d/./f"
	assert_stream_cadets() {
		python3 - "$T/c.jsonl" "$T/w" <<'PY'
import json, sys
# a JSON array, one record a line: "[", "{...}", ",{...}", "]"
ev = [json.loads(l.lstrip(",")) for l in open(sys.argv[1]) if l.strip() not in ("[", "]")]
w = sys.argv[2]
opens = [e for e in ev if e.get("event", "").startswith("audit:event:aue_open")]
f = [e for e in opens if e.get("upath1") == "../d/./f"]
assert f and f[0]["resolved"] == w + "/d/f", f
nope = [e for e in opens if e.get("upath1") == "../nope"]
assert nope and "resolved" not in nope[0], nope
PY
	}
	run assert_stream_cadets
	echo "$output"
	assert_success
}

@test "resolved: a chroot: the new root, then paths inside it relative to it, host_path outside" {
	mkdir -p "$T/root/etc"
	echo x >"$T/root/etc/sf-file"
	run "$SFAGENT" -X -w c --hash none -o "$T/s.jsonl" -- "$X" chroot "$T/root" "$T/exp.json"
	echo "$output"
	assert_success
	grep -q host_path "$T/exp.json"
	run python3 "$CHECK" "$T/s.jsonl" "$T/exp.json"
	echo "$output"
	assert_success
}

@test "resolved: a bind mount in a private mount namespace: resolved where the task sees it, host_path where the host does" {
	mkdir -p "$T/src" "$T/dst"
	echo x >"$T/src/file"
	run "$SFAGENT" -X -w b --hash none -o "$T/s.jsonl" -- unshare -m --propagation private \
		sh -c "mount --bind '$T/src' '$T/dst' && '$X' open '$T/dst/file' '$T/exp.json'"
	echo "$output"
	assert_success
	run python3 "$CHECK" "$T/s.jsonl" "$T/exp.json" --host-path "$(realpath "$T/src/file")"
	echo "$output"
	assert_success
	# the host does not see the bind: host_path is the file's other name
	[ ! -e "$T/dst/file" ]
	[ "$(stat -c %d:%i "$T/src/file")" = "$(python3 -c 'import json,sys; e=json.loads(open(sys.argv[1]).readline()); print("%d:%d" % (e["st_dev"], e["st_ino"]))' "$T/exp.json")" ]
}

@test "resolved: runc container on an overlay through the hook: container-relative, host_path of the same file (stat from the host)" {
	hook_suite_setup
	start_daemon --hash none
	mkdir -p "$HT/lower/sf" "$HT/lower/etc" "$HT/upper" "$HT/ovl-work" "$HT/root" "$HT/vol"
	cp "$X" "$HT/lower/sf/"
	echo x >"$HT/lower/etc/sf-file"
	echo v >"$HT/vol/vfile"
	mount -t overlay overlay -o "lowerdir=$HT/lower:$ROOTFS,upperdir=$HT/upper,workdir=$HT/ovl-work" "$HT/root"
	ROOTFS="$HT/root" make_bundle "$HT/b" '["/bin/sh", "-c", "/sf/resolved open /etc/sf-file /vol/o.json && /sf/resolved open /vol/vfile /vol/v.json && echo t >/tmp/t && /sf/resolved open /tmp/t /vol/t.json"]' \
		'{"io.sfagent.workload": "rz"}'
	jq --arg v "$HT/vol" '.mounts += [{"destination": "/vol", "type": "bind", "source": $v, "options": ["rbind", "rw"]}]' \
		"$HT/b/config.json" >"$HT/b/c.json" && mv "$HT/b/c.json" "$HT/b/config.json"
	run run_container sfrz-1 "$HT/b"
	echo "$output"
	assert_success
	f=$(pod_file rz sfrz-1)
	grep -q '"/etc/sf-file"' "$HT/vol/o.json"
	run python3 "$CHECK" "$f" "$HT/vol/o.json" --host-path "$HT/root/etc/sf-file"
	echo "$output"
	assert_success
	run python3 "$CHECK" "$f" "$HT/vol/v.json" --host-path "$(realpath "$HT/vol/vfile")"
	echo "$output"
	assert_success
	# a container-private tmpfs: no host path, rather than a wrong one
	run python3 "$CHECK" "$f" "$HT/vol/t.json" --no-host-path
	echo "$output"
	assert_success
	# the same file, seen from the host: device and inode as the container's fstat
	for x in "o:$HT/root/etc/sf-file" "v:$HT/vol/vfile"; do
		want=$(python3 -c 'import json,sys; e=json.loads(open(sys.argv[1]).readline()); print("%d:%d" % (e["st_dev"], e["st_ino"]))' "$HT/vol/${x%%:*}.json")
		[ "$(stat -c %d:%i "${x#*:}")" = "$want" ]
	done
}
