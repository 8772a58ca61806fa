/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read/write counting for -F sysflow's flows (agent/encoders/encode_sysflow.c,
 * docs/formats.md "Flows").  Only for slots whose stream counts flows
 * (flow_on[slot], set by the agent for -F sysflow streams) and only while
 * at least one does (flow_slots): a read of an untracked task, or of a json
 * stream's, leaves sf_sys_exit at its number's switch when no stream
 * counts, and after the cgroup filter and one load otherwise.
 *
 *   open/creat/openat/openat2, connect, accept/accept4 that succeed begin
 *     a counter in flow_counts keyed by (slot, tgid, fd), zeroed;
 *   read/write and their kin add ops and bytes to an existing counter (an
 *     fd that began no flow, a pipe or a terminal, is one failed lookup);
 *   close(2) of a counted fd sends one SF_REC_FLOW_END record with the
 *     final counters and deletes the counter;
 *   the agent reads a counter (no delete) to split a long flow, and takes
 *     it (lookup and delete) when the process exits or execs over an
 *     O_CLOEXEC fd, or the stream ends (docs/hacking.md).
 * A counter that does not fit (the map is full) is counted in
 * sf_drop.flow_full; the stream reports it.
 */
#ifndef SF_FLOW_BPF_H
#define SF_FLOW_BPF_H

/* How many slots count flows, and which (the agent sets both, in .bss). */
volatile __u32 flow_slots = 0;
volatile __u8 flow_on[SF_MAX_SLOTS];

/* One counter per open flow of the counting streams: 65,536 flows at
 * about 100 bytes each (key, value and the hash table's own). */
#define SF_FLOW_MAP_ENTRIES 65536

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SF_FLOW_MAP_ENTRIES); /* the agent may lower it */
	__type(key, struct sf_flow_key);
	__type(value, struct sf_flow_counts);
} flow_counts SEC(".maps");

static __always_inline bool flow_counting(__u32 slot)
{
	return flow_on[slot & (SF_MAX_SLOTS - 1)];
}

static __always_inline __u32 flow_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline void flow_key(struct sf_flow_key *k, __u32 slot,
				     __u32 tgid, long fd)
{
	k->slot = slot;
	k->tgid = tgid;
	k->fd = (__s32)fd;
	k->pad = 0;
}

static __always_inline void flow_begin(__u32 slot, __u32 tgid, long fd)
{
	struct sf_flow_counts zero = {};
	struct sf_flow_key k;
	struct sf_drop *d;

	flow_key(&k, slot, tgid, fd);
	zero.start = bpf_ktime_get_boot_ns();
	/* BPF_ANY: a counter left on this number (the fd was closed by
	 * dup2 or exec, unseen) is replaced, not kept */
	if (bpf_map_update_elem(&flow_counts, &k, &zero, BPF_ANY) == 0)
		return;
	d = bpf_map_lookup_elem(&drops, &slot);
	if (d)
		d->flow_full++;
}

static __always_inline void flow_add(__u32 slot, __u32 tgid, long fd,
				     bool write, __u64 ops, __u64 bytes)
{
	struct sf_flow_counts *c;
	struct sf_flow_key k;

	flow_key(&k, slot, tgid, fd);
	c = bpf_map_lookup_elem(&flow_counts, &k);
	if (!c)
		return;
	/* threads of one process share the counter, on any CPU */
	if (write) {
		__sync_fetch_and_add(&c->wops, ops);
		__sync_fetch_and_add(&c->wbytes, bytes);
	} else {
		__sync_fetch_and_add(&c->rops, ops);
		__sync_fetch_and_add(&c->rbytes, bytes);
	}
}

/* recvmmsg/sendmmsg: ret messages; each one's length is in msg_len, of a
 * struct mmsghdr (64 bytes, msg_len at 56) or, from a 32-bit caller, a
 * struct compat_mmsghdr (32 bytes, msg_len at 28) */
#define SF_FLOW_MMSG_MAX 64
struct flow_mmsg_ctx {
	const void *v;
	__u64 n, size, at, bytes;
};

