/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Getting a record to the agent: the ring buffer, its loss counters and
 * wake-up batching, the common header, and the helpers that read syscall
 * arguments and user strings.  Every event program does, in this order:
 *   current_slot() (filter.bpf.h)  -> untracked: return
 *   [per-event-type checks: rate limits]
 *   reserve(slot, type, size): the workload's type mask (filter_mask), then
 *     the ring buffer -> fill_hdr()/fill_sys_hdr() -> fields -> submit()
 * so a check that can drop an event goes before reserve(), where it costs no
 * ring-buffer space.
 */
#ifndef SF_EVENT_BPF_H
#define SF_EVENT_BPF_H

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
 *
 * While records keep coming the agent polls the ring on its own clock
 * (agent/agent.c agent_wait: every AGENT_POLL_HOT_MS after a round that took
 * records) and says so in agent_polls: then no record wakes it unless
 * wake_bytes wait (asked at most every WAKE_MIN_NS) and the agent took no
 * record since the last look (a busy agent, behind but consuming, needs no
 * wake-up).  A forced wake-up is an irq_work self-IPI from the traced task:
 * with the agent keeping up, one per WAKE_MIN_NS was a tenth of a flat-out
 * kill loop's samples.
 */
#define WAKE_NS		 (10 * 1000 * 1000)
#define WAKE_MIN_NS	 (100 * 1000)
#define WAKE_ALONE_BYTES 2048 /* more than any one record */
volatile const __u64 wake_bytes = 1 << 20; /* the agent sets it */
__u64 last_wake = 0;
__u64 last_cons = 0; /* the consumer's position at the last look */
volatile __u32 agent_polls = 0; /* the agent sets it: see above */

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

static __always_inline void count_drop(__u32 slot)
{
	struct sf_drop *d = bpf_map_lookup_elem(&drops, &slot);

	if (d)
		d->ringbuf++;
}

/*
 * The workload's filter, as far as the kernel can decide it (agent/filter,
 * docs/filters.md): a set bit drops that type here, before the record takes
 * ring-buffer space, and so do the uid/pid/comm equalities in `need`; both
 * are counted in sf_drop.filtered.  All clear (the array's zeroes):
 * nothing is dropped.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SF_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct sf_filter_mask);
} filter_mask SEC(".maps");

/* The filter's uid, pid and comm equalities, where it has them. */
static __always_inline bool need_fails(const struct sf_filter_mask *m)
{
	if ((m->need & SF_NEED_UID) &&
	    (__u32)bpf_get_current_uid_gid() != m->uid)
		return true;
	if ((m->need & SF_NEED_PID) &&
	    (__u32)(bpf_get_current_pid_tgid() >> 32) != m->pid)
		return true;
	if (m->need & SF_NEED_COMM) {
		char c[SF_COMM_LEN] = {};

		bpf_get_current_comm(c, sizeof(c));
		/* up to the NUL: what follows it need not be padding */
#pragma unroll
		for (int i = 0; i < SF_COMM_LEN; i++) {
			if (c[i] != m->comm[i])
				return true;
			if (!c[i])
				break;
		}
	}
	return false;
}

static __always_inline bool filtered_out(__u32 slot, __u16 type)
{
	struct sf_filter_mask *m = bpf_map_lookup_elem(&filter_mask, &slot);
	struct sf_drop *d;
	__u64 w;

	if (!m || type >= SF_TYPE_MASK_BITS)
		return false;
	w = type < 64 ? m->drop[0] : m->drop[1];
	if (!(w & (1ull << (type & 63))) && !(m->need && need_fails(m)))
		return false;
	d = bpf_map_lookup_elem(&drops, &slot);
	if (d)
		d->filtered++;
	return true;
}

/*
 * Set by the agent (a store into the mmapped .bss, no syscall) while a slot
 * is over its budget (agent/daemon/budget.h): its events are counted in
 * sf_drop.paused instead of taking ring-buffer space that every stream
 * shares.
 */
volatile __u8 paused[SF_MAX_SLOTS];

static __always_inline bool paused_out(__u32 slot)
{
	struct sf_drop *d;

	if (!paused[slot & (SF_MAX_SLOTS - 1)])
		return false;
	d = bpf_map_lookup_elem(&drops, &slot);
	if (d)
		d->paused++;
	return true;
}

