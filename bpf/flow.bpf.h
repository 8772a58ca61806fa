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

static __always_inline void flow_key(struct sf_flow_key *k, __u32 slot, long fd)
{
	k->slot = slot;
	k->tgid = bpf_get_current_pid_tgid() >> 32;
	k->fd = (__s32)fd;
	k->pad = 0;
}

static __always_inline void flow_begin(__u32 slot, long fd)
{
	struct sf_flow_counts zero = {};
	struct sf_flow_key k;
	struct sf_drop *d;

	flow_key(&k, slot, fd);
	zero.start = bpf_ktime_get_boot_ns();
	/* BPF_ANY: a counter left on this number (the fd was closed by
	 * dup2 or exec, unseen) is replaced, not kept */
	if (bpf_map_update_elem(&flow_counts, &k, &zero, BPF_ANY) == 0)
		return;
	d = bpf_map_lookup_elem(&drops, &slot);
	if (d)
		d->flow_full++;
}

static __always_inline void flow_add(__u32 slot, long fd, bool write, __u64 ops,
				     __u64 bytes)
{
	struct sf_flow_counts *c;
	struct sf_flow_key k;

	flow_key(&k, slot, fd);
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

/* recvmmsg/sendmmsg: ret messages; each one's length is in msg_len */
#define SF_FLOW_MMSG_MAX 64
static __always_inline void flow_add_mmsg(__u32 slot, long fd, bool write,
					  const struct mmsghdr *v, long n)
{
	__u64 bytes = 0;

	for (int i = 0; i < SF_FLOW_MMSG_MAX; i++) {
		unsigned int len = 0;

		if (i >= n)
			break;
		bpf_probe_read_user(&len, sizeof(len), &v[i].msg_len);
		bytes += len;
	}
	flow_add(slot, fd, write, n, bytes);
}

static __always_inline void flow_end(long nr, __u32 slot, __u64 cgid, long fd)
{
	struct sf_flow_counts *c;
	struct sf_flow_rec *r;
	struct sf_flow_key k;

	flow_key(&k, slot, fd);
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
					 __u64 cgid, struct sys_args *a)
{
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
			flow_begin(slot, ret);
		return;
	case __NR_connect:
		if (ret == 0 || ret == -115 /* EINPROGRESS */)
			flow_begin(slot, a->a[0]);
		return;
	case __NR_close:
		if (ret == 0)
			flow_end(nr, slot, cgid, a->a[0]);
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
		flow_add(slot, a->a[0], false, 1, ret);
		break;
	case __NR_write:
	case __NR_pwrite64:
	case __NR_writev:
	case __NR_pwritev:
	case __NR_pwritev2:
	case __NR_sendto:
	case __NR_sendmsg:
		flow_add(slot, a->a[0], true, 1, ret);
		break;
	case __NR_recvmmsg:
		flow_add_mmsg(slot, a->a[0], false, (void *)a->a[1], ret);
		break;
	case __NR_sendmmsg:
		flow_add_mmsg(slot, a->a[0], true, (void *)a->a[1], ret);
		break;
	case __NR_sendfile: /* out_fd, in_fd */
		flow_add(slot, a->a[0], true, 1, ret);
		flow_add(slot, a->a[1], false, 1, ret);
		break;
	case __NR_splice: /* fd_in, off_in, fd_out */
		flow_add(slot, a->a[0], false, 1, ret);
		flow_add(slot, a->a[2], true, 1, ret);
		break;
	}
}

/*
 * The call from sf_sys_exit: a global function, verified once on its own
 * rather than inlined after every path of on_sys_exit() (which took the
 * program past the verifier's million instructions).
 */
__noinline int flow_exit(long nr, long ret, __u32 slot, __u64 cgid,
			 struct sys_args *a)
{
	if (!a)
		return 0;
	flow_on_exit(nr, ret, slot, cgid, a);
	return 0;
}

#endif
