/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the libFuzzer harnesses: property checks that abort. */
#ifndef SF_FUZZ_H
#define SF_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define fuzz_assert(cond)                                                \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "property failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);              \
			abort();                                         \
		}                                                        \
	} while (0)

/* The input as a NUL-terminated string (a NUL inside ends it early). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	return xstrndup((const char *)data, size);
}

/* Every error is one line: no control character survives into a message. */
static inline void fuzz_check_error(struct sf_error *err)
{
	if (!err)
		return;
	for (const char *p = err->msg; *p; p++)
		fuzz_assert((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* UTF-8 as the parsers promise it: well formed, no surrogates. */
static inline int fuzz_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (!n || c > 0xf4)
			return 0;
		cp = c & (0x3f >> n);
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

#endif