/* Filtered or paused (each counted)?  A global function: verified once per
 * program, not at each of the two dozen reserve() sites (the filter's
 * unrolled comm test was a tenth of sf_sys_exit's verification). */
__noinline int reserve_blocked(__u32 slot, __u32 type)
{
	return filtered_out(slot, type) || paused_out(slot);
}

/* NULL: filtered (the type is masked for slot), paused (over budget) or the
 * ring buffer is full; each is counted. */
static __always_inline void *reserve(__u32 slot, __u16 type, __u64 size)
{
	void *e;

	if (reserve_blocked(slot, type))
		return NULL;
	e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		count_drop(slot);
	return e;
}

/* alone: the most data waiting that still means "only this record", with
 * it (reserved) or without it (not yet output) */
static __always_inline __u64 wake_flags(__u64 ts, __u64 alone)
{
	__u64 since = ts - last_wake, avail;

	if (agent_polls) {
		__u64 cons;

		if (since < WAKE_MIN_NS)
			return BPF_RB_NO_WAKEUP;
		/* last_wake: the last look here */
		last_wake = ts;
		/* the agent took records since the last look: it is awake
		 * and will look again (a wake-up would only cost this task
		 * the IPI); it took none: wake it if wake_bytes wait */
		cons = bpf_ringbuf_query(&events, BPF_RB_CONS_POS);
		if (cons != last_cons) {
			last_cons = cons;
			return BPF_RB_NO_WAKEUP;
		}
		return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >=
				       wake_bytes
			       ? BPF_RB_FORCE_WAKEUP
			       : BPF_RB_NO_WAKEUP;
	}
	if (since >= WAKE_NS ||
	    (since >= WAKE_MIN_NS &&
	     ((avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA)) >=
		      wake_bytes ||
	      avail <= alone))) {
		last_wake = ts;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void submit(void *e)
{
	bpf_ringbuf_submit(e, wake_flags(((struct sf_hdr *)e)->ts_boot,
					 WAKE_ALONE_BYTES));
}

/*
 * Variable-size records (sfagent.h, SF_F_PACKED): the big records (a file
 * event's two 512-byte paths) are built in this CPU's scratch record, as
 * they would be in the ring, and only the bytes used go out
 * (bpf_ringbuf_output), the arrays' used parts after the fixed part: a
 * short path takes its length, not 1,136 bytes, of the ring.  Every user
 * runs in process context (syscall exits, exec), so nothing nests on one
 * CPU's scratch.
 */
#define SCRATCH_SIZE 4096
#define VAR_LEN_MASK 1023 /* > any array: a length is masked, not compared */
struct scratch {
	__u8 rec[SCRATCH_SIZE]; /* the struct, filled as before */
	/* what goes out: the fixed part, sf_var, SF_VAR_MAX masked lengths */
	__u8 out[SCRATCH_SIZE + sizeof(struct sf_var) +
		 SF_VAR_MAX * (VAR_LEN_MASK + 1)];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* One variable array of a record: where, how big, how much of it used. */
struct var_part {
	__u32 off, cap, len;
};
#define VAR_PART(st, f)                           \
	{.off = __builtin_offsetof(struct st, f), \
	 .cap = sizeof(((struct st *)0)->f)},

/* reserve() for a variable-size record: the scratch record, or NULL when
 * filtered or paused (counted). */
static __always_inline void *reserve_var(__u32 slot, __u16 type)
{
	__u32 zero = 0;
	struct scratch *s;

	if (reserve_blocked(slot, type))
		return NULL;
	s = bpf_map_lookup_elem(&scratch, &zero);
	return s ? s->rec : NULL;
}

/* submit() for reserve_var()'s record: the struct's size, its n variable
 * arrays in struct order (constants but the lengths); a full ring buffer
 * is counted. */
static __always_inline void submit_var(void *rec, const __u32 size,
				       struct var_part *vp, const int n)
{
	__u8 *out = (__u8 *)rec + SCRATCH_SIZE;
	struct sf_hdr *h = rec;
	struct sf_var *lens;
	__u32 from = 0, at = 0, pos, len;

	_Static_assert(sizeof(struct sf_var) == 8, "sf_var");
	h->flags |= SF_F_PACKED;
#pragma unroll
	for (int i = 0; i < n; i++) {
		bpf_probe_read_kernel(out + at, vp[i].off - from,
				      (__u8 *)rec + from);
		at += vp[i].off - from;
		from = vp[i].off + vp[i].cap;
	}
	bpf_probe_read_kernel(out + at, size - from, (__u8 *)rec + from);
	at += size - from;
	lens = (struct sf_var *)(out + at);
	pos = at + sizeof(*lens);
	/* the lengths are the kernel side's own (<= cap): masked, not
	 * compared, as a compare per length would double the verifier's
	 * states per array; one over its array would be the agent's
	 * "malformed", not an overflow here */
#pragma unroll
	for (int i = 0; i < SF_VAR_MAX; i++) {
		len = 0;
		if (i < n) {
			len = vp[i].len & VAR_LEN_MASK;
			bpf_probe_read_kernel(out + pos, len,
					      (__u8 *)rec + vp[i].off);
		}
		lens->len[i] = len;
		pos += len;
	}
	/* queried before the output: alone is nothing else waiting */
	if (bpf_ringbuf_output(&events, out, pos, wake_flags(h->ts_boot, 0)))
		count_drop(h->slot);
}

/*
 * submit_var() for one struct, as a global function: the verifier checks
 * a global function once, on its own, instead of on every path that
 * reaches it (inlined in the sys_exit program, the four lengths' copies
 * made it 3x slower to load).  rec is reserve_var()'s record.
 *   SUBMIT_VAR_FN(name, struct, SF_*_VARS) -> int name(void *rec, l0..l3)
 */
#define SUBMIT_VAR_FN(name, st, VARS)                                         \
	__noinline int name(struct scratch *sc, __u32 l0, __u32 l1, __u32 l2, \
			    __u32 l3)                                         \
	{                                                                     \
		struct var_part vp[] = {VARS(VAR_PART)};                      \
		const int n = sizeof(vp) / sizeof(vp[0]);                     \
		__u32 l[SF_VAR_MAX] = {l0, l1, l2, l3};                       \
                                                                              \
		if (!sc)                                                      \
			return 0;                                             \
		for (int i = 0; i < n; i++)                                   \
			vp[i].len = l[i];                                     \
		submit_var(sc->rec, sizeof(struct st), vp, n);                \
		return 0;                                                     \
	}

/*
 * The kernel's BTF id of struct task_struct, from the agent's BTF cache
 * (agent/btfcache.h), 0: unknown.  A load of a pointer through a trusted
 * BTF pointer makes the verifier look its type's __safe_trusted/__safe_rcu
 * variants up by name, a linear walk of the kernel's BTF (~20% of a short
 * -X's CPU in btf_find_by_name_kind): through the read-only cast below the
 * task pointer is untrusted and those lookups are not made.  The loads are
 * the same probe-mem loads either way.  Where the kernel lacks the kfunc
 * (before 6.2) the agent makes the call a move of t (agent/kernel_ids.c):
 * the loads through the trusted pointer, as with the id 0.
 */
volatile const __u32 task_btf_id = 0;
/* bpf_rdonly_cast(), not as an extern __ksym: for that libbpf would parse
 * the kernel's whole BTF (5.5 MB) at every load to find its id; the agent
 * has it from its BTF cache and makes each call of this number the kfunc
 * call as libbpf would (agent/kernel_ids.h) */
static void *(*const bpf_rdonly_cast)(const void *obj, __u32 btf_id) = (void *)
	SF_CALL_RDONLY_CAST;

/* t, untrusted (when the id is known): loads through it are the same
 * probe-mem loads (bpf_rdonly_cast is inlined as a register move), and the
 * verifier makes none of the by-name lookups for a pointer loaded through
 * it, on however many paths reach the load. */
static __always_inline struct task_struct *task_ro(struct task_struct *t)
{
	return task_btf_id ? bpf_rdonly_cast(t, task_btf_id) : t;
}

/* A global function, verified once per program rather than at each of the
 * event types' copies. */
__noinline int fill_hdr_g(struct sf_hdr *h, __u32 type, __u32 slot, __u64 cgid)
{
	struct task_struct *t = bpf_get_current_task_btf();
	const struct cred *cr;

	if (!h)
		return 0;
	t = task_ro(t);
	h->type = type;
	h->flags = 0;
	h->slot = slot;
	h->ts_boot = bpf_ktime_get_boot_ns();
	h->cgid = cgid;
	/* direct loads through the BTF pointers, no helper call and no
	 * probe-read (four of those and the uid/gid helper were a tenth of a
	 * traced kill loop's samples); the verifier's cost of each nested
	 * load (btf_nested_type_is_trusted looks it up by name in the whole
	 * kernel BTF) is paid once per program: this is a global function.
	 * The ids as bpf_get_current_pid_tgid/_uid_gid give them: the
	 * kernel's kuid/kgid are the initial namespace's ids. */
	h->pid = t->tgid;
	h->tid = t->pid;
	h->ppid = t->real_parent->tgid;
	cr = t->cred;
	h->uid = cr->uid.val;
	h->gid = cr->gid.val;
	h->euid = cr->euid.val;
	h->ret = 0;
	h->syscall = 0;
	h->via = SF_VIA_SYSCALL;
	h->uring_op = 0;
	h->suppressed = 0;
	/* two 8-byte loads, not bpf_get_current_comm()'s strscpy_pad: the
	 * kernel writes comm with strscpy_pad (exec, prctl, fork copies it),
	 * so the bytes after its NUL are zeroes either way, and the agent
	 * reads up to the NUL */
	_Static_assert(SF_COMM_LEN == 16, "comm");
	((__u64 *)h->comm)[0] = *(const __u64 *)&t->comm[0];
	((__u64 *)h->comm)[1] = *(const __u64 *)&t->comm[8];
	return 0;
}

static __always_inline void fill_hdr(struct sf_hdr *h, __u16 type, __u32 slot,
				     __u64 cgid)
{
	fill_hdr_g(h, type, slot, cgid);
}

/* Returns the bytes of dst used, its NUL counted. */
static __always_inline __u32 read_path(char *dst, const void *src, __u16 *flags,
				       __u16 trunc_flag, __u16 fault_flag)
{
	long n;

	if (!src) {
		dst[0] = 0;
		return 1;
	}
	n = bpf_probe_read_user_str(dst, SF_PATH_MAX, src);
	if (n <= 0) {
		dst[0] = 0;
		if (n < 0)
			*flags |= fault_flag;
		return 1;
	} else if (n == SF_PATH_MAX) {
		/* a full buffer is a cut path only if the source goes on */
		char c = 0;

		bpf_probe_read_user(&c, 1, (const char *)src + SF_PATH_MAX - 1);
		if (c)
			*flags |= trunc_flag;
	}
	return n;
}

/*
 * Rate limit for events on hot paths (mem.exec on every JIT page,
 * io_uring.op on every read): per process, kind (type + sub, e.g. the
 * io_uring opcode) and second, RL_BURST events pass; the rest are counted
 * and the count rides in hdr.suppressed of the next event of that kind
 * that passes.  What is left when the process exits goes out on its last
 * thread's process.exit (rate_exit()), and its entries are deleted there.
 * Plain hashes, not LRU: an eviction would lose a count.  When they are
 * full, a new process or kind is not limited (its events all pass:
 * nothing is lost, the stream is only busier).
 */
#define RL_WINDOW_NS (1000 * 1000 * 1000)
#define RL_BURST     16
#define RL_ENTRIES   8192

struct rl_key {
	__u32 tgid;
	__u16 type;
	__u16 sub;
};

struct rl_state {
	__u64 window; /* start of the current second */
	__u32 sent; /* in this window */
	__u32 suppressed; /* since the last event sent */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_ENTRIES);
	__type(key, struct rl_key);
	__type(value, struct rl_state);
} rate SEC(".maps");

/* the processes that have entries in `rate`: an exit without one costs a
 * lookup, not a walk of `rate` */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_ENTRIES);
	__type(key, __u32); /* tgid */
	__type(value, __u32); /* kinds in `rate` */
} rate_procs SEC(".maps");

