#!/usr/bin/env bats
# No start race: 50 short-lived containers back to back, each one's first exec
# (the process in config.json) and its exit are in its own stream.

load test_helper
load hook_helper

setup_file() {
	hook_suite_setup
	start_daemon
}

teardown_file() {
	hook_suite_teardown
}

@test "50 short-lived containers: every first exec and exit is streamed" {
	make_bundle "$HT/b" '["/bin/true"]'
	for i in $(seq 1 50); do
		run_container "sfh-race-$i" "$HT/b" || fail "container sfh-race-$i failed"
	done
	python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
bad = []
for i in range(1, 51):
    cid = "sfh-race-%d" % i
    path = os.path.join(out, cid + ".jsonl")
    if not os.path.exists(path):
        bad.append("%s: no stream" % cid)
        continue
    ev = [json.loads(l) for l in open(path)]
    execs = [e for e in ev if e["type"] == "process.exec"]
    start = ev[0]
    init_pid = start["meta"]["pid"]
    if start["type"] != "stream.start" or ev[-1]["type"] != "stream.end":
        bad.append("%s: not framed by stream.start/stream.end" % cid)
    if not execs or execs[-1]["filename"] != "/bin/true":
        bad.append("%s: first exec of /bin/true missing" % cid)
        continue
    first = execs[-1]
    exits = [e for e in ev if e["type"] == "process.exit" and e["pid"] == first["pid"]
             and not e.get("thread") and ev.index(e) > ev.index(first)]
    if not exits:
        bad.append("%s: exit of /bin/true missing" % cid)
    if any(e.get("container") != cid for e in ev):
        bad.append("%s: records of another container" % cid)
    if ev[-1].get("missed"):
        bad.append("%s: %d missed" % (cid, ev[-1]["missed"]))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
	# nothing grows with churn: every stream ended and was released
	run grep -c "unregistered" "$HT/agent.log"
	assert_output 50
}

