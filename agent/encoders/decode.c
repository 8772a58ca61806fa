// SPDX-License-Identifier: GPL-2.0
/*
 * Raw ring-buffer records to the decoded view (decode.h): the one place
 * that knows which syscall argument is what.  One entry per event type in
 * the table below.
 */
#include "decode.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "decode_path.h"
#include "util.h"

#define O_TMPFILE_BITS 020000000 /* the kernel's __O_TMPFILE */

static void str_set(struct decode_str *d, const char *s, size_t cap,
		    bool truncated, bool fault)
{
	d->s = s;
	d->len = strnlen(s, cap);
	d->truncated = truncated;
	d->fault = fault;
}

static void path1(struct decode_event *v, const char *p, uint16_t fl)
{
	str_set(&v->path, p, SF_PATH_MAX, fl & SF_F_PATH_TRUNC,
		fl & SF_F_PATH_FAULT);
	v->has |= DECODE_HAS_PATH;
}

static void path2(struct decode_event *v, const char *p, uint16_t fl)
{
	str_set(&v->path2, p, SF_PATH_MAX, fl & SF_F_PATH2_TRUNC,
		fl & SF_F_PATH2_FAULT);
	v->has |= DECODE_HAS_PATH2;
}

static void dirfd1(struct decode_event *v, int64_t fd)
{
	v->dirfd = fd;
	v->has |= DECODE_HAS_DIRFD;
}

static void file_fd(struct decode_event *v, int64_t fd)
{
	v->fd = fd;
	v->has |= DECODE_HAS_FD;
}

static void mode_set(struct decode_event *v, int64_t mode)
{
	v->mode = mode & 07777;
	v->has |= DECODE_HAS_MODE;
}

/* chmod, chown, truncate: the fd variant (fchmod...) has no path */
static bool by_fd(struct decode_event *v, int64_t fd)
{
	if (fd < 0)
		return false;
	file_fd(v, fd);
	return true;
}

/* Signal names, made once: "SIGTERM"; "SIG77" for one with no name. */
static char signal_names[65][12];

static __attribute__((noinline)) const char *signal_name_slow(char buf[16],
							      int sig)
{
	const char *n = sig > 0 ? sigabbrev_np(sig) : NULL;

	if (n && sig <= 64 && strlen(n) < sizeof(signal_names[0]) - 3) {
		snprintf(signal_names[sig], sizeof(signal_names[0]), "SIG%s",
			 n);
		return signal_names[sig];
	}
	if (n)
		snprintf(buf, 16, "SIG%.12s", n);
	else
		snprintf(buf, 16, "SIG%d", sig);
	return buf;
}

static inline const char *signal_name(char buf[16], int sig)
{
	if (sig == 0)
		return "0";
	if (sig > 0 && sig <= 64 && signal_names[sig][0])
		return signal_names[sig];
	return signal_name_slow(buf, sig);
}

/* ---- one function per event type or class -------------------------- */

static void dec_open(struct decode_event *v, const void *raw)
{
	const struct sf_file_event *e = raw;

	path1(v, e->path, e->hdr.flags);
	dirfd1(v, e->arg0);
	v->flags = e->arg1;
	v->flag_names = &decode_open_flags;
	v->has |= DECODE_HAS_FLAGS;
	if (e->arg1 & (O_CREAT | O_TMPFILE_BITS))
		mode_set(v, e->arg2);
	if (e->hdr.ret >= 0)
		file_fd(v, e->hdr.ret);
	decode_sec_ident(v, &e->ident);
	decode_path_file(v, raw);
}

/* unlink, rmdir, mkdir: dirfd, then mkdir's mode */
static void dec_path_at(struct decode_event *v, const void *raw)
{
	const struct sf_file_event *e = raw;

	path1(v, e->path, e->hdr.flags);
	dirfd1(v, e->arg0);
	if (e->hdr.type == SF_EV_MKDIR)
		mode_set(v, e->arg1);
	decode_path_file(v, raw);
}

