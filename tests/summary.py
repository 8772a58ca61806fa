#!/usr/bin/env python3
"""Prints a short human summary of an sfagent stream (JSON lines)."""
import collections
import json
import sys


def line(e):
    t = e["type"]
    who = "%s[%s]" % (e.get("comm", "?"), e.get("pid", "?"))
    if t == "process.exec":
        what = " ".join(e.get("argv") or [e.get("filename", "")])
    elif t in ("process.fork",):
        what = "child %s" % e.get("child_pid")
    elif t == "process.exit":
        what = "exit %s%s" % (e.get("exit_code"), " " + e["sig"] if "sig" in e else "")
    elif t.startswith("file."):
        what = e.get("path") or "fd %s" % e.get("fd")
        if "newpath" in e:
            what += " -> " + e["newpath"]
    elif t.startswith("net."):
        what = "%s %s:%s" % (e.get("family", ""), e.get("addr", ""), e.get("port", ""))
    elif t == "signal.kill":
        what = "%s to %s" % (e.get("sig"), e.get("target_pid", e.get("target_tid")))
    elif t == "cap.capable":
        what = "%s %s" % (e.get("cap_name"), "granted" if e.get("granted") else "denied")
    else:
        what = ""
    ret = " = %s" % e["ret"] if "ret" in e and t != "cap.capable" else ""
    what = what.replace("\n", "\\n").replace("\t", " ")
    if len(what) > 90:
        what = what[:87] + "..."
    return "  %-15s %-18s %s%s" % (t, who, what, ret)


def main(path):
    ev = [json.loads(l) for l in open(path)]
    start = ev[0] if ev and ev[0]["type"] == "stream.start" else {}
    end = ev[-1] if ev and ev[-1]["type"] == "stream.end" else {}
    counts = collections.Counter(e["type"] for e in ev if not e["type"].startswith("stream."))
    print("stream %s: workload %s, %d records, %s events, %s missed"
          % (path, start.get("workload", "?"), len(ev), end.get("events", "?"),
             end.get("missed", "?")))
    print("events by type:")
    for t, n in sorted(counts.items()):
        print("  %-15s %6d" % (t, n))
    interesting = [e for e in ev if not e["type"].startswith("stream.")
                   and not (e["type"] == "file.open" and e.get("path", "").startswith(("/etc/ld.so", "/lib", "/usr/lib")))]
    print("first events:")
    for e in interesting[:12]:
        print(line(e))


if __name__ == "__main__":
    main(sys.argv[1])
