/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io_uring: the same events, whatever the path into the kernel.  A request
 * that does what the stream reports as a syscall (open, unlink, rename,
 * mkdir, symlink, link, connect, accept, socket, bind, listen, setxattr,
 * sendmsg/send with an address) becomes that event type with hdr.via =
 * SF_VIA_IO_URING and hdr.uring_op; any other opcode is one io_uring.op
 * (rate-limited, see rate_ok()).
 *
 * io_uring:io_uring_submit_req fires after the request's prep, which has
 * copied the filename (struct filename) and the socket address
 * (io_async_msghdr) into the kernel: what is read here is the kernel's own
 * copy, not user memory.  The event is built there, kept in `uring_pending`
 * under the request's address, and sent at io_uring:io_uring_complete with
 * the result.  SQPOLL and io-wq workers are threads of the owning process,
 * so the cgroup filter applies to them as to any thread.
 *
 * No request is lost without a trace (docs/events.md, "io_uring"):
 * - the table is full (more requests in flight than it holds): the event
 *   is sent at submission, without a result (SF_F_URING_FULL);
 * - what the process left in flight when it exits or closes the ring, the
 *   kernel cancels in its ring-exit work, a kworker outside the workload's
 *   cgroup: a kernel thread's completion is looked up too, and the record
 *   says which workload it is for;
 * - a completion that never comes (IOSQE_CQE_SKIP_SUCCESS posts none): the
 *   entry is sent without a result (SF_F_URING_NO_CQE) when the request's
 *   address is submitted again, or by the agent (probe.c uring_sweep) when
 *   the stream ends or the process is gone;
 * whoever deletes an entry sends it, so the agent's sweep and a completion
 * on another CPU never both do.
 *
 * The per-opcode structs (struct io_open, ...) are private: every field is
 * read under a CO-RE existence check, and where one is missing the event
 * still comes, without the value and with SF_F_UNRESOLVED.
 */
#ifndef SF_URING_BPF_H
#define SF_URING_BPF_H

#define AT_REMOVEDIR_ 0x200
#define O_LARGEFILE_  0100000
#define PF_KTHREAD_   0x00200000

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sf_uring_pending);
} uring_scratch SEC(".maps");

/* the completion's copy: a completion may interrupt a submission */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sf_uring_pending);
} uring_done SEC(".maps");

struct {
	/* not LRU: an eviction would lose an event without a count */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SF_URING_PENDING_MAX);
	__type(key, __u64); /* struct io_kiocb * */
	__type(value, struct sf_uring_pending);
} uring_pending SEC(".maps");

/* A pending record out to the agent as it is (no result unless set). */
static __always_inline void uring_send(struct sf_uring_pending *p)
{
	__u32 size = p->size;

	if (size > sizeof(union sf_uring_rec))
		size = sizeof(union sf_uring_rec);
	if (size < sizeof(struct sf_hdr))
		size = sizeof(struct sf_hdr);
	if (bpf_ringbuf_output(&events, &p->r, size, 0) < 0)
		count_drop(p->r.hdr.slot);
}

/* A struct filename's kernel string into dst (SF_PATH_MAX). */
static __always_inline void kname(char *dst, struct filename *fn, __u16 *fl,
				  __u16 fault_flag)
{
	const char *s = BPF_CORE_READ(fn, name);

	dst[0] = 0;
	if (!s || bpf_probe_read_kernel_str(dst, SF_PATH_MAX, s) < 0)
		*fl |= fault_flag;
}

static __always_inline void uring_file(struct sf_uring_pending *p,
				       struct io_kiocb *req, __u8 op)
{
	struct sf_file_event *e = &p->r.f;
	__u16 *fl = &e->hdr.flags;

