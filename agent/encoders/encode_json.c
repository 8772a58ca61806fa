// SPDX-License-Identifier: GPL-2.0
/* The native format: one JSON object per line, schema in docs/events.md. */
#include <string.h>

#include "encode.h"
#include "workload.h"

#define SF_SCHEMA_VERSION 1

/* {"type":"...","seq":N,"ts":N,"workload":"..."[,"container":"..."] */
static void head(struct sbuf *o, const char *type, const struct workload *wl,
		 uint64_t seq, uint64_t ts)
{
	char *p;

	sbuf_lit(o, "{\"type\":\"");
	sbuf_puts(o, type);
	/* the numbers through a cursor (sbuf.h): one reserve for all */
	p = sbuf_cur(o, 2 * SBUF_U64_MAX + 16);
	p = sbuf_cur_lit(p, "\",\"seq\":");
	p = sbuf_fmt_u64(p, seq);
	p = sbuf_cur_key_u64(p, "ts", ts);
	sbuf_cur_end(o, p);
	encode_util_ident(o, wl);
}

static void path_field(struct sbuf *o, const char *key, size_t klen,
		       const struct decode_str *p)
{
	sbuf_put(o, key, klen);
	if (p->fault)
		sbuf_lit(o, "null");
	else
		sbuf_json_str(o, p->s, p->len);
	if (p->truncated) {
		sbuf_put(o, key, klen - 2); /* ,"path */
		sbuf_lit(o, "_truncated\":true");
	}
}

#define PATH_FIELD(o, k, p) path_field(o, ",\"" k "\":", sizeof(k) + 3, p)

/* an integer always: AT_FDCWD is -100 (docs/events.md) */
static void dirfd_field(struct sbuf *o, const char *k, size_t kl, int64_t fd)
{
	sbuf_put(o, k, kl);
	if (fd == -100) /* the common case, without the digit loop */
		sbuf_lit(o, "-100");
	else
		sbuf_i64(o, fd);
}
#define DIRFD(o, k, v) dirfd_field(o, ",\"" k "\":", sizeof(k) + 3, v)

static void mode_field(struct sbuf *o, uint32_t mode)
{
	char s[12];
	int i = sizeof(s);

	s[--i] = '"';
	do {
		s[--i] = '0' + (mode & 7);
		mode >>= 3;
	} while (mode);
	s[--i] = '0';
	s[--i] = '"';
	sbuf_key(o, "mode");
	sbuf_put(o, s + i, sizeof(s) - i);
}

static void bool_val(struct sbuf *o, bool b)
{
	if (b)
		sbuf_lit(o, "true");
	else
		sbuf_lit(o, "false");
}

static void fd_field(struct sbuf *o, int64_t fd)
{
	sbuf_key(o, "fd");
	sbuf_i64(o, fd);
}

/* path, dirfd: or fd for the fd variants (fchmod...) */
static void target_fields(struct sbuf *o, const struct decode_event *v)
{
	if (v->has & DECODE_HAS_FD) {
		fd_field(o, v->fd);
		return;
	}
	PATH_FIELD(o, "path", &v->path);
	if (v->has & DECODE_HAS_DIRFD)
		DIRFD(o, "dirfd", v->dirfd);
}

/* ---- one writer per event type (or class) --------------------------- */

static void body_open(struct sbuf *o, const struct decode_event *v)
{
	PATH_FIELD(o, "path", &v->path);
	DIRFD(o, "dirfd", v->dirfd);
	sbuf_key(o, "flags");
	encode_util_flags(o, v);
	if (v->has & DECODE_HAS_MODE)
		mode_field(o, v->mode);
	if (v->has & DECODE_HAS_FD)
		fd_field(o, v->fd);
}

