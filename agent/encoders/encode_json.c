// SPDX-License-Identifier: GPL-2.0
/* The native format: one JSON object per line, schema in docs/events.md. */
#include <string.h>

#include "encode.h"
#include "sfagent.h"
#include "workload.h"

#define SF_SCHEMA_VERSION 1

/* {"type":"...","seq":N,"ts":N,"workload":"..."[,"container":"..."] */
static void head(struct sbuf *o, const char *type, const struct workload *wl,
		 uint64_t seq, uint64_t ts)
{
	sbuf_lit(o, "{\"type\":\"");
	sbuf_puts(o, type);
	sbuf_lit(o, "\",\"seq\":");
	sbuf_u64(o, seq);
	sbuf_key(o, "ts");
	sbuf_u64(o, ts);
	sbuf_key(o, "workload");
	sbuf_json_str(o, wl->name, SIZE_MAX);
	if (wl->container_id) {
		sbuf_key(o, "container");
		sbuf_json_str(o, wl->container_id, SIZE_MAX);
	}
}

static void path_field(struct sbuf *o, const char *key, size_t klen,
		       const char *p, uint16_t flags, uint16_t trunc,
		       uint16_t fault)
{
	sbuf_put(o, key, klen);
	if (flags & fault)
		sbuf_lit(o, "null");
	else
		sbuf_json_str(o, p, SF_PATH_MAX);
	if (flags & trunc) {
		sbuf_put(o, key, klen - 2); /* ,"path */
		sbuf_lit(o, "_truncated\":true");
	}
}

#define PATH_FIELD(o, k, p, fl, t, f) \
	path_field(o, ",\"" k "\":", sizeof(k) + 3, p, fl, t, f)

static void dirfd_field(struct sbuf *o, const char *k, size_t kl, int64_t fd)
{
	sbuf_put(o, k, kl);
	if (fd == -100)
		sbuf_lit(o, "\"AT_FDCWD\"");
	else
		sbuf_i64(o, fd);
}
#define DIRFD(o, k, v) dirfd_field(o, ",\"" k "\":", sizeof(k) + 3, v)

