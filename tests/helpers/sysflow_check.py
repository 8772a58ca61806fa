#!/usr/bin/python3
"""Checks an -F sysflow file with an independent reader (Debian's python3-avro).

usage: sysflow_check.py FILE FACTS AVSC      the fidelity workload's file
       sysflow_check.py --self-contained FILE...  each readable on its own
       sysflow_check.py --count FILE         records readable (a cut file too)
       sysflow_check.py --syncs FILE         offsets just after each sync marker
       sysflow_check.py --flows FILE FACTS   flow counts of flow_workload.py
       sysflow_check.py --uring-flows FILE FACTS   of tests/workloads/uringflow.c
       sysflow_check.py --flows32 FILE FACTS     of tests/workloads/flow32.c
"""
import json
import sys

import avro.datafile
import avro.io

# sf-apis 0.6.1 avro/avsc/SysFlow.avsc: the union, in order (written out
# here, independently of the schema file the agent compiles in)
UNION = ["SFHeader", "Container", "Process", "File", "ProcessEvent",
         "NetworkFlow", "FileFlow", "FileEvent", "NetworkEvent",
         "ProcessFlow", "Pod", "K8sEvent"]
OP = {"CLONE": 1, "EXEC": 2, "EXIT": 4, "OPEN": 1 << 7, "CLOSE": 1 << 10,
      "CONNECT": 1 << 6, "ACCEPT": 1 << 5, "MKDIR": 1 << 15,
      "RMDIR": 1 << 16, "LINK": 1 << 17, "UNLINK": 1 << 18,
      "SYMLINK": 1 << 19, "RENAME": 1 << 20, "READ": 1 << 8,
      "WRITE": 1 << 9}


def records(path):
    """(kind, record) in file order; with the raw schema text"""
    with open(path, "rb") as f:
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        schema = json.loads(r.meta["avro.schema"].decode())
        out = []
        try:
            for x in r:
                out.append(x["rec"])
        except Exception:  # a cut file: what was readable
            pass
        return schema, out


def kind_of(rec, schema):
    """the union branch a decoded record came from, by its fields"""
    for br in schema["fields"][0]["type"]:
        if set(f["name"] for f in br["fields"]) == set(rec):
            return br["name"]
    raise AssertionError("no branch has fields %s" % sorted(rec))


def fields(schema):
    def t(x):
        if isinstance(x, dict):
            return x.get("name") or x["type"]
        if isinstance(x, list):
            return [t(y) for y in x]
        return x
    return [(br["name"], [(f["name"], t(f["type"])) for f in br["fields"]])
            for br in schema["fields"][0]["type"]]


def self_contained(schema, recs):
    """header first, once; every OID referenced defined before, in this file"""
    kinds = [kind_of(r, schema) for r in recs]
    assert kinds and kinds[0] == "SFHeader" and recs[0]["version"] == 5, recs[:1]
    assert kinds.count("SFHeader") == 1
    procs, files = {}, set()
    for k, r in zip(kinds, recs):
        if k == "Process":
            oid = (r["oid"]["createTS"], r["oid"]["hpid"])
            if r["poid"] is not None:
                p = (r["poid"]["createTS"], r["poid"]["hpid"])
                assert p in procs, ("parent before child", r)
            procs[oid] = r
        elif k == "File":
            files.add(r["oid"])
        elif k in ("ProcessEvent", "FileEvent", "FileFlow", "NetworkFlow"):
            oid = (r["procOID"]["createTS"], r["procOID"]["hpid"])
            assert oid in procs, ("process before use", k, r)
            for key in ("fileOID", "newFileOID"):
                if r.get(key) is not None:
                    assert r[key] in files, ("file before use", k, r)
    return kinds, procs


def counts(f):
    return (f["numRRecvOps"], f["numRRecvBytes"], f["numWSendOps"], f["numWSendBytes"])


def total(flows):
    return tuple(sum(c) for c in zip(*[counts(f) for f in flows]))


