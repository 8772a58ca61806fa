#!/usr/bin/env bats
# --hash open (agent/exehash.c, bpf/mmap.bpf.h, docs/events.md "File
# digests"): files opened (syscall and io_uring) and mapped executable are
# hashed, the digest equals sha256sum of the file, a file changed before
# the agent hashed it is `changed` and never has a digest, one file opened
# 1,000 times is hashed once, a burst of 500 new files all get digests
# (also under valgrind), past the queue's bounds the numbers still add up
# exactly; quixote's nested TSEM file{} against os.stat and the super block
# (docs/formats.md).  The default (--hash exec) has no file digests and no
# file.mmap_exec at all.

load test_helper

setup() {
	T=$(mktemp -d)
	X="$SF_WORKLOADS/filehash"
	WRAP=()
}

teardown() {
	mountpoint -q "$T/tmpfs" && umount "$T/tmpfs"
	rm -rf "$T"
}

# the digest (or state) of every event of type $2 about file $3 (json
# stream $1; $3 compared with the event's path or its mapped file): from the
# record, or from the file.hash record that follows a pending one; one
# line per event
file_digests() {
	python3 - "$@" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
typ, name = sys.argv[2], sys.argv[3]
ev = [r for r in recs if r["type"] == typ and (r.get("path") == name or r.get("file") == name)]
assert ev, ("no", typ, name)
for e in ev:
    if "file_sha256" in e:
        print(e["file_sha256"])
    elif e["file_hash_state"] != "pending":
        print(e["file_hash_state"])
    else:
        # the record of the first event that waited for this file's hash
        # (event_seq), which counts this one in `events`
        later = [r for r in recs if r["type"] == "file.hash" and r["event_seq"] <= e["seq"] < r["seq"]
                 and (r["file_dev"], r["file_ino"]) == (e["file_dev"], e["file_ino"])]
        assert len(later) == 1, later
        l = later[0]
        assert l["pid"] == e["pid"] or l["event_seq"] != e["seq"], l
        assert (l["file_dev"], l["file_ino"], l["file_ctime"], l["file_mtime"], l["file_size"]) == \
            (e["file_dev"], e["file_ino"], e["file_ctime"], e["file_mtime"], e["file_size"]), (l, e)
        print(l.get("file_sha256") or l["file_hash_state"])
PY
}

@test "file hash: a file opened (syscall, io_uring) and libc mapped executable by a real exec equal sha256sum; json schema" {
	head -c 300000 /dev/urandom >"$T/data"
	want=$(sha256sum <"$T/data" | cut -d' ' -f1)
	run "$SFAGENT" -X --hash open -w o -o "$T/o.jsonl" -- sh -c 'cat "$1" >/dev/null' sh "$T/data"
	assert_success
	run file_digests "$T/o.jsonl" file.open "$T/data"
	assert_success
	assert_output "$want"
	# the loader maps libc PROT_EXEC: file.mmap_exec, its digest
	libc=$(python3 - "$T/o.jsonl" <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
m = [r for r in m if r["type"] == "file.mmap_exec" and "/libc.so" in r["file"]]
assert m and "PROT_EXEC" in m[0]["prot"] and "PROT_WRITE" not in m[0]["prot"], m
print(m[0]["file"])
PY
)
	run file_digests "$T/o.jsonl" file.mmap_exec "$libc"
	assert_success
	# sh's and cat's maps of it: each the one digest
	[ "$(sort -u <<<"$output")" = "$(sha256sum <"$libc" | cut -d' ' -f1)" ]
	# io_uring's open: the same identity and digest
	run "$SFAGENT" -X --hash open -w u -o "$T/u.jsonl" -- "$X" uring "$T/data"
	assert_success
	run python3 - "$T/u.jsonl" "$T/data" <<'PY'
import json, os, sys
r = [json.loads(l) for l in open(sys.argv[1])]
o = [x for x in r if x["type"] == "file.open" and x.get("via") == "io_uring" and x["path"] == sys.argv[2]]
assert len(o) == 1 and o[0]["file_ino"] == os.stat(sys.argv[2]).st_ino, o
PY
	assert_success
	run file_digests "$T/u.jsonl" file.open "$T/data"
	assert_success
	assert_output "$want"
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$T/o.jsonl" "$T/u.jsonl"
	echo "$output"
	assert_output --regexp ', 0 problems$'
}

