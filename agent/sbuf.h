/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A growable byte buffer with the few JSON writers the encoders need.
 * Hand-written rather than yajl_gen on the hot path: see docs/performance.md.
 */
#ifndef SF_SBUF_H
#define SF_SBUF_H

#include <stdint.h>
#include <string.h>

#include "util.h"

struct sbuf {
	char *data;
	size_t len;
	size_t cap;
};

void sbuf_grow(struct sbuf *b, size_t need);
void sbuf_free(struct sbuf *b);

static inline void sbuf_reserve(struct sbuf *b, size_t n)
{
	if (b->len + n > b->cap)
		sbuf_grow(b, n);
}

static inline void sbuf_put(struct sbuf *b, const void *p, size_t n)
{
	sbuf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void sbuf_putc(struct sbuf *b, char c)
{
	sbuf_reserve(b, 1);
	b->data[b->len++] = c;
}

#define sbuf_lit(b, s) sbuf_put(b, s, sizeof(s) - 1)

static inline void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

void sbuf_u64(struct sbuf *b, uint64_t v);
void sbuf_i64(struct sbuf *b, int64_t v);
/* v in lowercase hex, no 0x */
void sbuf_hex(struct sbuf *b, uint64_t v);
/*
 * The same digits into a plain buffer with room for them (20 decimal, 22
 * octal, 16 hex): they return the end of what they wrote, no NUL.  printf
 * would do, at ten times the cost on paths run once per event.  hex: at
 * least min digits, zero-padded.
 */
char *sbuf_fmt_u64(char *out, uint64_t v);
char *sbuf_fmt_oct(char *out, uint64_t v);
char *sbuf_fmt_hex(char *out, uint64_t v, unsigned min);
__attribute__((format(printf, 2, 3))) void sbuf_printf(struct sbuf *b,
						       const char *fmt, ...);

/*
 * A JSON string, quoted and escaped, from at most n bytes of s (stops at NUL).
 * Valid UTF-8 passes through; each byte of an invalid sequence is written as
 * \u00XX so the output is always valid JSON.  Lossy: a reader decodes it to
 * U+00XX, the same as that character really written (docs/events.md).
 */
void sbuf_json_str(struct sbuf *b, const char *s, size_t n);
/* The same without the quotes, to build one string from pieces. */
void sbuf_json_str_body(struct sbuf *b, const char *s, size_t n);

/* ,"key": — keys are literals from our own code and need no escaping */
#define sbuf_key(b, k) sbuf_lit(b, ",\"" k "\":")

static inline void sbuf_kv_u64(struct sbuf *b, const char *kq, size_t kl,
			       uint64_t v)
{
	sbuf_put(b, kq, kl);
	sbuf_u64(b, v);
}

#endif