/* A fresh entry; false: the tables are full. */
static __always_inline bool rate_add(struct rl_key *k, __u64 now)
{
	struct rl_state fresh = {.window = now, .sent = 1};
	__u32 one = 1, *kinds = bpf_map_lookup_elem(&rate_procs, &k->tgid);

	if (!kinds &&
	    bpf_map_update_elem(&rate_procs, &k->tgid, &one, BPF_NOEXIST) < 0)
		return false;
	if (bpf_map_update_elem(&rate, k, &fresh, BPF_NOEXIST) < 0)
		return false;
	if (kinds)
		__sync_fetch_and_add(kinds, 1);
	return true;
}

/* true: send it, with *carry events suppressed before it; false: counted */
static __always_inline bool rate_ok(__u16 type, __u16 sub, __u16 *carry)
{
	struct rl_key k = {.tgid = bpf_get_current_pid_tgid() >> 32,
			   .type = type,
			   .sub = sub};
	__u64 now = bpf_ktime_get_boot_ns();
	struct rl_state *st = bpf_map_lookup_elem(&rate, &k);

	*carry = 0;
	if (!st) {
		rate_add(&k, now); /* full: not limited */
		return true;
	}
	if (now - st->window >= RL_WINDOW_NS) {
		st->window = now;
		st->sent = 0;
	}
	if (st->sent >= RL_BURST) {
		st->suppressed++;
		return false;
	}
	st->sent++;
	*carry = st->suppressed > 0xffff ? 0xffff : st->suppressed;
	st->suppressed -= *carry;
	return true;
}

