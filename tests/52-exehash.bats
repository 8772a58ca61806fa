#!/usr/bin/env bats
# Binary digests on process.exec (agent/exehash.c, docs/events.md "Binary
# digests"): each digest equals sha256sum of the binary that ran, whatever
# happened to the file after the exec, and none is ever wrong.  File
# identity on file events (bpf/ident.bpf.h, docs/events.md "File identity").

load test_helper

setup() {
	T=$(mktemp -d)
	X="$SF_WORKLOADS/exehash"
}

teardown() {
	rm -rf "$T"
}

# the digest of the exec of $2 in stream $1: from the exec record, or from
# the process.exe_hash record that follows a pending one; or the state
digest_of() {
	python3 - "$1" "$2" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ex = [r for r in recs if r["type"] == "process.exec" and r.get("exe") == sys.argv[2]]
assert len(ex) == 1, ("execs of", sys.argv[2], ex)
e = ex[0]
if "exe_sha256" in e:
    print(e["exe_sha256"])
elif e["exe_hash_state"] != "pending":
    print(e["exe_hash_state"])
else:
    later = [r for r in recs if r["type"] == "process.exe_hash" and r["exec_seq"] == e["seq"]]
    assert len(later) == 1, later
    l = later[0]
    assert l["seq"] > e["seq"] and l["pid"] == e["pid"], l
    assert (l["exe_dev"], l["exe_ino"], l["exe_ctime"]) == (e["exe_dev"], e["exe_ino"], e["exe_ctime"]), l
    print(l.get("exe_sha256") or l["exe_hash_state"])
PY
}

@test "exe hash: a normal binary, a memfd, json schema" {
	cp /bin/sleep "$T/sl"
	run "$SFAGENT" -X -w h -o "$T/s.jsonl" -- "$T/sl" 0.2
	assert_success
	run digest_of "$T/s.jsonl" "$T/sl"
	assert_success
	assert_output "$(sha256sum <"$T/sl" | cut -d' ' -f1)"
	# a memfd exec: what ran is the memfd's bytes
	run "$SFAGENT" -X -w m -o "$T/m.jsonl" -- "$X" memfd /bin/sleep 0.2
	assert_success
	run digest_of "$T/m.jsonl" "/memfd:sfagent-exehash"
	assert_success
	assert_output "$(sha256sum </bin/sleep | cut -d' ' -f1)"
	run python3 "$SF_TOP/tests/schema_check.py" "$SF_TOP/docs/events.md" "$T/s.jsonl" "$T/m.jsonl"
	echo "$output"
	assert_output --regexp ', 0 problems$'
}

@test "exe hash: deleted, replaced, chmod'ed after exec; replaced or changed after exit" {
	# the agent is stopped while the file changes: it hashes what ran
	want=$(sha256sum </bin/sleep | cut -d' ' -f1)
	for m in delete rename chmod; do
		cp /bin/sleep "$T/$m"
		run "$SFAGENT" -X -w "$m" -o "$T/$m.jsonl" -- "$X" after "$m" "$T/$m"
		assert_success
		run digest_of "$T/$m.jsonl" "$T/$m"
		echo "$m: $output"
		assert_output "$want"
	done
	[ ! -e "$T/delete" ]
	# what the name leads to now is another binary
	[ "$(sha256sum <"$T/rename" | cut -d' ' -f1)" = "$(sha256sum </bin/true | cut -d' ' -f1)" ]
	# gone before the agent looked: the path is used only for the very
	# inode, unchanged; else no digest, and why
	cp /bin/sleep "$T/gr"
	run "$SFAGENT" -X -w gr -o "$T/gr.jsonl" -- "$X" after exit-rename "$T/gr"
	assert_success
	run digest_of "$T/gr.jsonl" "$T/gr"
	assert_output exited
	cp /bin/sleep "$T/gc"
	run "$SFAGENT" -X -w gc -o "$T/gc.jsonl" -- "$X" after exit-chmod "$T/gc"
	assert_success
	run digest_of "$T/gc.jsonl" "$T/gc"
	assert_output changed
	# and no digest of the wrong bytes anywhere in those streams
	run grep -c "$(sha256sum </bin/true | cut -d' ' -f1)" "$T/gr.jsonl" "$T/rename.jsonl"
	refute_output --regexp ':[1-9]'
	run grep -l "\"exe\":\"$T/gc\".*exe_sha256" "$T/gc.jsonl"
	assert_failure
}