/* unlink, rmdir, mkdir, chmod, chown, truncate */
static void body_file(struct sbuf *o, const struct decode_event *v)
{
	target_fields(o, v);
	if (v->has & DECODE_HAS_MODE)
		mode_field(o, v->mode);
	if (v->has & DECODE_HAS_OWNER) {
		sbuf_key(o, "owner");
		sbuf_i64(o, v->owner);
		sbuf_key(o, "group");
		sbuf_i64(o, v->group);
	}
	if (v->has & DECODE_HAS_LENGTH) {
		sbuf_key(o, "length");
		sbuf_i64(o, v->length);
	}
}

/* rename, link, symlink */
static void body_two_paths(struct sbuf *o, const struct decode_event *v)
{
	PATH_FIELD(o, "path", &v->path);
	PATH_FIELD(o, "newpath", &v->path2);
	if (v->has & DECODE_HAS_DIRFD)
		DIRFD(o, "olddirfd", v->dirfd);
	DIRFD(o, "newdirfd", v->newdirfd);
	if (v->has & DECODE_HAS_FLAGS) {
		sbuf_key(o, "flags");
		encode_util_flags(o, v);
	}
}

static void body_exec(struct sbuf *o, const struct decode_event *v)
{
	PATH_FIELD(o, "filename", &v->path);
	if (!(v->has & DECODE_HAS_ARGV))
		return; /* a failed exec: not captured */
	sbuf_key(o, "argv");
	/* a cut last argument is still shown, flagged below */
	encode_util_argv(o, v, true);
	if (v->argv_truncated) {
		sbuf_key(o, "argv_truncated");
		sbuf_lit(o, "true");
	}
}

static void body_fork(struct sbuf *o, const struct decode_event *v)
{
	sbuf_key(o, "child_pid");
	sbuf_u64(o, v->child_pid);
	sbuf_key(o, "child_tid");
	sbuf_u64(o, v->child_tid);
	sbuf_key(o, "thread");
	bool_val(o, v->thread);
}

static void body_exit(struct sbuf *o, const struct decode_event *v)
{
	/* killed: no exit code, as waitpid(2) has none (WIFEXITED false) */
	if (v->has & DECODE_HAS_EXIT_CODE) {
		sbuf_key(o, "exit_code");
		sbuf_i64(o, v->exit_code);
	}
	if (v->has & DECODE_HAS_SIG) {
		sbuf_key(o, "sig");
		encode_util_name(o, v->sig_name);
	}
	if (v->core_dumped) {
		sbuf_key(o, "core_dumped");
		sbuf_lit(o, "true");
	}
	sbuf_key(o, "thread");
	bool_val(o, v->thread);
}

static void body_cred(struct sbuf *o, const struct decode_event *v)
{
	sbuf_printf(
		o,
		",\"old_uid\":%u,\"old_euid\":%u,\"old_gid\":%u,\"old_egid\":%u,\"new_uid\":%u,\"new_euid\":%u,\"new_gid\":%u,\"new_egid\":%u",
		v->old_uid, v->old_euid, v->old_gid, v->old_egid, v->new_uid,
		v->new_euid, v->new_gid, v->new_egid);
	if (v->old_unknown) {
		sbuf_key(o, "old_unknown");
		sbuf_lit(o, "true");
	}
}

static void body_net(struct sbuf *o, const struct decode_event *v)
{
	fd_field(o, v->net_fd);
	if (v->has & DECODE_HAS_LISTEN_FD) {
		sbuf_key(o, "listen_fd");
		sbuf_i64(o, v->listen_fd);
	}
	if (!(v->has & DECODE_HAS_FAMILY))
		return;
	sbuf_key(o, "family");
	encode_util_name(o, v->family_name);
	if (v->has & DECODE_HAS_SOCKTYPE) {
		sbuf_key(o, "socktype");
		sbuf_i64(o, v->socktype);
		sbuf_key(o, "protocol");
		sbuf_i64(o, v->protocol);
	}
	if (v->has & DECODE_HAS_BACKLOG) {
		sbuf_key(o, "backlog");
		sbuf_i64(o, v->backlog);
	}
	if (v->has & DECODE_HAS_INET) {
		sbuf_key(o, "addr");
		encode_util_name(o, v->addr_str);
		sbuf_key(o, "port");
		sbuf_u64(o, v->port);
	} else if ((v->has & DECODE_HAS_UNIX) && v->unix_path.s[0]) {
		sbuf_key(o, "addr");
		sbuf_json_str(o, v->unix_path.s, v->unix_path.len);
	}
}