/* rename, link: olddirfd, newdirfd, flags; symlink: newdirfd */
static void dec_two_paths(struct decode_event *v, const void *raw)
{
	const struct sf_file_event *e = raw;

	path1(v, e->path, e->hdr.flags);
	path2(v, e->path2, e->hdr.flags);
	v->has |= DECODE_HAS_NEWDIRFD;
	if (e->hdr.type == SF_EV_SYMLINK) {
		v->newdirfd = e->arg0;
		decode_path_file(v, raw);
		return;
	}
	dirfd1(v, e->arg0);
	v->newdirfd = e->arg1;
	v->flags = e->arg2;
	v->flag_names = e->hdr.type == SF_EV_RENAME ? &decode_rename_flags
						    : &decode_link_flags;
	v->has |= DECODE_HAS_FLAGS;
	decode_path_file(v, raw);
}

static void dec_chmod(struct decode_event *v, const void *raw)
{
	const struct sf_file_event *e = raw;

	if (!by_fd(v, e->arg2)) {
		path1(v, e->path, e->hdr.flags);
		dirfd1(v, e->arg0);
	}
	mode_set(v, e->arg1);
	decode_sec_ident(v, &e->ident);
	decode_path_file(v, raw);
}

static void dec_chown(struct decode_event *v, const void *raw)
{
	const struct sf_file_event *e = raw;

	if (!by_fd(v, e->arg3)) {
		path1(v, e->path, e->hdr.flags);
		dirfd1(v, e->arg0);
	}
	v->owner = e->arg1;
	v->group = e->arg2;
	v->has |= DECODE_HAS_OWNER;
	decode_sec_ident(v, &e->ident);
	decode_path_file(v, raw);
}

static void dec_truncate(struct decode_event *v, const void *raw)
{
	const struct sf_file_event *e = raw;

	if (!by_fd(v, e->arg1))
		path1(v, e->path, e->hdr.flags);
	v->length = e->arg0;
	v->has |= DECODE_HAS_LENGTH;
	decode_sec_ident(v, &e->ident);
	decode_path_file(v, raw);
}

static void dec_exec(struct decode_event *v, const void *raw)
{
	const struct sf_exec_event *e = raw;

	path1(v, e->filename, e->hdr.flags);
	v->argv = e->argv;
	v->argv_len = e->argv_len < SF_ARGV_MAX ? e->argv_len : SF_ARGV_MAX;
	v->argv_truncated = e->hdr.flags & SF_F_ARGV_TRUNC;
	/* a failed exec's argv comes from the caller's memory: one it could
	 * not read (EFAULT) is absent, not "no arguments" */
	if (!(e->hdr.flags & SF_F_HAS_RET) || e->hdr.ret >= 0 ||
	    !(e->hdr.flags & SF_F_ARGV_FAULT))
		v->has |= DECODE_HAS_ARGV;
	decode_sec_exec(v, raw); /* what really ran: exe_*, cwd */
}

static void dec_fork(struct decode_event *v, const void *raw)
{
	const struct sf_fork_event *e = raw;

	v->child_pid = e->child_pid;
	v->child_tid = e->child_tid;
	v->thread = e->hdr.flags & SF_F_THREAD;
	v->has |= DECODE_HAS_CHILD;
	/* what fork/clone returned in the parent: the child's pid, for a
	 * new thread its tid */
	if (!v->has_ret) {
		v->has_ret = true;
		v->ret = e->child_tid;
	}
	decode_sec_fork(v, raw); /* ns_flags */
}

static void dec_exit(struct decode_event *v, const void *raw)
{
	const struct sf_exit_event *e = raw;
	int st = e->exit_code;

	v->wait_status = st;
	v->exit_code = (st >> 8) & 0xff;
	v->exit_sig = st & 0x7f;
	v->core_dumped = st & 0x80;
	v->thread = e->hdr.flags & SF_F_THREAD;
	v->has |= DECODE_HAS_EXIT;
	decode_sec_exit(v, raw);
	if (!v->exit_sig)
		v->has |= DECODE_HAS_EXIT_CODE;
	if (v->exit_sig) {
		v->sig = v->exit_sig;
		v->sig_name = signal_name(v->sig_buf, v->sig);
		v->has |= DECODE_HAS_SIG;
	}
}