@test "exe hash: 10,000 execs of one binary hash it once (the cache)" {
	cp /bin/true "$T/tr"
	want=$(sha256sum <"$T/tr" | cut -d' ' -f1)
	run "$SFAGENT" -X -w l --ringbuf-size 64M -o "$T/l.jsonl" -- "$X" loop 10000 "$T/tr"
	assert_success
	run python3 - "$T/l.jsonl" "$T/tr" "$want" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
end = recs[-1]
assert end["type"] == "stream.end" and end["missed"] == 0, end
ex = [r for r in recs if r["type"] == "process.exec" and r.get("exe") == sys.argv[2]]
assert len(ex) == 10000, len(ex)
# computed once (the workload itself and its loader make the other ones)
assert end["exe_hash"]["computed"] <= 3, end
got = {r.get("exe_sha256") for r in ex if "exe_sha256" in r}
assert got == {sys.argv[3]}, got
pending = [r for r in ex if r.get("exe_hash_state") == "pending"]
later = [r for r in recs if r["type"] == "process.exe_hash" and r.get("exe_sha256") == sys.argv[3]]
# the execs that came while it was being hashed: one later record says
# how many waited
assert sum(l["execs"] for l in later) == len(pending) and len(later) <= 1, (len(pending), later)
assert not later or later[0]["exec_seq"] == pending[0]["seq"], later
assert len([r for r in ex if "exe_sha256" in r]) + len(pending) == 10000
# the cache answered every other exec: at once, or (under load, while the
# first hash was still running) through the one later record
assert end["exe_hash"]["cached"] + len(pending) >= 9999, (end, len(pending))
print(end["exe_hash"])
PY
	echo "$output"
	assert_success
}

@test "exe hash: quixote's bprm_check digest, cadets, --hash none, a bad --hash" {
	cp /bin/sleep "$T/sl"
	want=$(sha256sum <"$T/sl" | cut -d' ' -f1)
	# run twice in one stream: the second is answered by the cache
	run "$SFAGENT" -X -w q -F quixote -o "$T/q.jsonl" -- sh -c "$T/sl 0.2; $T/sl 0"
	assert_success
	run python3 - "$T/q.jsonl" "$T/sl" "$want" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
b = [r["bprm_check_security"] for r in recs if r.get("event", {}).get("type") == "bprm_check_security" and r["bprm_check_security"]["file"]["path"]["pathname"] == sys.argv[2]]
assert len(b) == 2, b
assert b[1]["file"]["digest"] == sys.argv[3], b[1]
assert b[1]["exe_sha256"] == sys.argv[3], b[1]
PY
	echo "$output"
	assert_success
	run "$SFAGENT" -X -w c -F cadets -o "$T/c.jsonl" -- sh -c "$T/sl 0.2; $T/sl 0"
	assert_success
	run grep -c "\"exe_sha256\":\"$want\"" "$T/c.jsonl"
	assert_output --regexp '^[12]$'
	run "$SFAGENT" -X -w n --hash none -o "$T/n.jsonl" -- "$T/sl" 0
	assert_success
	run grep -cE 'exe_sha256|exe_hash' "$T/n.jsonl"
	assert_output 0
	run "$SFAGENT" -X -w n --hash md5 -o "$T/o.jsonl" -- true
	assert_failure 2
	assert_output --partial "bad --hash \`md5\`"
}

@test "file identity: open and fchmod carry the inode's dev, ino, mode, owner, ctime and file system" {
	echo data >"$T/f"
	chown 123:456 "$T/f"
	run "$SFAGENT" -X -w id -o "$T/i.jsonl" -- python3 -c "
import os
fd = os.open('$T/f', os.O_RDONLY)
os.fchmod(fd, 0o640)
os.close(fd)
open('/proc/self/stat').read()
"
	assert_success
	fs=$(findmnt -no FSTYPE -T "$T/f")
	run python3 - "$T/i.jsonl" "$T/f" "$fs" <<'PY'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
st = os.stat(sys.argv[2])
o = [r for r in recs if r["type"] == "file.open" and r.get("path") == sys.argv[2]]
assert len(o) == 1, o
o = o[0]
assert o["file_ino"] == st.st_ino, o
assert o["file_dev"] == "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev)), o
assert o["file_mode"] == "0100644", o  # at the open, before the fchmod
assert (o["file_uid"], o["file_gid"]) == (123, 456), o
assert o["file_fs"] == sys.argv[3], (o, sys.argv[3])
assert o["file_ctime"] > 0
c = [r for r in recs if r["type"] == "file.chmod" and r.get("fd") == o["fd"]]
assert len(c) == 1 and c[0]["file_ino"] == st.st_ino and c[0]["file_mode"] == "0100640", c
p = [r for r in recs if r["type"] == "file.open" and r.get("path") == "/proc/self/stat"]
assert p and p[0]["file_fs"] == "proc", p
assert o["file_generation"] == c[0]["file_generation"]
# a failed open names no file
bad = [r for r in recs if r["type"] == "file.open" and r["ret"] < 0]
assert bad and not [r for r in bad if "file_ino" in r], bad[:1]
PY
	echo "$output"
	assert_success
	# cadets: the same file has the same object UUID at the open and the
	# fchmod, although the fchmod changed its ctime
	run "$SFAGENT" -X -w id -F cadets -o "$T/c.json" -- python3 -c "
import os
fd = os.open('$T/f', os.O_RDONLY)
os.fchmod(fd, 0o600)
os.close(fd)
"
	assert_success
	run python3 - "$T/c.json" "$T/f" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))
o = [e for e in ev if e.get("upath1") == sys.argv[2] and "ret_objuuid1" in e]
c = [e for e in ev if "aue_fchmod" in e.get("event", "") and "arg_objuuid1" in e]
assert len(o) == 1 and len(c) == 1, (o, c)
assert o[0]["ret_objuuid1"] == c[0]["arg_objuuid1"], (o, c)
PY
	echo "$output"
	assert_success
}
