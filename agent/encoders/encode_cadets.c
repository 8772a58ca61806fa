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
	[SF_EV_KILL] = "aue_kill",	   [SF_EV_SENDTO] = "aue_sendto",
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
static void open_name(struct sbuf *o, const struct decode_event *v)
{
	const char *sc = v->syscall ? v->syscall : "";

	sbuf_lit(o, "aue_open");
	if (strncmp(sc, "openat", 6) == 0)
		sbuf_lit(o, "at");
	switch (v->flags & O_ACCMODE) {
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
	if (v->flags & O_TRUNC)
		sbuf_putc(o, 't');
	if (v->flags & O_CREAT)
		sbuf_putc(o, 'c');
}

/* "audit:event:aue_...:" */
static void event_name(struct sbuf *o, const struct decode_event *v)
{
	if (v->type == SF_EV_CAPABLE) {
		sbuf_lit(o, "sfagent:cap:capable:"); /* no audit equivalent */
	} else if (v->type == SF_EV_OPEN) {
		sbuf_lit(o, "audit:event:");
		open_name(o, v);
		sbuf_putc(o, ':');
	} else if (v->cls == DECODE_CLASS_FILE && v->syscall) {
		/* the audit event is named after the syscall: aue_rename,
		 * aue_renameat, aue_fchmod... (renameat2 is renameat) */
		size_t n = strlen(v->syscall);

		if (n > 2 && v->syscall[n - 1] == '2' &&
		    v->syscall[n - 2] == 't')
			n--;
		sbuf_lit(o, "audit:event:aue_");
		sbuf_put(o, v->syscall, n);
		sbuf_putc(o, ':');
	} else if (aue_names[v->type]) {
		sbuf_printf(o, "audit:event:%s:", aue_names[v->type]);
	} else if (v->cls == DECODE_CLASS_SEC && v->syscall) {
		/* named after the syscall, as FreeBSD's audit does: aue_ptrace,
		 * aue_mount, aue_setxattr... */
		sbuf_lit(o, "audit:event:aue_");
		sbuf_puts(o, v->syscall);
		sbuf_putc(o, ':');
	} else if (v->cls == DECODE_CLASS_SEC) {
		/* no syscall (an io_uring request): sfagent:io_uring:op: */
		sbuf_lit(o, "sfagent:");
		for (const char *c = v->type_name; *c; c++)
			sbuf_putc(o, *c == '.' ? ':' : *c);
		sbuf_putc(o, ':');
	} else {
		sbuf_lit(o, "sfagent:unknown:");
	}
}

static void upath(struct sbuf *o, const char *k, const struct decode_str *p)
{
	sbuf_lit(o, ",\"");
	sbuf_puts(o, k);
	sbuf_lit(o, "\":");
	if (p->fault)
		sbuf_lit(o, "null");
	else
		sbuf_json_str(o, p->s, p->len);
}

/*
 * A stable UUID for a file: hashed from its inode's identity (device,
 * inode number, i_generation; not ctime, which every chmod changes), so
 * every event about the same file, in any stream of the host, carries the
 * same one, and a file made anew under a recycled inode number another
 * where the file system sets generations (ext4, tmpfs, xfs, btrfs)
 * (RFC 9562 version 8 layout).
 */
static void obj_uuid(struct sbuf *o, const char *key,
		     const struct decode_event *v)
{
	const struct decode_kv *dev = decode_sec_find(v, "file_dev");
	const struct decode_kv *ino = decode_sec_find(v, "file_ino");
	const struct decode_kv *ct = decode_sec_find(v, "file_generation");
	uint64_t a = 0xcbf29ce484222325ull, b;

	if (!dev || !dev->s || !ino || !ct)
		return;
	a = fnv1a(a, dev->s, dev->len);
	a = fnv1a(a, &ino->i, sizeof(ino->i));
	b = fnv1a(a ^ 0x6f626a757569ull, &ct->i, sizeof(ct->i));
	a = fnv1a(a, &ct->i, sizeof(ct->i));
	a = (a & ~0xf000ull) | 0x8000ull; /* version 8 */
	b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* variant */
	sbuf_printf(o, ",\"%s\":\"%08x-%04x-%04x-%04x-%012llx\"", key,
		    (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
		    (unsigned)a & 0xffff, (unsigned)(b >> 48),
		    (unsigned long long)b & 0xffffffffffffull);
}

/* ---- one writer per event type (or class) --------------------------- */

static void body_open(struct sbuf *o, const struct decode_event *v)
{
	upath(o, "upath1", &v->path);
	sbuf_key(o, "flags");
	sbuf_i64(o, v->flags);
	if (v->has & DECODE_HAS_FD) {
		sbuf_key(o, "fd");
		sbuf_i64(o, v->fd);
	}
	obj_uuid(o, "ret_objuuid1", v); /* the file opened */
}

/* rename, link, symlink */
static void body_two_paths(struct sbuf *o, const struct decode_event *v)
{
	upath(o, "upath1", &v->path);
	upath(o, "upath2", &v->path2);
}

/* unlink, mkdir, rmdir, chmod, chown, truncate */
static void body_file(struct sbuf *o, const struct decode_event *v)
{
	if (v->has & DECODE_HAS_FD) {
		sbuf_key(o, "fd");
		sbuf_i64(o, v->fd);
		obj_uuid(o, "arg_objuuid1", v); /* the fd's file */
	} else {
		upath(o, "upath1", &v->path);
	}
	if (v->has & DECODE_HAS_MODE) {
		sbuf_key(o, "mode");
		sbuf_i64(o, v->mode);
	}
	if (v->has & DECODE_HAS_OWNER) {
		sbuf_key(o, "arg_uid");
		sbuf_i64(o, v->owner);
		sbuf_key(o, "arg_gid");
		sbuf_i64(o, v->group);
	}
	if (v->has & DECODE_HAS_LENGTH) {
		sbuf_key(o, "length");
		sbuf_i64(o, v->length);
	}
}

static void body_exec(struct sbuf *o, const struct decode_event *v)
{
	upath(o, "upath1", &v->path);
	/* absent, not "", when the kernel could not read argv (EFAULT) */
	if (!(v->has & DECODE_HAS_ARGV))
		return;
	sbuf_key(o, "cmdline");
	encode_util_argv(o, v, false);
}

static void body_fork(struct sbuf *o, const struct decode_event *v)
{
	/* retval, the child, is in the header (the decoder sets ret) */
	sbuf_printf(o, ",\"arg_pid\":%u", v->child_pid);
}

static void body_exit(struct sbuf *o, const struct decode_event *v)
{
	sbuf_key(o, "exit_status");
	sbuf_i64(o, v->wait_status);
}

static void body_cred(struct sbuf *o, const struct decode_event *v)
{
	sbuf_key(o, "arg_uid");
	sbuf_u64(o, v->new_uid);
}

static void body_net(struct sbuf *o, const struct decode_event *v)
{
	sbuf_key(o, "fd");
	sbuf_i64(o, v->net_fd);
	if (v->has & DECODE_HAS_SOCKTYPE) {
		sbuf_printf(o, ",\"domain\":%u,\"type\":%d,\"protocol\":%d",
			    v->family, v->socktype, v->protocol);
	} else if (v->has & DECODE_HAS_INET) {
		sbuf_key(o, "address");
		encode_util_name(o, v->addr_str);
		sbuf_key(o, "port");
		sbuf_u64(o, v->port);
	} else if (v->has & DECODE_HAS_UNIX) {
		sbuf_key(o, "address");
		sbuf_json_str(o, v->unix_path.s, v->unix_path.len);
	}
}

static void body_kill(struct sbuf *o, const struct decode_event *v)
{
	sbuf_printf(o, ",\"arg_pid\":%d,\"signum\":%d", v->target, v->sig);
}

static void body_cap(struct sbuf *o, const struct decode_event *v)
{
	sbuf_printf(o, ",\"cap\":%d,\"cap_name\":\"%s\",\"granted\":%s", v->cap,
		    v->cap_name, v->granted ? "true" : "false");
}

/* the security types (decode_sec.c): every field is in the view's extra
 * list, which cadets_event writes for every type */
static void body_sec(struct sbuf *o, const struct decode_event *v)
{
}

/* file.mmap_exec: the file mapped (its fields follow, as sec types') */
static void body_mmap(struct sbuf *o, const struct decode_event *v)
{
	obj_uuid(o, "arg_objuuid1", v);
}

/* the writers by kind (DECODE_EVENTS); some kinds share one */
#define body_path_at  body_file
#define body_chmod    body_file
#define body_chown    body_file
#define body_truncate body_file

static const encoder_body_fn cadets_bodies[SF_EV_MAX] = {
	DECODE_EVENTS(DECODE_WRITER_ENTRY)};

static void cadets_event(struct sbuf *o, const struct workload *wl,
			 uint64_t seq, uint64_t ts,
			 const struct decode_event *v)
{
	sbuf_lit(o, "{\"event\":\"");
	event_name(o, v);
	sbuf_lit(o, "\",\"time\":");
	sbuf_u64(o, ts);
	sbuf_key(o, "pid");
	sbuf_u64(o, v->pid);
	sbuf_key(o, "ppid");
	sbuf_u64(o, v->ppid);
	sbuf_key(o, "tid");
	sbuf_u64(o, v->tid);
	sbuf_key(o, "uid");
	sbuf_u64(o, v->uid);
	sbuf_key(o, "euid");
	sbuf_u64(o, v->euid);
	sbuf_key(o, "gid");
	sbuf_u64(o, v->gid);
	sbuf_key(o, "exec");
	sbuf_json_str(o, v->comm.s, v->comm.len);
	subj_uuid(o, wl, v->pid);
	if (v->has_ret) {
		sbuf_key(o, "retval");
		sbuf_i64(o, v->ret);
	}
	sbuf_key(o, "sfagent_seq");
	sbuf_u64(o, seq);
	sbuf_key(o, "workload");
	sbuf_json_str(o, wl->name, SIZE_MAX);
	if (wl->container_id) {
		sbuf_key(o, "container");
		sbuf_json_str(o, wl->container_id, SIZE_MAX);
	}
	if (cadets_bodies[v->type])
		cadets_bodies[v->type](o, v);
	/* via, opcode, suppressed; the security types' fields; exec's image */
	encode_util_extra(o, v, 0, v->x.n, false);
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
	encode_json_ops.stream_start(o, wl, seq, ts, si);
	encode_util_wrap_native_end(o);
}

static void cadets_stream_missed(struct sbuf *o, const struct workload *wl,
				 uint64_t seq, uint64_t ts, uint64_t count,
				 const char *reason)
{
	wrap_begin(o, "missed", ts);
	encode_json_ops.stream_missed(o, wl, seq, ts, count, reason);
	encode_util_wrap_native_end(o);
}

static void cadets_stream_end(struct sbuf *o, const struct workload *wl,
			      uint64_t seq, uint64_t ts,
			      const struct stream_totals *t)
{
	wrap_begin(o, "end", ts);
	encode_json_ops.stream_end(o, wl, seq, ts, t);
	encode_util_wrap_native_end(o);
}

const struct encoder_ops encode_cadets_ops = {
	.event = cadets_event,
	.stream_start = cadets_stream_start,
	.stream_missed = cadets_stream_missed,
	.stream_end = cadets_stream_end,
	.bodies = cadets_bodies,
};