/* One message's msg_len, bpf_loop()'s callback (an unrolled loop had the
 * verifier check each of the 64 messages at both callers). */
static long flow_mmsg_one(__u64 i, struct flow_mmsg_ctx *c)
{
	unsigned int len = 0;

	if (i >= c->n)
		return 1;
	bpf_probe_read_user(&len, sizeof(len), c->v + i * c->size + c->at);
	c->bytes += len;
	return 0;
}

static __always_inline void flow_add_mmsg(__u32 slot, long fd, bool write,
					  const void *v, long n, bool compat)
{
	struct flow_mmsg_ctx c = {
		.v = v,
		.n = n,
		.size = compat ? 32 : sizeof(struct mmsghdr),
		.at = compat ? 28 : offsetof(struct mmsghdr, msg_len),
	};

	bpf_loop(SF_FLOW_MMSG_MAX, flow_mmsg_one, &c, 0);
	flow_add(slot, flow_tgid(), fd, write, n, c.bytes);
}

static __always_inline void flow_end(long nr, __u32 slot, __u64 cgid,
				     __u32 tgid, long fd)
{
	struct sf_flow_counts *c;
	struct sf_flow_rec *r;
	struct sf_flow_key k;

	flow_key(&k, slot, tgid, fd);
	c = bpf_map_lookup_elem(&flow_counts, &k);
	if (!c)
		return;
	/* not through reserve(): an internal record is never filtered or
	 * paused (the flow it ends was), only lost when the ring is full */
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count_drop(slot);
		bpf_map_delete_elem(&flow_counts, &k);
		return;
	}
	fill_sys_hdr(&r->hdr, SF_REC_FLOW_END, slot, cgid, nr, 0, 0);
	r->fd = (__s32)fd;
	r->pad = 0;
	r->c = *c;
	bpf_map_delete_elem(&flow_counts, &k);
	submit(r);
}

/* Every traced syscall's exit of a counting slot: the flow part of it. */
static __always_inline void flow_on_exit(long nr, long ret, __u32 slot,
					 __u64 cgid, struct sys_args *a,
					 bool compat)
{
	__u32 tgid = flow_tgid();

	if (!flow_counting(slot))
		return;
	switch (nr) {
	case __NR_open:
	case __NR_creat:
	case __NR_openat:
	case __NR_openat2:
	case __NR_accept:
	case __NR_accept4:
		if (ret >= 0)
			flow_begin(slot, tgid, ret);
		return;
	case __NR_connect:
		if (ret == 0 || ret == -115 /* EINPROGRESS */)
			flow_begin(slot, tgid, a->a[0]);
		return;
	case __NR_close:
		if (ret == 0)
			flow_end(nr, slot, cgid, tgid, a->a[0]);
		return;
	}
	if (ret <= 0)
		return;
	switch (nr) {
	case __NR_read:
	case __NR_pread64:
	case __NR_readv:
	case __NR_preadv:
	case __NR_preadv2:
	case __NR_recvfrom:
	case __NR_recvmsg:
		flow_add(slot, tgid, a->a[0], false, 1, ret);
		break;
	case __NR_write:
	case __NR_pwrite64:
	case __NR_writev:
	case __NR_pwritev:
	case __NR_pwritev2:
	case __NR_sendto:
	case __NR_sendmsg:
		flow_add(slot, tgid, a->a[0], true, 1, ret);
		break;
	case __NR_recvmmsg:
		flow_add_mmsg(slot, a->a[0], false, (void *)a->a[1], ret,
			      compat);
		break;
	case __NR_sendmmsg:
		flow_add_mmsg(slot, a->a[0], true, (void *)a->a[1], ret,
			      compat);
		break;
	case __NR_sendfile: /* out_fd, in_fd */
		flow_add(slot, tgid, a->a[0], true, 1, ret);
		flow_add(slot, tgid, a->a[1], false, 1, ret);
		break;
	case __NR_splice: /* fd_in, off_in, fd_out */
		flow_add(slot, tgid, a->a[0], false, 1, ret);
		flow_add(slot, tgid, a->a[2], true, 1, ret);
		break;
	}
}