	p->size = sizeof(*e);
	e->arg0 = e->arg1 = e->arg2 = e->arg3 = 0;
	e->path[0] = 0, e->path2[0] = 0;
	e->ident.flags = 0; /* no struct file at submission */
	switch (op) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2: {
		struct io_open *o = (void *)req;

		e->hdr.type = SF_EV_OPEN;
		if (!bpf_core_type_exists(struct io_open) ||
		    !bpf_core_field_exists(o->filename)) {
			*fl |= SF_F_UNRESOLVED | SF_F_PATH_FAULT;
			return;
		}
		e->arg0 = BPF_CORE_READ(o, dfd);
		/* the prep adds O_LARGEFILE on 64-bit, as open(2) does
		 * inside: the syscall's event shows the flags as passed */
		e->arg1 = BPF_CORE_READ(o, how.flags) & ~O_LARGEFILE_;
		e->arg2 = BPF_CORE_READ(o, how.mode);
		/* into a fixed file slot: the result is no fd (no identity) */
		if (bpf_core_field_exists(o->file_slot))
			e->arg3 = BPF_CORE_READ(o, file_slot);
		kname(e->path, BPF_CORE_READ(o, filename), fl, SF_F_PATH_FAULT);
		return;
	}
	case IORING_OP_UNLINKAT: {
		struct io_unlink *u = (void *)req;

		e->hdr.type = SF_EV_UNLINK;
		if (!bpf_core_type_exists(struct io_unlink) ||
		    !bpf_core_field_exists(u->filename)) {
			*fl |= SF_F_UNRESOLVED | SF_F_PATH_FAULT;
			return;
		}
		e->arg0 = BPF_CORE_READ(u, dfd);
		e->arg1 = BPF_CORE_READ(u, flags);
		if (e->arg1 & AT_REMOVEDIR_)
			e->hdr.type = SF_EV_RMDIR;
		kname(e->path, BPF_CORE_READ(u, filename), fl, SF_F_PATH_FAULT);
		return;
	}
	case IORING_OP_MKDIRAT: {
		struct io_mkdir *m = (void *)req;

		e->hdr.type = SF_EV_MKDIR;
		if (!bpf_core_type_exists(struct io_mkdir) ||
		    !bpf_core_field_exists(m->filename)) {
			*fl |= SF_F_UNRESOLVED | SF_F_PATH_FAULT;
			return;
		}
		e->arg0 = BPF_CORE_READ(m, dfd);
		e->arg1 = BPF_CORE_READ(m, mode);
		kname(e->path, BPF_CORE_READ(m, filename), fl, SF_F_PATH_FAULT);
		return;
	}
	default: { /* renameat, linkat, symlinkat: struct io_rename/io_link */
		struct io_link *l = (void *)req;

		e->hdr.type = op == IORING_OP_RENAMEAT ? SF_EV_RENAME
			      : op == IORING_OP_LINKAT ? SF_EV_LINK
						       : SF_EV_SYMLINK;
		if (!bpf_core_type_exists(struct io_link) ||
		    !bpf_core_field_exists(l->newpath)) {
			*fl |= SF_F_UNRESOLVED | SF_F_PATH_FAULT |
			       SF_F_PATH2_FAULT;
			return;
		}
		/* struct io_rename has the same layout as struct io_link */
		if (op == IORING_OP_SYMLINKAT) {
			e->arg0 = BPF_CORE_READ(l, new_dfd);
		} else {
			e->arg0 = BPF_CORE_READ(l, old_dfd);
			e->arg1 = BPF_CORE_READ(l, new_dfd);
			e->arg2 = BPF_CORE_READ(l, flags);
		}
		kname(e->path, BPF_CORE_READ(l, oldpath), fl, SF_F_PATH_FAULT);
		kname(e->path2, BPF_CORE_READ(l, newpath), fl,
		      SF_F_PATH2_FAULT);
		return;
	}
	}
}

/*
 * A socket address the prep copied into the request's async data: for
 * CONNECT and BIND the async data is the struct sockaddr_storage itself
 * since a 2026 stable fix, before that (and for SENDMSG) the address in a
 * struct io_async_msghdr.  The old layout starts with a kernel pointer, so a
 * socket family in the first two bytes tells the new one.
 */
