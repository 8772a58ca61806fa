/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network events from syscall exits: socket, connect, accept, bind, listen,
 * sendto/sendmsg with a destination (the "net" class of syscalls.def).  Addresses come from the caller's
 * sockaddr (connect, bind) or from the kernel's socket (accept, listen).
 */
#ifndef SF_NET_BPF_H
#define SF_NET_BPF_H

#define AF_UNIX	 1
#define AF_INET	 2
#define AF_INET6 10

/* The struct sock behind the current task's fd, or NULL. */
static __always_inline struct sock *fd_sock(int fd)
{
	struct file *f = fd_file(fd);
	struct socket *sock;

	if (!f)
		return 0;
	sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* AF_UNIX: the name the socket was bound to, if any ('@' for abstract) */
static __always_inline void sock_read_unix_path(struct sf_net_event *e,
						struct sock *sk)
{
	struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)sk, addr);
	__u64 plen;
	int len;

	if (!ua)
		return;
	len = BPF_CORE_READ(ua, len); /* sun_family included */
	if (len <= 2)
		return;
	plen = (__u64)len - 2;
	if (plen > sizeof(e->unix_path) - 1)
		plen = sizeof(e->unix_path) - 1;
	barrier_var(plen); /* the verifier must see the clamped value */
	bpf_probe_read_kernel(e->unix_path, plen, &ua->name[0].sun_path);
	e->unix_path[plen] = 0;
	if (!e->unix_path[0] && plen > 1)
		e->unix_path[0] = '@';
}

static __always_inline void sock_read_addr_in(struct sf_net_event *e, int fd,
					      bool peer)
{
	struct sock *sk = fd_sock(fd);

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
		if (e->family == AF_UNIX && !peer)
			sock_read_unix_path(e, sk);
		return;
	}
	if (peer)
		e->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	else
		e->port = BPF_CORE_READ(sk, __sk_common.skc_num);
}

/* connect, accept: the socket's local address and port (SysFlow's sip,
 * sport), from the kernel's socket once the call bound it */
static __always_inline void sock_read_local_in(struct sf_net_event *e, int fd)
{
	struct sock *sk = fd_sock(fd);
	__u16 fam;

	if (!sk)
		return;
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fam == AF_INET) {
		__u32 a4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

		__builtin_memcpy(e->laddr, &a4, 4);
	} else if (fam == AF_INET6) {
		struct in6_addr a6;

		BPF_CORE_READ_INTO(&a6, sk, __sk_common.skc_v6_rcv_saddr);
		__builtin_memcpy(e->laddr, &a6, 16);
	} else {
		return;
	}
	e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline void user_read_addr_in(struct sf_net_event *e,
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

/*
 * The three address readers as global functions: each verified once per
 * program, not on every path its callers reach it by (their own branches,
 * on the address family, then took the rest of the event with them).
 * Kernel and user pointers come as integers.
 */
__noinline int sock_read_addr_g(struct sf_net_event *e, int fd, __u32 peer)
{
	if (e)
		sock_read_addr_in(e, fd, peer);
	return 0;
}

__noinline int sock_read_local_g(struct sf_net_event *e, int fd)
{
	if (e)
		sock_read_local_in(e, fd);
	return 0;
}

__noinline int user_read_addr_g(struct sf_net_event *e, __u64 uaddr, __u32 len)
{
	if (e)
		user_read_addr_in(e, (const void *)uaddr, len);
	return 0;
}

static __always_inline void sock_read_addr(struct sf_net_event *e, int fd,
					   bool peer)
{
	sock_read_addr_g(e, fd, peer);
}

static __always_inline void sock_read_local(struct sf_net_event *e, int fd)
{
	sock_read_local_g(e, fd);
}

static __always_inline void user_read_addr(struct sf_net_event *e,
					   const void *uaddr, __u32 len)
{
	user_read_addr_g(e, (__u64)uaddr, len);
}

static __always_inline void net_event(long nr, long ret, __u32 slot, __u64 cgid,
				      struct sys_args *a, __u16 xf)
{
	struct sf_net_event *e;
	const void *uaddr = 0;
	__u32 ulen = 0;
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
	case __NR_sendto: /* only with a destination: connected sends are not
			   * events */
		if (!a->a[4])
			return;
		type = SF_EV_SENDTO, uaddr = (void *)a->a[4], ulen = a->a[5];
		break;
	case __NR_sendmsg: {
		struct user_msghdr m = {};

		bpf_probe_read_user(&m, sizeof(m), (void *)a->a[1]);
		if (!m.msg_name || m.msg_namelen == 0)
			return;
		type = SF_EV_SENDTO, uaddr = m.msg_name, ulen = m.msg_namelen;
		break;
	}
	default:
		return;
	}
	e = reserve(slot, type, sizeof(*e));
	if (!e)
		return;
	fill_sys_hdr(&e->hdr, type, slot, cgid, nr, ret, xf);
	e->family = 0, e->port = 0, e->type = 0, e->protocol = 0;
	e->backlog = 0, e->listen_fd = -1;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->unix_path[0] = 0;
	e->lport = 0, e->pad2 = 0, e->pad3 = 0;
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
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
		if (type == SF_EV_CONNECT &&
		    (ret == 0 || ret == -115 /* EINPROGRESS */))
			sock_read_local(e, e->fd);
		break;
	case SF_EV_ACCEPT:
		e->listen_fd = e->fd;
		e->fd = ret;
		if (ret >= 0) {
			sock_read_addr(e, ret, true);
			sock_read_local(e, ret);
		}
		break;
	case SF_EV_LISTEN:
		e->backlog = a->a[1];
		if (ret == 0)
			sock_read_addr(e, e->fd, false);
		break;
	case SF_EV_SENDTO: /* ret: bytes sent */
		user_read_addr(e, uaddr, ulen);
		break;
	}
	submit(e);
}

#endif
