// SPDX-License-Identifier: GPL-2.0
/*
 * -F cadets: CADETS trace events (FreeBSD audit events in DTrace naming):
 *   {"event":"audit:event:aue_openat_rwtc:","time":NS,"pid":..,"ppid":..,
 *    "tid":..,"uid":..,"exec":"comm","upath1":"..","retval":..,"fd":..,
 *    "subjuuid":"..", ...}
 * A file in this format is one JSON array (the framing fields below); over
 * MQTT or HTTP each record goes alone.  The mapping: docs/formats.md.
 */
#include <fcntl.h>
#include <string.h>

#include "encode.h"
#include "sfagent.h"
#include "workload.h"

static const char *const aue_names[SF_EV_MAX] = {
	[SF_EV_EXEC] = "aue_execve",	   [SF_EV_FORK] = "aue_fork",
	[SF_EV_EXIT] = "aue_exit",	   [SF_EV_SETUID] = "aue_setuid",
	[SF_EV_UNLINK] = "aue_unlinkat",   [SF_EV_RENAME] = "aue_renameat",
	[SF_EV_MKDIR] = "aue_mkdirat",	   [SF_EV_RMDIR] = "aue_rmdir",
	[SF_EV_LINK] = "aue_linkat",	   [SF_EV_SYMLINK] = "aue_symlinkat",
	[SF_EV_CHMOD] = "aue_fchmodat",	   [SF_EV_CHOWN] = "aue_fchownat",
	[SF_EV_TRUNCATE] = "aue_truncate", [SF_EV_SOCKET] = "aue_socket",
	[SF_EV_CONNECT] = "aue_connect",   [SF_EV_ACCEPT] = "aue_accept",
	[SF_EV_BIND] = "aue_bind",	   [SF_EV_LISTEN] = "aue_listen",
	[SF_EV_KILL] = "aue_kill",
};

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * A stable UUID for a process of this stream: hashed from the workload's
 * cgroup id, its name and the pid, so every event of a process carries the
 * same one (RFC 9562 version 8 layout: custom).
 */
static void subj_uuid(struct sbuf *o, const struct workload *wl, uint32_t pid)
{
	uint64_t a = 0xcbf29ce484222325ull, b;

	a = fnv1a(a, &wl->cgid, sizeof(wl->cgid));
	a = fnv1a(a, wl->name, strlen(wl->name));
	b = fnv1a(a ^ 0x5f5f63616465ull, &pid, sizeof(pid));
	a = fnv1a(a, &pid, sizeof(pid));
	a = (a & ~0xf000ull) | 0x8000ull; /* version 8 */
	b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* variant */
	sbuf_printf(o, ",\"subjuuid\":\"%08x-%04x-%04x-%04x-%012llx\"",
		    (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
		    (unsigned)a & 0xffff, (unsigned)(b >> 48),
		    (unsigned long long)b & 0xffffffffffffull);
}

/* aue_open{,at}_{r,w,rw}[t][c], as FreeBSD's audit names the variants */
static void open_name(struct sbuf *o, const struct sf_hdr *h, int64_t flags)
{
	const char *sc = h->syscall ? sf_syscall_name(h->syscall) : "";

	sbuf_lit(o, "aue_open");
	if (strncmp(sc, "openat", 6) == 0)
		sbuf_lit(o, "at");
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		sbuf_lit(o, "_r");
		break;
	case O_WRONLY:
		sbuf_lit(o, "_w");
		break;
	default:
		sbuf_lit(o, "_rw");
		break;
	}
	if (flags & O_TRUNC)
		sbuf_putc(o, 't');
	if (flags & O_CREAT)
		sbuf_putc(o, 'c');
}

static void upath(struct sbuf *o, const char *k, const char *p, bool fault)
{
	sbuf_lit(o, ",\"");
	sbuf_puts(o, k);
	sbuf_lit(o, "\":");
	if (fault)
		sbuf_lit(o, "null");
	else
		sbuf_json_str(o, p, SF_PATH_MAX);
}

