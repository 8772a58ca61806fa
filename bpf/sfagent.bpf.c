// SPDX-License-Identifier: GPL-2.0
/*
 * sfagent kernel side.
 *
 * Every program starts with the same question: is the current task in a
 * tracked cgroup (or below one)?  Untracked tasks answer it with one LRU hash
 * lookup and leave.  Syscall events come from the per-syscall tracepoints
 * syscalls/sys_exit_* (only the syscalls we export pay anything at all), with
 * the arguments read from the task's saved user registers, so one program run
 * per syscall both filters and emits.  Process lifecycle comes from the BTF
 * sched_process_* tracepoints, capability checks from capability/cap_capable.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <asm/unistd_64.h>
#include "sfagent.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_UNIX	 1
#define AF_INET	 2
#define AF_INET6 10
#define O_WRONLY 01
#define O_CREAT	 0100
#define O_TRUNC	 01000

/* Bumped by the agent after every change to the tracked map. */
volatile __u32 track_gen = 0;

/*
 * Wake-up batching.  A plain bpf_ringbuf_submit() wakes the agent (an IPI and
 * a context switch) for every record it has caught up with, which at high
 * rates costs the traced task more than the record itself.  Records are
 * submitted with BPF_RB_NO_WAKEUP and the agent is woken, at most every
 * WAKE_MIN_NS, when this record is alone in the ring (the agent has caught up
 * and is probably asleep: a quiet stream gets its records at once) or when
 * wake_bytes are waiting, and in any case when the last wake-up is WAKE_NS
 * old.  The agent's poll timeout bounds the delay of records that fall
 * between (a burst's last records within WAKE_MIN_NS of a wake-up).
 */
#define WAKE_NS		 (10 * 1000 * 1000)
#define WAKE_MIN_NS	 (100 * 1000)
#define WAKE_ALONE_BYTES 2048 /* more than any one record */
volatile const __u64 wake_bytes = 1 << 20; /* the agent sets it */
__u64 last_wake = 0;

struct cg_cache_entry {
	__u32 slot;
	__u32 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* cgroup id */
	__type(value, __u32); /* workload slot or SF_SLOT_EXCLUDED */
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct cg_cache_entry);
} cg_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* the agent sets the real size */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SF_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct sf_drop);
} drops SEC(".maps");

/*
 * cap_capable fires on every mmap (the overcommit check asks for
 * CAP_SYS_ADMIN), so each process image reports each (capability, result)
 * once.  The mm pointer is part of the key: a new exec starts afresh.
 */
struct cap_key {
	__u64 mm;
	__u32 tgid;
	__s32 cap;
	__s32 result;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct cap_key);
	__type(value, __u8);
} cap_seen SEC(".maps");

struct cred_stash {
	__u32 uid, euid, gid, egid;
};

struct {
	/* LRU: an entry whose exit never comes (tracking ended in between)
	 * must not stay forever */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32); /* tid */
	__type(value, struct cred_stash);
} cred_stash SEC(".maps");

/* Returns the workload slot of the current task, or SF_SLOT_NONE. */
static __always_inline __u32 current_slot(__u64 cgid)
{
	struct cg_cache_entry *c, fresh;
	__u32 gen = track_gen; /* read before the walk: see docs/design.md */
	__u32 slot = SF_SLOT_NONE;

	c = bpf_map_lookup_elem(&cg_cache, &cgid);
	if (c && c->gen == gen)
		return c->slot;

	/* Deepest tracked ancestor wins, so an excluded child of a tracked
	 * parent stays excluded. */
	for (int lvl = 0; lvl < SF_MAX_CGROUP_DEPTH; lvl++) {
		__u64 anc = bpf_get_current_ancestor_cgroup_id(lvl);
		__u32 *s;

		if (!anc)
			break;
		s = bpf_map_lookup_elem(&tracked, &anc);
		if (s)
			slot = *s;
		if (anc == cgid)
			break;
	}
	if (slot == SF_SLOT_EXCLUDED)
		slot = SF_SLOT_NONE;
	fresh.slot = slot;
	fresh.gen = gen;
	bpf_map_update_elem(&cg_cache, &cgid, &fresh, BPF_ANY);
	return slot;
}

/*
 * Set by the agent (through the mmapped .bss) while a slot is over its
 * budget: its events are counted here instead of filling the ring buffer.
 */
volatile __u8 paused[SF_MAX_SLOTS];

