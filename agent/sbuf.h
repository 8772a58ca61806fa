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

/* Two digits per division: a record has a dozen numbers, this is hot. */
static const char sbuf_digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/* Decimal digits of v from its bit length, no division (v | 1 has as many
 * digits as v, and makes 0 one digit). */
static inline unsigned sbuf_u64_digits(uint64_t v)
{
	static const uint64_t pow10[20] = {1ull,
					   10ull,
					   100ull,
					   1000ull,
					   10000ull,
					   100000ull,
					   1000000ull,
					   10000000ull,
					   100000000ull,
					   1000000000ull,
					   10000000000ull,
					   100000000000ull,
					   1000000000000ull,
					   10000000000000ull,
					   100000000000000ull,
					   1000000000000000ull,
					   10000000000000000ull,
					   100000000000000000ull,
					   1000000000000000000ull,
					   10000000000000000000ull};
	uint64_t w = v | 1;
	unsigned t = ((64 - __builtin_clzll(w)) * 1233) >> 12;

	return t + 1 - (w < pow10[t]);
}

/* The two digits of d < 100 before p. */
static inline char *sbuf_put2_(char *p, unsigned d)
{
	p -= 2;
	memcpy(p, sbuf_digit_pairs + d * 2, 2);
	return p;
}

/*
 * The n = sbuf_u64_digits(v) digits of v at out, back to front, eight at a
 * time: one 64-bit division by 10^8 per eight digits (a timestamp has
 * 19), the rest in 32-bit arithmetic, whose division by a constant is a
 * cheaper multiply than the 64-bit one the loop did per pair.
 */
static inline __attribute__((always_inline)) void
sbuf_fmt_u64_n(char *out, uint64_t v, unsigned n)
{
	char *p = out + n;
	uint32_t w;

	if (v < 10) {
		*out = '0' + v;
		return;
	}
	while (v >= 100000000) {
		uint32_t lo = v % 100000000;

		v /= 100000000;
		p = sbuf_put2_(p, lo % 100);
		lo /= 100;
		p = sbuf_put2_(p, lo % 100);
		lo /= 100;
		p = sbuf_put2_(p, lo % 100);
		p = sbuf_put2_(p, lo / 100);
	}
	w = v;
	while (w >= 100) {
		p = sbuf_put2_(p, w % 100);
		w /= 100;
	}
	if (w >= 10)
		sbuf_put2_(p, w);
	else
		p[-1] = '0' + w;
}

static inline char *sbuf_fmt_u64(char *out, uint64_t v)
{
	unsigned n = sbuf_u64_digits(v);

	sbuf_fmt_u64_n(out, v, n);
	return out + n;
}

/* v with its sign, at most 1 + SBUF_U64_MAX bytes */
static inline char *sbuf_fmt_i64(char *out, int64_t v)
{
	if (v < 0) {
		*out++ = '-';
		return sbuf_fmt_u64(out, -(uint64_t)v);
	}
	return sbuf_fmt_u64(out, v);
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

/*
 * A run of fields of bounded size written through a cursor: one reserve
 * for the whole run (sbuf_cur: at most `most` bytes), the writers below on
 * the pointer, then sbuf_cur_end.  The buffer's length and capacity are
 * not loaded and stored per field, which with eleven numbers a record was
 * a quarter of the json encoder's samples.
 */
static inline char *sbuf_cur(struct sbuf *b, size_t most)
{
	sbuf_reserve(b, most);
	return b->data + b->len;
}

static inline void sbuf_cur_end(struct sbuf *b, char *p)
{
	b->len = p - b->data;
}

#define SBUF_U64_MAX 20 /* digits of UINT64_MAX */
/* a literal; ,"k": and a number (at most sizeof(k) + 3 + SBUF_U64_MAX) */
#define sbuf_cur_lit(p, s) ((char *)memcpy(p, s, sizeof(s) - 1) + sizeof(s) - 1)
#define sbuf_cur_key_u64(p, k, v) \
	sbuf_fmt_u64(sbuf_cur_lit(p, ",\"" k "\":"), v)

#endif
