#!/usr/bin/env bats
# -F quixote and -F cadets, parsed back and checked field by field for a
# known workload (tests/workloads/sinkload.c `known`).  Ports 17350-17359.

load test_helper
load helpers/sinks

setup() {
	sinks_setup
	mkdir "$SINK_DIR/w"
}

teardown() {
	sinks_teardown
}

@test "formats: quixote is TSEM's export layout, values as strings" {
	run "$SFAGENT" -X -w known -F quixote -o "$SINK_DIR/q.jsonl" -- "$SINKLOAD" known "$SINK_DIR/w" 17359
	assert_success
	run python3 - "$SINK_DIR/q.jsonl" "$SINK_DIR/w" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
d = sys.argv[2]
assert recs[0]["export"]["type"] == "stream.start", recs[0]
assert recs[0]["sfagent"]["format"] == "quixote"
assert recs[-1]["export"]["type"] == "stream.end"
ev = [r for r in recs if r["export"]["type"] == "async_event"]
assert recs[-1]["sfagent"]["events"] == len(ev)
for r in ev:
    e = r["event"]
    # TSEM writes every value as a string
    for k in ("number", "pid", "tid", "ppid", "ts", "type", "process"):
        assert isinstance(e[k], str), (k, r)
    assert set(r["COE"]) == {"uid", "euid", "suid", "gid", "egid", "sgid", "fsuid", "fsgid"}, r
    assert all(isinstance(v, str) for v in r["COE"].values())
    assert e["type"] in r, r  # the body is keyed by the event type
    assert e["workload"] == "known"
mine = [r for r in ev if r["event"]["process"] == "sinkload"]
def one(t, pred=lambda r: True):
    m = [r for r in mine if r["event"]["type"] == t and pred(r)]
    assert m, t
    return m[0]
pid = one("bprm_check_security")["event"]["pid"]
x = one("bprm_check_security")["bprm_check_security"]
assert x["file"]["path"]["pathname"].endswith("/sinkload") and x["argv"][1:] == ["known", d, "17359"], x
o = one("file_open", lambda r: r["file_open"]["file"]["path"]["pathname"] == d + "/known-a")
# TSEM's file.flags is the struct file's f_flags (O_LARGEFILE|O_WRONLY);
# open(2)'s argument (O_WRONLY|O_CREAT|O_TRUNC) is sfagent's open_flags
assert o["file_open"]["file"]["flags"] == str(0o100001), o
assert o["file_open"]["open_flags"] == str(0o1101), o
assert o["file_open"]["mode"] == "0600" and int(o["event"]["ret"]) >= 0
r = one("inode_rename")["inode_rename"]
assert r["old_dentry"]["path"]["pathname"] == d + "/known-a"
assert r["new_dentry"]["path"]["pathname"] == d + "/known-b"
# TSEM's dentry{inode, path}
assert one("inode_unlink")["inode_unlink"]["dentry"]["path"]["pathname"] == d + "/known-b"
m = one("inode_mkdir")["inode_mkdir"]
assert m["dentry"]["path"]["pathname"] == d + "/known-d" and m["mode"] == "0700"
assert one("inode_rmdir")["inode_rmdir"]["dentry"]["path"]["pathname"] == d + "/known-d"
s = one("socket_create")["socket_create"]
assert (s["family"], s["type"], s["protocol"]) == ("2", "1", "0"), s
c = one("socket_connect")
assert c["socket_connect"]["addr"]["af_inet"] == {"port": "17359", "address": "127.0.0.1"}, c
assert c["event"]["ret"] == "-111"  # ECONNREFUSED
k = one("task_kill")["task_kill"]
assert k["signal"] == "0" and k["target"] == pid, k
assert one("task_free")["task_free"]["exit_code"] == "0"
for r in mine:
    assert r["event"]["pid"] == pid and r["COE"]["uid"] == "0" and r["COE"]["euid"] == "0"
print("ok", len(ev))
PY
	echo "$output"
	assert_success
}