static __always_inline void count_drop(__u32 slot, bool pause)
{
	struct sf_drop *d = bpf_map_lookup_elem(&drops, &slot);

	if (d && pause)
		d->paused++;
	else if (d)
		d->ringbuf++;
}

static __always_inline void *reserve(__u32 slot, __u64 size)
{
	void *e;

	if (paused[slot & (SF_MAX_SLOTS - 1)]) {
		count_drop(slot, true);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		count_drop(slot, false);
	return e;
}

static __always_inline void submit(void *e)
{
	__u64 ts = ((struct sf_hdr *)e)->ts_boot, since = ts - last_wake;
	__u64 flags = BPF_RB_NO_WAKEUP, avail;

	if (since >= WAKE_NS ||
	    (since >= WAKE_MIN_NS &&
	     ((avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA)) >=
		      wake_bytes ||
	      avail <= WAKE_ALONE_BYTES))) {
		last_wake = ts;
		flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(e, flags);
}

static __always_inline void fill_hdr(struct sf_hdr *h, __u16 type, __u32 slot,
				     __u64 cgid)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->type = type;
	h->flags = 0;
	h->slot = slot;
	h->ts_boot = bpf_ktime_get_boot_ns();
	h->cgid = cgid;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	/* direct loads through the BTF task pointer: the verifier turns them
	 * into fault-safe loads, cheaper than a bpf_probe_read_kernel each */
	h->ppid = t->real_parent->tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->euid = t->cred->euid.val;
	h->ret = 0;
	h->syscall = 0;
	h->pad = 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

static __always_inline void read_path(char *dst, const void *src, __u16 *flags,
				      __u16 trunc_flag, __u16 fault_flag)
{
	long n;

	if (!src) {
		dst[0] = 0;
		return;
	}
	n = bpf_probe_read_user_str(dst, SF_PATH_MAX, src);
	if (n < 0) {
		dst[0] = 0;
		*flags |= fault_flag;
	} else if (n == SF_PATH_MAX) {
		/* a full buffer is a cut path only if the source goes on */
		char c = 0;

		bpf_probe_read_user(&c, 1, (const char *)src + SF_PATH_MAX - 1);
		if (c)
			*flags |= trunc_flag;
	}
}

/* ---- syscall exits ---------------------------------------------------- */

/* A syscall the kernel will restart returns an internal ERESTART* code;
 * the process sees -EINTR (or nothing, and a second event for the restart). */
static __always_inline void set_ret(struct sf_hdr *h, long ret)
{
	h->flags |= SF_F_HAS_RET;
	if (ret <= -512 && ret >= -516) {
		ret = -4;
		h->flags |= SF_F_INTERRUPTED;
	}
	h->ret = ret;
}

struct sys_args {
	__u64 a[6];
};

static __always_inline void read_args(struct sys_args *args)
{
	struct pt_regs *regs =
		(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	/* bpf_task_pt_regs() returns a BTF pointer: load, do not probe-read */
	args->a[0] = regs->di;
	args->a[1] = regs->si;
	args->a[2] = regs->dx;
	args->a[3] = regs->r10;
	args->a[4] = regs->r8;
	args->a[5] = regs->r9;
}

/* The header of an event that comes from a syscall's exit. */
static __always_inline void fill_sys_hdr(struct sf_hdr *h, __u16 type,
					 __u32 slot, __u64 cgid, long nr,
					 long ret, __u16 xf)
{
	fill_hdr(h, type, slot, cgid);
	set_ret(h, ret);
	h->syscall = nr;
	h->flags |= xf;
}

static __always_inline void file_event(long nr, long ret, __u32 slot,
				       __u64 cgid, struct sys_args *a, __u16 xf)
{
	struct sf_file_event *e;
	const void *p1 = 0, *p2 = 0;
	__s64 x0 = 0, x1 = 0, x2 = 0, x3 = 0;
	__u16 type;

	switch (nr) {
	case __NR_open:
		type = SF_EV_OPEN, p1 = (void *)a->a[0];
		x0 = -100, x1 = a->a[1], x2 = a->a[2];
		break;
	case __NR_creat:
		type = SF_EV_OPEN, p1 = (void *)a->a[0];
		x0 = -100, x1 = O_CREAT | O_WRONLY | O_TRUNC, x2 = a->a[1];
		break;
	case __NR_openat:
		type = SF_EV_OPEN, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = a->a[2], x2 = a->a[3];
		break;
	case __NR_openat2: {
		struct open_how how = {};

		bpf_probe_read_user(&how, sizeof(how), (void *)a->a[2]);
		type = SF_EV_OPEN, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = how.flags, x2 = how.mode;
		break;
	}
	case __NR_unlink:
		type = SF_EV_UNLINK, p1 = (void *)a->a[0], x0 = -100;
		break;
	case __NR_unlinkat: /* with AT_REMOVEDIR it removes a directory */
		type = a->a[2] & 0x200 ? SF_EV_RMDIR : SF_EV_UNLINK;
		p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = a->a[2];
		break;
	case __NR_rename:
		type = SF_EV_RENAME, p1 = (void *)a->a[0], p2 = (void *)a->a[1];
		x0 = -100, x1 = -100;
		break;
	case __NR_renameat:
	case __NR_renameat2:
		type = SF_EV_RENAME, p1 = (void *)a->a[1], p2 = (void *)a->a[3];
		x0 = (int)a->a[0], x1 = (int)a->a[2];
		x2 = nr == __NR_renameat2 ? a->a[4] : 0;
		break;
	case __NR_mkdir:
		type = SF_EV_MKDIR, p1 = (void *)a->a[0], x0 = -100,
		x1 = a->a[1];
		break;
	case __NR_mkdirat:
		type = SF_EV_MKDIR, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = a->a[2];
		break;
	case __NR_rmdir:
		type = SF_EV_RMDIR, p1 = (void *)a->a[0], x0 = -100;
		break;
	case __NR_link:
		type = SF_EV_LINK, p1 = (void *)a->a[0], p2 = (void *)a->a[1];
		x0 = -100, x1 = -100;
		break;
	case __NR_linkat:
		type = SF_EV_LINK, p1 = (void *)a->a[1], p2 = (void *)a->a[3];
		x0 = (int)a->a[0], x1 = (int)a->a[2], x2 = a->a[4];
		break;
	case __NR_symlink:
		type = SF_EV_SYMLINK, p1 = (void *)a->a[0],
		p2 = (void *)a->a[1];
		x0 = -100;
		break;
	case __NR_symlinkat:
		type = SF_EV_SYMLINK, p1 = (void *)a->a[0],
		p2 = (void *)a->a[2];
		x0 = (int)a->a[1];
		break;
	case __NR_chmod:
		type = SF_EV_CHMOD, p1 = (void *)a->a[0];
		x0 = -100, x1 = a->a[1], x2 = -1;
		break;
	case __NR_fchmod:
		type = SF_EV_CHMOD, x0 = -100, x1 = a->a[1], x2 = (int)a->a[0];
		break;
	case __NR_fchmodat:
	case 452: /* fchmodat2 */
		type = SF_EV_CHMOD, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = a->a[2], x2 = -1;
		break;
	case __NR_chown:
	case __NR_lchown:
		type = SF_EV_CHOWN, p1 = (void *)a->a[0];
		x0 = -100, x1 = (int)a->a[1], x2 = (int)a->a[2], x3 = -1;
		break;
	case __NR_fchown:
		type = SF_EV_CHOWN, x0 = -100, x1 = (int)a->a[1];
		x2 = (int)a->a[2], x3 = (int)a->a[0];
		break;
	case __NR_fchownat:
		type = SF_EV_CHOWN, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = (int)a->a[2], x2 = (int)a->a[3],
		x3 = -1;
		break;
	case __NR_truncate:
		type = SF_EV_TRUNCATE, p1 = (void *)a->a[0], x0 = a->a[1],
		x1 = -1;
		break;
	case __NR_ftruncate:
		type = SF_EV_TRUNCATE, x0 = a->a[1], x1 = (int)a->a[0];
		break;
	default:
		return;
	}

	e = reserve(slot, sizeof(*e));
	if (!e)
		return;
	fill_sys_hdr(&e->hdr, type, slot, cgid, nr, ret, xf);
	e->arg0 = x0, e->arg1 = x1, e->arg2 = x2, e->arg3 = x3;
	read_path(e->path, p1, &e->hdr.flags, SF_F_PATH_TRUNC, SF_F_PATH_FAULT);
	read_path(e->path2, p2, &e->hdr.flags, SF_F_PATH2_TRUNC,
		  SF_F_PATH2_FAULT);
	submit(e);
}

static __always_inline void sock_read_addr(struct sf_net_event *e, int fd,
					   bool peer)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	struct file *f = 0;
	struct socket *sock;
	struct sock *sk;

	if (fd < 0)
		return;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return;
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (e->family == AF_INET) {
		__u32 a4 = peer ? BPF_CORE_READ(sk, __sk_common.skc_daddr)
				: BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

		__builtin_memcpy(e->addr, &a4, 4);
	} else if (e->family == AF_INET6) {
		struct in6_addr a6;

		if (peer)
			BPF_CORE_READ_INTO(&a6, sk, __sk_common.skc_v6_daddr);
		else
			BPF_CORE_READ_INTO(&a6, sk,
					   __sk_common.skc_v6_rcv_saddr);
		__builtin_memcpy(e->addr, &a6, 16);
	} else {
		return;
	}
	if (peer)
		e->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	else
		e->port = BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline void user_read_addr(struct sf_net_event *e,
					   const void *uaddr, __u32 len)
{
	struct sockaddr_in6 sa = {};
	__u64 n = len;

	if (!uaddr || len < 2)
		return;
	/* only the bytes the caller gave: the rest may be anything */
	if (n > sizeof(sa))
		n = sizeof(sa);
	barrier_var(n);
	bpf_probe_read_user(&sa, n, uaddr);
	e->family = sa.sin6_family;
	if (e->family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		__builtin_memcpy(e->addr, &in->sin_addr, 4);
		e->port = bpf_ntohs(in->sin_port);
	} else if (e->family == AF_INET6 &&
		   len >= sizeof(struct sockaddr_in6)) {
		__builtin_memcpy(e->addr, &sa.sin6_addr, 16);
		e->port = bpf_ntohs(sa.sin6_port);
	} else if (e->family == AF_UNIX && len > 2) {
		__u64 plen = (__u64)len - 2;

		if (plen > sizeof(e->unix_path) - 1)
			plen = sizeof(e->unix_path) - 1;
		barrier_var(plen); /* the verifier must see the clamped value */
		bpf_probe_read_user(e->unix_path, plen,
				    (const char *)uaddr + 2);
		if (plen < sizeof(e->unix_path))
			e->unix_path[plen] = 0;
		/* abstract names start with a NUL: keep them readable with '@' */
		if (!e->unix_path[0] && plen > 1)
			e->unix_path[0] = '@';
	}
}

static __always_inline void net_event(long nr, long ret, __u32 slot, __u64 cgid,
				      struct sys_args *a, __u16 xf)
{
	struct sf_net_event *e;
	__u16 type;

	switch (nr) {
	case __NR_socket:
		type = SF_EV_SOCKET;
		break;
	case __NR_connect:
		type = SF_EV_CONNECT;
		break;
	case __NR_accept:
	case __NR_accept4:
		type = SF_EV_ACCEPT;
		break;
	case __NR_bind:
		type = SF_EV_BIND;
		break;
	case __NR_listen:
		type = SF_EV_LISTEN;
		break;
	default:
		return;
	}
	e = reserve(slot, sizeof(*e));
	if (!e)
		return;
	fill_sys_hdr(&e->hdr, type, slot, cgid, nr, ret, xf);
	e->family = 0, e->port = 0, e->type = 0, e->protocol = 0;
	e->backlog = 0, e->listen_fd = -1;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->unix_path[0] = 0;
	e->fd = (int)a->a[0];
	switch (type) {
	case SF_EV_SOCKET:
		e->fd = ret;
		e->family = a->a[0];
		e->type = a->a[1];
		e->protocol = a->a[2];
		break;
	case SF_EV_CONNECT:
	case SF_EV_BIND:
		user_read_addr(e, (void *)a->a[1], a->a[2]);
		break;
	case SF_EV_ACCEPT:
		e->listen_fd = e->fd;
		e->fd = ret;
		if (ret >= 0)
			sock_read_addr(e, ret, true);
		break;
	case SF_EV_LISTEN:
		e->backlog = a->a[1];
		if (ret == 0)
			sock_read_addr(e, e->fd, false);
		break;
	}
	submit(e);
}

static __always_inline void kill_event(long nr, long ret, __u32 slot,
				       __u64 cgid, struct sys_args *a, __u16 xf)
{
	struct sf_kill_event *e = reserve(slot, sizeof(*e));

	if (!e)
		return;
	fill_sys_hdr(&e->hdr, SF_EV_KILL, slot, cgid, nr, ret, xf);
	e->pad = 0;
	if (nr == __NR_tgkill) {
		e->target_pid = a->a[0];
		e->target_tid = a->a[1];
		e->sig = a->a[2];
	} else if (nr == __NR_tkill) {
		e->target_pid = 0;
		e->target_tid = a->a[0];
		e->sig = a->a[1];
	} else {
		e->target_pid = a->a[0];
		e->target_tid = 0;
		e->sig = a->a[1];
	}
	submit(e);
}

static __always_inline void cred_event(long nr, long ret, __u32 slot,
				       __u64 cgid, __u16 xf)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sf_cred_event *e;
	struct cred_stash *old;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	e = reserve(slot, sizeof(*e));
	if (!e) {
		bpf_map_delete_elem(&cred_stash, &tid);
		return;
	}
	fill_sys_hdr(&e->hdr, SF_EV_SETUID, slot, cgid, nr, ret, xf);
	e->new_uid = BPF_CORE_READ(t, cred, uid.val);
	e->new_euid = BPF_CORE_READ(t, cred, euid.val);
	e->new_gid = BPF_CORE_READ(t, cred, gid.val);
	e->new_egid = BPF_CORE_READ(t, cred, egid.val);
	old = bpf_map_lookup_elem(&cred_stash, &tid);
	if (old) {
		e->old_uid = old->uid, e->old_euid = old->euid;
		e->old_gid = old->gid, e->old_egid = old->egid;
		bpf_map_delete_elem(&cred_stash, &tid);
	} else {
		e->old_uid = e->new_uid, e->old_euid = e->new_euid;
		e->old_gid = e->new_gid, e->old_egid = e->new_egid;
	}
	submit(e);
}

static __always_inline void exec_fail_event(long nr, long ret, __u32 slot,
					    __u64 cgid, struct sys_args *a,
					    __u16 xf)
{
	struct sf_exec_event *e = reserve(slot, sizeof(*e));
	const void *file = (void *)(nr == __NR_execveat ? a->a[1] : a->a[0]);

	if (!e)
		return;
	fill_sys_hdr(&e->hdr, SF_EV_EXEC, slot, cgid, nr, ret, xf);
	e->argc = 0;
	e->argv_len = 0;
	read_path(e->filename, file, &e->hdr.flags, SF_F_PATH_TRUNC,
		  SF_F_PATH_FAULT);
	submit(e);
}

/* syscalls/sys_exit_<name> record: see its format file in tracefs.  Not
 * struct trace_event_raw_sys_exit: the number here is an int. */
struct sys_exit_rec {
	__u64 common;
	int nr;
	int pad;
	long ret;
};

/* One exported syscall's exit, native numbering, arguments already read. */
static __always_inline void on_sys_exit(long nr, long ret, __u32 slot,
					__u64 cgid, struct sys_args *a,
					__u16 xf)
{
	switch (nr) {
	case __NR_socket:
	case __NR_connect:
	case __NR_accept:
	case __NR_accept4:
	case __NR_bind:
	case __NR_listen:
		net_event(nr, ret, slot, cgid, a, xf);
		return;
	case __NR_kill:
	case __NR_tkill:
	case __NR_tgkill:
		kill_event(nr, ret, slot, cgid, a, xf);
		return;
	case __NR_setuid:
	case __NR_setgid:
	case __NR_setreuid:
	case __NR_setregid:
	case __NR_setresuid:
	case __NR_setresgid:
	case __NR_setfsuid:
	case __NR_setfsgid:
		cred_event(nr, ret, slot, cgid, xf);
		return;
	case __NR_execve:
	case __NR_execveat:
		/* success is reported by sched_process_exec */
		if (ret < 0)
			exec_fail_event(nr, ret, slot, cgid, a, xf);
		return;
	default:
		file_event(nr, ret, slot, cgid, a, xf);
		return;
	}
}

SEC("tracepoint")
int sf_sys_exit(struct sys_exit_rec *ctx)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sys_args a;

	if (slot == SF_SLOT_NONE)
		return 0;
	read_args(&a);
	on_sys_exit(ctx->nr, ctx->ret, slot, cgid, &a, 0);
	return 0;
}

