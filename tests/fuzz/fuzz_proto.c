// SPDX-License-Identifier: GPL-2.0
/*
 * The agent <-> hook wire protocol: whatever the agent decodes, encodes again
 * and decodes to the same message, and the second encoding is byte for byte
 * the first (what the hook encodes the agent decodes, unchanged).
 */
#include "fuzz.h"
#include "proto.h"

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_equal(const struct sf_msg *a, const struct sf_msg *b)
{
	fuzz_assert(a->op == b->op && a->pid == b->pid &&
		    a->cgroup_id == b->cgroup_id && a->busy == b->busy);
	fuzz_assert(same(a->container_id, b->container_id));
	fuzz_assert(same(a->cgroup_path, b->cgroup_path));
	fuzz_assert(same(a->bundle, b->bundle));
	fuzz_assert(same(a->workload, b->workload));
	fuzz_assert(same(a->export_spec, b->export_spec));
	fuzz_assert(same(a->format, b->format));
	fuzz_assert(same(a->meta_json, b->meta_json));
	fuzz_assert(same(a->error, b->error));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_error *err = NULL;
	struct sf_msg m, m2, m3;
	char *enc, *enc2;
	size_t len, len2;

	if (sf_msg_decode((const char *)data, size, &m, &err) < 0) {
		fuzz_check_error(err);
		sf_error_free(err);
		return 0;
	}
	enc = sf_msg_encode(&m, &len, &err);
	fuzz_assert(enc); /* what was decoded can be sent */
	fuzz_assert(sf_msg_decode(enc, len, &m2, &err) == 0);
	check_equal(&m, &m2);
	enc2 = sf_msg_encode(&m2, &len2, &err);
	fuzz_assert(enc2 && len == len2 && !memcmp(enc, enc2, len));
	fuzz_assert(sf_msg_decode(enc2, len2, &m3, &err) == 0);
	check_equal(&m2, &m3);
	free(enc);
	free(enc2);
	sf_msg_free(&m);
	sf_msg_free(&m2);
	sf_msg_free(&m3);
	return 0;
}