static void body_kill(struct sbuf *o, const struct decode_event *v)
{
	if (v->has_target_pid) {
		sbuf_key(o, "target_pid");
		sbuf_i64(o, v->target_pid);
	}
	if (v->has_target_tid) {
		sbuf_key(o, "target_tid");
		sbuf_i64(o, v->target_tid);
	}
	sbuf_key(o, "sig");
	encode_util_name(o, v->sig_name);
}

static void body_cap(struct sbuf *o, const struct decode_event *v)
{
	sbuf_key(o, "cap");
	sbuf_i64(o, v->cap);
	sbuf_key(o, "cap_name");
	encode_util_name(o, v->cap_name);
	sbuf_key(o, "granted");
	bool_val(o, v->granted);
}

/* the security types (decode_sec.c): every field is in the view's extra
 * list, which json_event writes for every type */
static void body_sec(struct sbuf *o, const struct decode_event *v)
{
}

/* the writers by kind (DECODE_EVENTS); some kinds share one */
#define body_path_at  body_file
#define body_chmod    body_file
#define body_chown    body_file
#define body_truncate body_file
#define body_mmap     body_sec

static const encoder_body_fn json_bodies[SF_EV_MAX] = {
	DECODE_EVENTS(DECODE_WRITER_ENTRY)};

/* ,"pid":N .. ,"cgroup":N: what a task's records share (encode.h memo) */
struct task_key {
	uint64_t cgid;
	uint32_t pid, tid, ppid, uid, gid, euid;
	uint32_t comm_len;
	char comm[SF_COMM_LEN];
};
_Static_assert(sizeof(struct task_key) <= ENCODE_MEMO_KEY, "memo key");
static struct encode_memo task_memo;

static void task_fields(struct sbuf *o, const struct decode_event *v)
{
	struct encode_memo_slot *slot;
	struct task_key k;
	size_t from = o->len;
	char *p;

	memset(&k, 0, sizeof(k));
	k.cgid = v->cgid;
	k.pid = v->pid, k.tid = v->tid, k.ppid = v->ppid;
	k.uid = v->uid, k.gid = v->gid, k.euid = v->euid;
	k.comm_len = v->comm.len < SF_COMM_LEN ? v->comm.len : SF_COMM_LEN;
	memcpy(k.comm, v->comm.s, k.comm_len);
	slot = encode_memo_find(&task_memo, &k, sizeof(k), v->tid, o);
	if (!slot)
		return;
	p = sbuf_cur(o, 6 * (SBUF_U64_MAX + 8));
	p = sbuf_cur_key_u64(p, "pid", v->pid);
	p = sbuf_cur_key_u64(p, "tid", v->tid);
	p = sbuf_cur_key_u64(p, "ppid", v->ppid);
	p = sbuf_cur_key_u64(p, "uid", v->uid);
	p = sbuf_cur_key_u64(p, "gid", v->gid);
	p = sbuf_cur_key_u64(p, "euid", v->euid);
	sbuf_cur_end(o, p);
	sbuf_key(o, "comm");
	sbuf_json_str(o, k.comm, k.comm_len);
	p = sbuf_cur(o, SBUF_U64_MAX + 12);
	p = sbuf_cur_key_u64(p, "cgroup", v->cgid);
	sbuf_cur_end(o, p);
	encode_memo_keep(slot, &k, sizeof(k), o, from);
}