/*
 * The call from sf_sys_exit: a global function, verified once on its own
 * rather than inlined after every path of on_sys_exit() (which took the
 * program past the verifier's million instructions).  nr is the native
 * number, with SF_FLOW_COMPAT for a 32-bit caller (five arguments at most).
 */
#define SF_FLOW_COMPAT (1L << 30)
__noinline int flow_exit(long nr, long ret, __u32 slot, __u64 cgid,
			 struct sys_args *a)
{
	if (!a)
		return 0;
	flow_on_exit(nr & ~SF_FLOW_COMPAT, ret, slot, cgid, a,
		     nr & SF_FLOW_COMPAT);
	return 0;
}

/*
 * io_uring reads and writes (bpf/uring.bpf.h calls these from its submit
 * and complete programs): the request is noted at submission, under its
 * address as uring_pending does, with what the completion needs (the slot,
 * the process, the fd, which way the bytes go), and counted at its
 * completion from the result, as the syscall is at its exit.  Opens,
 * accepts and connects through the ring begin a flow, IORING_OP_CLOSE
 * ends one, as the syscalls do.  Not noted (nothing to count): requests of
 * a slot that does not count flows, opcodes that move no bytes of a flow.
 *
 * A fixed file (IOSQE_FIXED_FILE) is no fd of the process, so no flow's:
 * SysFlow's flows are per (process, file, fd).  Its requests and bytes
 * are counted per slot (sf_drop.uring_fixed_ops, uring_fixed_bytes) and
 * reported in stream.end; a fixed file the ring opened into a slot, and a
 * close of a slot, begin and end nothing.
 *
 * A request whose success posts no completion (IOSQE_CQE_SKIP_SUCCESS) is
 * counted at submission, as if it succeeded: one operation of the length
 * asked for, the vectored and msghdr forms' from the caller's iovecs (the
 * first 16), as a read or write that succeeds has done it in full (a short
 * one fails, and posts a completion that is not counted again); a connect
 * begins its flow then, a close ends it; an open's fd is never known, so
 * it begins none.
 */
#define SF_URING_FLOW_MAX 4096
/* req->flags bits the kernel defines as the uapi's IOSQE_* bits
 * (IOSQE_FIXED_FILE_BIT, IOSQE_CQE_SKIP_SUCCESS_BIT): stable */
#define REQ_F_FIXED_FILE_     (1ULL << 0)
#define REQ_F_CQE_SKIP_	      (1ULL << 6)
#define CQE_F_MORE_	      (1U << 1)
#define SPLICE_F_FD_IN_FIXED_ (1U << 31)

enum flow_uring_kind {
	FU_NONE,
	FU_READ,
	FU_WRITE,
	FU_SPLICE, /* fd2 read, fd written */
	FU_OPEN, /* the result is the new fd */
	FU_CONNECT,
	FU_CLOSE,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SF_URING_FLOW_MAX);
	__type(key, __u64); /* struct io_kiocb * */
	__type(value, struct sf_flow_uring);
} flow_uring SEC(".maps");

/*
 * A multishot request's completions before its last are posted with no
 * request (io_uring_complete's req is NULL): they are found by the ring
 * and the request's user_data, under which the request is noted too.  Two
 * multishot requests of one ring with the same user_data in flight at
 * once: the later one's counts get the earlier one's completions.
 */
#define SF_URING_FLOW_MS_MAX 1024
struct sf_flow_ms_key {
	__u64 ring, user_data;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SF_URING_FLOW_MS_MAX);
	__type(key, struct sf_flow_ms_key);
	__type(value, struct sf_flow_uring);
} flow_uring_ms SEC(".maps");
#define IORING_RECV_MULTISHOT_ (1U << 1)

/* An opcode's kind, by one load: a switch's constants each took their own
 * path through the rest of the submission (flow_uring_submit), a table's
 * value is one unknown number to the verifier. */
