// SPDX-License-Identifier: GPL-2.0
/*
 * Restart recovery reads trusted.sfagent.register from cgroup directories
 * (lib/xattr_names.h) and hands what decodes as a REGISTER to the daemon.
 * Whatever is accepted must hold the registration's invariants: the paths
 * the agent joins to its cgroup mount and output directory stay inside them,
 * the names are printable and bounded, the message re-encodes unchanged.
 */
#include "fuzz.h"
#include "oci.h"
#include "proto.h"

static int clean_path(const char *p)
{
	if (!p || p[0] != '/')
		return 0;
	return !strstr(p, "//") && !strstr(p, "/./") && !strstr(p, "/../") &&
	       strcmp(p + strlen(p) - (strlen(p) >= 2 ? 2 : 0), "/.") &&
	       strcmp(p + strlen(p) - (strlen(p) >= 3 ? 3 : 0), "/..");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_error *err = NULL;
	struct sf_export_list l;
	struct sf_msg m, m2;
	char *enc;
	size_t len;

	if (size > SF_PROTO_MAX)
		return 0; /* recovery skips larger tags before decoding */
	if (sf_msg_decode((const char *)data, size, &m, &err) < 0) {
		fuzz_check_error(err);
		sf_error_free(err);
		return 0;
	}
	if (m.op != SF_MSG_REGISTER) {
		sf_msg_free(&m);
		return 0;
	}
	fuzz_assert(m.pid > 0 && m.cgroup_id > 0);
	fuzz_assert(clean_path(m.cgroup_path) && strcmp(m.cgroup_path, "/"));
	fuzz_assert(clean_path(m.bundle));
	fuzz_assert(sf_name_printable(m.container_id, OCI_ID_MAX) &&
		    !strchr(m.container_id, '/'));
	fuzz_assert(sf_name_printable(m.workload, SF_WORKLOAD_MAX));
	fuzz_assert(m.export_spec && fuzz_utf8_ok(m.export_spec));
	fuzz_assert(sf_format_check(m.format, NULL) == 0);
	/* the daemon parses the export again; a file:NAME is a plain name */
	if (sf_export_parse(m.export_spec, &l, &err) == 0) {
		for (int i = 0; i < l.n; i++)
			if (l.e[i].kind == SF_EXPORT_FILE && l.e[i].arg)
				fuzz_assert(sf_plain_file_name(
					l.e[i].arg, SF_EXPORT_NAME_MAX));
		sf_export_list_free(&l);
	} else {
		fuzz_check_error(err);
		sf_error_free(err);
		err = NULL;
	}
	enc = sf_msg_encode(&m, &len, &err);
	fuzz_assert(enc && sf_msg_decode(enc, len, &m2, &err) == 0);
	fuzz_assert(!strcmp(m.cgroup_path, m2.cgroup_path) &&
		    !strcmp(m.container_id, m2.container_id));
	free(enc);
	sf_msg_free(&m2);
	sf_msg_free(&m);
	return 0;
}