static void json_event(struct sbuf *o, const struct workload *wl, uint64_t seq,
		       uint64_t ts, const struct decode_event *v)
{
	head(o, v->type_name, wl, seq, ts);
	task_fields(o, v);
	if (v->syscall) {
		sbuf_key(o, "syscall");
		encode_util_name(o, v->syscall);
	}
	if (v->has_ret) {
		sbuf_key(o, "ret");
		sbuf_i64(o, v->ret);
	}
	if (v->interrupted) {
		sbuf_key(o, "interrupted");
		sbuf_lit(o, "true");
	}
	if (v->compat) {
		sbuf_key(o, "compat");
		sbuf_lit(o, "true");
	}
	if (json_bodies[v->type])
		json_bodies[v->type](o, v);
	/* via, opcode, suppressed; the security types' fields; exec's image */
	encode_util_extra(o, v, 0, v->x.n, false);
	sbuf_lit(o, "}\n");
}

static void json_stream_start(struct sbuf *o, const struct workload *wl,
			      uint64_t seq, uint64_t ts,
			      const struct stream_info *si)
{
	head(o, "stream.start", wl, seq, ts);
	sbuf_key(o, "exporter");
	sbuf_json_str(o, si->exporter, SIZE_MAX);
	sbuf_key(o, "version");
	sbuf_lit(o, "\"" SF_VERSION "\"");
	sbuf_key(o, "schema");
	sbuf_u64(o, SF_SCHEMA_VERSION);
	sbuf_key(o, "format");
	sbuf_json_str(o, wl->enc ? wl->enc->name : "json", SIZE_MAX);
	sbuf_key(o, "mode");
	sbuf_json_str(o, si->mode, SIZE_MAX);
	sbuf_key(o, "start");
	sbuf_u64(o, si->start_ts);
	if (si->resumed) {
		sbuf_key(o, "resumed");
		sbuf_lit(o, "true");
	}
	if (wl->cgroup_path) {
		sbuf_key(o, "cgroup_path");
		sbuf_json_str(o, wl->cgroup_path, SIZE_MAX);
	}
	sbuf_key(o, "cgroup");
	sbuf_u64(o, wl->cgid);
	if (wl->meta_json) {
		sbuf_key(o, "meta");
		sbuf_puts(o, wl->meta_json);
	}
	if (si->filter) {
		sbuf_key(o, "filter");
		sbuf_json_str(o, si->filter, SIZE_MAX);
	}
	if (si->nsink_filters) {
		sbuf_key(o, "sink_filters");
		for (int i = 0; i < si->nsink_filters; i++) {
			sbuf_putc(o, i ? ',' : '{');
			sbuf_json_str(o, si->sink_filters[i].kind, SIZE_MAX);
			sbuf_putc(o, ':');
			sbuf_json_str(o, si->sink_filters[i].filter, SIZE_MAX);
		}
		sbuf_putc(o, '}');
	}
	sbuf_lit(o, "}\n");
}

static void json_stream_missed(struct sbuf *o, const struct workload *wl,
			       uint64_t seq, uint64_t ts, uint64_t count,
			       const char *reason)
{
	head(o, "stream.missed", wl, seq, ts);
	sbuf_key(o, "count");
	sbuf_u64(o, count);
	sbuf_key(o, "reason");
	sbuf_json_str(o, reason, SIZE_MAX);
	if (wl->missed_for) {
		sbuf_key(o, "sink");
		sbuf_json_str(o, wl->missed_for, SIZE_MAX);
	}
	sbuf_lit(o, "}\n");
}

