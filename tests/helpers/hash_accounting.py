#!/usr/bin/env python3
"""The accounting of --hash open digests in a json stream (docs/events.md
"File digests"), checked exactly:

  hash_accounting.py STREAM.jsonl DIR

Every file.open / file.mmap_exec with a digest key has file_sha256 (the
cache answered), or file_hash_state: `pending` answered by exactly one later
file.hash record that counts it (`events`, from `event_seq` on, same
identity), or `pending` with no such record (still queued at the stream's
end), `backlog`, or another state.  stream.end's file_hash must say the
same: cached = the digests on the events, dropped = backlog + pending never
answered, computed = the file.hash records + the hashes the stream's end
left unanswered.  Every regular file in DIR must have been opened once,
and each digest given for one must be sha256 of its bytes.

Prints one line: opens=N (of DIR's files) digests=N backlog=N late=N
other=N, and the stream-wide counts.  Exit 1 on any mismatch.
"""
import collections
import hashlib
import json
import os
import sys


def ident(r):
    return (r["file_dev"], r["file_ino"], r["file_ctime"], r["file_mtime"], r["file_size"])


def main():
    recs = [json.loads(l) for l in open(sys.argv[1])]
    d = os.path.join(sys.argv[2], "")
    bad = []
    end = recs[-1]
    if end.get("type") != "stream.end" or "file_hash" not in end:
        sys.exit("the stream has no stream.end with file_hash")
    fh = end["file_hash"]
    evs = [r for r in recs if r["type"] in ("file.open", "file.mmap_exec")
           and ("file_sha256" in r or "file_hash_state" in r)]
    # each pending event -> the file.hash record that answers it
    answer = {}
    hashes = [r for r in recs if r["type"] == "file.hash"]
    for h in hashes:
        mine = [e for e in evs if e.get("file_hash_state") == "pending" and ident(e) == ident(h)
                and h["event_seq"] <= e["seq"] < h["seq"] and e["seq"] not in answer]
        if len(mine) != h["events"] or not mine or mine[0]["seq"] != h["event_seq"]:
            bad.append("file.hash seq %d counts %d events, %d pending ones found" % (h["seq"], h["events"], len(mine)))
        for e in mine:
            answer[e["seq"]] = h
    state = collections.Counter()
    late_ids = set()
    for e in evs:
        s = "cached" if "file_sha256" in e else e["file_hash_state"]
        if s == "pending" and e["seq"] not in answer:
            s = "late"
            late_ids.add(ident(e))
        state[s] += 1
    if fh["cached"] != state["cached"]:
        bad.append("stream.end cached %d, %d digests on events" % (fh["cached"], state["cached"]))
    if fh["dropped"] != state["backlog"] + state["late"]:
        bad.append("stream.end dropped %d, backlog %d + late %d" % (fh["dropped"], state["backlog"], state["late"]))
    if fh["computed"] != len(hashes) + len(late_ids):
        bad.append("stream.end computed %d, %d file.hash + %d unanswered" % (fh["computed"], len(hashes), len(late_ids)))
    # DIR's files: one open each, digests right
    files = {os.path.join(d, n) for n in os.listdir(d) if os.path.isfile(os.path.join(d, n))}
    mine = collections.Counter()
    seen = collections.Counter()
    for e in evs:
        p = e.get("path")
        if e["type"] != "file.open" or p not in files:
            continue
        seen[p] += 1
        digest = e.get("file_sha256")
        if e["seq"] in answer:
            a = answer[e["seq"]]
            digest = a.get("file_sha256")
            if not digest:
                mine["other"] += 1
                continue
        if digest:
            want = hashlib.sha256(open(p, "rb").read()).hexdigest()
            if digest != want:
                bad.append("%s: digest %s, sha256 %s" % (p, digest, want))
            mine["digests"] += 1
        elif e["file_hash_state"] in ("backlog", "pending"):
            mine["backlog" if e["file_hash_state"] == "backlog" else "late"] += 1
        else:
            mine["other"] += 1
    missing = [p for p in files if seen[p] != 1]
    if missing:
        bad.append("%d of DIR's files not opened once (%s ...)" % (len(missing), missing[0]))
    for b in bad:
        print(b)
    print("opens=%d digests=%d backlog=%d late=%d other=%d stream: %s file_hash=%s" % (
        sum(seen.values()), mine["digests"], mine["backlog"], mine["late"], mine["other"],
        dict(state), json.dumps(fh)))
    sys.exit(1 if bad else 0)


main()
