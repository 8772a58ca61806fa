// SPDX-License-Identifier: GPL-2.0
/* Resolved paths of the decoded view: see decode_path.h. */
#include "decode_path.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "hostpath.h"
#include "sfagent.h"

#define N(a)	      (sizeof(a) / sizeof((a)[0]))
#define MAX_COMPS     160 /* a component takes 2 bytes of kp.buf at least */
#define RESOLVED_MAX  (2 * SF_PATH_MAX) /* base + typed */
#define AT_FDCWD_     -100
#define AT_EMPTY_PATH 0x1000

/* kp.buf split into its components (leaf first), n + n_fs of them */
struct comps {
	const char *c[MAX_COMPS];
	size_t n;
};

static void comps_split(const struct sf_fpath *fp, struct comps *cs)
{
	size_t off = 0, want = (size_t)fp->kp.n + fp->n_fs;

	cs->n = 0;
	while (cs->n < want && cs->n < N(cs->c) && off < sizeof(fp->kp.buf)) {
		size_t l = strnlen(fp->kp.buf + off, sizeof(fp->kp.buf) - off);

		if (off + l >= sizeof(fp->kp.buf))
			break; /* no NUL: garbage, stop */
		cs->c[cs->n++] = fp->kp.buf + off;
		off += l + 1;
	}
}

/* "/" + c[to-1] + "/" + ... + c[from]: components [from, to) root first */
static int comps_join(const struct comps *cs, size_t from, size_t to, char *out,
		      size_t cap)
{
	size_t len = 0;

	if (cap < 2)
		return -1;
	for (size_t i = to; i-- > from;) {
		size_t l = strlen(cs->c[i]);

		if (len + 1 + l + 1 > cap)
			return -1;
		out[len++] = '/';
		memcpy(out + len, cs->c[i], l);
		len += l;
	}
	if (!len)
		out[len++] = '/';
	out[len] = 0;
	return (int)len;
}

int decode_path_join(const char *base, const char *typed, size_t typed_len,
		     char *out, size_t cap, bool *above)
{
	size_t len, i = 0;

	*above = false;
	if (typed_len && typed[0] == '/')
		base = "/";
	len = strlen(base);
	if (len + 1 > cap)
		return -1;
	memcpy(out, base, len + 1);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = 0;
	while (i < typed_len) {
		size_t s = i, l;

		while (i < typed_len && typed[i] != '/')
			i++;
		l = i - s;
		i++; /* the slash */
		if (l == 0 || (l == 1 && typed[s] == '.'))
			continue;
		if (l == 2 && typed[s] == '.' && typed[s + 1] == '.') {
			if (len <= 1) {
				*above = true;
				continue;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 1)
				len--; /* the slash before it, not the root's */
			out[len] = 0;
			continue;
		}
		if (len + (len > 1) + l + 1 > cap)
			return -1;
		if (len > 1)
			out[len++] = '/';
		memcpy(out + len, typed + s, l);
		len += l;
		out[len] = 0;
	}
	return (int)len;
}

/* What this event's resolution found, for the flag keys at the end. */
struct res_state {
	bool partial, deleted, lexical;
};

/*
 * The host view of resolved (res_len bytes) from fp: the first mount's
 * mount point in the task's view (kp components n_mnt..n) must still
 * prefix resolved (a ".." may have left it), the rest is appended to the
 * mount's own path in its file system (the n_fs components), and that is
 * looked up in the host's mount table.
 */
static int host_of(const struct sf_fpath *fp, const struct comps *cs,
		   const char *resolved, char *out, size_t cap)
{
	char mp[RESOLVED_MAX], fsroot[SF_PATH_MAX + 2], fspath[RESOLVED_MAX];
	const char *rest;
	int mpl, n;

	if ((fp->flags & SF_FP_FS_CUT) || !(fp->kp.flags & SF_KP_ROOT) ||
	    (fp->kp.flags & SF_KP_DISCONNECTED) || fp->n_mnt > fp->kp.n ||
	    cs->n < (size_t)fp->kp.n + fp->n_fs)
		return -1;
	mpl = comps_join(cs, fp->n_mnt, fp->kp.n, mp, sizeof(mp));
	if (mpl < 0 || comps_join(cs, fp->kp.n, (size_t)fp->kp.n + fp->n_fs,
				  fsroot, sizeof(fsroot)) < 0)
		return -1;
	if (mpl == 1) { /* "/" prefixes everything */
		rest = resolved;
	} else {
		if (strncmp(resolved, mp, mpl) ||
		    (resolved[mpl] && resolved[mpl] != '/'))
			return -1;
		rest = resolved + mpl;
	}
	if (!strcmp(fsroot, "/"))
		n = hostpath_join(fspath, sizeof(fspath), "",
				  *rest ? rest : "/");
	else
		n = hostpath_join(fspath, sizeof(fspath), fsroot, rest);
	if (n < 0)
		return -1;
	return hostpath_lookup(fp->dev, fspath, out, cap);
}

/* A file whose name the kernel makes on demand (d_dname): the name
 * readlink(/proc/PID/fd/N) shows, from the file system and inode. */
static void pseudo_name(struct decode_event *v, const struct sf_fpath *fp,
			const struct comps *cs, const char *key,
			struct res_state *st)
{
	const struct sf_ident *id = (v->has & DECODE_HAS_IDENT) ? v->ident
								: NULL;
	char name[SF_PATH_MAX + 16];
	int n = -1;

