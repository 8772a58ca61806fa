#!/bin/sh
# `make demo`: the hook path end to end.  The per-host agent (sfagent -D)
# runs on a private socket, runc runs the sample bundle bundles/shell-demo with
# sfhook as its prestart and poststop hook, and the stream the agent wrote for
# the container is summarised.  (`sfagent -w shell-demo` is the one-command
# way to do the same without the hook, see docs/modes.md.)
# Run as root after `make build bundles` (make demo does both).
set -eu
cd "$(dirname "$0")/.."
bundle=bundles/shell-demo
out=build/demo
name=sfdemo
# the bundle's io.sfagent.workload is a pod-asserted name: the file carries
# the container id (docs/hook.md)
stream=$out/streams/shell-demo.$name.jsonl

if [ ! -x build/sfagent ] || [ ! -x build/sfhook ] || [ ! -x "$bundle/rootfs/bin/busybox" ]; then
	echo "demo: run it with \`make demo\`, which builds sfagent, sfhook and the bundle rootfs" >&2
	exit 1
fi
# Every step is printed as the command it runs ("$ ..."), with the paths it
# uses, and everything it makes stays in build/demo/: the steps can be
# replayed by hand from the top of the tree, in the same order.
step() {
	printf '$ %s\n' "$1"
	eval "$1"
}

rm -rf "$out"
# an absolute socket path that fits sun_path (108 bytes)
sock=$PWD/$out/sfagent.sock
[ "${#sock}" -lt 100 ] || sock=$(mktemp -d /tmp/sfagent-demo.XXXXXX)/sfagent.sock
agent=
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	runc --root "$out/runc" delete -f "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

# 1. the per-host agent, on a private socket; its log is build/demo/agent.log
echo "# 1. the per-host agent on a private socket (its log: $out/agent.log)"
step "mkdir -p $out/streams"
step "build/sfagent -D --socket $sock --output-dir $out/streams -v 2>$out/agent.log &"
agent=$!
step "until grep -q 'listening on' $out/agent.log; do sleep 0.1; done" &
wait_pid=$!
i=0
while kill -0 "$wait_pid" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 300 ] || ! kill -0 "$agent" 2>/dev/null; then
		kill "$wait_pid" 2>/dev/null
		cat "$out/agent.log" >&2
		echo "demo: the agent did not start (its log: $out/agent.log)" >&2
		exit 1
	fi
	sleep 0.1
done

# 2. the bundle's config.json, copied, with sfhook as prestart/poststop hook
echo "# 2. a copy of the sample bundle, with sfhook as its prestart and poststop hook"
step "mkdir -p $out/bundle"
step "python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c[\"root\"][\"path\"] = sys.argv[2]; json.dump(c, open(sys.argv[3], \"w\"), indent=2)' $bundle/config.json $PWD/$bundle/rootfs $out/bundle/config.json"
step "build/sfagent --inject-hook $out/bundle --hook-path $PWD/build/sfhook --socket $sock >/dev/null"

# 3. runc runs it: the hook registers the container before its first
#    instruction, and poststop ends its stream
echo "# 3. runc runs it; the hook registers it first, poststop ends its stream"
echo "--- the container's own output ---"
status=0
step "runc --root $out/runc run --bundle $out/bundle $name" || status=$?
echo "--- end of the container's output (exit status $status) ---"
i=0
until grep -q '"stream.end"' "$stream" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 100 ]; then
		echo "demo: no stream.end in $stream (the agent's log: $out/agent.log)" >&2
		exit 1
	fi
	sleep 0.1
done
echo "# 4. stop the agent: SIGTERM to the pid of step 1 (in your shell: kill %1)"
step "kill $agent"
wait "$agent" || true
agent=
python3 - "$stream" "$status" <<'PY'
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
cat <<EOF

What next:
  the stream:      $stream (its schema: docs/events.md)
  read it:         build/sfagent show $stream   (--tree: the process tree;
                   --filter '[priority >= 300]'; docs/watch.md)
  the agent's log: $out/agent.log
  replay:          the \$ lines above, from the top of the source tree
  without a hook:  build/sfagent -w shell-demo -B bundles -o -   (docs/modes.md)
  any program:     build/sfagent -X -o - -- /bin/ls   (-P a shell, -R the host)
  installed:       make install; sfagent -D as a service (deploy/systemd),
                   then podman run --annotation io.sfagent.export=file ...
                   (docs/hook.md); man sfagent, man sfhook
EOF
exit "$status"