/* stream.end's "sinks": each kind of output's share of the events */
static void json_sink_totals(struct sbuf *o, const struct stream_totals *t)
{
	if (!t->nsinks)
		return;
	sbuf_key(o, "sinks");
	for (int i = 0; i < t->nsinks; i++) {
		sbuf_putc(o, i ? ',' : '{');
		sbuf_json_str(o, t->sinks[i].kind, SIZE_MAX);
		sbuf_lit(o, ":{\"written\":");
		sbuf_u64(o, t->sinks[i].written);
		sbuf_lit(o, ",\"filtered\":");
		sbuf_u64(o, t->sinks[i].filtered);
		sbuf_lit(o, ",\"missed\":");
		sbuf_u64(o, t->sinks[i].missed);
		sbuf_putc(o, '}');
	}
	sbuf_putc(o, '}');
}

/* stream.end of a stream that recorded a seccomp profile */
static void json_seccomp_totals(struct sbuf *o, const struct stream_totals *t)
{
	if (t->seccomp_profile) {
		sbuf_key(o, "seccomp_profile");
		sbuf_json_str(o, t->seccomp_profile,
			      strlen(t->seccomp_profile));
		sbuf_key(o, "seccomp_syscalls");
		sbuf_u64(o, t->seccomp_syscalls);
		if (t->seccomp_blocked) {
			sbuf_key(o, "seccomp_blocked");
			sbuf_u64(o, t->seccomp_blocked);
		}
		if (t->seccomp_partial)
			sbuf_lit(o, ",\"seccomp_partial\":true");
	}
	if (t->seccomp_error) {
		sbuf_key(o, "seccomp_error");
		sbuf_json_str(o, t->seccomp_error, strlen(t->seccomp_error));
	}
}

static void json_stream_end(struct sbuf *o, const struct workload *wl,
			    uint64_t seq, uint64_t ts,
			    const struct stream_totals *t)
{
	head(o, "stream.end", wl, seq, ts);
	sbuf_key(o, "events");
	sbuf_u64(o, t->events);
	sbuf_key(o, "missed");
	sbuf_u64(o, t->missed);
	sbuf_key(o, "missed_ringbuf");
	sbuf_u64(o, t->missed_ringbuf);
	sbuf_key(o, "missed_sink");
	sbuf_u64(o, t->missed_sink);
	sbuf_key(o, "filtered");
	sbuf_u64(o, t->filtered);
	sbuf_key(o, "filtered_kernel");
	sbuf_u64(o, t->filtered_kernel);
	if (t->nsink_filtered) {
		sbuf_key(o, "sink_filtered");
		for (int i = 0; i < t->nsink_filtered; i++) {
			sbuf_putc(o, i ? ',' : '{');
			sbuf_json_str(o, t->sink_filtered[i].kind, SIZE_MAX);
			sbuf_putc(o, ':');
			sbuf_u64(o, t->sink_filtered[i].count);
		}
		sbuf_putc(o, '}');
	}
	sbuf_key(o, "missed_quota");
	sbuf_u64(o, t->missed_quota);
	json_sink_totals(o, t);
	json_seccomp_totals(o, t);
	if (t->exe_hash) {
		sbuf_key(o, "exe_hash");
		sbuf_lit(o, "{\"computed\":");
		sbuf_u64(o, t->exe_hashed);
		sbuf_lit(o, ",\"cached\":");
		sbuf_u64(o, t->exe_hash_cached);
		sbuf_lit(o, ",\"dropped\":");
		sbuf_u64(o, t->exe_hash_dropped);
		sbuf_putc(o, '}');
	}
	if (t->file_hash) {
		sbuf_key(o, "file_hash");
		sbuf_lit(o, "{\"computed\":");
		sbuf_u64(o, t->file_hashed);
		sbuf_lit(o, ",\"cached\":");
		sbuf_u64(o, t->file_hash_cached);
		sbuf_lit(o, ",\"dropped\":");
		sbuf_u64(o, t->file_hash_dropped);
		sbuf_putc(o, '}');
	}
	sbuf_lit(o, "}\n");
}

const struct encoder_ops encode_json_ops = {
	.event = json_event,
	.stream_start = json_stream_start,
	.stream_missed = json_stream_missed,
	.stream_end = json_stream_end,
	.bodies = json_bodies,
};