	if (id && !strcmp(id->fs, "pipefs"))
		n = snprintf(name, sizeof(name), "pipe:[%llu]",
			     (unsigned long long)id->ino);
	else if (id && !strcmp(id->fs, "sockfs"))
		n = snprintf(name, sizeof(name), "socket:[%llu]",
			     (unsigned long long)id->ino);
	else if (id && !strcmp(id->fs, "anon_inodefs") && fp->kp.n == 1 &&
		 cs->n >= 1)
		n = snprintf(name, sizeof(name), "anon_inode:%s", cs->c[0]);
	else if (fp->kp.n == 1 && cs->n >= 1 && cs->c[0][0] != '[')
		/* simple_dname (memfd, shared memory): "/" and the name */
		n = snprintf(name, sizeof(name), "/%s", cs->c[0]);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		st->partial = true; /* a name this agent cannot make */
		return;
	}
	if (fp->kp.flags & SF_KP_DELETED)
		st->deleted = true;
	decode_sec_add_str(v, key, name, n);
}

/*
 * One resolved path: fp walked the object (typed NULL) or a path call's
 * base (typed: the path as passed, joined here).  key/host_key: the view's
 * key names.
 */
static void resolve_one(struct decode_event *v, const struct sf_fpath *fp,
			const char *typed, size_t typed_len, bool typed_cut,
			const char *key, const char *host_key,
			struct res_state *st)
{
	char base[RESOLVED_MAX], res[RESOLVED_MAX], host[RESOLVED_MAX];
	struct comps cs;
	bool above = false;
	int n, hn;

	if (fp->base == SF_FP_BASE_NONE || (fp->kp.flags & SF_KP_NONE))
		return;
	comps_split(fp, &cs);
	if (fp->kp.flags & SF_KP_DNAME) {
		pseudo_name(v, fp, &cs, key, st);
		return;
	}
	if (cs.n < fp->kp.n ||
	    comps_join(&cs, 0, fp->kp.n, base, sizeof(base)) < 0) {
		st->partial = true;
		return;
	}
	if (!(fp->kp.flags & SF_KP_ROOT) || (fp->kp.flags & SF_KP_DISCONNECTED))
		st->partial = true;
	if (fp->kp.flags & SF_KP_DELETED)
		st->deleted = true;
	if (fp->base == SF_FP_BASE_FILE || !typed) {
		n = (int)strlen(base);
		memcpy(res, base, n + 1);
	} else {
		st->lexical = true;
		if (typed_cut)
			st->partial = true;
		n = decode_path_join(base, typed, typed_len, res, sizeof(res),
				     &above);
		if (n < 0) {
			st->partial = true;
			return;
		}
		/* ".." above a cut base: the part it names is not known */
		if (above && !(fp->kp.flags & SF_KP_ROOT))
			st->partial = true;
	}
	decode_sec_add_str(v, key, res, n);
	if (!host_key)
		return;
	/* the host's own tasks (their namespace, not chrooted) see the host
	 * path already */
	if (hostpath_is_host_ns(fp->mnt_ns) && (fp->flags & SF_FP_NSROOT))
		return;
	hn = host_of(fp, &cs, res, host, sizeof(host));
	if (hn >= 0 && strcmp(host, res))
		decode_sec_add_str(v, host_key, host, hn);
}

static void resolve_flags(struct decode_event *v, const struct res_state *st)
{
	if (st->partial)
		decode_sec_add_bool(v, "resolved_partial", true);
	if (st->deleted)
		decode_sec_add_bool(v, "deleted", true);
	if (st->lexical)
		decode_sec_add_bool(v, "resolved_lexical", true);
}

void decode_path_file(struct decode_event *v, const void *raw)
{
	const struct sf_file_event *e = raw;
	uint16_t fl = e->hdr.flags;
	struct res_state st = {0};
	const char *p1 = e->path, *p2 = e->path2;
	size_t l1 = strnlen(p1, SF_PATH_MAX), l2 = strnlen(p2, SF_PATH_MAX);
	bool c1 = fl & (SF_F_PATH_TRUNC | SF_F_PATH_FAULT);
	bool c2 = fl & (SF_F_PATH2_TRUNC | SF_F_PATH2_FAULT);

	if ((fl & SF_F_HAS_RET) && e->hdr.ret < 0)
		return;
	switch (e->hdr.type) {
	case SF_EV_SYMLINK: /* the object is the link: path2 */
		resolve_one(v, &e->res, p2, l2, c2, "resolved", "host_path",
			    &st);
		break;
	case SF_EV_RENAME:
	case SF_EV_LINK:
		resolve_one(v, &e->res, p1, l1, c1, "resolved", "host_path",
			    &st);
		resolve_one(v, e->res2.flags & SF_FP_SAME ? &e->res : &e->res2,
			    p2, l2, c2, "resolved2", "host_path2", &st);
		break;
	default:
		resolve_one(v, &e->res, p1, l1, c1, "resolved", "host_path",
			    &st);
		break;
	}
	resolve_flags(v, &st);
}

void decode_path_sec(struct decode_event *v, const void *raw)
{
	const struct sf_sec_event *e = raw;
	uint16_t fl = e->hdr.flags;
	struct res_state st = {0};
	const char *typed = NULL;
	size_t tl = 0;
	bool cut = false;

	if ((fl & SF_F_HAS_RET) && e->hdr.ret < 0)
		return;
	if (e->res.base != SF_FP_BASE_FILE) {
		int i = e->hdr.type == SF_EV_MOUNT ? 1 : 0;
		uint16_t tf = i ? SF_F_PATH2_TRUNC | SF_F_PATH2_FAULT
				: SF_F_PATH_TRUNC | SF_F_PATH_FAULT;

		typed = e->str[i];
		tl = strnlen(typed, SF_STR_MAX);
		cut = fl & tf;
	}
	resolve_one(v, &e->res, typed, tl, cut, "resolved", "host_path", &st);
	resolve_flags(v, &st);
}