static __always_inline void uring_addr(struct sf_net_event *e,
				       struct io_kiocb *req, int len,
				       bool msghdr_only)
{
	struct io_async_msghdr *am = BPF_CORE_READ(req, async_data);
	struct sockaddr_in6 sa = {};
	const void *src = am;
	__u16 fam = 0;

	if (!am) {
		e->hdr.flags |= SF_F_UNRESOLVED;
		return;
	}
	bpf_probe_read_kernel(&fam, sizeof(fam), am);
	if (msghdr_only ||
	    (fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX)) {
		if (!bpf_core_type_exists(struct io_async_msghdr) ||
		    !bpf_core_field_exists(am->addr)) {
			e->hdr.flags |= SF_F_UNRESOLVED;
			return;
		}
		src = (void *)am + bpf_core_field_offset(am->addr);
	}
	bpf_probe_read_kernel(&sa, sizeof(sa), src);
	e->family = sa.sin6_family;
	if (e->family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		__builtin_memcpy(e->addr, &in->sin_addr, 4);
		e->port = bpf_ntohs(in->sin_port);
	} else if (e->family == AF_INET6 &&
		   len >= sizeof(struct sockaddr_in6)) {
		__builtin_memcpy(e->addr, &sa.sin6_addr, 16);
		e->port = bpf_ntohs(sa.sin6_port);
	} else if (e->family == AF_UNIX) {
		bpf_probe_read_kernel_str(e->unix_path, sizeof(e->unix_path),
					  (char *)src + 2);
		if (!e->unix_path[0] && len > 3)
			e->unix_path[0] = '@';
	}
}

/* false: not a net request we map (sendmsg without an address) */
static __always_inline bool uring_net(struct sf_uring_pending *p,
				      struct io_kiocb *req, __u8 op)
{
	struct sf_net_event *e = &p->r.n;

	p->size = sizeof(*e);
	e->fd = BPF_CORE_READ(req, cqe.fd);
	e->family = 0, e->port = 0, e->type = 0, e->protocol = 0;
	e->backlog = 0, e->listen_fd = -1;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->unix_path[0] = 0;
	e->lport = 0, e->pad2 = 0,
	e->pad3 = 0; /* (flow.bpf.h's, not io_uring's) */
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	switch (op) {
	case IORING_OP_SOCKET: {
		struct io_socket *s = (void *)req;

		e->hdr.type = SF_EV_SOCKET;
		e->family = BPF_CORE_READ(s, domain);
		e->type = BPF_CORE_READ(s, type);
		e->protocol = BPF_CORE_READ(s, protocol);
		return true;
	}
	case IORING_OP_CONNECT: {
		struct io_connect *c = (void *)req;

		e->hdr.type = SF_EV_CONNECT;
		uring_addr(e, req, BPF_CORE_READ(c, addr_len), false);
		return true;
	}
	case IORING_OP_BIND: {
		struct io_bind *b = (void *)req;

		e->hdr.type = SF_EV_BIND;
		uring_addr(e, req, BPF_CORE_READ(b, addr_len), false);
		return true;
	}
	case IORING_OP_LISTEN: {
		struct io_listen *l = (void *)req;

		e->hdr.type = SF_EV_LISTEN;
		e->backlog = BPF_CORE_READ(l, backlog);
		return true;
	}
	case IORING_OP_ACCEPT:
		e->hdr.type = SF_EV_ACCEPT;
		e->listen_fd = e->fd;
		return true;
	default: { /* SENDMSG, SEND (sendto), their _ZC forms: an event only
		   * with a destination address, which the prep copied into the
		   * async msghdr as sendmsg(2) would */
		struct io_async_msghdr *am = BPF_CORE_READ(req, async_data);
		int nl;

		/* the prep copied the msghdr: msg.msg_namelen is the
		 * caller's (namelen is recvmsg's) */
		if (!am || !bpf_core_field_exists(am->msg.msg_namelen))
			return false;
		nl = BPF_CORE_READ(am, msg.msg_namelen);
		if (nl <= 0)
			return false;
		e->hdr.type = SF_EV_SENDTO;
		uring_addr(e, req, nl, true);
		return true;
	}
	}
}

static __always_inline void uring_xattr(struct sf_uring_pending *p,
					struct io_kiocb *req, __u8 op)
{
	struct sf_sec_event *e = &p->r.s;
	struct io_xattr *x = (void *)req;

