#!/usr/bin/env bats
# C unit tests (built with ASan + UBSan by `make unit`), TAP each.

load test_helper

run_unit() {
	run "$SF_TOP/build/tests/unit/$1"
	echo "$output"
	assert_success
	refute_output --partial "not ok"
	refute_output --partial "ERROR: AddressSanitizer"
	refute_output --partial "runtime error"
	assert_line --regexp '^1\.\.[0-9]+$'
}

@test "unit: sbuf and the JSON string writer" { run_unit test_sbuf; }
@test "unit: JSON writer against yajl on random bytes, integers against printf" { run_unit test_sbuf_random; }
@test "unit: command-line parsing" { run_unit test_cli; }
@test "unit: JSON encoder, every event type" { run_unit test_encode_json; }
@test "unit: bundles (config checks, rootfs confinement, escaping)" { run_unit test_bundle; }
@test "unit: OCI state, io.sfagent.* annotations, agent<->hook protocol" { run_unit test_oci; }
@test "unit: decoder on crafted, short, oversized and garbage records; every type has a writer per format" { run_unit test_decode; }
@test "unit: quixote and cadets writers on decoded views, field by field" { run_unit test_encode_formats; }
@test "unit: the encoders' memo of a task's fields: the same bytes with it as without" { run_unit test_encode_memo; }
@test "unit: security types decoded: kernel paths, named flags, io_uring header, exec image" { run_unit test_decode_sec; }
@test "unit: resolved paths: lexical join, host path from a mount table, cut and garbage walks" { run_unit test_decode_path; }
@test "unit: network-sink queue (drop newest, control records, resend) and topic templates" { run_unit test_sinkq; }
@test "unit: network-sink base over a fake protocol: loss accounting, outage, rejection, give-up, resend" { run_unit test_sink_net; }
@test "unit: file sink rotation naming, --max-files pruning, framing per file" { run_unit test_sink_file; }
@test "unit: filter expressions (parser, evaluator, kernel verdicts, errors, random)" { run_unit test_filter; }
@test "unit: loss accounting of the consumer loop, fed by a probe without BPF" { run_unit test_loss; }
@test "unit: seccomp profiles (recorded bits, base merge, modes, safe writes)" { run_unit test_seccomp; }
@test "unit: stream budgets (token bucket, bytes budgets over a real file, kernel pause, once-a-second report, options)" { run_unit test_budget; }
@test "unit: disk spool (order, replay with origin and pack, torn and damaged records, bounds, locks, cut points)" { run_unit test_sink_spool; }
@test "unit: io_uring sweep's walk of a real BPF hash map: every entry once while entries are deleted" { run_unit test_uring_keys; }
