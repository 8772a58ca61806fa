#!/bin/bash
# The burst a stopped agent's ring buffer absorbs (make bench section `burst`).
#
#   tests/bench/burst.sh [N] [KIND]    N events (default 200000), KIND openfail
#                                      (file.open, default) or kill (signal.kill)
#
# sfagent -X tracks a workload that waits for a go file; the agent is then
# stopped (SIGSTOP), the workload causes N events and says it is done, the
# agent is continued and drains.  Prints one line:
#   kind=K caused=N written=N missed_ringbuf=N ringbuf=BYTES
# where written is the events of that type in the stream: what the ring held.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
N=${1:-200000}
KIND=${2:-openfail}
RB=${BENCH_RINGBUF:-16M}
W=$(mktemp -d)
AG=
trap '[ -n "$AG" ] && kill -CONT "$AG" 2>/dev/null; [ -n "$AG" ] && kill "$AG" 2>/dev/null; rm -rf "$W"' EXIT

case $KIND in
openfail) TYPE=file.open ;;
kill) TYPE=signal.kill ;;
*) echo "burst: KIND is openfail or kill, not \`$KIND\`" >&2; exit 2 ;;
esac

"$BUILD/sfagent" -X -w burst --hash none --ringbuf-size "$RB" -o "$W/out.json" -- \
	/bin/sh -c "while [ ! -e $W/go ]; do sleep 0.02; done; $BUILD/bench/loadgen $KIND $N >$W/lg; touch $W/done" &
AG=$!
# the workload runs once its first exec is in the stream
for _ in $(seq 500); do grep -q '"process.exec"' "$W/out.json" 2>/dev/null && break; sleep 0.02; done
kill -STOP "$AG"
touch "$W/go"
for _ in $(seq 3000); do [ -e "$W/done" ] && break; sleep 0.02; done
kill -CONT "$AG"
wait "$AG" || true
AG=
written=$(grep -c "\"$TYPE\"" "$W/out.json" || true)
missed=$(grep '"stream.end"' "$W/out.json" | sed -n 's/.*"missed_ringbuf":\([0-9]*\).*/\1/p')
echo "kind=$KIND caused=$N written=$written missed_ringbuf=${missed:-?} ringbuf=$RB"
