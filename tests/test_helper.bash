# Shared by the bats suites: paths, assertions, agent helpers.
bats_load_library bats-support
bats_load_library bats-assert

SF_TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
# SFAGENT_BIN: the agent under test, e.g. one built with a sanitizer
# (make sanitize-daemon); the default is the normal build.
SFAGENT="${SFAGENT_BIN:-$SF_TOP/build/sfagent}"
SFHOOK="$SF_TOP/build/sfhook"
SF_WORKLOADS="$SF_TOP/build/tests"

# jq-free JSON checks: python3 reads the stream.
# stream_check FILE PYTHON-EXPR... : each expression must be true; `ev` is the
# list of records, `by(type)` the records of one type, `one(type, k=v...)` the
# first record of a type with those fields, `f` the JSON in $SF_FACTS if set.
stream_check() {
	local file="$1"
	shift
	python3 - "$file" "$@" <<'PY'
import json, sys
path = sys.argv[1]
ev = [json.loads(l) for l in open(path)]
import os
f = json.load(open(os.environ["SF_FACTS"])) if os.environ.get("SF_FACTS") else None
def by(t): return [e for e in ev if e["type"] == t]
def one(t, **kw):
    m = [e for e in by(t) if all(e.get(k) == v for k, v in kw.items())]
    return m[0] if m else None
bad = 0
for expr in sys.argv[2:]:
    try:
        ok = eval(expr)
    except Exception as x:
        ok = False
        print("error in %s: %r" % (expr, x))
    if not ok:
        print("FAILED: %s" % expr)
        bad += 1
sys.exit(1 if bad else 0)
PY
}

# Fails the test with the stream shown, when a check fails.
assert_stream() {
	run stream_check "$@"
	if [ "$status" -ne 0 ]; then
		echo "$output"
		echo "--- stream (first 40 lines) ---"
		head -40 "$1"
		return 1
	fi
}

# The stream's records must have seq 1..N without gaps.
assert_seq_no_gaps() {
	assert_stream "$1" '[e["seq"] for e in ev] == list(range(1, len(ev) + 1))'
}

# linked_tps PID: the hooks of PID's BPF links, sorted, one a line (a
# per-syscall tracepoint's is sys_exit_<name>)
linked_tps() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf_link" ] || continue
		sed -n 's/^tp_name:[[:space:]]*//p' "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null
	done | sort
}

# linked_progs PID: the names of the programs PID's BPF links run, sorted,
# once each (a link's fdinfo has its program's id)
linked_progs() {
	local fd id
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf_link" ] || continue
		id=$(sed -n 's/^prog_id:[[:space:]]*//p' "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null)
		[ -n "$id" ] && bpftool prog show id "$id" --json 2>/dev/null | jq -r .name
	done | sort -u
}
