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
#include <sys/syscall.h>
#include <sys/socket.h>

#include "encode.h"
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
	/* named after the LSM hook TSEM sees for the operation where there is
	 * one; sfagent's own name where there is none (docs/formats.md) */
	[SF_EV_PTRACE] = "ptrace_access_check",
	[SF_EV_VM_READ] = "ptrace_access_check",
	[SF_EV_VM_WRITE] = "ptrace_access_check",
	[SF_EV_UNSHARE] = "ns_unshare",
	[SF_EV_SETNS] = "ns_setns",
	[SF_EV_MOUNT] = "sb_mount",
	[SF_EV_UMOUNT] = "sb_umount",
	[SF_EV_PIVOT_ROOT] = "sb_pivotroot",
	[SF_EV_CHROOT] = "path_chroot",
	[SF_EV_FSOPEN] = "fsopen",
	[SF_EV_FSMOUNT] = "fsmount",
	[SF_EV_MOVE_MOUNT] = "move_mount",
	[SF_EV_OPEN_TREE] = "open_tree",
	[SF_EV_MODULE_LOAD] = "kernel_load_data",
	[SF_EV_MODULE_DELETE] = "kernel_module_delete",
	[SF_EV_KEXEC_LOAD] = "kernel_load_data",
	[SF_EV_BPF] = "bpf",
	[SF_EV_PERF_OPEN] = "perf_event_open",
	[SF_EV_OPEN_BY_HANDLE] = "open_by_handle_at",
	[SF_EV_SETXATTR] = "inode_setxattr",
	[SF_EV_REMOVEXATTR] = "inode_removexattr",
	[SF_EV_MEM_EXEC] = "mmap_file",
	[SF_EV_MMAP_EXEC] = "mmap_file",
	[SF_EV_MEMFD_CREATE] = "memfd_create",
	[SF_EV_DUP] = "fd_dup",
	[SF_EV_SENDTO] = "socket_sendmsg",
	[SF_EV_URING_SETUP] = "uring_setup",
	[SF_EV_URING_REGISTER] = "uring_register",
	[SF_EV_URING_OP] = "uring_op",
	[SF_EV_USERFAULTFD] = "userfaultfd",
	[SF_EV_KEY_ADD] = "key_alloc",
	[SF_EV_KEY_REQUEST] = "key_request",
	[SF_EV_KEY_CTL] = "key_permission",
	[SF_EV_EXE_HASH] = "exe_hash",
	[SF_EV_FILE_HASH] = "file_hash",
};

/* Where one sfagent type is more than one TSEM event. */
static const char *tsem_name(const struct decode_event *v)
{
	switch (v->type) {
	case SF_EV_PTRACE:
		return v->x.sub == 0 ? "ptrace_traceme" : "ptrace_access_check";
	case SF_EV_MODULE_LOAD:
	case SF_EV_KEXEC_LOAD:
		/* from an fd: the kernel reads a file; else a user buffer */
		return v->syscall_nr == SYS_finit_module ||
				       v->syscall_nr == SYS_kexec_file_load
			       ? "kernel_read_file"
			       : "kernel_load_data";
	case SF_EV_MEM_EXEC:
		return v->syscall_nr == SYS_mprotect ? "file_mprotect"
						     : "mmap_file";
	default:
		return tsem_names[v->type] ? tsem_names[v->type] : "unknown";
	}
}

const char *enc_quixote_type_name(const char *tsem)
{
	static const struct {
		const char *tsem;
		unsigned type;
	} more[] = {
		{"ptrace_traceme", SF_EV_PTRACE},
		{"ptrace_access_check", SF_EV_PTRACE},
		{"kernel_read_file", SF_EV_MODULE_LOAD},
		{"kernel_load_data", SF_EV_MODULE_LOAD},
		{"file_mprotect", SF_EV_MEM_EXEC},
		{"mmap_file", SF_EV_MEM_EXEC},
	};

	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		if (!strcmp(more[i].tsem, tsem))
			return decode_type_name(more[i].type);
	for (unsigned t = 0; t < SF_EV_MAX; t++)
		if (tsem_names[t] && !strcmp(tsem_names[t], tsem))
			return decode_type_name(t);
	/* types without a TSEM name go out under sfagent's own */
	return tsem;
}