@test "formats: cadets file is one valid JSON array of CADETS trace events" {
	run "$SFAGENT" -X -w known -F cadets -o "$SINK_DIR/c.json" -- "$SINKLOAD" known "$SINK_DIR/w" 17359
	assert_success
	run python3 - "$SINK_DIR/c.json" "$SINK_DIR/w" <<'PY'
import json, re, sys
recs = json.load(open(sys.argv[1]))  # the whole file is valid JSON
d = sys.argv[2]
assert isinstance(recs, list)
assert recs[0]["event"] == "sfagent:stream:start:" and recs[0]["sfagent"]["format"] == "cadets"
assert recs[-1]["event"] == "sfagent:stream:end:"
ev = recs[1:-1]
assert recs[-1]["sfagent"]["events"] == len(ev)
uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
for e in ev:
    assert re.match(r"^(audit:event:aue_[a-z0-9_]+|sfagent:[a-z]+:[a-z_]+):$", e["event"]), e
    for k in ("time", "pid", "ppid", "tid", "uid"):
        assert isinstance(e[k], int), (k, e)
    assert isinstance(e["exec"], str) and uuid.match(e["subjuuid"]), e
mine = [e for e in ev if e["exec"] == "sinkload"]
def one(name, pred=lambda e: True):
    m = [e for e in mine if e["event"] == "audit:event:%s:" % name and pred(e)]
    assert m, name
    return m[0]
x = one("aue_execve")
pid = x["pid"]
assert x["upath1"].endswith("/sinkload") and x["cmdline"].endswith("known %s 17359" % d), x
o = one("aue_openat_wtc", lambda e: e["upath1"] == d + "/known-a")
assert o["fd"] == o["retval"] and o["fd"] >= 0, o
r = one("aue_rename")
assert (r["upath1"], r["upath2"]) == (d + "/known-a", d + "/known-b"), r
assert one("aue_unlink")["upath1"] == d + "/known-b"
assert one("aue_mkdir")["upath1"] == d + "/known-d" and one("aue_mkdir")["mode"] == 0o700
assert one("aue_rmdir")["upath1"] == d + "/known-d"
s = one("aue_socket")
assert (s["domain"], s["type"], s["fd"]) == (2, 1, s["retval"]), s
c = one("aue_connect")
assert (c["address"], c["port"], c["retval"], c["fd"]) == ("127.0.0.1", 17359, -111, s["fd"]), c
k = one("aue_kill")
assert (k["arg_pid"], k["signum"]) == (pid, 0), k
assert one("aue_exit")["exit_status"] == 0
# one stable subject UUID per process
assert len({e["subjuuid"] for e in mine}) == 1 and all(e["pid"] == pid for e in mine)
print("ok", len(ev))
PY
	echo "$output"
	assert_success
}

@test "formats: cadets over MQTT is one bare event per message; rotated cadets files are each valid JSON" {
	mqtt_start 17350
	sub_start a 'c/x'
	run "$SFAGENT" -X -w cm -F cadets -b 127.0.0.1 -p 17350 -t c/x -- "$SINKLOAD" opens 20
	assert_success
	wait_for 30 grep -q 'sfagent:stream:end:' "$SINK_DIR/a.out"
	run python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
recs = [json.loads(l) for l in lines]  # each message alone is a JSON object
assert all(isinstance(r, dict) for r in recs)
assert recs[0]["event"] == "sfagent:stream:start:" and recs[-1]["event"] == "sfagent:stream:end:"
' "$SINK_DIR/a.out"
	assert_success
	run "$SFAGENT" -X -w cr -F cadets --max-size 1 -o "$SINK_DIR/r.json" -- "$SINKLOAD" opens 8000
	assert_success
	n=0
	for f in "$SINK_DIR"/r.json*; do
		python3 -c 'import json,sys; assert isinstance(json.load(open(sys.argv[1])), list)' "$f"
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
}

@test "formats: unknown format is a usage error naming the choices" {
	run "$SFAGENT" -X -F xml -o "$SINK_DIR/x" -- /bin/true
	assert_failure 2
	assert_output --partial 'unknown format `xml`: choose one of json, quixote, cadets'
	[ ! -e "$SINK_DIR/x" ]
}