struct rl_exit_ctx {
	__u32 tgid;
	__u32 n;
	__u32 other;
	__u32 pad;
	struct sf_supp supp[SF_SUPP_MAX];
};

static long rate_exit_one(struct bpf_map *map, struct rl_key *k,
			  struct rl_state *st, struct rl_exit_ctx *c)
{
	if (k->tgid != c->tgid)
		return 0;
	if (st->suppressed && c->n < SF_SUPP_MAX) {
		struct sf_supp *s = &c->supp[c->n & (SF_SUPP_MAX - 1)];

		s->type = k->type;
		s->sub = k->sub;
		s->count = st->suppressed;
		c->n++;
	} else if (st->suppressed) {
		c->other += st->suppressed;
	}
	bpf_map_delete_elem(map, k);
	return 0;
}

/* The exiting process's outstanding counts into c, its entries deleted
 * (also when its process.exit cannot be sent: they would stay forever). */
static __always_inline void rate_exit(struct rl_exit_ctx *c)
{
	c->tgid = bpf_get_current_pid_tgid() >> 32;
	if (!bpf_map_lookup_elem(&rate_procs, &c->tgid))
		return;
	bpf_for_each_map_elem(&rate, rate_exit_one, c, 0);
	bpf_map_delete_elem(&rate_procs, &c->tgid);
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

#ifndef PT_REGS_PARM6_SYSCALL /* libbpf before 1.2 stops at the fifth */
#if defined(__TARGET_ARCH_x86)
#define PT_REGS_PARM6_SYSCALL(x) (((struct pt_regs *)(x))->r9)
#elif defined(__TARGET_ARCH_arm64)
#define PT_REGS_PARM6_SYSCALL(x) (((struct pt_regs *)(x))->regs[5])
#else
#error "PT_REGS_PARM6_SYSCALL: add this architecture's sixth argument register"
#endif
#endif

/* The native syscall's arguments from its saved user registers, a BTF
 * pointer (sys_exit's own argument, or bpf_task_pt_regs()): the _SYSCALL
 * macros load through it directly (no probe-read), in the architecture's
 * syscall argument registers. */
static __always_inline void read_args_regs(struct sys_args *args,
					   struct pt_regs *regs)
{
	args->a[0] = PT_REGS_PARM1_SYSCALL(regs);
	args->a[1] = PT_REGS_PARM2_SYSCALL(regs);
	args->a[2] = PT_REGS_PARM3_SYSCALL(regs);
	args->a[3] = PT_REGS_PARM4_SYSCALL(regs);
	args->a[4] = PT_REGS_PARM5_SYSCALL(regs);
	args->a[5] = PT_REGS_PARM6_SYSCALL(regs);
}

/* The same from the current task's saved registers. */
static __always_inline void read_args(struct sys_args *args)
{
	read_args_regs(args, (struct pt_regs *)bpf_task_pt_regs(
				     bpf_get_current_task_btf()));
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

#endif