static void file_fields(struct sbuf *o, const struct sf_file_event *e)
{
	bool f1 = e->hdr.flags & SF_F_PATH_FAULT,
	     f2 = e->hdr.flags & SF_F_PATH2_FAULT;

	switch (e->hdr.type) {
	case SF_EV_OPEN:
		upath(o, "upath1", e->path, f1);
		sbuf_key(o, "flags");
		sbuf_i64(o, e->arg1);
		if (e->hdr.ret >= 0) {
			sbuf_key(o, "fd");
			sbuf_i64(o, e->hdr.ret);
		}
		break;
	case SF_EV_RENAME:
	case SF_EV_LINK:
	case SF_EV_SYMLINK:
		upath(o, "upath1", e->path, f1);
		upath(o, "upath2", e->path2, f2);
		break;
	case SF_EV_CHMOD:
	case SF_EV_CHOWN:
	case SF_EV_TRUNCATE: {
		int64_t fd = e->hdr.type == SF_EV_CHMOD	  ? e->arg2
			     : e->hdr.type == SF_EV_CHOWN ? e->arg3
							  : e->arg1;

		if (fd >= 0) {
			sbuf_key(o, "fd");
			sbuf_i64(o, fd);
		} else {
			upath(o, "upath1", e->path, f1);
		}
		if (e->hdr.type == SF_EV_CHMOD) {
			sbuf_key(o, "mode");
			sbuf_i64(o, e->arg1 & 07777);
		} else if (e->hdr.type == SF_EV_CHOWN) {
			sbuf_key(o, "arg_uid");
			sbuf_i64(o, e->arg1);
			sbuf_key(o, "arg_gid");
			sbuf_i64(o, e->arg2);
		} else {
			sbuf_key(o, "length");
			sbuf_i64(o, e->arg0);
		}
		break;
	}
	default: /* unlink, mkdir, rmdir */
		upath(o, "upath1", e->path, f1);
		if (e->hdr.type == SF_EV_MKDIR) {
			sbuf_key(o, "mode");
			sbuf_i64(o, e->arg1 & 07777);
		}
		break;
	}
}

static void cadets_event(struct sbuf *o, const struct workload *wl,
			 uint64_t seq, uint64_t ts, const void *ev, size_t size)
{
	const struct sf_hdr *h = ev;

	sbuf_lit(o, "{\"event\":\"");
	if (h->type == SF_EV_CAPABLE) {
		sbuf_lit(o, "sfagent:cap:capable:"); /* no audit equivalent */
	} else if (h->type == SF_EV_OPEN &&
		   size >= sizeof(struct sf_file_event)) {
		sbuf_lit(o, "audit:event:");
		open_name(o, h, ((const struct sf_file_event *)ev)->arg1);
		sbuf_putc(o, ':');
	} else if (h->type >= SF_EV_UNLINK && h->type <= SF_EV_TRUNCATE &&
		   h->syscall) {
		/* the audit event is named after the syscall: aue_rename,
		 * aue_renameat, aue_fchmod... (renameat2 is renameat) */
		const char *sc = sf_syscall_name(h->syscall);
		size_t n = strlen(sc);

		if (n > 2 && sc[n - 1] == '2' && sc[n - 2] == 't')
			n--;
		sbuf_lit(o, "audit:event:aue_");
		sbuf_put(o, sc, n);
		sbuf_putc(o, ':');
	} else if (h->type < SF_EV_MAX && aue_names[h->type]) {
		sbuf_printf(o, "audit:event:%s:", aue_names[h->type]);
	} else {
		sbuf_lit(o, "sfagent:unknown:");
	}
	sbuf_lit(o, "\",\"time\":");
	sbuf_u64(o, ts);
	sbuf_key(o, "pid");
	sbuf_u64(o, h->pid);
	sbuf_key(o, "ppid");
	sbuf_u64(o, h->ppid);
	sbuf_key(o, "tid");
	sbuf_u64(o, h->tid);
	sbuf_key(o, "uid");
	sbuf_u64(o, h->uid);
	sbuf_key(o, "euid");
	sbuf_u64(o, h->euid);
	sbuf_key(o, "gid");
	sbuf_u64(o, h->gid);
	sbuf_key(o, "exec");
	sbuf_json_str(o, h->comm, SF_COMM_LEN);
	subj_uuid(o, wl, h->pid);
	if (h->flags & SF_F_HAS_RET) {
		sbuf_key(o, "retval");
		sbuf_i64(o, h->ret);
	}
	sbuf_key(o, "sfagent_seq");
	sbuf_u64(o, seq);
	sbuf_key(o, "workload");
	sbuf_json_str(o, wl->name, SIZE_MAX);
	if (wl->container_id) {
		sbuf_key(o, "container");
		sbuf_json_str(o, wl->container_id, SIZE_MAX);
	}
	switch (h->type) {
	case SF_EV_EXEC:
		if (size >= sizeof(struct sf_exec_event)) {
			const struct sf_exec_event *e = ev;
			uint32_t len = e->argv_len < SF_ARGV_MAX ? e->argv_len
								 : SF_ARGV_MAX;
			struct sbuf cmd = {0};

			upath(o, "upath1", e->filename,
			      h->flags & SF_F_PATH_FAULT);
			for (uint32_t i = 0; i < len;) {
				size_t n = strnlen(e->argv + i, len - i);

				if (i)
					sbuf_putc(&cmd, ' ');
				sbuf_put(&cmd, e->argv + i, n);
				i += n + 1;
			}
			sbuf_key(o, "cmdline");
			sbuf_json_str(o, cmd.data ? cmd.data : "", cmd.len);
			sbuf_free(&cmd);
		}
		break;
	case SF_EV_FORK:
		if (size >= sizeof(struct sf_fork_event)) {
			const struct sf_fork_event *e = ev;

			if (!(h->flags & SF_F_HAS_RET)) {
				sbuf_key(o, "retval");
				sbuf_u64(o, e->child_pid);
			}
			sbuf_printf(o, ",\"arg_pid\":%u", e->child_pid);
		}
		break;
	case SF_EV_EXIT:
		if (size >= sizeof(struct sf_exit_event)) {
			sbuf_key(o, "exit_status");
			sbuf_i64(o,
				 ((const struct sf_exit_event *)ev)->exit_code);
		}
		break;
	case SF_EV_SETUID:
		if (size >= sizeof(struct sf_cred_event)) {
			sbuf_key(o, "arg_uid");
			sbuf_u64(o,
				 ((const struct sf_cred_event *)ev)->new_uid);
		}
		break;
	case SF_EV_SOCKET:
	case SF_EV_CONNECT:
	case SF_EV_ACCEPT:
	case SF_EV_BIND:
	case SF_EV_LISTEN:
		if (size >= sizeof(struct sf_net_event)) {
			const struct sf_net_event *e = ev;

			sbuf_key(o, "fd");
			sbuf_i64(o, e->fd);
			if (h->type == SF_EV_SOCKET) {
				sbuf_printf(
					o,
					",\"domain\":%u,\"type\":%d,\"protocol\":%d",
					e->family, e->type & 0xf, e->protocol);
			} else if (e->family == 2 || e->family == 10) {
				sbuf_key(o, "address");
				sf_addr_str(o, e->family, e->addr);
				sbuf_key(o, "port");
				sbuf_u64(o, e->port);
			} else if (e->family == 1) {
				sbuf_key(o, "address");
				sbuf_json_str(o, e->unix_path,
					      sizeof(e->unix_path));
			}
		}
		break;
	case SF_EV_KILL:
		if (size >= sizeof(struct sf_kill_event)) {
			const struct sf_kill_event *e = ev;

			sbuf_printf(o, ",\"arg_pid\":%d,\"signum\":%d",
				    e->target_pid ? e->target_pid
						  : e->target_tid,
				    e->sig);
		}
		break;
	case SF_EV_CAPABLE:
		if (size >= sizeof(struct sf_cap_event)) {
			const struct sf_cap_event *e = ev;

			sbuf_printf(
				o,
				",\"cap\":%d,\"cap_name\":\"%s\",\"granted\":%s",
				e->cap, sf_cap_name(e->cap),
				e->result == 0 ? "true" : "false");
		}
		break;
	default:
		if (size >= sizeof(struct sf_file_event))
			file_fields(o, ev);
		break;
	}
	sbuf_lit(o, "}\n");
}