/* ,"k":"v" with a number; k a literal (its quoted form is built by the
 * compiler: no strlen per field) */
static void qnum_(struct sbuf *o, const char *kq, size_t kl, int64_t v)
{
	/* one reserve for the key, the number and the quote (sbuf_cur) */
	char *p = sbuf_cur(o, kl + 1 + SBUF_U64_MAX + 1);

	memcpy(p, kq, kl);
	p = sbuf_fmt_i64(p + kl, v);
	*p++ = '"';
	sbuf_cur_end(o, p);
}
#define qnum(o, k, v) qnum_(o, ",\"" k "\":\"", sizeof(",\"" k "\":\"") - 1, v)

/* ,"k":"v" with an unsigned number at a cursor (sbuf_cur): at most
 * sizeof(k) + 5 + SBUF_U64_MAX bytes */
#define q_cur_num(p, k, v) \
	q_cur_close(sbuf_fmt_u64(sbuf_cur_lit(p, ",\"" k "\":\""), v))
static inline char *q_cur_close(char *p)
{
	*p = '"';
	return p + 1;
}

/* "k":"v" with a number, no comma before */
#define qnum0(o, k, v) qnum_(o, "\"" k "\":\"", sizeof("\"" k "\":\"") - 1, v)

static void qstr_(struct sbuf *o, const char *kq, size_t kl, const char *v,
		  size_t n)
{
	sbuf_put(o, kq, kl);
	sbuf_json_str(o, v, n);
}
#define qstr(o, k, v, n) \
	qstr_(o, ",\"" k "\":", sizeof(",\"" k "\":") - 1, v, n)

/* {"path":{"pathname":"..."}} as TSEM describes a file's path */
static void qpath(struct sbuf *o, const char *k, const struct decode_str *p)
{
	sbuf_lit(o, ",\"");
	sbuf_puts(o, k);
	sbuf_lit(o, "\":{\"path\":{\"pathname\":");
	if (p->fault)
		sbuf_lit(o, "null");
	else
		sbuf_json_str(o, p->s, p->len);
	sbuf_lit(o, "}}");
}

static void pathname(struct sbuf *o, const struct decode_str *p)
{
	if (p->fault)
		sbuf_lit(o, "null");
	else
		sbuf_json_str(o, p->s, p->len);
}

/* "0%o", no printf */
static void q_oct(struct sbuf *o, uint32_t v)
{
	sbuf_reserve(o, 24);
	o->data[o->len++] = '0';
	o->len = sbuf_fmt_oct(o->data + o->len, v) - o->data;
}

static void qmode(struct sbuf *o, const char *lead, uint32_t mode)
{
	sbuf_puts(o, lead);
	sbuf_lit(o, "\"mode\":\"");
	q_oct(o, mode);
	sbuf_putc(o, '"');
}

/*
 * TSEM's file, inode and path structures (its ABI document,
 * Documentation/ABI/testing/tsem: "The 'inode' structure", "The 'path'
 * structure", "The 'file' structure"), filled from the kernel's identity
 * of the file at the event (v->ident, bpf/ident.bpf.h) where there is one.
 */