static const __u8 flow_uring_kinds[256] = {
	[IORING_OP_READ] = FU_READ,
	[IORING_OP_READV] = FU_READ,
	[IORING_OP_READ_FIXED] = FU_READ, /* a registered buffer, not a fixed file */
	[IORING_OP_READ_MULTISHOT] = FU_READ,
	[IORING_OP_RECV] = FU_READ,
	[IORING_OP_RECVMSG] = FU_READ,
	[IORING_OP_READV_FIXED] = FU_READ,
	[IORING_OP_RECV_ZC] = FU_READ, /* zero-copy receive: each completion's bytes */
	[IORING_OP_WRITE] = FU_WRITE,
	[IORING_OP_WRITEV] = FU_WRITE,
	[IORING_OP_WRITE_FIXED] = FU_WRITE,
	[IORING_OP_SEND] = FU_WRITE,
	[IORING_OP_SENDMSG] = FU_WRITE,
	[IORING_OP_SEND_ZC] = FU_WRITE,
	[IORING_OP_SENDMSG_ZC] = FU_WRITE,
	[IORING_OP_WRITEV_FIXED] = FU_WRITE,
	[IORING_OP_SPLICE] = FU_SPLICE,
	[IORING_OP_OPENAT] = FU_OPEN,
	[IORING_OP_OPENAT2] = FU_OPEN,
	[IORING_OP_ACCEPT] = FU_OPEN,
	[IORING_OP_CONNECT] = FU_CONNECT,
	[IORING_OP_CLOSE] = FU_CLOSE,
};

static __always_inline __u8 flow_uring_kind(__u8 op)
{
	return flow_uring_kinds[op];
}

/* Bytes of a fixed file's request, per slot. */
static __always_inline void flow_uring_fixed(__u32 slot, __u64 bytes)
{
	struct sf_drop *d = bpf_map_lookup_elem(&drops, &slot);

	if (d) {
		d->uring_fixed_ops++;
		d->uring_fixed_bytes += bytes;
	}
}

/* A completion's result counted; also a skipped one's at submission. */
static __always_inline void flow_uring_count(const struct sf_flow_uring *u,
					     long res, __u64 cgid)
{
	switch (u->kind) {
	case FU_READ:
	case FU_WRITE:
		if (res <= 0)
			return;
		if (u->fixed)
			flow_uring_fixed(u->slot, res);
		else
			flow_add(u->slot, u->tgid, u->fd, u->kind == FU_WRITE,
				 1, res);
		return;
	case FU_SPLICE:
		if (res <= 0)
			return;
		if (u->fixed)
			flow_uring_fixed(u->slot, res);
		if (u->fd2 >= 0)
			flow_add(u->slot, u->tgid, u->fd2, false, 1, res);
		if (u->fd >= 0)
			flow_add(u->slot, u->tgid, u->fd, true, 1, res);
		return;
	case FU_OPEN:
		if (res >= 0)
			flow_begin(u->slot, u->tgid, res);
		return;
	case FU_CONNECT:
		if (res == 0 || res == -115 /* EINPROGRESS */)
			flow_begin(u->slot, u->tgid, u->fd);
		return;
	case FU_CLOSE:
		if (res == 0)
			flow_end(__NR_close, u->slot, cgid, u->tgid, u->fd);
		return;
	}
}

/* The bytes of n iovecs in user memory: struct iovec (16 bytes, iov_len at
 * 8) or, for a 32-bit ring, struct compat_iovec (8 bytes, at 4); the
 * first SF_FLOW_IOV_MAX. */
#define SF_FLOW_IOV_MAX 16
struct flow_iov_ctx {
	const void *iov;
	__u64 n, size, at, sum;
};

/* One iovec's length, bpf_loop()'s callback: checked once, not once per
 * iovec as the unrolled loop was (600 instructions). */
static long flow_iov_one(__u64 i, struct flow_iov_ctx *c)
{
	__u64 len = 0;

	if (i >= c->n)
		return 1;
	/* iov_len: 4 bytes of a compat_iovec, 8 of an iovec (little-endian:
	 * the low bytes first) */
	bpf_probe_read_user(&len, c->size / 2, c->iov + i * c->size + c->at);
	c->sum += len;
	return 0;
}

