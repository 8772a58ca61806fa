// SPDX-License-Identifier: GPL-2.0
/* Writer helpers the encoders share; the names come from decode.c. */
#include "encode.h"

#include <fcntl.h>

#include "workload.h"

bool encode_memo_on = true;

/* encode_util_ident's memo: per slot, the strings it was written from */
#define IDENT_RAW 128
struct ident_memo {
	char name[IDENT_RAW], cid[IDENT_RAW];
	bool has_cid;
	uint16_t len; /* 0: empty */
	char text[2 * (16 + 6 * IDENT_RAW)];
};
static struct ident_memo ident_memo[16];

static void ident_write(struct sbuf *o, const struct workload *wl)
{
	sbuf_key(o, "workload");
	sbuf_json_str(o, wl->name, SIZE_MAX);
	if (wl->container_id) {
		sbuf_key(o, "container");
		sbuf_json_str(o, wl->container_id, SIZE_MAX);
	}
}

void encode_util_ident(struct sbuf *o, const struct workload *wl)
{
	struct ident_memo *m = &ident_memo[wl->slot & 15];
	size_t from = o->len, nl, cl = 0;

	if (m->len && encode_memo_on && !strcmp(m->name, wl->name) &&
	    (wl->container_id ? m->has_cid && !strcmp(m->cid, wl->container_id)
			      : !m->has_cid)) {
		sbuf_put(o, m->text, m->len);
		return;
	}
	ident_write(o, wl);
	m->len = 0;
	nl = strnlen(wl->name, IDENT_RAW);
	if (wl->container_id)
		cl = strnlen(wl->container_id, IDENT_RAW);
	/* a string too long for the memo: written each time */
	if (nl == IDENT_RAW || cl == IDENT_RAW ||
	    o->len - from > sizeof(m->text))
		return;
	memcpy(m->name, wl->name, nl + 1);
	m->has_cid = wl->container_id != NULL;
	if (m->has_cid)
		memcpy(m->cid, wl->container_id, cl + 1);
	memcpy(m->text, o->data + from, o->len - from);
	m->len = o->len - from;
}

/* open(2)'s access mode, which is a number, not a bit */
static void accmode(struct sbuf *o, uint64_t flags)
{
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		sbuf_lit(o, "O_RDONLY");
		break;
	case O_WRONLY:
		sbuf_lit(o, "O_WRONLY");
		break;
	default:
		sbuf_lit(o, "O_RDWR");
		break;
	}
}

void encode_util_flags(struct sbuf *o, const struct decode_event *v)
{
	const struct decode_flagset *fs = v->flag_names;
	const struct decode_flag *b = fs ? fs->bits : NULL;
	size_t n = fs ? fs->n : 0, i = 0;
	uint64_t rest = v->flags;

	sbuf_putc(o, '"');
	if (fs && fs->accmode) {
		accmode(o, v->flags);
		rest &= ~(uint64_t)O_ACCMODE;
	} else {
		/* the first name has no '|' before it */
		while (i < n && (v->flags & b[i].bit) != b[i].bit)
			i++;
		if (i < n) {
			sbuf_puts(o, b[i].name);
			rest &= ~b[i++].bit;
		} else if (!rest) {
			sbuf_puts(o, fs && fs->none ? fs->none : "0");
		}
	}
	for (; i < n; i++) {
		if ((v->flags & b[i].bit) == b[i].bit) {
			sbuf_putc(o, '|');
			sbuf_puts(o, b[i].name);
			rest &= ~b[i].bit;
		}
	}
	/* bits without a name are kept, as a number */
	if (rest)
		sbuf_printf(o, "%s0x%llx",
			    o->data[o->len - 1] == '"' ? "" : "|",
			    (unsigned long long)rest);
	sbuf_putc(o, '"');
}

void encode_util_argv(struct sbuf *o, const struct decode_event *v, bool array)
{
	uint32_t pos = 0;
	const char *arg;
	size_t n;

	sbuf_putc(o, array ? '[' : '"');
	while (decode_argv_next(v, &pos, &arg, &n)) {
		if (pos > n + 1) /* not the first */
			sbuf_putc(o, array ? ',' : ' ');
		if (array)
			sbuf_json_str(o, arg, n);
		else
			sbuf_json_str_body(o, arg, n);
	}
	sbuf_putc(o, array ? ']' : '"');
}

void encode_util_wrap_native_end(struct sbuf *o)
{
	o->len--;
	sbuf_lit(o, "}\n");
}

static void extra_one(struct sbuf *o, const struct decode_kv *kv, bool strings)
{
	sbuf_lit(o, ",\"");
	sbuf_puts(o, kv->key);
	sbuf_lit(o, "\":");
	switch (kv->kind) {
	case DECODE_KV_INT:
		if (strings)
			sbuf_putc(o, '"');
		sbuf_i64(o, kv->i);
		if (strings)
			sbuf_putc(o, '"');
		break;
	case DECODE_KV_HEX:
		sbuf_lit(o, "\"0x");
		sbuf_hex(o, (uint64_t)kv->i);
		sbuf_putc(o, '"');
		break;
	case DECODE_KV_BOOL:
		if (strings)
			sbuf_puts(o, kv->i ? "\"true\"" : "\"false\"");
		else
			sbuf_puts(o, kv->i ? "true" : "false");
		break;
	case DECODE_KV_OBJ:
		sbuf_put(o, kv->s, kv->len);
		break;
	case DECODE_KV_STR:
		if (!kv->s)
			sbuf_lit(o, "null");
		else
			sbuf_json_str(o, kv->s, kv->len);
		if (kv->truncated) {
			sbuf_lit(o, ",\"");
			sbuf_puts(o, kv->key);
			sbuf_puts(o, strings ? "_truncated\":\"true\""
					     : "_truncated\":true");
		}
		break;
	}
}

void encode_util_extra(struct sbuf *o, const struct decode_event *v,
		       unsigned from, unsigned to, bool strings)
{
	if (to > v->x.n)
		to = v->x.n;
	for (unsigned i = from; i < to; i++)
		extra_one(o, &v->x.kv[i], strings);
}
