#!/bin/sh
# `make demo`: runs the sample bundle bundles/shell-demo with runc under
# `sfagent -w` (container mode), then summarises the stream it wrote.
# Run as root after `make build bundles` (make demo does both).
set -eu
cd "$(dirname "$0")/.."
bundle=bundles/shell-demo
out=build/demo.jsonl

if [ ! -x build/sfagent ] || [ ! -x "$bundle/rootfs/bin/busybox" ]; then
	echo "demo: run it with \`make demo\`, which builds sfagent and the bundle rootfs" >&2
	exit 1
fi
echo "\$ sfagent -w $bundle -o $out"
echo "--- the container's own output ---"
status=0
build/sfagent -w "$bundle" -o "$out" || status=$?
echo "--- end of the container's output (exit status $status) ---"
if [ ! -s "$out" ]; then
	echo "demo: sfagent wrote no stream to $out" >&2
	exit 1
fi
python3 - "$out" "$status" <<'PY'
import collections, json, sys

path, status = sys.argv[1], sys.argv[2]
ev = [json.loads(line) for line in open(path)]

def brief(e):
    """One event as one line a human can read."""
    t, f = e["type"], []
    if t == "process.exec":
        f.append(" ".join(e.get("argv") or [e.get("filename", "?")]))
    elif t == "process.fork":
        f.append("child %s" % e.get("child_pid", "?"))
    elif t == "process.exit":
        f.append("exit_code %s" % e.get("exit_code", "?"))
    elif t.startswith("file."):
        p = e.get("path", e.get("fd", ""))
        f.append(str(p) + (" -> %s" % e["newpath"] if "newpath" in e else ""))
    elif t.startswith("net."):
        if "addr" in e:
            f.append("%s port %s" % (e["addr"], e.get("port", "")))
        else:
            f.append(str(e.get("family", "")))
    elif t == "signal.kill":
        f.append("sig %s to %s" % (e.get("sig"), e.get("target_pid")))
    elif t == "cap.capable":
        f.append("%s %s" % (e.get("cap_name", e.get("cap")),
                            "granted" if e.get("granted") else "denied"))
    ret = " = %s" % e["ret"] if "ret" in e else ""
    return "%5d  %-14s %-14s %s%s" % (e["seq"], t, e.get("comm", ""),
                                     " ".join(f), ret)

start, end = ev[0], ev[-1]
events = [e for e in ev if not e["type"].startswith("stream.")]
print()
print("Stream %s: %d records, workload %r, container %s" %
      (path, len(ev), start.get("workload"), start.get("container")))
print("  process %s, cgroup %s" % (start.get("meta", {}).get("args"),
                                   start.get("cgroup_path")))
print("  stream.end: %s events, %s missed; container exit status %s" %
      (end.get("events"), end.get("missed"), status))
print()
print("Events by type:")
for t, n in sorted(collections.Counter(e["type"] for e in events).items(),
                   key=lambda kv: (-kv[1], kv[0])):
    print("  %-16s %5d" % (t, n))
first_exec = next((i for i, e in enumerate(events)
                   if e["type"] == "process.exec"), 0)
print()
print("First events from the container's process on (%d events of runc's "
      "own container setup came before):" % first_exec)
print("%5s  %-14s %-14s %s" % ("seq", "type", "comm", "details"))
for e in events[first_exec:first_exec + 12]:
    print(brief(e))
PY
exit "$status"
