// SPDX-License-Identifier: GPL-2.0
/*
 * The hand-written JSON writer (agent/sbuf.c) against yajl's parser on random
 * byte strings: invalid UTF-8, control characters, quotes, backslashes.
 * Every output must parse as JSON (yajl, UTF-8 checked) and decode to the
 * input, where bytes outside valid UTF-8 sequences come back as U+0080..U+00FF
 * (the writer's documented \u00XX escape).  Numbers: sbuf_u64/sbuf_i64
 * against printf.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "sbuf.h"
#include "tap.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* An independent UTF-8 check: length of the valid sequence at s, or 0. */
static size_t ref_utf8(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return len;
}

/* What the string must decode to: stops at NUL, invalid bytes -> U+00XX */
static size_t expected(const unsigned char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n && s[i]) {
		size_t u = ref_utf8(s + i, n - i);

		if (u) {
			memcpy(out + o, s + i, u);
			o += u;
			i += u;
		} else {
			out[o++] = (char)(0xc0 | s[i] >> 6);
			out[o++] = (char)(0x80 | (s[i] & 0x3f));
			i++;
		}
	}
	out[o] = 0;
	return o;
}

static const unsigned char alphabet[] = {
	'a',  'Z',  '0',  ' ',	'"',  '\\', '/',  '\n', '\r', '\t',
	0x01, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xa9,
	0xdf, 0xe0, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xef, 0xbb, 0xf0,
	0x9f, 0x98, 0x80, 0xf4, 0x8f, 0xf5, 0xff, 0x00,
};

/* Encode s, parse it back, compare with the expected decoding. */
static int roundtrip(const unsigned char *s, size_t n, char *why, size_t whylen)
{
	struct sbuf b = {0};
	char *want = malloc(2 * n + 1), err[256];
	const char *got;
	yajl_val v;
	int ok = 0;

	sbuf_lit(&b, "[");
	sbuf_json_str(&b, (const char *)s, n);
	sbuf_lit(&b, "]");
	sbuf_putc(&b, 0);
	expected(s, n, want);
	v = yajl_tree_parse(b.data, err, sizeof(err));
	if (!v)
		snprintf(why, whylen, "not JSON (%s): %s", err, b.data);
	else if (!YAJL_IS_ARRAY(v) || v->u.array.len != 1 ||
		 !YAJL_IS_STRING(v->u.array.values[0]))
		snprintf(why, whylen, "not one string: %s", b.data);
	else if (!(got = v->u.array.values[0]->u.string) || strcmp(got, want))
		snprintf(why, whylen, "decodes differently: %s", b.data);
	else
		ok = 1;
	yajl_tree_free(v);
	free(want);
	sbuf_free(&b);
	return ok;
}

int main(void)
{
	unsigned char s[64];
	char why[1024] = "";
	int bad = 0;

	ok(roundtrip((const unsigned char *)"plain", 5, why, sizeof(why)),
	   "plain ASCII");
	ok(roundtrip((const unsigned char *)"q\"b\\s/\x01\x1f\x7f", 9, why,
		     sizeof(why)),
	   "quotes, backslash, control characters");
	ok(roundtrip((const unsigned char
			      *)"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		     14, why, sizeof(why)),
	   "valid UTF-8 passes through");
	ok(roundtrip((const unsigned char
			      *)"\xc0\xaf \xed\xa0\x80 \xf5\x80 \xff \xc3",
		     13, why, sizeof(why)),
	   "overlong, surrogate, out of range, truncated sequences");
	{
		struct sbuf b = {0};

		sbuf_json_str(&b, "ab\0cd", 5);
		ok(b.len == 4 && !memcmp(b.data, "\"ab\"", 4), "stops at NUL");
		b.len = 0;
		sbuf_json_str(&b, "abcd", 2);
		ok(b.len == 4 && !memcmp(b.data, "\"ab\"", 4), "stops at n");
		sbuf_free(&b);
	}

	for (int i = 0; i < 200000 && bad < 5; i++) {
		size_t n = next() % sizeof(s);

		for (size_t j = 0; j < n; j++) {
			uint64_t r = next();

			s[j] = r & 1 ? alphabet[(r >> 1) % sizeof(alphabet)]
				     : (unsigned char)(r >> 8);
		}
		if (!roundtrip(s, n, why, sizeof(why))) {
			bad++;
			printf("# %s\n", why);
		}
	}
	ok(bad == 0,
	   "200000 random byte strings: valid JSON, decode to the input");

	{
		struct sbuf b = {0};
		char want[32];
		int nbad = 0;
		uint64_t fixed[] = {0, 9, 10, 99, 100, 9999, 10000, UINT64_MAX};

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			b.len = 0;
			sbuf_u64(&b, fixed[i]);
			snprintf(want, sizeof(want), "%" PRIu64, fixed[i]);
			nbad += b.len != strlen(want) ||
				memcmp(b.data, want, b.len);
		}
		for (int i = 0; i < 1000000; i++) {
			uint64_t v = next() >> (next() % 64);
			int64_t sv = (int64_t)next() >> (next() % 64);

			b.len = 0;
			sbuf_u64(&b, v);
			snprintf(want, sizeof(want), "%" PRIu64, v);
			nbad += b.len != strlen(want) ||
				memcmp(b.data, want, b.len);
			b.len = 0;
			sbuf_i64(&b, sv);
			snprintf(want, sizeof(want), "%" PRId64, sv);
			nbad += b.len != strlen(want) ||
				memcmp(b.data, want, b.len);
		}
		b.len = 0;
		sbuf_i64(&b, INT64_MIN);
		nbad += b.len != 20 ||
			memcmp(b.data, "-9223372036854775808", 20);
		ok(nbad == 0,
		   "sbuf_u64/sbuf_i64 match printf (edges and 1e6 random)");
		sbuf_free(&b);
	}
	return tap_done();
}
