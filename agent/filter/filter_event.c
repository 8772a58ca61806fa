// SPDX-License-Identifier: GPL-2.0
/* The filter's accessors: event keys from the decoded view (decode.h). */
#include "filter_event.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static void num(struct filter_value *v, int64_t n)
{
	v->kind = FILTER_NUM;
	v->num = n;
}

static void str(struct filter_value *v, const char *s, size_t len)
{
	if (!s)
		return;
	v->kind = FILTER_STR;
	v->str = s;
	v->len = len;
}

static void cstr(struct filter_value *v, const char *s)
{
	str(v, s, s ? strlen(s) : 0);
}

static void dstr(struct filter_value *v, const struct decode_str *s)
{
	if (!s->fault && s->s)
		str(v, s->s, s->len);
}

/* flags as the json format writes them ("O_WRONLY|O_CREAT"), from the
 * view's table of names, into the evaluator's buffer */
static void flags_str(struct filter_value *v, const struct decode_event *e)
{
	const struct decode_flagset *fs = e->flag_names;
	uint64_t rest = e->flags;
	size_t o = 0;

#define PUT(s)                                                             \
	o += snprintf(v->buf + o, o < v->bufsz ? v->bufsz - o : 0, "%s%s", \
		      o ? "|" : "", (s))
	if (fs && fs->accmode) {
		PUT((e->flags & O_ACCMODE) == O_RDONLY	 ? "O_RDONLY"
		    : (e->flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
							 : "O_RDWR");
		rest &= ~(uint64_t)O_ACCMODE;
	}
	for (size_t i = 0; fs && i < fs->n; i++)
		if ((e->flags & fs->bits[i].bit) == fs->bits[i].bit) {
			PUT(fs->bits[i].name);
			rest &= ~fs->bits[i].bit;
		}
#undef PUT
	if (rest && o < v->bufsz)
		o += snprintf(v->buf + o, v->bufsz - o, "%s0x%llx",
			      o ? "|" : "", (unsigned long long)rest);
	if (!o && o < v->bufsz)
		o = snprintf(v->buf, v->bufsz, "%s",
			     fs && fs->none ? fs->none : "0");
	str(v, v->buf, o < v->bufsz ? o : v->bufsz - 1);
}

/* argv as one string, arguments joined by a blank (as a shell shows them) */
static void argv_str(struct filter_value *v, const struct decode_event *e)
{
	uint32_t pos = 0;
	const char *a;
	size_t n, o = 0;

	while (decode_argv_next(e, &pos, &a, &n)) {
		if (o && o < v->bufsz)
			v->buf[o++] = ' ';
		if (n > v->bufsz - o)
			n = v->bufsz - o;
		memcpy(v->buf + o, a, n);
		o += n;
	}
	str(v, v->buf, o);
}

/* A named field of the view's list (decode_sec.h), by name. */
static void field(struct filter_value *v, const struct decode_event *e,
		  const char *name)
{
	for (unsigned i = 0; i < e->x.n; i++) {
		const struct decode_kv *kv = &e->x.kv[i];

		if (strcmp(kv->key, name))
			continue;
		if (kv->kind == DECODE_KV_STR)
			str(v, kv->s, kv->len);
		else if (kv->kind == DECODE_KV_BOOL)
			cstr(v, kv->i ? "true" : "false");
		else
			num(v, kv->i);
		return;
	}
}

static void core_key(const struct decode_event *e, enum filter_key key,
		     struct filter_value *v);

/* Event keys: as docs/events.md names them for the json format.  A key the
 * view's own fields do not hold may be one of the type's named fields
 * (fs.chroot's path, net.sendto's addr). */
void filter_event_get(const void *ctx, enum filter_key key, const char *arg,
		      struct filter_value *v)
{
	const struct decode_event *e = ctx;

	if (key == FILTER_KEY_FIELD) {
		field(v, e, arg);
		return;
	}
	core_key(e, key, v);
	if (v->kind == FILTER_ABSENT && e->x.n)
		field(v, e, filter_key_name(key));
}

static void core_key(const struct decode_event *e, enum filter_key key,
		     struct filter_value *v)
{
	uint32_t has = e->has;

	switch (key) {
	case FILTER_KEY_PID:
		return num(v, e->pid);
	case FILTER_KEY_TID:
		return num(v, e->tid);
	case FILTER_KEY_PPID:
		return num(v, e->ppid);
	case FILTER_KEY_UID:
		return num(v, e->uid);
	case FILTER_KEY_GID:
		return num(v, e->gid);
	case FILTER_KEY_EUID:
		return num(v, e->euid);
	case FILTER_KEY_COMM:
		return dstr(v, &e->comm);
	case FILTER_KEY_CGROUP:
		return num(v, (int64_t)e->cgid);
	case FILTER_KEY_SYSCALL:
		return cstr(v, e->syscall);
	case FILTER_KEY_RET:
		if (e->has_ret)
			num(v, e->ret);
		return;
	case FILTER_KEY_PATH:
		if ((has & DECODE_HAS_PATH) && e->cls != DECODE_CLASS_EXEC)
			dstr(v, &e->path);
		return;
	case FILTER_KEY_FILENAME:
		if ((has & DECODE_HAS_PATH) && e->cls == DECODE_CLASS_EXEC)
			dstr(v, &e->path);
		return;
	case FILTER_KEY_NEWPATH:
		if (has & DECODE_HAS_PATH2)
			dstr(v, &e->path2);
		return;
	case FILTER_KEY_ARGV:
		if (has & DECODE_HAS_ARGV)
			argv_str(v, e);
		return;
	case FILTER_KEY_FD:
		if (has & DECODE_HAS_FD)
			num(v, e->fd);
		else if (has & DECODE_HAS_SOCK)
			num(v, e->net_fd);
		return;
	case FILTER_KEY_FLAGS:
		if (has & DECODE_HAS_FLAGS)
			flags_str(v, e);
		return;
	case FILTER_KEY_EXIT_CODE:
		if (has & DECODE_HAS_EXIT_CODE) /* not when killed */
			num(v, e->exit_code);
		return;
	case FILTER_KEY_SIG:
		if (has & DECODE_HAS_SIG)
			cstr(v, e->sig_name);
		return;
	case FILTER_KEY_CHILD_PID:
		if (has & DECODE_HAS_CHILD)
			num(v, e->child_pid);
		return;
	case FILTER_KEY_TARGET_PID:
		if ((has & DECODE_HAS_TARGET) && e->has_target_pid)
			num(v, e->target_pid);
		return;
	case FILTER_KEY_CAP:
		if (has & DECODE_HAS_CAP)
			num(v, e->cap);
		return;
	case FILTER_KEY_CAP_NAME:
		if (has & DECODE_HAS_CAP)
			cstr(v, e->cap_name);
		return;
	case FILTER_KEY_GRANTED:
		if (has & DECODE_HAS_CAP)
			cstr(v, e->granted ? "true" : "false");
		return;
	case FILTER_KEY_FAMILY:
		if (has & DECODE_HAS_FAMILY)
			cstr(v, e->family_name);
		return;
	case FILTER_KEY_ADDR:
		if (has & DECODE_HAS_INET)
			cstr(v, e->addr_str);
		else if (has & DECODE_HAS_UNIX)
			dstr(v, &e->unix_path);
		return;
	case FILTER_KEY_PORT:
		if (has & DECODE_HAS_INET)
			num(v, e->port);
		return;
	case FILTER_KEY_NEW_UID:
		if (has & DECODE_HAS_CRED)
			num(v, e->new_uid);
		return;
	case FILTER_KEY_NEW_EUID:
		if (has & DECODE_HAS_CRED)
			num(v, e->new_euid);
		return;
	default:
		return; /* type, priority and stream keys are not asked here */
	}
}