static void dec_cred(struct decode_event *v, const void *raw)
{
	const struct sf_cred_event *e = raw;

	v->old_uid = e->old_uid;
	v->old_euid = e->old_euid;
	v->old_gid = e->old_gid;
	v->old_egid = e->old_egid;
	v->new_uid = e->new_uid;
	v->new_euid = e->new_euid;
	v->new_gid = e->new_gid;
	v->new_egid = e->new_egid;
	v->old_unknown = e->hdr.flags & SF_F_OLD_UNKNOWN;
	v->has |= DECODE_HAS_CRED;
}

static void dec_net(struct decode_event *v, const void *raw)
{
	const struct sf_net_event *e = raw;

	v->net_fd = e->fd;
	v->lport = 0;
	v->family = e->family;
	v->family_name = decode_family_name(e->family);
	v->has |= DECODE_HAS_SOCK;
	if (e->hdr.type == SF_EV_SOCKET) {
		v->socktype = e->type & 0xf;
		v->protocol = e->protocol;
		v->has |= DECODE_HAS_FAMILY | DECODE_HAS_SOCKTYPE;
		return;
	}
	if (e->family)
		v->has |= DECODE_HAS_FAMILY;
	if (e->hdr.type == SF_EV_LISTEN) {
		v->backlog = e->backlog;
		v->has |= DECODE_HAS_BACKLOG;
	}
	if (e->hdr.type == SF_EV_ACCEPT) {
		v->listen_fd = e->listen_fd;
		v->has |= DECODE_HAS_LISTEN_FD;
	}
	if (e->family == AF_INET || e->family == AF_INET6) {
		if (!inet_ntop(e->family, e->addr, v->addr_str,
			       sizeof(v->addr_str)))
			v->addr_str[0] = 0;
		v->port = e->port;
		v->lport = e->lport;
		memcpy(v->laddr, e->laddr, sizeof(v->laddr));
		v->has |= DECODE_HAS_INET;
	} else if (e->family == AF_UNIX) {
		str_set(&v->unix_path, e->unix_path, sizeof(e->unix_path),
			false, false);
		v->has |= DECODE_HAS_UNIX;
	}
}

static void dec_kill(struct decode_event *v, const void *raw)
{
	const struct sf_kill_event *e = raw;

	v->target_pid = e->target_pid;
	v->target_tid = e->target_tid;
	/* kill(2) names a process, tgkill(2)/tkill(2) a thread */
	v->target = e->target_pid ? e->target_pid : e->target_tid;
	v->has_target_pid = e->target_pid || !e->target_tid;
	v->has_target_tid = e->target_tid != 0;
	v->sig = e->sig;
	v->sig_name = signal_name(v->sig_buf, e->sig);
	v->has |= DECODE_HAS_TARGET | DECODE_HAS_SIG;
}

static void dec_cap(struct decode_event *v, const void *raw)
{
	const struct sf_cap_event *e = raw;

	v->cap = e->cap;
	v->cap_name = decode_cap_name(e->cap);
	v->cap_result = e->result;
	v->granted = e->result == 0;
	v->has |= DECODE_HAS_CAP;
}

#define dec_sec	 decode_sec
#define dec_mmap decode_sec_mmap

/* ---- the table: one line per event type ----------------------------- */

struct decode_entry {
	const char *name;
	enum decode_class cls;
	size_t size; /* the raw struct */
	void (*fill)(struct decode_event *v, const void *raw);
};

