#!/usr/bin/env bash
# make demo: run a short built-in workload under sfagent -X, write its stream
# to build/demo/stream.jsonl and print a short summary of it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/demo
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== sfagent -X -w demo -o $out/stream.jsonl -- <built-in workload>"
build/sfagent -X -w demo -o "$out/stream.jsonl" -- /bin/sh -c "
	echo hello > '$work/greeting'
	cat '$work/greeting' > /dev/null
	mkdir '$work/d'
	mv '$work/greeting' '$work/d/moved'
	chmod 600 '$work/d/moved'
	ln -s '$work/d/moved' '$work/link'
	rm -r '$work/d' '$work/link'
	sleep 5 & kill \$!
	exit 0"
python3 tests/summary.py "$out/stream.jsonl"
