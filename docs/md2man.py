#!/usr/bin/env python3
"""A man page from one of docs/*.md (the subset of Markdown those use).

    docs/md2man.py NAME SECTION TITLE < docs/filters.md > sfagent-filters.7

Headings become .SH/.SS, paragraphs are reflowed by man, indented blocks stay
as written (.nf), "- " items become tagged paragraphs, tables become one
tagged paragraph per row, `code` is bold, [text](link) is text.  make
install runs it for sfagent-filters(7); tests/06-docs.bats lints the result
with mandoc.
"""
import os
import re
import sys
import time


def esc(s):
    """Text for troff: backslashes, hyphens; inline code bold, links as text."""
    s = s.replace("\\", "\\e").replace("-", "\\-")
    s = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", s)
    s = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", s)
    return s


def line(s):
    """One output line: a leading . or ' would be a request."""
    return "\\&" + s if s[:1] in (".", "'") else s


def convert(name, section, title, src):
    when = time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH") or time.time()))
    out = ['.TH %s %s %s "sfagent" "%s"' % (name.upper(), section,
                                          time.strftime("%Y-%m-%d", when), title)]
    lines = src.split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("# "):
            what = ln[2:].strip().split(": ", 1)[-1]
            out += [".SH NAME", "%s \\- %s" % (name, esc(what))]
            out.append(".SH DESCRIPTION")
        elif ln.startswith("## "):
            out.append(".SH " + esc(ln[3:].strip()).upper())
        elif ln.startswith("### "):
            out.append(".SS " + esc(ln[4:].strip()))
        elif ln.startswith("    "):
            out.append(".PP\n.nf")
            while i < len(lines) and (lines[i].startswith("    ") or
                                      (not lines[i].strip() and i + 1 < len(lines)
                                       and lines[i + 1].startswith("    "))):
                raw = lines[i][4:].replace("\\", "\\e").replace("-", "\\-")
                out.append(line(raw))
                i += 1
            out.append(".fi")
            continue
        elif ln.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            head, body = rows[0], rows[1:]
            for r in body:
                out += [".TP", line(esc(r[0]))]
                rest = ["%s: %s" % (esc(h), esc(c)) for h, c in zip(head[1:], r[1:])]
                out.append(line("; ".join(rest)))
            continue
        elif ln.startswith("- "):
            text = [ln[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                text.append(lines[i].strip())
                i += 1
            out += [".IP \\(bu 2", line(esc(" ".join(text)))]
            continue
        elif ln.strip():
            text = []
            while i < len(lines) and lines[i].strip() and not re.match(
                    r"(#|    |\||- )", lines[i]):
                text.append(lines[i].strip())
                i += 1
            out += [".PP", line(esc(" ".join(text)))]
            continue
        i += 1
    out += [".SH SEE ALSO", "\\fBsfagent\\fR(8), \\fBsfhook\\fR(8)"]
    # a paragraph right after a heading is implied: mandoc warns about .PP
    keep = [l for k, l in enumerate(out)
            if not (l.startswith(".PP") and k and out[k - 1][:3] in (".SH", ".SS"))]
    return "\n".join(keep) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: md2man.py NAME SECTION TITLE < FILE.md")
    sys.stdout.write(convert(sys.argv[1], sys.argv[2], sys.argv[3], sys.stdin.read()))
