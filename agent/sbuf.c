// SPDX-License-Identifier: GPL-2.0
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>

void sbuf_grow(struct sbuf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;

	while (cap < b->len + need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void sbuf_free(struct sbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Written in place, back to front: a temporary copied with memcpy stalls on
 * store forwarding. */
void sbuf_u64(struct sbuf *b, uint64_t v)
{
	unsigned n = sbuf_u64_digits(v);

	sbuf_reserve(b, n);
	sbuf_fmt_u64_n(b->data + b->len, v, n);
	b->len += n;
}

char *sbuf_fmt_oct(char *out, uint64_t v)
{
	unsigned n = v ? (66 - __builtin_clzll(v)) / 3 : 1;

	for (char *p = out + n; p > out; v >>= 3)
		*--p = '0' + (v & 7);
	return out + n;
}

char *sbuf_fmt_hex(char *out, uint64_t v, unsigned min)
{
	static const char hex[] = "0123456789abcdef";
	unsigned n = v ? (67 - __builtin_clzll(v)) / 4 : 1;

	if (n < min)
		n = min;
	for (char *p = out + n; p > out; v >>= 4)
		*--p = hex[v & 15];
	return out + n;
}

void sbuf_hex(struct sbuf *b, uint64_t v)
{
	sbuf_reserve(b, 16);
	b->len = sbuf_fmt_hex(b->data + b->len, v, 1) - b->data;
}

void sbuf_i64(struct sbuf *b, int64_t v)
{
	char *p = sbuf_cur(b, 1 + SBUF_U64_MAX);

	sbuf_cur_end(b, sbuf_fmt_i64(p, v));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* one formatting pass when it fits, which is nearly always */
	sbuf_reserve(b, 128);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if ((size_t)n >= b->cap - b->len) {
		sbuf_reserve(b, n + 1);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* inlined into both callers: sbuf_json_str is on every event's path */
static inline __attribute__((always_inline)) void
json_str_body(struct sbuf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	while (i < n && s[i]) {
		unsigned char c = s[i];
		size_t u;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
		if (run) {
			sbuf_put(b, s + i - run, run);
			run = 0;
		}
		if (c >= 0x80) {
			u = utf8_seq(s + i, n - i);
			if (u) {
				sbuf_put(b, s + i, u);
				i += u;
				continue;
			}
		}
		sbuf_reserve(b, 6);
		switch (c) {
		case '"':
			sbuf_lit(b, "\\\"");
			break;
		case '\\':
			sbuf_lit(b, "\\\\");
			break;
		case '\n':
			sbuf_lit(b, "\\n");
			break;
		case '\t':
			sbuf_lit(b, "\\t");
			break;
		case '\r':
			sbuf_lit(b, "\\r");
			break;
		default: {
			char esc[6] = {'\\', 'u',	  '0',
				       '0',  hex[c >> 4], hex[c & 15]};

			sbuf_put(b, esc, 6);
		}
		}
		i++;
	}
	if (run)
		sbuf_put(b, s + i - run, run);
}

void sbuf_json_str_body(struct sbuf *b, const char *s, size_t n)
{
	json_str_body(b, s, n);
}

void sbuf_json_str(struct sbuf *b, const char *s, size_t n)
{
	/* worst case 6 output bytes per input byte, plus quotes */
	sbuf_reserve(b, 2);
	b->data[b->len++] = '"';
	json_str_body(b, s, n);
	sbuf_putc(b, '"');
}
