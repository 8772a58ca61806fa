#!/usr/bin/env python3
"""Checks JSON-lines streams against docs/events.md, the schema's contract.

    schema_check.py DOCS/events.md [--all-types] STREAM.jsonl...

The rules come from the doc's table "Every key with its type": every key of
a record must be documented for the record's type, with the documented JSON
type; keys marked `always` must be there, `unless K` exactly when K is
absent, `with K` exactly when K is present.  The doc is also checked against
itself: every key the prose tables name for an event type is in the typed
table, and every example record of the doc passes.  --all-types: every event
type of the doc must occur in the streams.  Exit 1 with one line per problem.
"""
import fnmatch
import json
import re
import sys

TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "true": lambda v: v is True,
    "object": lambda v: isinstance(v, dict),
    "array of strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "string or null": lambda v: v is None or isinstance(v, str),
}
VALUE_WORDS = {"execve", "execveat"}  # backticked values in the prose tables


def section(text, title):
    part = text.split("\n## " + title, 1)
    if len(part) < 2:
        sys.exit("schema_check: docs/events.md has no section `## %s`" % title)
    return part[1].split("\n## ", 1)[0]


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split(" | ")]


def parse_rules(text):
    rules = []
    for line in section(text, "Every key with its type").splitlines():
        if not line.startswith("| `"):
            continue
        c = cells(line)
        if len(c) != 4:
            sys.exit("schema_check: a row of the key table has %d cells: %s" % (len(c), line))
        keys = re.findall(r"`([^`]+)`", c[0])
        types = [t.strip() for t in c[1].split(",")] if c[1] not in TYPES else [c[1]]
        if len(types) == 1:
            types *= len(keys)
        if len(types) != len(keys) or any(t not in TYPES for t in types):
            sys.exit("schema_check: bad type column `%s` in: %s" % (c[1], line))
        records = [r.strip() for r in c[2].split(",")]
        m = re.match(r"(always|unless|with)\b\s*(?:`([a-z0-9_]+)`)?", c[3])
        kind, other = (m.group(1), m.group(2)) if m else ("optional", None)
        for k, t in zip(keys, types):
            rules.append({"key": k, "type": t, "records": records, "kind": kind, "other": other})
    return rules


def applies(records, rtype):
    for r in records:
        if r == "all" or (r == "events" and not rtype.startswith("stream.")):
            return True
        if fnmatch.fnmatchcase(rtype, r):
            return True
    return False


def check_record(rules, rec, where, problems):
    rtype = rec.get("type")
    if not isinstance(rtype, str):
        problems.append("%s: no type" % where)
        return
    mine = [r for r in rules if applies(r["records"], rtype)]
    if not any(r["key"] == "type" for r in mine):
        problems.append("%s: record type %s is not documented" % (where, rtype))
        return
    for k, v in rec.items():
        kr = [r for r in mine if r["key"] == k]
        if not kr:
            problems.append("%s: %s has key `%s`, not documented for it" % (where, rtype, k))
        elif not any(TYPES[r["type"]](v) for r in kr):
            problems.append("%s: %s `%s` is %s, documented as %s" % (
                where, rtype, k, json.dumps(v)[:40], " or ".join(sorted({r["type"] for r in kr}))))
    for r in mine:
        k, has = r["key"], r["key"] in rec
        if r["kind"] == "always" and not has:
            problems.append("%s: %s lacks `%s` (documented: always)" % (where, rtype, k))
        elif r["kind"] in ("unless", "with"):
            want = (r["other"] in rec) == (r["kind"] == "with")
            if has != want:
                problems.append("%s: %s %s `%s` (documented: %s `%s`)" % (
                    where, rtype, "has" if has else "lacks", k, r["kind"], r["other"]))


def check_prose(text, rules, problems):
    """Every key the prose tables name for an event type is in the typed table."""
    for line in section(text, "Event types and their own keys").splitlines():
        if not line.startswith("| `"):
            continue
        c = cells(line)
        types = [t for t in re.findall(r"`([^`]+)`", c[0]) if "." in t]
        for k in re.findall(r"`([^`]+)`", " | ".join(c[1:])):
            if not re.fullmatch(r"[a-z][a-z0-9_]*", k) or k in VALUE_WORDS:
                continue
            for t in types:
                if not any(r["key"] == k and applies(r["records"], t) for r in rules):
                    problems.append("docs/events.md: %s names `%s`, the key table does not" % (t, k))
    return [re.findall(r"`([^`]+)`", cells(l)[0])
            for l in section(text, "Event types and their own keys").splitlines()
            if l.startswith("| `")]


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    text = open(argv[1], encoding="utf-8").read()
    all_types = "--all-types" in argv
    streams = [a for a in argv[2:] if a != "--all-types"]
    rules = parse_rules(text)
    problems = []
    doc_types = {t for row in check_prose(text, rules, problems) for t in row if "." in t}
    for n, line in enumerate(section(text, "One example of each").splitlines()):
        if line.startswith('    {"type"'):
            check_record(rules, json.loads(line), "docs/events.md example %d" % n, problems)
    seen, count = set(), 0
    for path in streams:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                rec = json.loads(line)
                seen.add(rec.get("type"))
                count += 1
                check_record(rules, rec, "%s:%d" % (path, n), problems)
    if all_types:
        for t in sorted(doc_types - seen):
            problems.append("no %s record in the stream: the check did not cover it" % t)
    for p in problems[:60]:
        print(p)
    if len(problems) > 60:
        print("... %d more" % (len(problems) - 60))
    print("schema_check: %d records of %d types, %d rules, %d problems" % (
        count, len(seen), len(rules), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