	p->size = sizeof(*e);
	e->hdr.type = SF_EV_SETXATTR;
	sec_clear(e);
	if (op == IORING_OP_FSETXATTR)
		e->arg[0] = BPF_CORE_READ(req, cqe.fd);
	else
		e->arg[0] = -1;
	if (!bpf_core_type_exists(struct io_xattr) ||
	    !bpf_core_field_exists(x->ctx.kname)) {
		e->hdr.flags |= SF_F_UNRESOLVED | SF_F_PATH2_FAULT;
		return;
	}
	e->arg[3] = BPF_CORE_READ(x, ctx.size);
	e->arg[4] = BPF_CORE_READ(x, ctx.flags);
	bpf_probe_read_kernel_str(e->str[1], SF_STR_MAX,
				  BPF_CORE_READ(x, ctx.kname));
	if (op == IORING_OP_SETXATTR) {
		const char *n = BPF_CORE_READ(x, filename, name);

		if (!n ||
		    bpf_probe_read_kernel_str(e->str[0], SF_STR_MAX, n) < 0)
			e->hdr.flags |= SF_F_PATH_FAULT;
	}
}

static __always_inline void uring_other(struct sf_uring_pending *p, __u8 op)
{
	struct sf_sec_event *e = &p->r.s;

	p->size = sizeof(*e);
	e->hdr.type = SF_EV_URING_OP;
	sec_clear(e);
	e->arg[0] = op;
}

/*
 * Keep p until its completion.  An entry already under this address is a
 * request whose completion was never seen: it goes out without a result.
 * A full table: p goes out now, without a result.
 */
static __always_inline void uring_kept(__u32 slot)
{
	struct sf_drop *d = bpf_map_lookup_elem(&drops, &slot);

	if (d)
		d->uring_kept++;
}

static __always_inline void uring_keep(struct sf_uring_pending *p, __u64 key)
{
	struct sf_uring_pending *old;

	if (!bpf_map_update_elem(&uring_pending, &key, p, BPF_NOEXIST)) {
		uring_kept(p->r.hdr.slot);
		return;
	}
	old = bpf_map_lookup_elem(&uring_pending, &key);
	if (old) {
		struct sf_uring_pending *d;
		__u32 zero = 0;

		d = bpf_map_lookup_elem(&uring_done, &zero);
		if (d) {
			bpf_probe_read_kernel(d, sizeof(*d), old);
			if (!bpf_map_delete_elem(&uring_pending, &key)) {
				d->r.hdr.flags |= SF_F_URING_NO_CQE;
				uring_send(d);
			}
		}
		if (!bpf_map_update_elem(&uring_pending, &key, p,
					 BPF_NOEXIST)) {
			uring_kept(p->r.hdr.slot);
			return;
		}
	}
	p->r.hdr.flags |= SF_F_URING_FULL;
	uring_send(p);
}

/*
 * The request's event into p, whose header is filled; 1: none (an
 * io_uring.op over its rate limit, counted).  A global function: each
 * opcode's decoding is verified once, and what follows (the filter, the
 * pending table) once, not again on every opcode's path (inlined, 9,500
 * instructions to verify, 5,400 so).  The request comes as
 * the pending table's key, its address, which the caller holds on its
 * stack (a global function takes no kernel pointer; read from memory it
 * is a number): it is only read through BPF_CORE_READ (probe reads).
 */
