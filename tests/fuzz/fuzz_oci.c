// SPDX-License-Identifier: GPL-2.0
/*
 * The OCI state (sfhook's stdin) and config.json, and the io.sfagent.*
 * annotations in them.  The first byte picks the parser.  Properties: every
 * error is one line; what parses has unique keys and clean UTF-8; annotations
 * the hook accepts make a REGISTER the agent accepts, fields unchanged.
 */
#include "fuzz.h"
#include "json.h"
#include "oci.h"
#include "proto.h"

static void check_strings(const struct oci_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fuzz_assert(fuzz_utf8_ok(kv[i].key) &&
			    fuzz_utf8_ok(kv[i].value));
		for (size_t j = i + 1; j < n; j++)
			fuzz_assert(strcmp(kv[i].key, kv[j].key));
	}
}

/* The hook's checks, then the message it would send, decoded by the agent. */
static void hook_to_agent(const struct oci_kv *kv, size_t n, const char *id)
{
	const char *exp = oci_kv_get(kv, n, ANN_EXPORT);
	const char *fmt = oci_kv_get(kv, n, ANN_FORMAT);
	cleanup_yajl_gen yajl_gen g = json_gen_new();
	struct sf_error *err = NULL;
	struct sf_export_list l;
	struct sf_msg req = {.op = SF_MSG_REGISTER}, got;
	yajl_gen_status st;
	char *workload = NULL, *enc;
	bool closed;
	size_t len;

	if (sf_fail_policy_parse(oci_kv_get(kv, n, ANN_FAIL), &closed, &err) <
		    0 ||
	    sf_export_parse(exp, &l, &err) < 0)
		goto out;
	sf_export_list_free(&l);
	if (sf_format_check(fmt, &err) < 0 ||
	    sf_workload_from_annotations(kv, n, id, &workload, &err) < 0)
		goto out;
	st = yajl_gen_map_open(g);
	st |= json_gen_str(g, "annotations");
	st |= yajl_gen_map_open(g);
	for (size_t i = 0; i < n; i++)
		st |= json_gen_str(g, kv[i].key) | json_gen_str(g, kv[i].value);
	st |= yajl_gen_map_close(g) | yajl_gen_map_close(g);
	fuzz_assert(st == yajl_gen_status_ok);
	req.container_id = (char *)id;
	req.pid = 1;
	req.cgroup_id = 1;
	req.cgroup_path = "/c";
	req.bundle = "/b";
	req.workload = workload;
	req.export_spec = (char *)exp;
	req.format = (char *)fmt;
	req.meta_json = json_gen_take(g, NULL);
	enc = sf_msg_encode(&req, &len, &err);
	if (enc) {
		fuzz_assert(sf_msg_decode(enc, len, &got, &err) == 0);
		fuzz_assert(!strcmp(got.workload, workload));
		fuzz_assert(!exp || !strcmp(got.export_spec, exp));
		fuzz_assert(sf_export_parse(got.export_spec, &l, NULL) == 0);
		sf_export_list_free(&l);
		sf_msg_free(&got);
		free(enc);
	}
	free(req.meta_json);
out:
	fuzz_check_error(err);
	sf_error_free(err);
	free(workload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_error *err = NULL;
	struct oci_state st;
	struct oci_config c;
	char *buf;

	if (size < 1)
		return 0;
	buf = fuzz_str(data + 1, size - 1);
	if (data[0] & 1) {
		if (oci_state_parse(buf, false, &st, &err) == 0) {
			check_strings(st.ann, st.nann);
			hook_to_agent(st.ann, st.nann, st.id);
			oci_state_free(&st);
		}
	} else if (oci_config_parse(buf, "config.json", &c, &err) == 0) {
		check_strings(c.ann, c.nann);
		for (size_t i = 0; i < c.nargs; i++)
			fuzz_assert(fuzz_utf8_ok(c.args[i]));
		hook_to_agent(c.ann, c.nann, "fuzz-container");
		oci_config_free(&c);
	}
	fuzz_check_error(err);
	sf_error_free(err);
	free(buf);
	return 0;
}