/* Stream records: "event" names them, the native record rides along. */
static void wrap_begin(struct sbuf *o, const char *name, uint64_t ts)
{
	sbuf_lit(o, "{\"event\":\"sfagent:stream:");
	sbuf_puts(o, name);
	sbuf_lit(o, ":\",\"time\":");
	sbuf_u64(o, ts);
	sbuf_lit(o, ",\"sfagent\":");
}

static void cadets_stream_start(struct sbuf *o, const struct workload *wl,
				uint64_t seq, uint64_t ts,
				const struct stream_info *si)
{
	wrap_begin(o, "start", ts);
	encoder_json.stream_start(o, wl, seq, ts, si);
	sf_wrap_native_end(o);
}

static void cadets_stream_missed(struct sbuf *o, const struct workload *wl,
				 uint64_t seq, uint64_t ts, uint64_t count,
				 const char *reason)
{
	wrap_begin(o, "missed", ts);
	encoder_json.stream_missed(o, wl, seq, ts, count, reason);
	sf_wrap_native_end(o);
}

static void cadets_stream_end(struct sbuf *o, const struct workload *wl,
			      uint64_t seq, uint64_t ts,
			      const struct stream_totals *t)
{
	wrap_begin(o, "end", ts);
	encoder_json.stream_end(o, wl, seq, ts, t);
	sf_wrap_native_end(o);
}

const struct encoder encoder_cadets = {
	.name = "cadets",
	.file_prefix = "[\n",
	.file_separator = ",",
	.file_suffix = "]\n",
	.event = cadets_event,
	.stream_start = cadets_stream_start,
	.stream_missed = cadets_stream_missed,
	.stream_end = cadets_stream_end,
};
