// SPDX-License-Identifier: GPL-2.0
/*
 * -F quixote: the layout of TSEM's export as quixote-export users consume it,
 * one object per line, values as strings the way TSEM writes them:
 *   {"export":{"type":"async_event"},
 *    "event":{"number":"SEQ","pid":"..","process":"comm","type":"file_open",..},
 *    "COE":{"uid":"..",..},
 *    "file_open":{..}}
 * The mapping and what has no TSEM equivalent: docs/formats.md.
 */
#include <string.h>

#include "encode.h"
#include "sfagent.h"
#include "workload.h"

static const char *const tsem_names[SF_EV_MAX] = {
	[SF_EV_EXEC] = "bprm_check_security",
	[SF_EV_FORK] = "task_alloc",
	[SF_EV_EXIT] = "task_free",
	[SF_EV_SETUID] = "task_fix_setuid",
	[SF_EV_OPEN] = "file_open",
	[SF_EV_UNLINK] = "inode_unlink",
	[SF_EV_RENAME] = "inode_rename",
	[SF_EV_MKDIR] = "inode_mkdir",
	[SF_EV_RMDIR] = "inode_rmdir",
	[SF_EV_LINK] = "inode_link",
	[SF_EV_SYMLINK] = "inode_symlink",
	[SF_EV_CHMOD] = "path_chmod",
	[SF_EV_CHOWN] = "path_chown",
	[SF_EV_TRUNCATE] = "path_truncate",
	[SF_EV_SOCKET] = "socket_create",
	[SF_EV_CONNECT] = "socket_connect",
	[SF_EV_ACCEPT] = "socket_accept",
	[SF_EV_BIND] = "socket_bind",
	[SF_EV_LISTEN] = "socket_listen",
	[SF_EV_KILL] = "task_kill",
	[SF_EV_CAPABLE] = "capable",
};

/* ,"k":"v" with a number */
static void qnum(struct sbuf *o, const char *k, int64_t v)
{
	sbuf_lit(o, ",\"");
	sbuf_puts(o, k);
	sbuf_lit(o, "\":\"");
	sbuf_i64(o, v);
	sbuf_putc(o, '"');
}

static void qstr(struct sbuf *o, const char *k, const char *v, size_t n)
{
	sbuf_lit(o, ",\"");
	sbuf_puts(o, k);
	sbuf_lit(o, "\":");
	sbuf_json_str(o, v, n);
}

/* {"path":{"pathname":"..."}} as TSEM describes a file's path */
static void qpath(struct sbuf *o, const char *k, const char *p, bool fault)
{
	sbuf_lit(o, ",\"");
	sbuf_puts(o, k);
	sbuf_lit(o, "\":{\"path\":{\"pathname\":");
	if (fault)
		sbuf_lit(o, "null");
	else
		sbuf_json_str(o, p, SF_PATH_MAX);
	sbuf_lit(o, "}}");
}

static void net_body(struct sbuf *o, const struct sf_net_event *e)
{
	sbuf_lit(o, "\"fd\":\"");
	sbuf_i64(o, e->fd);
	sbuf_putc(o, '"');
	if (e->hdr.type == SF_EV_SOCKET) {
		qnum(o, "family", e->family);
		qnum(o, "type", e->type & 0xf);
		qnum(o, "protocol", e->protocol);
		qnum(o, "kern", 0);
		return;
	}
	if (e->hdr.type == SF_EV_LISTEN)
		qnum(o, "backlog", e->backlog);
	if (e->family == 2 || e->family == 10) {
		sbuf_puts(o, e->family == 2
				     ? ",\"addr\":{\"af_inet\":{\"port\":\""
				     : ",\"addr\":{\"af_inet6\":{\"port\":\"");
		sbuf_u64(o, e->port);
		sbuf_lit(o, "\",\"address\":");
		sf_addr_str(o, e->family, e->addr);
		sbuf_lit(o, "}}");
	} else if (e->family == 1) {
		sbuf_lit(o, ",\"addr\":{\"af_unix\":{\"path\":");
		sbuf_json_str(o, e->unix_path, sizeof(e->unix_path));
		sbuf_lit(o, "}}");
	} else if (e->family) {
		qnum(o, "family", e->family);
	}
}

