// SPDX-License-Identifier: GPL-2.0
/* sbuf and its JSON string writer; the output is checked with yajl. */
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "sbuf.h"
#include "tap.h"

static const char *str_json(struct sbuf *b, const char *s, size_t n)
{
	b->len = 0;
	sbuf_json_str(b, s, n);
	sbuf_putc(b, 0);
	return b->data;
}

/* Parses ["<encoded>"] with yajl and returns the decoded string. */
static char *roundtrip(const char *encoded)
{
	char err[256], *doc = xasprintf("[%s]", encoded), *r = NULL;
	yajl_val v = yajl_tree_parse(doc, err, sizeof(err));

	if (v && YAJL_IS_ARRAY(v) && v->u.array.len == 1 &&
	    YAJL_IS_STRING(v->u.array.values[0]))
		r = xstrdup(YAJL_GET_STRING(v->u.array.values[0]));
	yajl_tree_free(v);
	free(doc);
	return r;
}

int main(void)
{
	struct sbuf b = {0};
	char *r;

	is_str(str_json(&b, "plain", 100), "\"plain\"", "plain ASCII");
	is_str(str_json(&b, "a\"b\\c", 100), "\"a\\\"b\\\\c\"",
	       "quote and backslash");
	is_str(str_json(&b, "l1\nl2\tx\r", 100), "\"l1\\nl2\\tx\\r\"",
	       "newline, tab, CR");
	is_str(str_json(&b, "\x01\x1f", 100), "\"\\u0001\\u001f\"",
	       "control characters");
	is_str(str_json(&b, "caf\xc3\xa9", 100), "\"caf\xc3\xa9\"",
	       "valid UTF-8 passes");
	is_str(str_json(&b, "\xe2\x82\xac\xf0\x9f\x98\x80", 100),
	       "\"\xe2\x82\xac\xf0\x9f\x98\x80\"", "3 and 4 byte UTF-8");
	is_str(str_json(&b, "\xff\xfe", 100), "\"\\u00ff\\u00fe\"",
	       "invalid bytes escaped");
	is_str(str_json(&b, "\xc3", 100), "\"\\u00c3\"", "truncated sequence");
	is_str(str_json(&b, "\xc0\xaf", 100), "\"\\u00c0\\u00af\"",
	       "overlong form rejected");
	is_str(str_json(&b, "\xed\xa0\x80", 100), "\"\\u00ed\\u00a0\\u0080\"",
	       "surrogate rejected");
	is_str(str_json(&b, "abcdef", 3), "\"abc\"", "length bound honoured");
	is_str(str_json(&b, "ab\0cd", 5), "\"ab\"", "stops at NUL");

	/* random byte strings always give valid JSON that decodes */
	srand(42);
	int bad = 0;
	for (int i = 0; i < 2000; i++) {
		char in[64];
		size_t n = rand() % sizeof(in);

		for (size_t j = 0; j < n; j++)
			in[j] = (char)(rand() % 255 + 1);
		r = roundtrip(str_json(&b, in, n));
		if (!r)
			bad++;
		free(r);
	}
	ok(bad == 0,
	   "2000 random byte strings all encode to valid JSON (%d bad)", bad);

	/* ASCII and valid UTF-8 round-trip exactly */
	r = roundtrip(str_json(&b, "/tmp/a \"b\"\\c\n\xc3\xa9", 100));
	is_str(r, "/tmp/a \"b\"\\c\n\xc3\xa9",
	       "round-trip through a JSON parser");
	free(r);

	b.len = 0;
	sbuf_u64(&b, 0);
	sbuf_putc(&b, ' ');
	sbuf_u64(&b, UINT64_MAX);
	sbuf_putc(&b, ' ');
	sbuf_i64(&b, INT64_MIN);
	sbuf_putc(&b, ' ');
	sbuf_i64(&b, -42);
	sbuf_putc(&b, 0);
	is_str(b.data, "0 18446744073709551615 -9223372036854775808 -42",
	       "integers");

	/* the printf-free writers give what printf gives */
	{
		static const uint64_t vals[] = {0,	    1,	       7,
						8,	    9,	       10,
						15,	    16,	       0100644,
						0177777,    0xef53,    999999,
						1ull << 63, UINT64_MAX};
		char mine[80], want[80], *e;
		int bad_fmt = 0;

		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			uint64_t v = vals[i];

			e = sbuf_fmt_u64(mine, v);
			*e++ = ' ';
			e = sbuf_fmt_oct(e, v);
			*e++ = ' ';
			e = sbuf_fmt_hex(e, v, 1);
			*e++ = ' ';
			e = sbuf_fmt_hex(e, v & 0xff, 2);
			*e = 0;
			snprintf(want, sizeof(want), "%llu %llo %llx %02llx",
				 (unsigned long long)v, (unsigned long long)v,
				 (unsigned long long)v,
				 (unsigned long long)(v & 0xff));
			if (strcmp(mine, want)) {
				printf("#   %s, printf: %s\n", mine, want);
				bad_fmt++;
			}
		}
		ok(bad_fmt == 0, "sbuf_fmt_u64/oct/hex match printf");
		/* every digit count, and each side of the eight-digit
		 * chunks: 10^k - 1, 10^k, 10^k + 1, 2^k - 1, 2^k */
		bad_fmt = 0;
		for (int k = 0; k < 64; k++) {
			uint64_t p10 = 1, c[5];

			for (int j = 0; j < k % 20; j++)
				p10 *= 10;
			c[0] = p10 - 1, c[1] = p10, c[2] = p10 + 1;
			c[3] = (1ull << k) - 1, c[4] = 1ull << k;
			for (int j = 0; j < 5; j++) {
				b.len = 0;
				sbuf_u64(&b, c[j]);
				e = sbuf_fmt_u64(mine, c[j]);
				*e = 0;
				snprintf(want, sizeof(want), "%llu",
					 (unsigned long long)c[j]);
				if (b.len != strlen(want) ||
				    memcmp(b.data, want, b.len) ||
				    strcmp(mine, want)) {
					printf("#   %s, printf: %s\n", mine,
					       want);
					bad_fmt++;
				}
			}
		}
		ok(bad_fmt == 0,
		   "sbuf_u64 and sbuf_fmt_u64 match printf at every digit count and chunk edge");
		b.len = 0;
		sbuf_hex(&b, 0xdeadbeef);
		sbuf_putc(&b, 0);
		is_str(b.data, "deadbeef", "sbuf_hex");
	}

	sbuf_free(&b);
	return tap_done();
}