/*
 * 32-bit syscalls (a 32-bit program, or int $0x80 from a 64-bit one) never
 * reach the syscalls/sys_exit_* tracepoints on x86-64, so without this a
 * workload could do its file, network and privilege work unseen.  The only
 * hook that sees them is the generic sys_exit tracepoint, which fires for
 * every syscall on the host: the first thing done is the TS_COMPAT test,
 * one load, before anything else.  ia32 numbers are mapped to the native
 * ones and the ia32 argument registers used.
 */
#define TS_COMPAT   0x0002
#define SYS_SOCKET  1
#define SYS_BIND    2
#define SYS_CONNECT 3
#define SYS_LISTEN  4
#define SYS_ACCEPT  5
#define SYS_ACCEPT4 18

static __always_inline long ia32_to_native(long nr)
{
	switch (nr) {
	case 5:
		return __NR_open;
	case 8:
		return __NR_creat;
	case 9:
		return __NR_link;
	case 10:
		return __NR_unlink;
	case 11:
		return __NR_execve;
	case 15:
		return __NR_chmod;
	case 16:
	case 198:
		return __NR_lchown;
	case 23:
	case 213:
		return __NR_setuid;
	case 37:
		return __NR_kill;
	case 38:
		return __NR_rename;
	case 39:
		return __NR_mkdir;
	case 40:
		return __NR_rmdir;
	case 46:
	case 214:
		return __NR_setgid;
	case 70:
	case 203:
		return __NR_setreuid;
	case 71:
	case 204:
		return __NR_setregid;
	case 83:
		return __NR_symlink;
	case 92:
	case 193:
		return __NR_truncate;
	case 93:
	case 194:
		return __NR_ftruncate;
	case 94:
		return __NR_fchmod;
	case 95:
	case 207:
		return __NR_fchown;
	case 138:
	case 215:
		return __NR_setfsuid;
	case 139:
	case 216:
		return __NR_setfsgid;
	case 164:
	case 208:
		return __NR_setresuid;
	case 170:
	case 210:
		return __NR_setresgid;
	case 182:
	case 212:
		return __NR_chown;
	case 238:
		return __NR_tkill;
	case 270:
		return __NR_tgkill;
	case 295:
		return __NR_openat;
	case 296:
		return __NR_mkdirat;
	case 298:
		return __NR_fchownat;
	case 301:
		return __NR_unlinkat;
	case 302:
		return __NR_renameat;
	case 303:
		return __NR_linkat;
	case 304:
		return __NR_symlinkat;
	case 306:
		return __NR_fchmodat;
	case 353:
		return __NR_renameat2;
	case 358:
		return __NR_execveat;
	case 359:
		return __NR_socket;
	case 361:
		return __NR_bind;
	case 362:
		return __NR_connect;
	case 363:
		return __NR_listen;
	case 364:
		return __NR_accept4;
	case 437:
		return __NR_openat2;
	case 452:
		return 452; /* fchmodat2 */
	default:
		return -1;
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sf_sys_exit_compat, struct pt_regs *regs, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sys_args a;
	long nr32, nr;
	__u64 cgid;
	__u32 slot;

	if (!(BPF_CORE_READ(t, thread_info.status) & TS_COMPAT))
		return 0;
	cgid = bpf_get_current_cgroup_id();
	slot = current_slot(cgid);
	if (slot == SF_SLOT_NONE)
		return 0;
	nr32 = BPF_CORE_READ(regs, orig_ax);
	a.a[0] = (__u32)BPF_CORE_READ(regs, bx);
	a.a[1] = (__u32)BPF_CORE_READ(regs, cx);
	a.a[2] = (__u32)BPF_CORE_READ(regs, dx);
	a.a[3] = (__u32)BPF_CORE_READ(regs, si);
	a.a[4] = (__u32)BPF_CORE_READ(regs, di);
	a.a[5] = (__u32)BPF_CORE_READ(regs, bp);
	if (nr32 == 102) { /* socketcall(call, args) */
		__u32 args[3] = {};
		long call = a.a[0];

		bpf_probe_read_user(args, sizeof(args), (void *)a.a[1]);
		a.a[0] = args[0], a.a[1] = args[1], a.a[2] = args[2];
		nr = call == SYS_SOCKET	   ? __NR_socket
		     : call == SYS_BIND	   ? __NR_bind
		     : call == SYS_CONNECT ? __NR_connect
		     : call == SYS_LISTEN  ? __NR_listen
		     : call == SYS_ACCEPT  ? __NR_accept
		     : call == SYS_ACCEPT4 ? __NR_accept4
					   : -1;
	} else {
		nr = ia32_to_native(nr32);
		/* truncate64/ftruncate64: the length comes in two registers */
		if (nr32 == 193 || nr32 == 194)
			a.a[1] |= a.a[2] << 32;
		/* 32-bit ints that mean -1/AT_FDCWD must stay negative */
		if (nr == __NR_openat || nr == __NR_mkdirat ||
		    nr == __NR_fchownat || nr == __NR_unlinkat ||
		    nr == __NR_renameat || nr == __NR_linkat ||
		    nr == __NR_fchmodat || nr == __NR_renameat2 ||
		    nr == __NR_openat2 || nr == __NR_execveat || nr == 452)
			a.a[0] = (__s32)a.a[0];
	}
	if (nr < 0)
		return 0;
	on_sys_exit(nr, ret, slot, cgid, &a, SF_F_COMPAT);
	return 0;
}

/* setuid family: remember the ids before the call for the exit event. */
SEC("tracepoint")
int sf_sys_enter_cred(void *ctx)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	struct task_struct *t;
	struct cred_stash s;
	__u32 tid;

	if (current_slot(cgid) == SF_SLOT_NONE)
		return 0;
	t = bpf_get_current_task_btf();
	tid = (__u32)bpf_get_current_pid_tgid();
	s.uid = BPF_CORE_READ(t, cred, uid.val);
	s.euid = BPF_CORE_READ(t, cred, euid.val);
	s.gid = BPF_CORE_READ(t, cred, gid.val);
	s.egid = BPF_CORE_READ(t, cred, egid.val);
	bpf_map_update_elem(&cred_stash, &tid, &s, BPF_ANY);
	return 0;
}