static void file_body(struct sbuf *o, const struct sf_file_event *e)
{
	bool f1 = e->hdr.flags & SF_F_PATH_FAULT,
	     f2 = e->hdr.flags & SF_F_PATH2_FAULT;

	switch (e->hdr.type) {
	case SF_EV_OPEN:
		sbuf_lit(o, "\"file\":{\"flags\":\"");
		sbuf_i64(o, e->arg1);
		sbuf_lit(o, "\",\"path\":{\"pathname\":");
		if (f1)
			sbuf_lit(o, "null");
		else
			sbuf_json_str(o, e->path, SF_PATH_MAX);
		sbuf_lit(o, "}}");
		if (e->arg1 & (0100 | 020000000))
			sbuf_printf(o, ",\"mode\":\"0%llo\"",
				    (unsigned long long)e->arg2 & 07777);
		break;
	case SF_EV_UNLINK:
	case SF_EV_RMDIR:
	case SF_EV_MKDIR:
		sbuf_lit(o, "\"dentry\":{\"pathname\":");
		if (f1)
			sbuf_lit(o, "null");
		else
			sbuf_json_str(o, e->path, SF_PATH_MAX);
		sbuf_putc(o, '}');
		if (e->hdr.type == SF_EV_MKDIR)
			sbuf_printf(o, ",\"mode\":\"0%llo\"",
				    (unsigned long long)e->arg1 & 07777);
		break;
	case SF_EV_RENAME:
	case SF_EV_LINK:
	case SF_EV_SYMLINK:
		sbuf_lit(o, "\"flags\":\"");
		sbuf_i64(o, e->hdr.type == SF_EV_SYMLINK ? 0 : e->arg2);
		sbuf_putc(o, '"');
		qpath(o, e->hdr.type == SF_EV_SYMLINK ? "target" : "old_dentry",
		      e->path, f1);
		qpath(o, "new_dentry", e->path2, f2);
		break;
	case SF_EV_CHMOD:
		sbuf_printf(o, "\"mode\":\"0%llo\"",
			    (unsigned long long)e->arg1 & 07777);
		if (e->arg2 >= 0)
			qnum(o, "fd", e->arg2);
		else
			qpath(o, "file", e->path, f1);
		break;
	case SF_EV_CHOWN:
		sbuf_lit(o, "\"uid\":\"");
		sbuf_i64(o, e->arg1);
		sbuf_putc(o, '"');
		qnum(o, "gid", e->arg2);
		if (e->arg3 >= 0)
			qnum(o, "fd", e->arg3);
		else
			qpath(o, "file", e->path, f1);
		break;
	case SF_EV_TRUNCATE:
		sbuf_lit(o, "\"length\":\"");
		sbuf_i64(o, e->arg0);
		sbuf_putc(o, '"');
		if (e->arg1 >= 0)
			qnum(o, "fd", e->arg1);
		else
			qpath(o, "file", e->path, f1);
		break;
	}
}

static void exec_body(struct sbuf *o, const struct sf_exec_event *e)
{
	uint32_t len = e->argv_len < SF_ARGV_MAX ? e->argv_len : SF_ARGV_MAX,
		 i = 0;

	sbuf_lit(o, "\"file\":{\"path\":{\"pathname\":");
	sbuf_json_str(o, e->filename, SF_PATH_MAX);
	sbuf_lit(o, "}},\"argv\":[");
	while (i < len) {
		size_t n = strnlen(e->argv + i, len - i);

		if (i)
			sbuf_putc(o, ',');
		sbuf_json_str(o, e->argv + i, n);
		i += n + 1;
	}
	sbuf_putc(o, ']');
}