def check_flows(path, facts):
    """the counts flow_workload.py made, exactly; split flows summed"""
    facts = json.load(open(facts))
    schema, recs = records(path)
    kinds, procs = self_contained(schema, recs)
    by = lambda k: [r for kk, r in zip(kinds, recs) if kk == k
                    and r["procOID"]["hpid"] == facts["pid"]]
    path_of = {r["oid"]: r["path"] for r in recs if "restype" in r}
    ff = by("FileFlow")
    named = lambda n: [f for f in ff if path_of[f["fileOID"]].endswith("/" + n)]
    # every flow's last piece is closed, the ones before are not
    def pieces_ok(fl):
        assert fl and all(not f["opFlags"] & OP["CLOSE"] for f in fl[:-1]), fl
        assert fl[-1]["opFlags"] & OP["CLOSE"], fl
        assert all(b["ts"] == a["endTs"] for a, b in zip(fl, fl[1:])), fl
    w = named("w")
    wr = [f for f in w if f["openFlags"] & 3 == 1]
    rd = [f for f in w if f["openFlags"] & 3 == 0]
    pieces_ok(wr), pieces_ok(rd)
    assert total(wr) == (0, 0, 5, 500), wr
    assert total(rd) == (4, 500, 0, 0), rd
    assert wr[0]["opFlags"] & OP["WRITE"] and not wr[0]["opFlags"] & OP["READ"], wr
    # close, then the same fd number again: two flows
    r1 = named("r1")
    assert len(r1) == 2 and all(f["fd"] == facts["reuse_fd"] for f in r1), r1
    assert counts(r1[0]) == (0, 0, 1, 7) and counts(r1[1]) == (0, 0, 2, 6), r1
    assert all(f["opFlags"] & OP["CLOSE"] for f in r1), r1
    # the loopback connection: each end's NetworkFlow, both ports
    lo = 0x0100007F
    nf = by("NetworkFlow")
    tup = lambda f: (f["sip"], f["sport"], f["dip"], f["dport"], f["proto"])
    want = (lo, facts["client_port"], lo, facts["server_port"], 6)
    con = [f for f in nf if f["opFlags"] & OP["CONNECT"] and tup(f) == want]
    acc = [f for f in nf if f["opFlags"] & OP["ACCEPT"] and tup(f) == want]
    pieces_ok(con), pieces_ok(acc)
    assert total(con) == (2, 100, 3, 3000), (con, nf)
    assert total(acc) == (3, 3000, 2, 100), (acc, nf)
    n = 0
    if "long_writes" in facts:
        lf = named("long")
        pieces_ok(lf)
        n = len(lf)
        assert n >= 2, lf
        assert total(lf) == (0, 0, facts["long_writes"], 10 * facts["long_writes"]), lf
        # each piece holds the writes of its own interval only
        assert all(f["numWSendOps"] < facts["long_writes"] for f in lf), lf
    print(n)

def flows_of(path, facts):
    """the workload's FileFlows by file name (a list each, in order), and
    the client's and the server's NetworkFlows of the loopback pair"""
    facts = json.load(open(facts))
    schema, recs = records(path)
    kinds, procs = self_contained(schema, recs)
    by = lambda k: [r for kk, r in zip(kinds, recs) if kk == k
                    and r["procOID"]["hpid"] == facts["pid"]]
    path_of = {r["oid"]: r["path"] for r in recs if "restype" in r}
    files = {}
    for f in by("FileFlow"):
        files.setdefault(path_of[f["fileOID"]].rsplit("/", 1)[-1], []).append(f)
    lo = 0x0100007F
    tup = lambda f: (f["sip"], f["sport"], f["dip"], f["dport"], f["proto"])
    want = (lo, facts["client_port"], lo, facts["server_port"], 6)
    nf = [f for f in by("NetworkFlow") if tup(f) == want]
    con = [f for f in nf if f["opFlags"] & OP["CONNECT"]]
    acc = [f for f in nf if f["opFlags"] & OP["ACCEPT"]]
    return files, con, acc


def mode(fl, m):
    return [f for f in fl if f["openFlags"] & 3 == m]


def check_closed(*fls):
    for fl in fls:
        assert fl and fl[-1]["opFlags"] & OP["CLOSE"], fl


def check_uring_flows(path, facts):
    """the counts uringflow.c made through io_uring, exactly"""
    files, con, acc = flows_of(path, facts)
    u = files["u"]
    wr, rd = mode(u, 1), mode(u, 0)
    check_closed(wr, rd, con, acc)
    # 4 writes of 256 and a writev of 128; the ring's openat, 3 reads of
    # 384, the ring's close (which ended the flow)
    assert total(wr) == (0, 0, 5, 1152), u
    assert total(rd) == (3, 1152, 0, 0), u
    # a write of 33 and a writev of 2 x 16 with no completion
    # (CQE_SKIP_SUCCESS), a write of 7
    assert total(files["s"]) == (0, 0, 3, 72), files["s"]
    # the fixed file's writes are in no flow (stream.end counts them)
    assert total(files["fx"]) == (0, 0, 0, 0), files["fx"]
    # send 3 x 1000, recvmsg 100, send(2) 3 x 100; recv 3000, sendmsg 2 x
    # 50 (the second with no completion), a multishot recv's 3 x 100
    assert total(con) == (1, 100, 6, 3300), con
    assert total(acc) == (4, 3300, 2, 100), acc


def check_flows32(path, facts):
    """the counts flow32.c made through ia32 syscalls, exactly"""
    files, con, acc = flows_of(path, facts)
    f = files["f32"]
    wr, rd = mode(f, 1), mode(f, 0)
    check_closed(wr, rd, con, acc)
    # write 3 x 100, writev 40, pwrite64 8; read 150, readv 150, pread64 48
    assert total(wr) == (0, 0, 5, 348), f
    assert total(rd) == (3, 348, 0, 0), f
    # send 3 x 500 + sendmsg 10 + sendmmsg 2 x 5, recvfrom 2 x 25; recv
    # 1500 + recvmsg 10 + recvmmsg 2 x 5, sendto 2 x 25
    assert total(con) == (2, 50, 6, 1520), con
    assert total(acc) == (4, 1520, 2, 50), acc