@test "file hash: a file changed between its open and the hash is changed, never a digest" {
	printf 'before\n' >"$T/f"
	old=$(sha256sum <"$T/f" | cut -d' ' -f1)
	run "$SFAGENT" -X --hash open -w c -o "$T/c.jsonl" -- "$X" change "$T/f"
	assert_success
	new=$(sha256sum <"$T/f" | cut -d' ' -f1)
	# two opens (read, then write): both saw the file before the append
	run file_digests "$T/c.jsonl" file.open "$T/f"
	assert_success
	assert_output "changed
changed"
	! grep -q -e "$old" -e "$new" "$T/c.jsonl"
}

@test "file hash: one file opened 1,000 times is hashed once (the cache, stream.end counters)" {
	head -c 100000 /dev/urandom >"$T/f"
	want=$(sha256sum <"$T/f" | cut -d' ' -f1)
	run "$SFAGENT" -X --hash open -w r -o "$T/r.jsonl" -- "$X" reopen 1000 "$T/f"
	assert_success
	run python3 - "$T/r.jsonl" "$T/f" "$want" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
o = [x for x in r if x["type"] == "file.open" and x["path"] == sys.argv[2]]
assert len(o) == 1000, len(o)
h = [x for x in r if x["type"] == "file.hash" and x["file_ino"] == o[0]["file_ino"]]
# one hash: the first open's; the opens while it ran wait for its record
assert len(h) == 1 and h[0]["file_sha256"] == sys.argv[3], h
pending = [x for x in o if x.get("file_hash_state") == "pending"]
assert h[0]["events"] == len(pending) and h[0]["event_seq"] == pending[0]["seq"], (h, len(pending))
cached = [x for x in o if x.get("file_sha256") == sys.argv[3]]
assert len(cached) + len(pending) == 1000, (len(cached), len(pending))
end = [x for x in r if x["type"] == "stream.end"][0]["file_hash"]
# every other file the program touches (its loader's cache, libc) once
# at most: a handful, never one per open
assert end["cached"] >= len(cached) and end["computed"] <= 6 and end["dropped"] == 0, end
print(end, len(pending))
PY
	echo "$output"
	assert_success
}

# burst DIR OUT: one cat opens every file of DIR while the agent (its
# parent under -X) is stopped, so that the consumer finds all the opens at
# once; cat is gone when it looks (the paths lead to the files).  WRAP: a
# command to run the agent under (an array, e.g. valgrind)
burst() {
	"${WRAP[@]}" "$SFAGENT" -X --hash open -w burst -o "$2" -- \
		sh -c 'trap "kill -CONT \$PPID" EXIT; kill -STOP $PPID; cat "$1"/* >/dev/null' sh "$1"
}

@test "file hash: a burst of 500 new files: no backlog, each digest right, the numbers add up exactly" {
	mkdir "$T/b"
	python3 -c 'import sys; [open("%s/%03d" % (sys.argv[1], i), "w").write("file %d\n" % i * 40) for i in range(500)]' "$T/b"
	run burst "$T/b" "$T/b.jsonl"
	assert_success
	run python3 "$SF_TOP/tests/helpers/hash_accounting.py" "$T/b.jsonl" "$T/b"
	echo "$output"
	assert_success
	# the queue holds 1,024 files: none of the 500 found it full.  Those a
	# loaded machine did not hash within the stream's end wait are `late`,
	# counted in dropped (the accounting above)
	assert_output --partial "opens=500 "
	assert_output --partial " backlog=0 "
	assert_output --partial " other=0 "
}