/* ---- process lifecycle ------------------------------------------------ */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sf_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sf_exec_event *e;
	unsigned long start, end, len;
	long n;

	if (slot == SF_SLOT_NONE)
		return 0;
	e = reserve(slot, sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SF_EV_EXEC, slot, cgid);
	e->hdr.flags |= SF_F_HAS_RET;
	e->hdr.syscall =
		0; /* execve or execveat: this tracepoint cannot tell */
	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				      BPF_CORE_READ(bprm, filename));
	if (n < 0)
		e->filename[0] = 0;
	else if (n == sizeof(e->filename))
		e->hdr.flags |= SF_F_PATH_TRUNC;

	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end - start;
	if (len > SF_ARGV_MAX) {
		len = SF_ARGV_MAX;
		e->hdr.flags |= SF_F_ARGV_TRUNC;
	}
	e->argc = 0;
	if (bpf_probe_read_user(e->argv, len, (void *)start) < 0)
		len = 0;
	e->argv_len = len;
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sf_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sf_fork_event *e;

	if (slot == SF_SLOT_NONE)
		return 0;
	e = reserve(slot, sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SF_EV_FORK, slot, cgid);
	e->child_pid = child->tgid;
	e->child_tid = child->pid;
	e->hdr.ret = child->tgid;
	if (child->tgid == parent->tgid)
		e->hdr.flags |= SF_F_THREAD;
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sf_exit, struct task_struct *p, bool group_dead)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sf_exit_event *e;

	if (slot == SF_SLOT_NONE)
		return 0;
	e = reserve(slot, sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SF_EV_EXIT, slot, cgid);
	e->exit_code = p->exit_code;
	e->pad = 0;
	if (group_dead)
		e->hdr.flags |= SF_F_GROUP_DEAD;
	else
		e->hdr.flags |= SF_F_THREAD;
	submit(e);
	return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(sf_capable, const struct cred *cred, struct user_namespace *tns,
	     const struct user_namespace *ns, int cap, int ret)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sf_cap_event *e;
	struct cap_key k = {};
	__u8 one = 1;

	if (slot == SF_SLOT_NONE)
		return 0;
	k.mm = (__u64)bpf_get_current_task_btf()->mm;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	k.cap = cap;
	k.result = ret;
	if (bpf_map_lookup_elem(&cap_seen, &k))
		return 0;
	bpf_map_update_elem(&cap_seen, &k, &one, BPF_ANY);
	e = reserve(slot, sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SF_EV_CAPABLE, slot, cgid);
	e->hdr.ret = ret;
	e->hdr.flags |= SF_F_HAS_RET;
	e->cap = cap;
	e->result = ret;
	submit(e);
	return 0;
}