__noinline int uring_decode_g(struct sf_uring_pending *p, const __u64 *key,
			      __u32 opcode)
{
	struct io_kiocb *req;
	__u8 op = opcode;
	__u16 carry = 0;

	if (!p || !key)
		return 1;
	req = (struct io_kiocb *)*key;
	switch (op) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2:
	case IORING_OP_UNLINKAT:
	case IORING_OP_RENAMEAT:
	case IORING_OP_MKDIRAT:
	case IORING_OP_SYMLINKAT:
	case IORING_OP_LINKAT:
		uring_file(p, req, op);
		break;
	case IORING_OP_SOCKET:
	case IORING_OP_CONNECT:
	case IORING_OP_BIND:
	case IORING_OP_LISTEN:
	case IORING_OP_ACCEPT:
	case IORING_OP_SENDMSG:
	case IORING_OP_SEND: /* with sqe->addr2 it is a sendto */
	case IORING_OP_SENDMSG_ZC:
	case IORING_OP_SEND_ZC:
		if (!uring_net(p, req, op))
			goto other;
		break;
	case IORING_OP_FSETXATTR:
	case IORING_OP_SETXATTR:
		uring_xattr(p, req, op);
		break;
	default:
	other:
		if (!rate_ok(SF_EV_URING_OP, op, &carry))
			return 1;
		uring_other(p, op);
		p->r.hdr.suppressed = carry;
		break;
	}
	return 0;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(sf_uring_submit, struct io_kiocb *req)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid), zero = 0;
	__u64 key = (__u64)req;
	struct sf_uring_pending *p;
	__u8 op;

	if (slot == SF_SLOT_NONE)
		return 0;
	op = BPF_CORE_READ(req, opcode);
	/* -F sysflow's read/write counting (flow.bpf.h) */
	flow_uring_submit(slot, req, op, cgid);
	p = bpf_map_lookup_elem(&uring_scratch, &zero);
	if (!p)
		return 0;
	fill_hdr(&p->r.hdr, SF_EV_URING_OP, slot, cgid);
	p->r.hdr.via = SF_VIA_IO_URING;
	p->r.hdr.uring_op = op;
	p->pad = 0;
	if (uring_decode_g(p, &key, op))
		return 0;
	if (filtered_out(slot, p->r.hdr.type))
		return 0;
	uring_keep(p, key);
	return 0;
}

/* A kernel thread: the ring-exit work cancelling what a process left. */
static __always_inline bool in_kthread(void)
{
	return BPF_CORE_READ(bpf_get_current_task_btf(), flags) & PF_KTHREAD_;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(sf_uring_complete, struct io_ring_ctx *ring, void *req,
	     struct io_uring_cqe *cqe)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid), zero = 0;
	__u64 key = (__u64)req;
	struct sf_uring_pending *p, *d;
	long res;

	if (slot == SF_SLOT_NONE && !in_kthread())
		return 0;
	res = BPF_CORE_READ(cqe, res);
	/* -F sysflow's read/write counting (flow.bpf.h); a kworker's
	 * completions (cancellations: nothing to count) delete the entry */
	flow_uring_complete((__u64)ring, key, cqe, cgid);
	p = bpf_map_lookup_elem(&uring_pending, &key);
	d = bpf_map_lookup_elem(&uring_done, &zero);
	if (!p || !d)
		return 0;
	/* copied before the delete frees the element for reuse; a failed
	 * delete: the agent's sweep took it and sends it */
	bpf_probe_read_kernel(d, sizeof(*d), p);
	if (bpf_map_delete_elem(&uring_pending, &key))
		return 0;
	p = d;
	set_ret(&p->r.hdr, res);
	/* the fds are the task's: not there in a kworker (whose results
	 * are cancellations anyway) */
	if (slot == SF_SLOT_NONE)
		goto send;
	if (p->r.hdr.type == SF_EV_ACCEPT || p->r.hdr.type == SF_EV_SOCKET ||
	    p->r.hdr.type == SF_EV_OPEN) {
		if (p->r.hdr.type != SF_EV_OPEN)
			p->r.n.fd = res;
		if (p->r.hdr.type == SF_EV_ACCEPT && res >= 0)
			sock_read_addr(&p->r.n, res, true);
	}
	/* as the syscall's event: the new fd's file (identity, resolved
	 * path), a path call's base.  The completion runs in the submitter
	 * or an io-wq/SQPOLL thread, which share its fds, cwd and root. */
	if (p->size == sizeof(struct sf_file_event))
		file_resolve(&p->r.f, res);
	else if (p->r.hdr.type == SF_EV_SETXATTR && res >= 0)
		sec_resolve_xattr(&p->r.s, p->r.s.arg[0]);
	/* as listen(2)'s event: the socket's local address */
	if (p->r.hdr.type == SF_EV_LISTEN && res == 0) {
		sock_read_addr(&p->r.n, p->r.n.fd, false);
	}
send:
	uring_send(p);
	return 0;
}

#endif