/* As a global function: verified once, not at each caller's state
 * (inlined, it was a third of sf_uring_submit's verification).  The user
 * pointer comes as an integer. */
__noinline __u64 flow_iov_sum_g(__u64 iov, __u64 n, __u32 compat)
{
	struct flow_iov_ctx c = {
		.iov = (const void *)iov,
		.n = n,
		.size = compat ? 8 : 16,
		.at = compat ? 4 : 8,
	};

	bpf_loop(SF_FLOW_IOV_MAX, flow_iov_one, &c, 0);
	return c.sum;
}

/* A sendmsg's or recvmsg's user msghdr: the bytes of its iovecs (struct
 * user_msghdr: msg_iov at 16, msg_iovlen at 24; compat_msghdr: 8, 12). */
static __always_inline __u64 flow_msg_len(const void *m, bool compat)
{
	__u64 iov = 0, n = 0;

	if (!m)
		return 0;
	bpf_probe_read_user(&iov, compat ? 4 : 8, m + (compat ? 8 : 16));
	bpf_probe_read_user(&n, compat ? 4 : 8, m + (compat ? 12 : 24));
	return flow_iov_sum_g(iov, n, compat);
}

/* The length a read or write asks for (IOSQE_CQE_SKIP_SUCCESS), read
 * where the prep left it (the request's io_rw or io_sr_msg) and, for the
 * vectored and msghdr forms, from the caller's iovecs: the submission
 * runs in the caller or its SQPOLL thread, which share its memory. */
static __always_inline __u64 flow_uring_len(struct io_kiocb *req, __u8 op)
{
	struct io_ring_ctx *ctx = BPF_CORE_READ(req, ctx);
	bool compat = BPF_CORE_READ_BITFIELD_PROBED(ctx, compat);
	struct io_rw *rw = (void *)req;

	switch (op) {
	case IORING_OP_READV:
	case IORING_OP_WRITEV:
	case IORING_OP_READV_FIXED:
	case IORING_OP_WRITEV_FIXED:
		return flow_iov_sum_g((__u64)BPF_CORE_READ(rw, addr),
				      BPF_CORE_READ(rw, len), compat);
	case IORING_OP_SENDMSG:
	case IORING_OP_RECVMSG:
	case IORING_OP_SENDMSG_ZC:
		return flow_msg_len(
			BPF_CORE_READ((struct io_sr_msg *)req, umsg), compat);
	case IORING_OP_READ:
	case IORING_OP_WRITE:
	case IORING_OP_READ_FIXED:
	case IORING_OP_WRITE_FIXED:
		return BPF_CORE_READ((struct io_rw *)req, len);
	case IORING_OP_SEND:
	case IORING_OP_RECV:
	case IORING_OP_SEND_ZC:
		return BPF_CORE_READ((struct io_sr_msg *)req, len);
	case IORING_OP_SPLICE:
		return BPF_CORE_READ((struct io_splice *)req, len);
	default:
		return 0;
	}
}

/* The same as a global function: its per-opcode paths end here, not at
 * the end of the submission.  The request comes as its address, on the
 * caller's stack (a global function takes no kernel pointer). */
__noinline __u64 flow_uring_len_g(const __u64 *req, __u32 op)
{
	return req ? flow_uring_len((struct io_kiocb *)*req, op) : 0;
}

