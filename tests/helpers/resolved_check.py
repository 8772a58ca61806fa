#!/usr/bin/env python3
"""Checks a stream's resolved paths against what the workload
(tests/workloads/resolved.c) found with readlink/realpath.

  resolved_check.py STREAM.jsonl EXPECT.json [--host-path P] [--no-host-path]

Each expectation is looked for in order, after the previous one's record
(one thread: the stream's order is the calls' order), by type, syscall and
path.  resolved and resolved2 must be equal (a partial one: the kernel's
name ends with it), deleted / resolved_lexical / resolved_partial present
exactly when expected.  host_path: --host-path P wants P on every file.open
expected; a host_path in an expectation wants that; --no-host-path wants
none anywhere (the host's own tasks).
"""
import json
import sys


def main():
    args = sys.argv[1:]
    host = None
    no_host = False
    if "--host-path" in args:
        i = args.index("--host-path")
        host = args[i + 1]
        del args[i:i + 2]
    if "--no-host-path" in args:
        args.remove("--no-host-path")
        no_host = True
    ev = [json.loads(l) for l in open(args[0])]
    exp = [json.loads(l) for l in open(args[1])]
    if not exp:
        sys.exit("no expectations: the workload did nothing")
    pos, bad = 0, []
    for x in exp:
        for i in range(pos, len(ev)):
            e = ev[i]
            if (e.get("type") == x["type"] and e.get("syscall") == x["syscall"]
                    and e.get("ret", 0) >= 0
                    and ("path" not in x or e.get("path") == x["path"])):
                break
        else:
            bad.append("no record for %r" % x)
            continue
        pos = i + 1
        why = []
        partial = x.get("resolved_partial", False)
        r = e.get("resolved")
        if partial:
            if e.get("resolved_partial") is not True:
                why.append("resolved_partial missing")
            if not r or not x["resolved"].endswith(r) or r == x["resolved"]:
                why.append("a partial resolved %r is not a proper tail of %r" % (r, x["resolved"]))
        else:
            if r != x["resolved"]:
                why.append("resolved %r, want %r" % (r, x["resolved"]))
            if "resolved_partial" in e:
                why.append("resolved_partial on a complete path")
        if e.get("resolved2") != x.get("resolved2"):
            why.append("resolved2 %r, want %r" % (e.get("resolved2"), x.get("resolved2")))
        if e.get("deleted", False) != x.get("deleted", False):
            why.append("deleted %r, want %r" % (e.get("deleted"), x.get("deleted", False)))
        if e.get("resolved_lexical", False) != x.get("resolved_lexical", False):
            why.append("resolved_lexical %r" % e.get("resolved_lexical"))
        want_host = x.get("host_path")
        if host is not None and x["type"] == "file.open":
            want_host = host
        if want_host is not None and e.get("host_path") != want_host:
            why.append("host_path %r, want %r" % (e.get("host_path"), want_host))
        if no_host and "host_path" in e:
            why.append("host_path %r for a host task" % e["host_path"])
        if why:
            bad.append("%s %s: %s\n    %s" % (x["type"], x.get("path", ""), "; ".join(why), json.dumps(e)))
    for b in bad:
        print(b)
    print("%d expectations, %d failed" % (len(exp), len(bad)))
    sys.exit(1 if bad else 0)


main()
