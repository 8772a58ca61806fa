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
record whose digest was still pending (`--hash open`, `--hash exec`) gets
the digest its file.hash or process.exe_hash record brought (whether the
hasher had finished by the time a library was mapped or a binary ran is a
race).  A type whose count
differs between REF and AGAIN is left out (said), and so are interrupted
syscalls (how many a timer interrupts is timing).  UNSEEN: syscalls
(comma-separated) OTHER is known not to see: their records are left out
of REF and must not be in OTHER.  Prints what differs.
"""
import collections
import json
import sys

# differ from run to run whatever the mode
RUN_KEYS = {"ts", "seq", "event_seq", "exec_seq", "start", "cgroup", "cgroup_path", "pid", "ppid",
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


def drop(ev, gone):
    """ev without the records gone(e) says, each stream.end's counts less
    those of its own stream (a file may hold several streams, one after
    the other: -o appends)"""
    out, n = [], 0
    for e in ev:
        if gone(e):
            n += 1
            continue
        if e["type"] == "stream.end" and n:
            e["events"] -= n
            for sink in e.get("sinks", {}).values():
                sink["written"] -= n
        if e["type"] == "stream.end":
            n = 0
        out.append(e)
    return out


def drop_unseen(ev, unseen):
    """ev without the records of those syscalls and the interrupted ones"""
    return drop(ev, lambda e: left_out(e, unseen))


def io_worker_exit(e):
    return (e["type"] == "process.exit" and e.get("thread")
            and str(e.get("comm", "")).startswith("iou-"))


# the digests' records: (the record bringing a digest, its prefix, the key
# of how many records waited, stream.end's counter)
DIGESTS = (("file.hash", "file", "events", "file_hash"),
           ("process.exe_hash", "exe", "execs", "exe_hash"))


def settle(ev):
    """ev with the timing-only outcomes above settled; the records left
    out are taken off stream.end's counts"""
    out = drop(ev, io_worker_exit)
    for kind, pre, waited, counter in DIGESTS:
        dev, ino, sha, state = (pre + "_dev", pre + "_ino", pre + "_sha256",
                                pre + "_hash_state")
        digest = {(e[dev], e[ino]): e[sha]
                  for e in out if e["type"] == kind and sha in e}
        for e in out:
            key = (e.get(dev), e.get(ino))
            if e.get(state) == "pending" and key in digest:
                del e[state]
                e[sha] = digest[key]
            if e["type"] == kind:
                e.pop(waited, None)  # how many records waited: the race
            if e["type"] == "stream.end":
                e.get(counter, {}).pop("cached", None)  # the same race
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