@test "file hash: past the bound of bytes queued (64 MiB): backlog, counted exactly; what was queued has its digest" {
	mkdir "$T/big"
	for i in $(seq 24); do head -c $((4 << 20)) /dev/urandom >"$T/big/$i"; done
	run burst "$T/big" "$T/big.jsonl"
	assert_success
	run python3 "$SF_TOP/tests/helpers/hash_accounting.py" "$T/big.jsonl" "$T/big"
	echo "$output"
	assert_success
	# 24 opens of 4 MiB at once: 15 or 16 fit the 64 MiB beside the
	# libraries sh and cat mapped (more when the worker was done with some
	# before the consumer got to the last ones), the rest is backlog; the
	# consumer takes the 24 in about a millisecond, the worker hashes 4
	# MiB in 10 ms or more: some always are
	b=$(sed -n 's/.* backlog=\([0-9]*\) .*/\1/p' <<<"$output")
	[ "$b" -ge 1 ] && [ "$b" -le 9 ]
	assert_output --partial "opens=24 "
	assert_output --partial " other=0 "
}

@test "file hash: valgrind: the burst of 500 (the queue, its fds and the digests) leaks nothing, no invalid access" {
	mkdir "$T/b"
	python3 -c 'import sys; [open("%s/%03d" % (sys.argv[1], i), "w").write("file %d\n" % i * 40) for i in range(500)]' "$T/b"
	WRAP=(valgrind --suppressions="$SF_TOP/tests/valgrind.supp" --leak-check=full
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
		--error-exitcode=99 -q)
	run burst "$T/b" "$T/b.jsonl"
	echo "$output" | grep -v "unhandled eBPF" || true
	assert_success
	run python3 "$SF_TOP/tests/helpers/hash_accounting.py" "$T/b.jsonl" "$T/b"
	echo "$output"
	assert_success
	assert_output --partial " backlog=0 "
}

@test "file hash: --hash exec (default) and none have no file digest and no file.mmap_exec" {
	for mode in "" "--hash exec" "--hash none"; do
		# shellcheck disable=SC2086
		run "$SFAGENT" -X $mode -w d -o "$T/d.jsonl" -- cat /etc/hostname
		assert_success
		grep -q '"type":"file.open"' "$T/d.jsonl"
		! grep -q -e file.mmap_exec -e file.hash -e file_sha256 -e file_hash_state -e '"file_hash"' "$T/d.jsonl"
	done
}