def main():
    if sys.argv[1] == "--uring-flows":
        check_uring_flows(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1] == "--flows32":
        check_flows32(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1] == "--flows":
        check_flows(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1] == "--self-contained":
        for path in sys.argv[2:]:
            schema, recs = records(path)
            self_contained(schema, recs)
            print(path, len(recs))
        return
    if sys.argv[1] == "--count":
        print(len(records(sys.argv[2])[1]))
        return
    if sys.argv[1] == "--syncs":
        data = open(sys.argv[2], "rb").read()
        with open(sys.argv[2], "rb") as f:
            sync = avro.datafile.DataFileReader(f, avro.io.DatumReader()).sync_marker
        i, offs = 0, []
        while True:
            i = data.find(sync, i)
            if i < 0:
                break
            i += len(sync)
            offs.append(i)
        print(" ".join(map(str, offs)))
        return
    path, facts, avsc = sys.argv[1:4]
    facts = json.load(open(facts))
    schema, recs = records(path)
    # the embedded schema is sf-apis' (names, union order, field types)
    assert [b["name"] for b in schema["fields"][0]["type"]] == UNION, schema
    assert fields(schema) == fields(json.load(open(avsc))), "schema differs"
    kinds, procs = self_contained(schema, recs)
    by = lambda k: [r for kk, r in zip(kinds, recs) if kk == k]
    # the process tree: the children hang off the workload's OID
    me = [o for o in procs if o[1] == facts["pid"]]
    assert len(me) == 1, me
    me = me[0]
    for child in ("exec_child", "kill_child", "uid_child"):
        c = [p for o, p in procs.items() if o[1] == facts[child]]
        assert c, child
        assert all(p["poid"] and (p["poid"]["createTS"], p["poid"]["hpid"]) == me
                   for p in c), (child, c)
    sh = [p for o, p in procs.items() if o[1] == facts["exec_child"] and p["exe"] == "/bin/sh"]
    assert sh and sh[-1]["exeArgs"] == "-c exit 5", sh
    ex = [e for e in by("ProcessEvent") if e["opFlags"] == OP["EXIT"]
          and e["procOID"]["hpid"] == facts["exec_child"]]
    assert ex and ex[0]["ret"] == 5, ex
    clones = [e for e in by("ProcessEvent") if e["opFlags"] == OP["CLONE"]
              and e["procOID"]["hpid"] == facts["pid"]]
    assert {facts[c] for c in ("exec_child", "kill_child", "uid_child")} <= {e["ret"] for e in clones}
    # the FileFlow of the file written, with its name and flags
    path_of = {r["oid"]: r["path"] for r in by("File")}
    d = facts["dir"]
    ff = [f for f in by("FileFlow") if path_of[f["fileOID"]] == d + "/a"]
    assert len(ff) == 1, ff
    assert ff[0]["openFlags"] & 0o3 == 1 and ff[0]["openFlags"] & 0o1100 == 0o1100, ff
    assert ff[0]["opFlags"] == OP["OPEN"] | OP["WRITE"] | OP["CLOSE"] and ff[0]["endTs"] >= ff[0]["ts"]
    # its one write(2) of 9 bytes, counted in the kernel
    assert counts(ff[0]) == (0, 0, 1, 9), ff
    # FileEvents with the right files
    fe = by("FileEvent")
    ren = [e for e in fe if e["opFlags"] == OP["RENAME"] and path_of[e["fileOID"]] == d + "/a"]
    assert ren and path_of[ren[0]["newFileOID"]] == d + "/b", ren
    for op, name in (("MKDIR", "sub"), ("RMDIR", "sub"), ("UNLINK", "c")):
        assert [e for e in fe if e["opFlags"] == OP[op] and path_of[e["fileOID"]] == d + "/" + name], op
    assert [e for e in fe if e["opFlags"] == OP["SYMLINK"] and path_of[e["newFileOID"]] == d + "/d"]
    # the loopback connection: connect and accept, TCP, the port
    lo = 0x0100007F  # 127.0.0.1's bytes read as a little-endian int
    nf = by("NetworkFlow")
    con = [f for f in nf if f["opFlags"] & OP["CONNECT"] and f["dport"] == facts["port"]]
    assert con and con[0]["dip"] == lo and con[0]["proto"] == 6, nf
    acc = [f for f in nf if f["opFlags"] & OP["ACCEPT"]]
    assert acc and acc[0]["sip"] == lo and acc[0]["proto"] == 6 and acc[0]["sport"] > 0, nf
    print(len(recs))


main()
