#!/usr/bin/python3
"""A stream replayed across a damaged spool frame, as its subscriber got it.

usage: damage_check.py WORKLOAD OUT FILE...

FILE...: what the subscriber received, in order (MQTT QoS 1 is
at-least-once: a record that came twice is kept once, where it first
came).  The first stream of them (up to a second stream.start: a later
run's) must hold exactly one stream.missed with reason spool_damaged, of
WORKLOAD and the MQTT sink, with an exact count; every seq up to
stream.end's is there or counted by it, in one gap exactly where the
record stands, with more than 500 file.open records after it.  Writes the
record to OUT (for the schema check) and prints the gap.
"""
import json
import sys


def main():
    workload, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    ev, seen, starts = [], set(), 0
    for path in files:
        for line in open(path):
            e = json.loads(line)
            k = json.dumps(e, sort_keys=True)
            if k in seen:
                continue
            seen.add(k)
            if e["type"] == "stream.start":
                starts += 1
                if starts == 2:
                    break
            ev.append(e)
        if starts == 2:
            break
    dmg = [e for e in ev if e["type"] == "stream.missed" and e.get("reason") == "spool_damaged"]
    assert len(dmg) == 1, dmg
    d = dmg[0]
    assert "count_at_least" not in d and d["count"] > 0 and d["sink"] == "mqtt", d
    assert d["workload"] == workload, d
    end = [e for e in ev if e["type"] == "stream.end"]
    assert len(end) == 1, end
    end = end[0]
    seqs = {e["seq"] for e in ev if "seq" in e}
    missing = sorted(set(range(1, end["seq"] + 1)) - seqs)
    other = sum(e["count"] for e in ev if e["type"] == "stream.missed" and e is not d)
    assert end["missed"] == other == 0, (end, other)
    # the counts add up: every seq up to stream.end's is there or told missed
    assert len(seqs) + d["count"] == end["seq"], (len(seqs), d["count"], end["seq"])
    # one gap, exactly where the record is, records after it
    assert missing == list(range(missing[0], missing[0] + d["count"])), missing[:3]
    k = ev.index(d)
    assert ev[k - 1]["seq"] == missing[0] - 1, ev[k - 1]
    assert ev[k + 1]["seq"] == missing[-1] + 1, ev[k + 1]
    assert sum(1 for e in ev[k + 1:] if e["type"] == "file.open") > 500
    print("# gap", missing[0], "..", missing[-1], "count", d["count"], "end seq", end["seq"])
    json.dump(d, open(out, "w"))


if __name__ == "__main__":
    main()