static void quixote_event(struct sbuf *o, const struct workload *wl,
			  uint64_t seq, uint64_t ts, const void *ev,
			  size_t size)
{
	const struct sf_hdr *h = ev;
	const char *name = h->type < SF_EV_MAX && tsem_names[h->type]
				   ? tsem_names[h->type]
				   : "unknown";

	sbuf_lit(
		o,
		"{\"export\":{\"type\":\"async_event\"},\"event\":{\"number\":\"");
	sbuf_u64(o, seq);
	sbuf_lit(o, "\",\"type\":\"");
	sbuf_puts(o, name);
	sbuf_lit(o, "\",\"ts\":\"");
	sbuf_u64(o, ts);
	sbuf_putc(o, '"');
	qnum(o, "pid", h->pid);
	qnum(o, "tid", h->tid);
	qnum(o, "ppid", h->ppid);
	qstr(o, "process", h->comm, SF_COMM_LEN);
	qstr(o, "workload", wl->name, SIZE_MAX);
	if (wl->container_id)
		qstr(o, "container", wl->container_id, SIZE_MAX);
	if (h->syscall && h->type != SF_EV_CAPABLE)
		qstr(o, "syscall", sf_syscall_name(h->syscall), SIZE_MAX);
	if (h->flags & SF_F_HAS_RET)
		qnum(o, "ret", h->ret);
	/* the BPF side reads uid, gid, euid: the rest of TSEM's COE is
	 * derived, see docs/formats.md */
	/* no printf on the hot path: one field after the other */
	sbuf_lit(o, "},\"COE\":{\"uid\":\"");
	sbuf_u64(o, h->uid);
	sbuf_lit(o, "\"");
	qnum(o, "euid", h->euid);
	qnum(o, "suid", h->euid);
	qnum(o, "gid", h->gid);
	qnum(o, "egid", h->gid);
	qnum(o, "sgid", h->gid);
	qnum(o, "fsuid", h->euid);
	qnum(o, "fsgid", h->gid);
	sbuf_lit(o, "},\"");
	sbuf_puts(o, name);
	sbuf_lit(o, "\":{");
	switch (h->type) {
	case SF_EV_EXEC:
		if (size >= sizeof(struct sf_exec_event))
			exec_body(o, ev);
		break;
	case SF_EV_FORK:
		if (size >= sizeof(struct sf_fork_event)) {
			const struct sf_fork_event *e = ev;

			sbuf_printf(
				o,
				"\"child_pid\":\"%u\",\"child_tid\":\"%u\",\"thread\":\"%d\"",
				e->child_pid, e->child_tid,
				!!(h->flags & SF_F_THREAD));
		}
		break;
	case SF_EV_EXIT:
		if (size >= sizeof(struct sf_exit_event)) {
			const struct sf_exit_event *e = ev;

			sbuf_printf(o, "\"exit_code\":\"%d\",\"signal\":\"%d\"",
				    (e->exit_code >> 8) & 0xff,
				    e->exit_code & 0x7f);
		}
		break;
	case SF_EV_SETUID:
		if (size >= sizeof(struct sf_cred_event)) {
			const struct sf_cred_event *e = ev;

			sbuf_printf(
				o,
				"\"old\":{\"uid\":\"%u\",\"euid\":\"%u\",\"gid\":\"%u\",\"egid\":\"%u\"},\"new\":{\"uid\":\"%u\",\"euid\":\"%u\",\"gid\":\"%u\",\"egid\":\"%u\"}",
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
			net_body(o, ev);
		break;
	case SF_EV_KILL:
		if (size >= sizeof(struct sf_kill_event)) {
			const struct sf_kill_event *e = ev;

			sbuf_printf(
				o,
				"\"cross_model\":\"0\",\"signal\":\"%d\",\"target\":\"%d\"",
				e->sig,
				e->target_pid ? e->target_pid : e->target_tid);
		}
		break;
	case SF_EV_CAPABLE:
		if (size >= sizeof(struct sf_cap_event)) {
			const struct sf_cap_event *e = ev;

			sbuf_printf(
				o,
				"\"cap\":\"%d\",\"opts\":\"0\",\"name\":\"%s\",\"result\":\"%d\"",
				e->cap, sf_cap_name(e->cap), e->result);
		}
		break;
	default:
		if (size >= sizeof(struct sf_file_event))
			file_body(o, ev);
		break;
	}
	sbuf_lit(o, "}}\n");
}

/* Stream records: the native record, under "sfagent", tagged in "export". */
static void wrap_begin(struct sbuf *o, const char *type)
{
	sbuf_lit(o, "{\"export\":{\"type\":\"");
	sbuf_puts(o, type);
	sbuf_lit(o, "\"},\"sfagent\":");
}

static void quixote_stream_start(struct sbuf *o, const struct workload *wl,
				 uint64_t seq, uint64_t ts,
				 const struct stream_info *si)
{
	wrap_begin(o, "stream.start");
	encoder_json.stream_start(o, wl, seq, ts, si);
	sf_wrap_native_end(o);
}

static void quixote_stream_missed(struct sbuf *o, const struct workload *wl,
				  uint64_t seq, uint64_t ts, uint64_t count,
				  const char *reason)
{
	wrap_begin(o, "stream.missed");
	encoder_json.stream_missed(o, wl, seq, ts, count, reason);
	sf_wrap_native_end(o);
}

static void quixote_stream_end(struct sbuf *o, const struct workload *wl,
			       uint64_t seq, uint64_t ts,
			       const struct stream_totals *t)
{
	wrap_begin(o, "stream.end");
	encoder_json.stream_end(o, wl, seq, ts, t);
	sf_wrap_native_end(o);
}

const struct encoder encoder_quixote = {
	.name = "quixote",
	.event = quixote_event,
	.stream_start = quixote_stream_start,
	.stream_missed = quixote_stream_missed,
	.stream_end = quixote_stream_end,
};