static void q_inode(struct sbuf *o, const struct sf_ident *id)
{
	/* every file event: no printf */
	sbuf_lit(o, "\"inode\":{\"uid\":\"");
	sbuf_u64(o, id->uid);
	sbuf_lit(o, "\",\"gid\":\"");
	sbuf_u64(o, id->gid);
	sbuf_lit(o, "\",\"mode\":\"");
	q_oct(o, id->mode & 0177777);
	sbuf_lit(o, "\",\"s_magic\":\"0x");
	sbuf_hex(o, id->magic);
	sbuf_lit(o, "\",\"s_id\":");
	sbuf_json_str(o, id->s_id, strnlen(id->s_id, sizeof(id->s_id)));
	sbuf_lit(o, ",\"s_uuid\":\"");
	sbuf_reserve(o, 2 * sizeof(id->s_uuid));
	for (size_t i = 0; i < sizeof(id->s_uuid); i++)
		sbuf_fmt_hex(o->data + o->len + 2 * i, id->s_uuid[i], 2);
	o->len += 2 * sizeof(id->s_uuid);
	sbuf_lit(o, "\"}");
}

/* the resolved path where the record has one, else the path as passed */
static void q_pathname(struct sbuf *o, const struct decode_event *v,
		       const struct decode_str *p)
{
	const struct decode_kv *r = decode_sec_find(v, "resolved");

	sbuf_lit(o, "\"pathname\":");
	if (r && r->kind == DECODE_KV_STR && r->s)
		sbuf_json_str(o, r->s, r->len);
	else
		pathname(o, p);
}

static void q_path(struct sbuf *o, const struct decode_event *v,
		   const struct decode_str *p)
{
	const struct sf_ident *id = v->has & DECODE_HAS_IDENT ? v->ident : NULL;

	sbuf_lit(o, "\"path\":{");
	if (id) {
		sbuf_lit(o, "\"dev\":{\"major\":\"");
		sbuf_u64(o, (unsigned)(id->dev >> 20));
		sbuf_lit(o, "\",\"minor\":\"");
		sbuf_u64(o, (unsigned)(id->dev & 0xfffff));
		sbuf_lit(o, "\"},\"type\":\"");
		sbuf_puts(o, decode_sec_path_type(id->flags));
		sbuf_lit(o, "\",");
	}
	q_pathname(o, v, p);
	sbuf_putc(o, '}');
}

/* "file":{flags, inode, path, digest}; flags: the struct file's f_flags
 * when known, else `flags` (-1: none) */
static void q_file(struct sbuf *o, const struct decode_event *v,
		   const struct decode_str *p, int64_t flags,
		   const char *digest_key)
{
	const struct sf_ident *id = v->has & DECODE_HAS_IDENT ? v->ident : NULL;
	const struct decode_kv *d = decode_sec_find(v, digest_key);

	sbuf_lit(o, "\"file\":{");
	if (id && (id->flags & SF_ID_FLAGS))
		flags = id->f_flags;
	if (flags >= 0) {
		sbuf_lit(o, "\"flags\":\"");
		sbuf_i64(o, flags);
		sbuf_lit(o, "\",");
	}
	if (id) {
		q_inode(o, id);
		sbuf_putc(o, ',');
	}
	q_path(o, v, p);
	if (d && d->kind == DECODE_KV_STR && d->s) {
		sbuf_lit(o, ",\"digest\":");
		sbuf_json_str(o, d->s, d->len);
	}
	sbuf_putc(o, '}');
}

