#!/usr/bin/env bats
# Resolved paths (issue 12; docs/events.md "Resolved paths"): the workload
# (tests/workloads/resolved.c) does each operation and writes down what
# readlink(/proc/self/fd/N) or realpath() says the object is; the stream's
# resolved / resolved2 / host_path / flags must say the same
# (tests/helpers/resolved_check.py).

load test_helper
load hook_helper
load helpers/podman

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
		if [ -n "${PM_DRIVER:-}" ]; then
			touch "$HT/vol/go" 2>/dev/null || true
			pm rm -af -t 1 >/dev/null 2>&1 || true
		fi
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

@test "resolved: podman container on podman's overlay storage via hooks.d: relative, '..', a symlink, the upper layer, a volume, a tmpfs; host_path = the merged dir's file (stat from the host)" {
	hook_suite_setup
	start_daemon --hash none
	PM_DRIVER=overlay
	podman_suite_setup
	# an image with the workload, a file and a relative symlink to it in
	# its (lower) layer
	mkdir -p "$HT/img" "$HT/vol"
	cp -a "$ROOTFS/." "$HT/img/"
	mkdir -p "$HT/img/sf" "$HT/img/etc"
	cp "$X" "$HT/img/sf/"
	echo x >"$HT/img/etc/sf-file"
	ln -s etc/sf-file "$HT/img/sf-link"
	echo v >"$HT/vol/vfile"
	tar -C "$HT/img" -cf "$HT/img.tar" .
	pm import "$HT/img.tar" localhost/sfagent-resolved:test >/dev/null
	run pm_run -d --cidfile "$HT/cid" --annotation io.sfagent.export=file \
		--annotation io.sfagent.workload=pov -v "$HT/vol:/vol" --tmpfs /scratch \
		localhost/sfagent-resolved:test /bin/sh -c '
		cd /etc && /sf/resolved open ../etc/sf-file /vol/rel.json &&
		cd /sf && /sf/resolved open ../sf-link /vol/sym.json &&
		echo u >/etc/upper && /sf/resolved open /etc/upper /vol/up.json &&
		cd /vol && /sf/resolved open ./vfile /vol/v.json &&
		echo t >/scratch/t && /sf/resolved open /scratch/t /vol/t.json &&
		touch /vol/ready && while [ ! -e /vol/go ]; do sleep 0.1; done'
	echo "$output"
	assert_success
	cid=$(cat "$HT/cid")
	wait_for "the workload" 60 test -e "$HT/vol/ready"
	# podman's own word for the container's root on the host: the
	# overlay's merged dir, as the mount table has it
	merged=$(pm inspect --format '{{.GraphDriver.Data.MergedDir}}' "$cid")
	[ "$(pm inspect --format '{{.GraphDriver.Name}}' "$cid")" = overlay ]
	[ "$(stat -f -c %T "$merged")" = overlayfs ]
	f=$(pod_file pov "$cid")
	wait_for "the last open" 30 grep -q '"path":"/scratch/t"' "$f"
	# while it runs: each host_path in the stream is the container's file
	# (device and inode as its fstat)
	for x in "rel:$merged/etc/sf-file" "sym:$merged/etc/sf-file" "up:$merged/etc/upper" "v:$(realpath "$HT/vol/vfile")"; do
		run python3 "$CHECK" "$f" "$HT/vol/${x%%:*}.json" --host-path "${x#*:}"
		echo "$output"
		assert_success
		want=$(python3 -c 'import json,sys; e=json.loads(open(sys.argv[1]).readline()); print("%d:%d" % (e["st_dev"], e["st_ino"]))' "$HT/vol/${x%%:*}.json")
		[ "$(stat -c %d:%i "${x#*:}")" = "$want" ]
	done
	# the container's tmpfs: no host path, rather than a wrong one
	run python3 "$CHECK" "$f" "$HT/vol/t.json" --no-host-path
	echo "$output"
	assert_success
	# the root is the overlay, the volume the host's file system, /scratch tmpfs
	run python3 - "$f" "$(stat -f -c %T "$HT/vol" | sed 's/ext2\/ext3/ext4/')" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fs = {e["path"]: e.get("file_fs") for e in ev if e.get("type") == "file.open" and e.get("ret", 0) >= 0}
want = {"../etc/sf-file": "overlay", "../sf-link": "overlay", "/etc/upper": "overlay",
        "./vfile": sys.argv[2], "/scratch/t": "tmpfs"}
bad = {p: (fs.get(p), w) for p, w in want.items() if fs.get(p) != w}
assert not bad, bad
PY
	echo "$output"
	assert_success
	touch "$HT/vol/go"
	wait_for "stream.end" 60 stream_check "$f" 'ev[-1]["type"] == "stream.end"'
}
