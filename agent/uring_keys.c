// SPDX-License-Identifier: GPL-2.0
/* The keys of the io_uring requests table: see uring_keys.h. */
#include <bpf/bpf.h>
#include <errno.h>

#include "uring_keys.h"
#include "util.h"

#define CHUNK 64 /* entries per batch call (a bucket more: grown) */

int uring_keys_collect(int fd, uint32_t value_size, uint64_t *keys, int max)
{
	static char *vals;
	static uint32_t vals_cap;
	uint32_t cursor = 0, chunk = CHUNK;
	bool first = true;
	int n = 0;

	while (n < max) {
		uint32_t left = (uint32_t)(max - n);
		uint32_t count = chunk < left ? chunk : left;
		int r;

		if (vals_cap < count * value_size) {
			vals_cap = count * value_size;
			vals = xrealloc(vals, vals_cap);
		}
		/* the values are not used (the sweep takes each entry with
		 * lookup and delete), but the call copies them */
		r = bpf_map_lookup_batch(fd, first ? NULL : &cursor, &cursor,
					 keys + n, vals, &count, NULL);
		if (r < 0 && r != -ENOENT && r != -ENOSPC)
			return n ? n : r;
		if (r == -ENOSPC && !count) {
			/* one bucket holds more than count: a bigger call */
			if (chunk >= left)
				return n;
			chunk *= 2;
			continue;
		}
		n += count;
		first = false;
		if (r == -ENOENT)
			break; /* the last bucket was read */
	}
	return n;
}