/* the extra fields that the nested structures above already carry */
static bool q_nested_key(const struct decode_event *v, const char *key)
{
	static const char *const keys[] = {
		"file_dev",	"file_uid",	  "file_gid",
		"file_mode",	"file_fs_magic",  "file_fs_id",
		"file_fs_uuid", "file_path_type", "file_f_flags",
		"file_sha256",	"resolved",
	};

	if (v->type == SF_EV_MMAP_EXEC &&
	    (!strcmp(key, "file") || !strcmp(key, "prot") ||
	     !strcmp(key, "flags")))
		return true;
	if (!(v->has & DECODE_HAS_IDENT))
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

static void q_extra(struct sbuf *o, const struct decode_event *v)
{
	for (unsigned i = v->x.nhdr; i < v->x.n; i++)
		if (!q_nested_key(v, v->x.kv[i].key))
			encode_util_extra(o, v, i, i + 1, true);
}

/* the file as fd (fchmod...) or as path */
static void qtarget(struct sbuf *o, const struct decode_event *v)
{
	if (v->has & DECODE_HAS_FD) {
		qnum(o, "fd", v->fd);
		if (v->has & DECODE_HAS_IDENT) {
			sbuf_putc(o, ',');
			q_file(o, v, &v->path, -1, "file_sha256");
		}
	} else {
		qpath(o, "file", &v->path);
	}
}

/* ---- one writer per event type (or class) --------------------------- */

static void body_open(struct sbuf *o, const struct decode_event *v)
{
	q_file(o, v, &v->path, (int64_t)v->flags, "file_sha256");
	if (v->has & DECODE_HAS_MODE)
		qmode(o, ",", v->mode);
	/* file.flags is the struct file's f_flags where it is known (TSEM's);
	 * open(2)'s argument, with O_CREAT/O_TRUNC, is sfagent's addition */
	if ((v->has & DECODE_HAS_IDENT) && (v->ident->flags & SF_ID_FLAGS))
		qnum(o, "open_flags", (int64_t)v->flags);
}

/* unlink, rmdir, mkdir: TSEM's dentry{inode, path} */
static void body_dentry(struct sbuf *o, const struct decode_event *v)
{
	sbuf_lit(o, "\"dentry\":{");
	if (v->has & DECODE_HAS_IDENT) {
		q_inode(o, v->ident);
		sbuf_putc(o, ',');
	}
	q_path(o, v, &v->path);
	sbuf_putc(o, '}');
	if (v->has & DECODE_HAS_MODE)
		qmode(o, ",", v->mode);
}

/* rename, link, symlink */
static void body_two_paths(struct sbuf *o, const struct decode_event *v)
{
	sbuf_lit(o, "\"flags\":\"");
	sbuf_i64(o, v->has & DECODE_HAS_FLAGS ? (int64_t)v->flags : 0);
	sbuf_putc(o, '"');
	qpath(o, v->type == SF_EV_SYMLINK ? "target" : "old_dentry", &v->path);
	qpath(o, "new_dentry", &v->path2);
}

static void body_chmod(struct sbuf *o, const struct decode_event *v)
{
	qmode(o, "", v->mode);
	qtarget(o, v);
}

static void body_chown(struct sbuf *o, const struct decode_event *v)
{
	sbuf_lit(o, "\"uid\":\"");
	sbuf_i64(o, v->owner);
	sbuf_putc(o, '"');
	qnum(o, "gid", v->group);
	qtarget(o, v);
}

static void body_truncate(struct sbuf *o, const struct decode_event *v)
{
	sbuf_lit(o, "\"length\":\"");
	sbuf_i64(o, v->length);
	sbuf_putc(o, '"');
	qtarget(o, v);
}

static void body_exec(struct sbuf *o, const struct decode_event *v)
{
	/* TSEM's bprm has a file: a fault reads as "" */
	struct decode_str p = v->path;

	if (p.fault) {
		p.s = "", p.len = 0, p.fault = false;
	}
	q_file(o, v, &p, -1, "exe_sha256");
	/* absent, not [], when the kernel could not read it (EFAULT) */
	if (v->has & DECODE_HAS_ARGV) {
		sbuf_lit(o, ",\"argv\":");
		encode_util_argv(o, v, true);
	}
}

/* mmap_file: TSEM's file, prot, flags */
static void body_mmap(struct sbuf *o, const struct decode_event *v)
{
	const struct decode_kv *f = decode_sec_find(v, "file");
	struct decode_str p = {.s = f ? f->s : NULL,
			       .len = f ? f->len : 0,
			       .truncated = f && f->truncated,
			       .fault = !f || !f->s};

	q_file(o, v, &p, -1, "file_sha256");
	qnum(o, "prot", v->mmap_prot);
	qnum(o, "flags", v->mmap_flags);
}

static void body_fork(struct sbuf *o, const struct decode_event *v)
{
	qnum0(o, "child_pid", v->child_pid);
	qnum(o, "child_tid", v->child_tid);
	qnum(o, "thread", (int)v->thread);
}

static void body_exit(struct sbuf *o, const struct decode_event *v)
{
	qnum0(o, "exit_code", v->exit_code);
	qnum(o, "signal", v->exit_sig);
}

static void body_cred(struct sbuf *o, const struct decode_event *v)
{
	sbuf_lit(o, "\"old\":{");
	qnum0(o, "uid", v->old_uid);
	qnum(o, "euid", v->old_euid);
	qnum(o, "gid", v->old_gid);
	qnum(o, "egid", v->old_egid);
	sbuf_lit(o, "},\"new\":{");
	qnum0(o, "uid", v->new_uid);
	qnum(o, "euid", v->new_euid);
	qnum(o, "gid", v->new_gid);
	qnum(o, "egid", v->new_egid);
	sbuf_putc(o, '}');
	/* the ids before the call were not known: "old" holds the new ones
	 * (docs/events.md, "Old ids"); absent otherwise, as TSEM has no such
	 * key */
	if (v->old_unknown)
		sbuf_lit(o, ",\"old_unknown\":\"1\"");
}

static void body_net(struct sbuf *o, const struct decode_event *v)
{
	sbuf_lit(o, "\"fd\":\"");
	sbuf_i64(o, v->net_fd);
	sbuf_putc(o, '"');
	if (v->has & DECODE_HAS_SOCKTYPE) {
		qnum(o, "family", v->family);
		qnum(o, "type", v->socktype);
		qnum(o, "protocol", v->protocol);
		qnum(o, "kern", 0);
		return;
	}
	if (v->has & DECODE_HAS_BACKLOG)
		qnum(o, "backlog", v->backlog);
	if (v->has & DECODE_HAS_INET) {
		sbuf_puts(o, v->family == AF_INET
				     ? ",\"addr\":{\"af_inet\":{\"port\":\""
				     : ",\"addr\":{\"af_inet6\":{\"port\":\"");
		sbuf_u64(o, v->port);
		sbuf_lit(o, "\",\"address\":");
		encode_util_name(o, v->addr_str);
		sbuf_lit(o, "}}");
	} else if (v->has & DECODE_HAS_UNIX) {
		sbuf_lit(o, ",\"addr\":{\"af_unix\":{\"path\":");
		sbuf_json_str(o, v->unix_path.s, v->unix_path.len);
		sbuf_lit(o, "}}");
	} else if (v->has & DECODE_HAS_FAMILY) {
		qnum(o, "family", v->family);
	}
}

static void body_kill(struct sbuf *o, const struct decode_event *v)
{
	/* the generators' record: one reserve for the three fields */
	char *p = sbuf_cur(o, 48 + 2 * (1 + SBUF_U64_MAX));

	p = sbuf_cur_lit(p, "\"cross_model\":\"0\",\"signal\":\"");
	p = q_cur_close(sbuf_fmt_i64(p, v->sig));
	p = sbuf_cur_lit(p, ",\"target\":\"");
	p = q_cur_close(sbuf_fmt_i64(p, v->target));
	sbuf_cur_end(o, p);
}

static void body_cap(struct sbuf *o, const struct decode_event *v)
{
	qnum0(o, "cap", v->cap);
	sbuf_lit(o, ",\"opts\":\"0\",\"name\":\"");
	sbuf_puts(o, v->cap_name ? v->cap_name : "(null)"); /* as printf */
	sbuf_putc(o, '"');
	qnum(o, "result", v->cap_result);
}

/* the security types: their fields (decode_sec.c) as strings; the body's
 * first field has no comma before it */
static void body_sec(struct sbuf *o, const struct decode_event *v)
{
	size_t at = o->len;

	encode_util_extra(o, v, v->x.nhdr, v->x.n, true);
	if (o->len > at && o->data[at] == ',') {
		memmove(o->data + at, o->data + at + 1, o->len - at - 1);
		o->len--;
	}
}

/* the writers by kind (DECODE_EVENTS); some kinds share one */
#define body_path_at body_dentry

static const encoder_body_fn quixote_bodies[SF_EV_MAX] = {
	DECODE_EVENTS(DECODE_WRITER_ENTRY)};

/* ,"pid":"N","tid":"N","ppid":"N","process":"comm": what a task's records
 * share (encode.h memo) */
struct task_key {
	uint32_t pid, tid, ppid;
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
	k.pid = v->pid, k.tid = v->tid, k.ppid = v->ppid;
	k.comm_len = v->comm.len < SF_COMM_LEN ? v->comm.len : SF_COMM_LEN;
	memcpy(k.comm, v->comm.s, k.comm_len);
	slot = encode_memo_find(&task_memo, &k, sizeof(k), v->tid, o);
	if (!slot)
		return;
	p = sbuf_cur(o, 3 * (SBUF_U64_MAX + 10));
	p = q_cur_num(p, "pid", v->pid);
	p = q_cur_num(p, "tid", v->tid);
	p = q_cur_num(p, "ppid", v->ppid);
	sbuf_cur_end(o, p);
	qstr(o, "process", k.comm, k.comm_len);
	encode_memo_keep(slot, &k, sizeof(k), o, from);
}

/* the COE block, from uid, euid, gid (encode.h memo) */
struct coe_key {
	uint32_t uid, euid, gid;
};
static struct encode_memo coe_memo;

static void coe(struct sbuf *o, const struct decode_event *v)
{
	struct coe_key k = {.uid = v->uid, .euid = v->euid, .gid = v->gid};
	struct encode_memo_slot *slot;
	size_t from = o->len;
	char *p;

	slot = encode_memo_find(&coe_memo, &k, sizeof(k),
				k.uid ^ k.euid ^ k.gid, o);
	if (!slot)
		return;
	p = sbuf_cur(o, 8 * (SBUF_U64_MAX + 12) + 16);
	p = sbuf_cur_lit(p, "},\"COE\":{\"uid\":\"");
	p = sbuf_fmt_u64(p, v->uid);
	*p++ = '"';
	p = q_cur_num(p, "euid", v->euid);
	p = q_cur_num(p, "suid", v->euid);
	p = q_cur_num(p, "gid", v->gid);
	p = q_cur_num(p, "egid", v->gid);
	p = q_cur_num(p, "sgid", v->gid);
	p = q_cur_num(p, "fsuid", v->euid);
	p = q_cur_num(p, "fsgid", v->gid);
	sbuf_cur_end(o, p);
	encode_memo_keep(slot, &k, sizeof(k), o, from);
}

/* ,"syscall":..,"ret":.. (the extras of the header) },"COE":{..},"NAME":{
 * : what a task's calls of one kind share (encode.h memo) when the header
 * has no extra fields; the names are the decoder's and tsem_names' own
 * strings, which live as long as the process, so their addresses are a
 * key */
struct tail_key {
	const char *syscall, *name;
	int64_t ret;
	uint32_t has_ret, uid, euid, gid;
};
_Static_assert(sizeof(struct tail_key) <= ENCODE_MEMO_KEY, "memo key");
static struct encode_memo tail_memo;

static void event_tail(struct sbuf *o, const struct decode_event *v,
		       const char *name, size_t nl)
{
	struct encode_memo_slot *slot = NULL;
	struct tail_key k;
	size_t from = o->len;
	char *p;

	if (!v->x.nhdr) {
		memset(&k, 0, sizeof(k));
		k.syscall = v->syscall, k.name = name;
		k.has_ret = v->has_ret, k.ret = v->has_ret ? v->ret : 0;
		k.uid = v->uid, k.euid = v->euid, k.gid = v->gid;
		slot = encode_memo_find(
			&tail_memo, &k, sizeof(k),
			(uint32_t)k.ret ^ k.uid ^
				(uint32_t)((uintptr_t)name >> 3) ^
				(uint32_t)((uintptr_t)k.syscall >> 3),
			o);
		if (!slot)
			return;
	}
	/* a name from the decoder's table: nothing to escape */
	if (v->syscall) {
		sbuf_lit(o, ",\"syscall\":");
		encode_util_name(o, v->syscall);
	}
	if (v->has_ret)
		qnum(o, "ret", v->ret);
	/* via, opcode, suppressed: sfagent's additions to event */
	encode_util_extra(o, v, 0, v->x.nhdr, true);
	/* the BPF side reads uid, gid, euid: the rest of TSEM's COE is
	 * derived, see docs/formats.md */
	coe(o, v);
	p = sbuf_cur(o, nl + 8);
	p = sbuf_cur_lit(p, "},\"");
	p = (char *)memcpy(p, name, nl) + nl;
	p = sbuf_cur_lit(p, "\":{");
	sbuf_cur_end(o, p);
	if (slot)
		encode_memo_keep(slot, &k, sizeof(k), o, from);
}

static void quixote_event(struct sbuf *o, const struct workload *wl,
			  uint64_t seq, uint64_t ts,
			  const struct decode_event *v)
{
	const char *name = tsem_name(v);
	size_t nl = strlen(name);
	char *p;

	/* up to ts through a cursor (sbuf.h): one reserve for all */
	p = sbuf_cur(o, 80 + nl + 2 * SBUF_U64_MAX);
	p = sbuf_cur_lit(
		p,
		"{\"export\":{\"type\":\"async_event\"},\"event\":{\"number\":\"");
	p = sbuf_fmt_u64(p, seq);
	p = sbuf_cur_lit(p, "\",\"type\":\"");
	p = (char *)memcpy(p, name, nl) + nl;
	p = sbuf_cur_lit(p, "\",\"ts\":\"");
	p = q_cur_close(sbuf_fmt_u64(p, ts));
	sbuf_cur_end(o, p);
	task_fields(o, v);
	encode_util_ident(o, wl);
	event_tail(o, v, name, nl);
	if (quixote_bodies[v->type])
		quixote_bodies[v->type](o, v);
	/* exec's image, fork's namespaces (body_sec wrote its own); the
	 * file.mmap_exec's fields TSEM has no place for */
	if (v->cls != DECODE_CLASS_SEC || v->type == SF_EV_MMAP_EXEC)
		q_extra(o, v);
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
	encode_json_ops.stream_start(o, wl, seq, ts, si);
	encode_util_wrap_native_end(o);
}

static void quixote_stream_missed(struct sbuf *o, const struct workload *wl,
				  uint64_t seq, uint64_t ts, uint64_t count,
				  const char *reason)
{
	wrap_begin(o, "stream.missed");
	encode_json_ops.stream_missed(o, wl, seq, ts, count, reason);
	encode_util_wrap_native_end(o);
}

static void quixote_stream_end(struct sbuf *o, const struct workload *wl,
			       uint64_t seq, uint64_t ts,
			       const struct stream_totals *t)
{
	wrap_begin(o, "stream.end");
	encode_json_ops.stream_end(o, wl, seq, ts, t);
	encode_util_wrap_native_end(o);
}

const struct encoder_ops encode_quixote_ops = {
	.event = quixote_event,
	.stream_start = quixote_stream_start,
	.stream_missed = quixote_stream_missed,
	.stream_end = quixote_stream_end,
	.bodies = quixote_bodies,
};
