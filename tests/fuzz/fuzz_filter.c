// SPDX-License-Identifier: GPL-2.0
/*
 * The filter language (agent/filter): what compiles prints a canonical text
 * that compiles again to the same text; errors are one line.
 */
#include "filter.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_error *err = NULL;
	char *buf = fuzz_str(data, size);
	struct filter *f = filter_parse(buf, "filter", &err), *f2;

	fuzz_check_error(err);
	sf_error_free(err);
	err = NULL;
	if (f) {
		f2 = filter_parse(filter_text(f), "filter", &err);
		fuzz_assert(f2);
		fuzz_assert(!strcmp(filter_text(f), filter_text(f2)));
		filter_free(f2);
		filter_free(f);
	}
	free(buf);
	return 0;
}