static void mode_field(struct sbuf *o, uint64_t mode)
{
	char s[12];
	int i = sizeof(s);

	mode &= 07777;
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

static void file_fields(struct sbuf *o, const struct sf_file_event *e)
{
	uint16_t fl = e->hdr.flags;

	switch (e->hdr.type) {
	case SF_EV_OPEN:
		PATH_FIELD(o, "path", e->path, fl, SF_F_PATH_TRUNC,
			   SF_F_PATH_FAULT);
		DIRFD(o, "dirfd", e->arg0);
		sbuf_key(o, "flags");
		sf_open_flags(o, e->arg1);
		if (e->arg1 & (0100 | 020000000)) /* O_CREAT, O_TMPFILE */
			mode_field(o, e->arg2);
		if (e->hdr.ret >= 0) {
			sbuf_key(o, "fd");
			sbuf_i64(o, e->hdr.ret);
		}
		break;
	case SF_EV_UNLINK:
	case SF_EV_RMDIR:
	case SF_EV_MKDIR:
		PATH_FIELD(o, "path", e->path, fl, SF_F_PATH_TRUNC,
			   SF_F_PATH_FAULT);
		DIRFD(o, "dirfd", e->arg0);
		if (e->hdr.type == SF_EV_MKDIR)
			mode_field(o, e->arg1);
		break;
	case SF_EV_RENAME:
	case SF_EV_LINK:
	case SF_EV_SYMLINK:
		PATH_FIELD(o, "path", e->path, fl, SF_F_PATH_TRUNC,
			   SF_F_PATH_FAULT);
		PATH_FIELD(o, "newpath", e->path2, fl, SF_F_PATH2_TRUNC,
			   SF_F_PATH2_FAULT);
		if (e->hdr.type == SF_EV_SYMLINK) {
			DIRFD(o, "newdirfd", e->arg0);
		} else {
			DIRFD(o, "olddirfd", e->arg0);
			DIRFD(o, "newdirfd", e->arg1);
			sbuf_key(o, "flags");
			sbuf_i64(o, e->arg2);
		}
		break;
	case SF_EV_CHMOD:
		if (e->arg2 >= 0) {
			sbuf_key(o, "fd");
			sbuf_i64(o, e->arg2);
		} else {
			PATH_FIELD(o, "path", e->path, fl, SF_F_PATH_TRUNC,
				   SF_F_PATH_FAULT);
			DIRFD(o, "dirfd", e->arg0);
		}
		mode_field(o, e->arg1);
		break;
	case SF_EV_CHOWN:
		if (e->arg3 >= 0) {
			sbuf_key(o, "fd");
			sbuf_i64(o, e->arg3);
		} else {
			PATH_FIELD(o, "path", e->path, fl, SF_F_PATH_TRUNC,
				   SF_F_PATH_FAULT);
			DIRFD(o, "dirfd", e->arg0);
		}
		sbuf_key(o, "owner");
		sbuf_i64(o, e->arg1);
		sbuf_key(o, "group");
		sbuf_i64(o, e->arg2);
		break;
	case SF_EV_TRUNCATE:
		if (e->arg1 >= 0) {
			sbuf_key(o, "fd");
			sbuf_i64(o, e->arg1);
		} else {
			PATH_FIELD(o, "path", e->path, fl, SF_F_PATH_TRUNC,
				   SF_F_PATH_FAULT);
		}
		sbuf_key(o, "length");
		sbuf_i64(o, e->arg0);
		break;
	}
}

static void exec_fields(struct sbuf *o, const struct sf_exec_event *e)
{
	uint32_t len = e->argv_len < SF_ARGV_MAX ? e->argv_len : SF_ARGV_MAX;
	uint32_t i = 0;
	bool first = true;

	PATH_FIELD(o, "filename", e->filename, e->hdr.flags, SF_F_PATH_TRUNC,
		   SF_F_PATH_FAULT);
	sbuf_key(o, "argv");
	sbuf_putc(o, '[');
	while (i < len) {
		size_t n = strnlen(e->argv + i, len - i);

		/* a cut last argument is still shown, flagged below */
		if (!first)
			sbuf_putc(o, ',');
		sbuf_json_str(o, e->argv + i, n);
		first = false;
		i += n + 1;
	}
	sbuf_putc(o, ']');
	if (e->hdr.flags & SF_F_ARGV_TRUNC) {
		sbuf_key(o, "argv_truncated");
		sbuf_lit(o, "true");
	}
}

static void net_fields(struct sbuf *o, const struct sf_net_event *e)
{
	sbuf_key(o, "fd");
	sbuf_i64(o, e->fd);
	if (e->hdr.type == SF_EV_ACCEPT) {
		sbuf_key(o, "listen_fd");
		sbuf_i64(o, e->listen_fd);
	}
	if (e->hdr.type != SF_EV_SOCKET && !e->family)
		return;
	sbuf_key(o, "family");
	sbuf_putc(o, '"');
	sbuf_puts(o, sf_family_name(e->family));
	sbuf_putc(o, '"');
	switch (e->hdr.type) {
	case SF_EV_SOCKET:
		sbuf_key(o, "socktype");
		sbuf_i64(o, e->type & 0xf);
		sbuf_key(o, "protocol");
		sbuf_i64(o, e->protocol);
		return;
	case SF_EV_LISTEN:
		sbuf_key(o, "backlog");
		sbuf_i64(o, e->backlog);
		break;
	}
	if (e->family == 2 || e->family == 10) {
		sbuf_key(o, "addr");
		sf_addr_str(o, e->family, e->addr);
		sbuf_key(o, "port");
		sbuf_u64(o, e->port);
	} else if (e->family == 1 && e->unix_path[0]) {
		sbuf_key(o, "addr");
		sbuf_json_str(o, e->unix_path, sizeof(e->unix_path));
	}
}

static void json_event(struct sbuf *o, const struct workload *wl, uint64_t seq,
		       uint64_t ts, const void *ev, size_t size)
{
	const struct sf_hdr *h = ev;

	head(o, sf_event_type_name(h->type), wl, seq, ts);
	sbuf_key(o, "pid");
	sbuf_u64(o, h->pid);
	sbuf_key(o, "tid");
	sbuf_u64(o, h->tid);
	sbuf_key(o, "ppid");
	sbuf_u64(o, h->ppid);
	sbuf_key(o, "uid");
	sbuf_u64(o, h->uid);
	sbuf_key(o, "gid");
	sbuf_u64(o, h->gid);
	sbuf_key(o, "euid");
	sbuf_u64(o, h->euid);
	sbuf_key(o, "comm");
	sbuf_json_str(o, h->comm, SF_COMM_LEN);
	sbuf_key(o, "cgroup");
	sbuf_u64(o, h->cgid);
	if (h->syscall && h->type != SF_EV_CAPABLE) {
		sbuf_key(o, "syscall");
		sbuf_putc(o, '"');
		sbuf_puts(o, sf_syscall_name(h->syscall));
		sbuf_putc(o, '"');
	}
	if (h->flags & SF_F_HAS_RET) {
		sbuf_key(o, "ret");
		sbuf_i64(o, h->ret);
	}
	if (h->flags & SF_F_INTERRUPTED) {
		sbuf_key(o, "interrupted");
		sbuf_lit(o, "true");
	}
	if (h->flags & SF_F_COMPAT) {
		sbuf_key(o, "compat");
		sbuf_lit(o, "true");
	}

	switch (h->type) {
	case SF_EV_EXEC:
		if (size >= sizeof(struct sf_exec_event))
			exec_fields(o, ev);
		break;
	case SF_EV_FORK:
		if (size >= sizeof(struct sf_fork_event)) {
			const struct sf_fork_event *e = ev;

			sbuf_key(o, "child_pid");
			sbuf_u64(o, e->child_pid);
			sbuf_key(o, "child_tid");
			sbuf_u64(o, e->child_tid);
			sbuf_key(o, "thread");
			if (h->flags & SF_F_THREAD)
				sbuf_lit(o, "true");
			else
				sbuf_lit(o, "false");
		}
		break;
	case SF_EV_EXIT:
		if (size >= sizeof(struct sf_exit_event)) {
			const struct sf_exit_event *e = ev;
			int st = e->exit_code;

			sbuf_key(o, "exit_code");
			sbuf_i64(o, (st >> 8) & 0xff);
			if (st & 0x7f) {
				sbuf_key(o, "sig");
				sf_signal_name(o, st & 0x7f);
			}
			if (st & 0x80) {
				sbuf_key(o, "core_dumped");
				sbuf_lit(o, "true");
			}
			sbuf_key(o, "thread");
			if (h->flags & SF_F_THREAD)
				sbuf_lit(o, "true");
			else
				sbuf_lit(o, "false");
		}
		break;
	case SF_EV_SETUID:
		if (size >= sizeof(struct sf_cred_event)) {
			const struct sf_cred_event *e = ev;

			sbuf_printf(
				o,
				",\"old_uid\":%u,\"old_euid\":%u,\"old_gid\":%u,\"old_egid\":%u,\"new_uid\":%u,\"new_euid\":%u,\"new_gid\":%u,\"new_egid\":%u",
				e->old_uid, e->old_euid, e->old_gid,
				e->old_egid, e->new_uid, e->new_euid,
				e->new_gid, e->new_egid);
		}
		break;
	case SF_EV_SOCKET:
	case SF_EV_CONNECT:
	case SF_EV_ACCEPT:
	case SF_EV_BIND:
	case SF_EV_LISTEN:
		if (size >= sizeof(struct sf_net_event))
			net_fields(o, ev);
		break;
	case SF_EV_KILL:
		if (size >= sizeof(struct sf_kill_event)) {
			const struct sf_kill_event *e = ev;

			if (e->target_pid || !e->target_tid) {
				sbuf_key(o, "target_pid");
				sbuf_i64(o, e->target_pid);
			}
			if (e->target_tid) {
				sbuf_key(o, "target_tid");
				sbuf_i64(o, e->target_tid);
			}
			sbuf_key(o, "sig");
			sf_signal_name(o, e->sig);
		}
		break;
	case SF_EV_CAPABLE:
		if (size >= sizeof(struct sf_cap_event)) {
			const struct sf_cap_event *e = ev;

			sbuf_key(o, "cap");
			sbuf_i64(o, e->cap);
			sbuf_key(o, "cap_name");
			sbuf_putc(o, '"');
			sbuf_puts(o, sf_cap_name(e->cap));
			sbuf_putc(o, '"');
			sbuf_key(o, "granted");
			if (e->result == 0)
				sbuf_lit(o, "true");
			else
				sbuf_lit(o, "false");
		}
		break;
	default:
		if (size >= sizeof(struct sf_file_event))
			file_fields(o, ev);
		break;
	}
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
	sbuf_lit(o, "}\n");
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
	sbuf_key(o, "missed_quota");
	sbuf_u64(o, t->missed_quota);
	sbuf_lit(o, "}\n");
}

const struct encoder encoder_json = {
	.name = "json",
	.event = json_event,
	.stream_start = json_stream_start,
	.stream_missed = json_stream_missed,
	.stream_end = json_stream_end,
};