/* io_uring:io_uring_submit_req of a tracked slot */
static __always_inline void flow_uring_submit(__u32 slot, struct io_kiocb *req,
					      __u8 op, __u64 cgid)
{
	struct sf_flow_uring u = {};
	__u64 key = (__u64)req;
	bool full = false;
	__u64 flags;

	if (!flow_slots || !flow_counting(slot))
		return;
	u.kind = flow_uring_kind(op);
	if (u.kind == FU_NONE)
		return;
	flags = BPF_CORE_READ(req, flags);
	u.slot = slot;
	u.tgid = flow_tgid();
	u.op = op;
	u.fd = BPF_CORE_READ(req, cqe.fd);
	u.fd2 = -1;
	u.fixed = !!(flags & REQ_F_FIXED_FILE_);
	switch (u.kind) {
	case FU_SPLICE: {
		struct io_splice *sp = (void *)req;

		u.fd2 = BPF_CORE_READ(sp, splice_fd_in);
		if (BPF_CORE_READ(sp, flags) & SPLICE_F_FD_IN_FIXED_)
			u.fixed = 1, u.fd2 = -1;
		if (flags & REQ_F_FIXED_FILE_)
			u.fd = -1;
		break;
	}
	case FU_OPEN: /* into a fixed slot: no fd */
		if (op == IORING_OP_ACCEPT
			    ? BPF_CORE_READ((struct io_accept *)req, file_slot)
			    : BPF_CORE_READ((struct io_open *)req, file_slot))
			return;
		break;
	case FU_CLOSE:
		if (BPF_CORE_READ((struct io_close *)req, file_slot))
			return;
		u.fd = BPF_CORE_READ((struct io_close *)req, fd);
		break;
	case FU_CONNECT:
		if (u.fixed)
			return;
		break;
	}
	if (flags & REQ_F_CQE_SKIP_) {
		/* no completion if it succeeds: counted now */
		if (u.kind != FU_OPEN)
			flow_uring_count(&u, flow_uring_len_g(&key, op), cgid);
		return;
	}
	u.ms = op == IORING_OP_READ_MULTISHOT || op == IORING_OP_RECV_ZC ||
	       ((op == IORING_OP_RECV || op == IORING_OP_RECVMSG) &&
		(BPF_CORE_READ((struct io_sr_msg *)req, flags) &
		 IORING_RECV_MULTISHOT_));
	if (u.ms) {
		struct sf_flow_ms_key mk = {
			.ring = (__u64)BPF_CORE_READ(req, ctx),
			.user_data = BPF_CORE_READ(req, cqe.user_data),
		};

		/* full: its completions but the last are not counted */
		if (bpf_map_update_elem(&flow_uring_ms, &mk, &u, BPF_ANY))
			u.ms = 0, full = true;
	}
	if (bpf_map_update_elem(&flow_uring, &key, &u, BPF_ANY))
		full = true;
	if (full) {
		struct sf_drop *d = bpf_map_lookup_elem(&drops, &slot);

		if (d)
			d->flow_full++;
	}
}

/* io_uring:io_uring_complete of a tracked slot (or a kworker's) */
static __always_inline void
flow_uring_complete(__u64 ring, __u64 key, struct io_uring_cqe *cqe, __u64 cgid)
{
	struct sf_flow_ms_key mk = {.ring = ring};
	struct sf_flow_uring *p, u;
	__u32 cflags;
	long res;

	if (!flow_slots)
		return;
	res = BPF_CORE_READ(cqe, res);
	cflags = BPF_CORE_READ(cqe, flags);
	mk.user_data = BPF_CORE_READ(cqe, user_data);
	if (!key) { /* a multishot request's completion but its last */
		p = bpf_map_lookup_elem(&flow_uring_ms, &mk);
		if (!p)
			return;
		u = *p;
		if (!(cflags & CQE_F_MORE_))
			bpf_map_delete_elem(&flow_uring_ms, &mk);
		flow_uring_count(&u, res, cgid);
		return;
	}
	p = bpf_map_lookup_elem(&flow_uring, &key);
	if (!p)
		return;
	u = *p;
	/* a multishot request completes again (recv, read); a zero-copy
	 * send's second completion, its notification, is another request */
	if (!(cflags & CQE_F_MORE_) || u.op == IORING_OP_SEND_ZC ||
	    u.op == IORING_OP_SENDMSG_ZC) {
		bpf_map_delete_elem(&flow_uring, &key);
		if (u.ms && !(cflags & CQE_F_MORE_))
			bpf_map_delete_elem(&flow_uring_ms, &mk);
	}
	flow_uring_count(&u, res, cgid);
}

#endif