#define DECODE_ENTRY(id, name, cls, raw, kind)                             \
	[SF_EV_##id] = {name, DECODE_CLASS_##cls, sizeof(struct sf_##raw), \
			dec_##kind},

static const struct decode_entry decode_table[SF_EV_MAX] = {
	DECODE_EVENTS(DECODE_ENTRY)};

/* ---- variable-size records (bpf/sfagent.h: SF_F_PACKED) -------------- */

struct var_layout {
	size_t size; /* the struct's */
	unsigned n;
	struct {
		uint16_t off, cap;
	} v[SF_VAR_MAX];
};

#define VAR_PART(st, f) {offsetof(struct st, f), sizeof(((struct st *)0)->f)},
#define VAR_ONE(st, f)	+1

static const struct var_layout file_vars = {
	.size = sizeof(struct sf_file_event),
	.n = 0 SF_FILE_VARS(VAR_ONE),
	.v = {SF_FILE_VARS(VAR_PART)},
};

static const struct var_layout *var_layout(enum decode_class cls)
{
	switch (cls) {
	case DECODE_CLASS_FILE:
		return &file_vars;
	default:
		return NULL;
	}
}

/* Expands the packed record raw (size bytes) into out, a struct of
 * l->size bytes: the fixed part back around the arrays, each array's used
 * bytes and zeroes after them.  Reads nothing past size. */
static int unpack(unsigned char *out, const struct var_layout *l,
		  const unsigned char *raw, size_t size)
{
	size_t fixed = l->size, from = 0, at = 0, pos;
	struct sf_var lens;

	for (unsigned i = 0; i < l->n; i++)
		fixed -= l->v[i].cap;
	if (size < fixed + sizeof(lens))
		return DECODE_SHORT;
	memcpy(&lens, raw + fixed, sizeof(lens));
	for (unsigned i = 0; i < l->n; i++) {
		memcpy(out + from, raw + at, l->v[i].off - from);
		at += l->v[i].off - from;
		from = l->v[i].off + l->v[i].cap;
	}
	memcpy(out + from, raw + at, l->size - from);
	pos = fixed + sizeof(lens);
	for (unsigned i = 0; i < SF_VAR_MAX; i++) {
		size_t len = lens.len[i];

		if (i >= l->n) {
			if (len)
				return DECODE_MALFORMED;
			continue;
		}
		if (len > l->v[i].cap || len > size - pos)
			return DECODE_MALFORMED;
		memcpy(out + l->v[i].off, raw + pos, len);
		memset(out + l->v[i].off + len, 0, l->v[i].cap - len);
		pos += len;
	}
	if (pos != size)
		return DECODE_MALFORMED;
	/* as the fixed-size record would have been */
	((struct sf_hdr *)out)->flags &= ~SF_F_PACKED;
	return DECODE_OK;
}

int decode_event(struct decode_event *v, const void *raw, size_t size)
{
	const struct sf_hdr *h = raw;
	const struct decode_entry *d;

	if (!raw || size < sizeof(*h))
		return DECODE_SHORT;
	if (h->type >= SF_EV_MAX || !decode_table[h->type].fill)
		return DECODE_BAD_TYPE;
	d = &decode_table[h->type];
	if (h->flags & SF_F_PACKED) {
		const struct var_layout *l = var_layout(d->cls);
		int r;

		if (!l || l->size > sizeof(v->unpacked))
			return DECODE_MALFORMED;
		r = unpack((unsigned char *)&v->unpacked, l, raw, size);
		if (r < 0)
			return r;
		raw = h = (const struct sf_hdr *)&v->unpacked;
		size = l->size;
	}
	if (size < d->size)
		return DECODE_SHORT;
	v->rec = raw;
	v->type = h->type;
	v->type_name = d->name;
	v->cls = d->cls;
	v->has = 0;
	v->raw_flags = h->flags;
	v->slot = h->slot;
	v->ts_boot = h->ts_boot;
	v->cgid = h->cgid;
	v->pid = h->pid;
	v->tid = h->tid;
	v->ppid = h->ppid;
	v->uid = h->uid;
	v->gid = h->gid;
	v->euid = h->euid;
	str_set(&v->comm, h->comm, SF_COMM_LEN, false, false);
	v->syscall_nr = h->syscall;
	/* cap_capable fires inside some other syscall: not its own */
	v->syscall = h->syscall && h->type != SF_EV_CAPABLE
			     ? decode_syscall_name(h->syscall)
			     : NULL;
	v->has_ret = h->flags & SF_F_HAS_RET;
	v->ret = h->ret;
	v->interrupted = h->flags & SF_F_INTERRUPTED;
	v->compat = h->flags & SF_F_COMPAT;
	decode_sec_hdr(v, raw);
	d->fill(v, raw);
	return DECODE_OK;
}

const char *decode_status_name(int status)
{
	switch (status) {
	case DECODE_OK:
		return "ok";
	case DECODE_SHORT:
		return "short record";
	case DECODE_BAD_TYPE:
		return "unknown event type";
	case DECODE_MALFORMED:
		return "variable-size record that does not add up";
	default:
		return "malformed record";
	}
}

const char *decode_type_name(unsigned type)
{
	if (type < SF_EV_MAX && decode_table[type].name)
		return decode_table[type].name;
	return "unknown";
}

/* ---- names for numbers ---------------------------------------------- */

/* Syscall names from libseccomp, resolved once, not per event. */
#define SYSCALL_TABLE 512
static char *syscall_names[SYSCALL_TABLE];

static void __attribute__((destructor)) syscall_names_free(void)
{
	for (int i = 0; i < SYSCALL_TABLE; i++)
		free(syscall_names[i]);
}

const char *decode_syscall_name(unsigned nr)
{
	if (nr >= SYSCALL_TABLE)
		return "unknown";
	if (!syscall_names[nr]) {
		char *n =
			seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		syscall_names[nr] = n ? n : xasprintf("syscall_%u", nr);
	}
	return syscall_names[nr];
}

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

const char *decode_cap_name(int cap)
{
	if (cap >= 0 && (size_t)cap < sizeof(cap_names) / sizeof(cap_names[0]))
		return cap_names[cap];
	return "CAP_UNKNOWN";
}

const char *decode_family_name(unsigned family)
{
	switch (family) {
	case AF_UNIX:
		return "AF_UNIX";
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	case AF_NETLINK:
		return "AF_NETLINK";
	case AF_PACKET:
		return "AF_PACKET";
	case 0:
		return "AF_UNSPEC";
	default:
		return "AF_OTHER";
	}
}

static const struct decode_flag open_bits[] = {
	{O_CREAT, "O_CREAT"},
	{O_EXCL, "O_EXCL"},
	{O_NOCTTY, "O_NOCTTY"},
	{O_TRUNC, "O_TRUNC"},
	{O_APPEND, "O_APPEND"},
	{O_NONBLOCK, "O_NONBLOCK"},
	{O_DSYNC, "O_DSYNC"},
	{O_DIRECT, "O_DIRECT"},
	/* the kernel's value: glibc defines O_LARGEFILE as 0 on 64 bit */
	{0100000, "O_LARGEFILE"},
	{O_DIRECTORY, "O_DIRECTORY"},
	{O_NOFOLLOW, "O_NOFOLLOW"},
	{O_NOATIME, "O_NOATIME"},
	{O_CLOEXEC, "O_CLOEXEC"},
	{O_PATH, "O_PATH"},
	{O_TMPFILE_BITS, "O_TMPFILE"},
	{04000000, "O_SYNC"},
};

const struct decode_flagset decode_open_flags = {
	.bits = open_bits,
	.n = sizeof(open_bits) / sizeof(open_bits[0]),
	.accmode = true,
};

static const struct decode_flag rename_bits[] = {
	{1u << 0, "RENAME_NOREPLACE"},
	{1u << 1, "RENAME_EXCHANGE"},
	{1u << 2, "RENAME_WHITEOUT"},
};

const struct decode_flagset decode_rename_flags = {
	.bits = rename_bits,
	.n = sizeof(rename_bits) / sizeof(rename_bits[0]),
};

static const struct decode_flag link_bits[] = {
	{0x400, "AT_SYMLINK_FOLLOW"},
	{0x1000, "AT_EMPTY_PATH"},
};

const struct decode_flagset decode_link_flags = {
	.bits = link_bits,
	.n = sizeof(link_bits) / sizeof(link_bits[0]),
};
