#!/usr/bin/python3
"""A killed agent's stream replayed by the next run, as a subscriber got it.

usage: replay_check.py FILE

FILE: what the subscriber received (MQTT QoS 1: a record may come twice).
It must hold two streams (two stream.start with distinct `start`): the
earlier run's, every seq from 1 once and without a gap, more than 1,000
records (file events, ~430 bytes each, from the spool); then the new
run's, seq 1 to its stream.end, nothing missed.  Prints the replayed range.
"""
import json
import sys

ev = [json.loads(l) for l in open(sys.argv[1])]
starts = [i for i, e in enumerate(ev) if e["type"] == "stream.start"]
assert len({ev[i]["start"] for i in starts}) == 2, starts
second = max(starts, key=lambda i: ev[i]["start"])
old = {}
for e in ev[:second]:
    old.setdefault(e["seq"], e)
seqs = sorted(old)
# the first run's stream: from its stream.start, every seq it took, no gap
assert seqs == list(range(1, len(seqs) + 1)), [s for a, s in zip(seqs, seqs[1:]) if s != a + 1][:5]
assert len(seqs) > 1000, len(seqs)
new = ev[second:]
assert [e["seq"] for e in new] == list(range(1, len(new) + 1))
assert new[-1]["type"] == "stream.end" and new[-1]["missed"] == 0
print("# the earlier run's records 1-%d replayed in order, then the new run's" % seqs[-1])