@test "file hash: quixote's file_open and mmap_file, field by field against stat, the super block and sha256sum" {
	mkdir "$T/tmpfs"
	mount -t tmpfs -o size=4m tmpfs "$T/tmpfs"
	head -c 5000 /dev/urandom >"$T/tmpfs/t"
	head -c 5000 /dev/urandom >"$T/h"
	chmod 0640 "$T/h"
	chown 7:8 "$T/h"
	# read twice: the second open's record has the cached digest
	run "$SFAGENT" -X --hash open -F quixote -w q -o "$T/q.jsonl" -- \
		sh -c 'cat "$1" "$2" >/dev/null; "$3" reopen 1 "$1"; "$3" reopen 1 "$2"' sh "$T/tmpfs/t" "$T/h" "$X"
	assert_success
	run python3 - "$T/q.jsonl" "$T/tmpfs/t" "$T/h" <<'PY'
import fcntl, hashlib, json, os, subprocess, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ev = [r for r in recs if r["export"]["type"] == "async_event"]

def fs_uuid(path):
    # the super block's s_uuid, as the kernel gives it (FS_IOC_GETFSUUID)
    b = bytearray(17)
    with open(path, "rb") as f:
        fcntl.ioctl(f, 0x80111500, b)
    return b[1:1 + b[0]].hex().ljust(32, "0")

def s_id(path):
    src = subprocess.run(["findmnt", "-no", "SOURCE", "-T", path], capture_output=True, text=True).stdout.strip()
    return os.path.basename(src) if src.startswith("/dev/") else src

for path in sys.argv[2:]:
    st = os.stat(path)
    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
    magic = subprocess.run(["stat", "-f", "-c", "%t", path], capture_output=True, text=True).stdout.strip()
    opens = [r for r in ev if r["event"]["type"] == "file_open" and r["file_open"]["file"]["path"]["pathname"] == path]
    assert len(opens) == 2, (path, opens)
    for r in opens:
        f = r["file_open"]["file"]
        assert f["flags"] == str(os.O_RDONLY | 0o100000), f  # f_flags: O_LARGEFILE
        assert f["inode"] == {"uid": str(st.st_uid), "gid": str(st.st_gid),
                              "mode": "0%o" % st.st_mode, "s_magic": "0x" + magic,
                              "s_id": s_id(path), "s_uuid": fs_uuid(path)}, (f["inode"], path)
        assert f["path"] == {"dev": {"major": str(os.major(st.st_dev)), "minor": str(os.minor(st.st_dev))},
                             "type": "root", "pathname": path}, f["path"]
        assert f.get("digest", sha) == sha, f
    # the digest, at the second open at the latest (or its later record)
    d = [r["file_open"]["file"].get("digest") for r in opens]
    later = [r["file_hash"] for r in ev if r["event"]["type"] == "file_hash" and r["file_hash"]["file_ino"] == str(st.st_ino)]
    assert sha in d or [l["file_sha256"] for l in later] == [sha], (d, later)
    print(path, f["inode"], f["path"]["dev"])
m = [r for r in ev if r["event"]["type"] == "mmap_file" and "/libc.so" in r["mmap_file"]["file"]["path"]["pathname"]]
assert m, "no mmap_file of libc"
lib = m[0]["mmap_file"]
st = os.stat(lib["file"]["path"]["pathname"])
assert lib["prot"] == "5" and lib["file"]["inode"]["mode"] == "0%o" % st.st_mode, lib  # PROT_READ|PROT_EXEC
assert lib["file"].get("digest", hashlib.sha256(open(lib["file"]["path"]["pathname"], "rb").read()).hexdigest()) == \
    hashlib.sha256(open(lib["file"]["path"]["pathname"], "rb").read()).hexdigest()
# sfagent's additions stay beside TSEM's keys, as strings
assert int(lib["vm_start"], 16) <= int(lib["addr"], 16) < int(lib["vm_end"], 16) and int(lib["len"]) > 0, lib
b = [r for r in ev if r["event"]["type"] == "bprm_check_security"][0]["bprm_check_security"]["file"]
assert b["flags"] == str(0o100040) and set(b["inode"]) == {"uid", "gid", "mode", "s_magic", "s_id", "s_uuid"}, b  # + FMODE_EXEC
PY
	echo "$output"
	assert_success
}

@test "file hash: path.type is namespace in another mount namespace, chroot under chroot" {
	printf 'x\n' >"$T/n"
	mkdir -p "$T/root/bin"
	cp "$(command -v busybox)" "$T/root/bin/busybox"
	printf 'y\n' >"$T/root/f"
	run "$SFAGENT" -X -F quixote -w n -o "$T/n.jsonl" -- \
		sh -c 'unshare -m cat "$1" >/dev/null; chroot "$2" /bin/busybox cat /f >/dev/null' sh "$T/n" "$T/root"
	assert_success
	run python3 - "$T/n.jsonl" "$T/n" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ev = [r for r in ev if r["export"]["type"] == "async_event" and r["event"]["type"] == "file_open"]
t = {r["file_open"]["file"]["path"]["pathname"]: r["file_open"]["file"]["path"].get("type") for r in ev}
assert t[sys.argv[2]] == "namespace" and t["/f"] == "chroot", t
PY
	echo "$output"
	assert_success
}

@test "file hash: cadets names the mapped file with the UUID of its open; no arg_objuuid2 anywhere" {
	run "$SFAGENT" -X --hash open -F cadets -w c -o "$T/c.json" -- true
	assert_success
	run python3 - "$T/c.json" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))
o = [e for e in ev if e["event"].startswith("audit:event:aue_openat") and "/libc.so" in e.get("upath1", "")]
m = [e for e in ev if e["event"] == "audit:event:aue_mmap:" and "/libc.so" in e.get("file", "")]
assert o and m, (o, m)
assert m[0]["arg_objuuid1"] == o[0]["ret_objuuid1"], (m[0], o[0])
assert m[0]["prot"] == "PROT_READ|PROT_EXEC" and "file_sha256" in m[0] or "file_hash_state" in m[0], m[0]
assert not any("arg_objuuid2" in e for e in ev)
PY
	echo "$output"
	assert_success
}
