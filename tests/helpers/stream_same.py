#!/usr/bin/python3
"""Are two json streams of the same workload the same events?

usage: stream_same.py REF AGAIN OTHER [UNSEEN]

REF and AGAIN: the workload twice in one mode; OTHER: once in the mode
under test.  What differs from run to run (times, pids, cgroup ids,
ports, inode numbers...) is what differs between REF and AGAIN, type by
type, on top of a fixed list of such fields; the rest of every record
must be the same in REF and OTHER, as multisets (records of different
processes interleave differently from run to run).  Two outcomes that
are the kernel's or the hasher's timing, not the mode, are settled first
in all three (settle()): the exit of an io_uring worker thread (the
kernel starts one only for a request it could not do at once, which
depends on what its caches held at that moment) is left out, and a
`--hash open` record whose digest was still pending gets the digest its
file.hash record brought (whether the hasher had finished by the time a
library was mapped is a race).  A type whose count
differs between REF and AGAIN is left out (said), and so are interrupted
syscalls (how many a timer interrupts is timing).  UNSEEN: syscalls
(comma-separated) OTHER is known not to see: their records are left out
of REF and must not be in OTHER.  Prints what differs.
"""
import collections
import json
import sys

# differ from run to run whatever the mode
RUN_KEYS = {"ts", "seq", "event_seq", "start", "cgroup", "cgroup_path", "pid", "ppid",
            "tid", "child_pid", "child_tid", "target_pid", "target_tid",
            "port", "lport", "file_ino", "file_generation", "file_ctime",
            "file_mtime", "file_atime"}


def load(path):
    return [json.loads(l) for l in open(path)]


def values(ev):
    """type -> key -> multiset of its values (as JSON text)"""
    out = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for e in ev:
        for k, v in e.items():
            out[e["type"]][k][json.dumps(v, sort_keys=True)] += 1
    return out


def left_out(e, unseen):
    # how many syscalls a timer interrupts (fidelity's fifo open) is
    # timing, not the mode
    return e.get("syscall") in unseen or e.get("interrupted")


def drop_unseen(ev, unseen):
    """ev without the records of those syscalls and the interrupted ones,
    its stream.end counts too"""
    n = sum(1 for e in ev if left_out(e, unseen))
    out = [e for e in ev if not left_out(e, unseen)]
    for e in out:
        if e["type"] == "stream.end" and n:
            e["events"] -= n
            for sink in e.get("sinks", {}).values():
                sink["written"] -= n
    return out


def io_worker_exit(e):
    return (e["type"] == "process.exit" and e.get("thread")
            and str(e.get("comm", "")).startswith("iou-"))


def settle(ev):
    """ev with the timing-only outcomes above settled; the records left
    out are taken off stream.end's counts"""
    n = sum(1 for e in ev if io_worker_exit(e))
    out = [e for e in ev if not io_worker_exit(e)]
    digest = {(e["file_dev"], e["file_ino"]): e["file_sha256"]
              for e in out if e["type"] == "file.hash" and "file_sha256" in e}
    for e in out:
        key = (e.get("file_dev"), e.get("file_ino"))
        if e.get("file_hash_state") == "pending" and key in digest:
            del e["file_hash_state"]
            e["file_sha256"] = digest[key]
        if e["type"] == "file.hash":
            e.pop("events", None)  # how many records waited: the race
        if e["type"] == "stream.end":
            e.get("file_hash", {}).pop("cached", None)  # the same race
            if n:
                e["events"] -= n
                for sink in e.get("sinks", {}).values():
                    sink["written"] -= n
    return out


def main():
    ref, again, other = (settle(load(p)) for p in sys.argv[1:4])
    unseen = set(sys.argv[4].split(",")) if len(sys.argv) > 4 and sys.argv[4] else set()
    bad = 0
    for s in sorted(unseen):
        if any(e.get("syscall") == s for e in other):
            print("not expected in %s: %s" % (sys.argv[3], s))
            bad = 1
    ref = drop_unseen(ref, unseen)
    again = drop_unseen(again, unseen)
    other = drop_unseen(other, set())
    ca = collections.Counter(e["type"] for e in ref)
    cb = collections.Counter(e["type"] for e in again)
    vary = {t for t in set(ca) | set(cb) if ca[t] != cb[t]}
    if vary:
        print("left out, their count differs from run to run: %s" % sorted(vary))
    ref = [e for e in ref if e["type"] not in vary]
    other = [e for e in other if e["type"] not in vary]
    va, vb = values(ref), values(again)
    noise = collections.defaultdict(set)
    for t in set(va) | set(vb):
        for k in set(va[t]) | set(vb[t]):
            if va[t][k] != vb[t][k] and k not in RUN_KEYS:
                noise[t].add(k)

    def norm(e):
        return json.dumps({k: v for k, v in e.items()
                           if k not in RUN_KEYS and k not in noise[e["type"]]},
                          sort_keys=True)

    a = collections.Counter(norm(e) for e in ref)
    b = collections.Counter(norm(e) for e in other)
    kinds = collections.Counter(e["type"] for e in ref)
    print("%d records, %d types; keys that vary between runs: %s" % (
        len(ref), len(kinds),
        {t: sorted(k) for t, k in noise.items() if k}))
    if a == b:
        return bad
    for r, n in (a - b).items():
        print("only in %s (%d): %s" % (sys.argv[1], n, r))
    for r, n in (b - a).items():
        print("only in %s (%d): %s" % (sys.argv[3], n, r))
    return 1


if __name__ == "__main__":
    sys.exit(main())
