// SPDX-License-Identifier: GPL-2.0
/*
 * The file and network operations of the stream, done through io_uring
 * (liburing) instead of syscalls, for tests/60-escape.bats: the stream must
 * show the same event types, with "via":"io_uring".
 *
 *   uring DIR FACTS [sqpoll|syscalls]
 *
 * openat (of DIR/secret, then of a missing file), mkdirat, renameat,
 * symlinkat, linkat, unlinkat (a file and, with AT_REMOVEDIR, a directory),
 * socket + connect to a local listener, fsetxattr, openat2, setxattr (path), and 20 reads (io_uring.op,
 * rate-limited).  With "sqpoll" the ring is an SQPOLL ring: the kernel's
 * submission thread does the work, not this thread.  With "syscalls" the
 * same operations are made as plain syscalls, for the comparison.
 *
 *   uring DIR FACTS inflight N
 *
 * More mapped requests in flight at once than the agent's table of requests
 * waiting for their completion holds: N accepts on a listener nobody
 * connects to, then openats while they wait; some accepts completed by
 * connections, some cancelled, the rest left in flight when the process
 * exits (the kernel cancels them); and opens whose success posts no
 * completion (IOSQE_CQE_SKIP_SUCCESS).  FACTS says how many of each.
 *
 *   uring DIR FACTS ratelimit
 *
 * 45 W+X mmaps (mem.exec) and 45 ring reads (io_uring.op) in a burst, a
 * second's pause, 20 more of each, exit: the rate limit's counts, the last
 * ones on process.exit.  Built static.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

/* newer than the build host's headers: the kernel's numbers */
#define OP_BIND	  56
#define OP_LISTEN 57

static struct io_uring ring;
static int plain; /* "syscalls": no ring */

/* submit one request and wait for its completion; returns cqe->res */
static int run1(void)
{
	struct io_uring_cqe *cqe;
	int r;

	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe) < 0)
		return -999;
	r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return r;
}

static struct io_uring_sqe *sqe(void)
{
	struct io_uring_sqe *q = io_uring_get_sqe(&ring);

	if (!q) { /* full: make room */
		io_uring_submit(&ring);
		q = io_uring_get_sqe(&ring);
	}
	return q;
}

#define INFLIGHT_OPENS	  8
#define INFLIGHT_CONNECTS 64
#define INFLIGHT_SKIPS	  4
#define OPEN_TAG	  (1ull << 32)
#define CANCEL_TAG	  (2ull << 32)

/* reap CQEs until the counts want says have come */
static void reap(int *accepted, int *cancelled, int *opened, int want_acc,
		 int want_open)
{
	struct io_uring_cqe *cqe;

	while (*accepted < want_acc || *opened < want_open) {
		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			return;
		if (cqe->user_data & OPEN_TAG)
			(*opened)++;
		else if (cqe->user_data & CANCEL_TAG)
			; /* the cancel request's own completion */
		else if (cqe->res == -ECANCELED)
			(*cancelled)++;
		else
			(*accepted)++;
		io_uring_cqe_seen(&ring, cqe);
	}
}

static void burst(int fd, int n)
{
	char buf[16];

	for (int i = 0; i < n; i++) {
		munmap(mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		       4096);
		io_uring_prep_read(sqe(), fd, buf, sizeof(buf), 0);
		run1();
	}
}

static int ratelimit(const char *facts_path)
{
	int fd = open("/dev/zero", O_RDONLY);
	FILE *facts;

	if (io_uring_queue_init(8, &ring, 0) < 0) {
		perror("io_uring_queue_init");
		return 1;
	}
	burst(fd, 45);
	usleep(1100 * 1000); /* the next second: a new window */
	burst(fd, 20);
	facts = fopen(facts_path, "w");
	if (!facts)
		return 1;
	fprintf(facts, "{\"pid\": %d, \"mem_total\": 65, \"reads\": 65}\n",
		getpid());
	fclose(facts);
	return 0;
}

static int inflight(const char *dir, const char *facts_path, int n)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int accepted = 0, cancelled = 0, opened = 0, l, ncancel;
	struct io_uring_cqe *cqe;
	socklen_t sl = sizeof(sa);
	/* each request's own: the kernel reads it at submission */
	static char opens[INFLIGHT_OPENS][300], skips[INFLIGHT_SKIPS][300];
	FILE *facts;

	if (io_uring_queue_init(4096, &ring, 0) < 0) {
		perror("io_uring_queue_init");
		return 1;
	}
	l = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (void *)&sa, sizeof(sa)) < 0 || listen(l, 4096) < 0 ||
	    getsockname(l, (void *)&sa, &sl) < 0) {
		perror("listener");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *q = sqe();

		io_uring_prep_accept(q, l, NULL, NULL, 0);
		q->user_data = i + 1;
	}
	io_uring_submit(&ring);
	for (int i = 0; i < INFLIGHT_OPENS; i++) {
		struct io_uring_sqe *q = sqe();

		snprintf(opens[i], sizeof(opens[i]), "%s/inflight-%d", dir, i);
		io_uring_prep_openat(q, AT_FDCWD, opens[i], O_RDWR | O_CREAT,
				     0600);
		q->user_data = OPEN_TAG | i;
	}
	io_uring_submit(&ring);
	for (int i = 0; i < INFLIGHT_CONNECTS; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);

		if (connect(c, (void *)&sa, sizeof(sa)) < 0)
			perror("connect");
	}
	reap(&accepted, &cancelled, &opened, INFLIGHT_CONNECTS,
	     INFLIGHT_OPENS);
	/* the last half by user_data; the rest stay in flight */
	ncancel = n / 2;
	for (int i = n - ncancel; i < n; i++) {
		struct io_uring_sqe *q = sqe();

		io_uring_prep_cancel64(q, i + 1, 0);
		q->user_data = CANCEL_TAG | i;
	}
	io_uring_submit(&ring);
	while (cancelled < ncancel && io_uring_wait_cqe(&ring, &cqe) == 0) {
		if (!(cqe->user_data & CANCEL_TAG) && cqe->res == -ECANCELED)
			cancelled++;
		else if (!(cqe->user_data & CANCEL_TAG))
			accepted++;
		io_uring_cqe_seen(&ring, cqe);
	}
	/* opens whose success posts no completion: the kernel tells nobody */
	for (int i = 0; i < INFLIGHT_SKIPS; i++) {
		struct io_uring_sqe *q = sqe();

		snprintf(skips[i], sizeof(skips[i]), "%s/skip-%d", dir, i);
		io_uring_prep_openat(q, AT_FDCWD, skips[i], O_RDWR | O_CREAT,
				     0600);
		q->flags |= IOSQE_CQE_SKIP_SUCCESS;
	}
	io_uring_submit(&ring);
	for (int i = 0; i < INFLIGHT_SKIPS; i++) {
		struct stat st;

		while (stat(skips[i], &st) < 0)
			usleep(1000);
	}
	facts = fopen(facts_path, "w");
	if (!facts)
		return 1;
	fprintf(facts,
		"{\"pid\": %d, \"port\": %d, \"accepts\": %d, \"opens\": %d, \"skips\": %d, \"accepted\": %d, \"cancelled\": %d, \"left\": %d}\n",
		getpid(), ntohs(sa.sin_port), n, INFLIGHT_OPENS, INFLIGHT_SKIPS,
		accepted, cancelled, n - accepted - cancelled);
	fclose(facts);
	/* no io_uring_queue_exit: the kernel cancels what is left */
	_exit(0);
}

int main(int argc, char **argv)
{
	struct io_uring_params p;
	char a[300], b[300], c[300], d[300], sub[300], missing[300], b2[300];
	struct open_how how = {.flags = O_RDWR | O_CREAT | O_EXCL,
			       .mode = 0600,
			       .resolve = 0};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd, s, l, port;
	char buf[16];
	FILE *facts;

	if (argc < 3) {
		fprintf(stderr, "usage: uring DIR FACTS [sqpoll|syscalls|inflight N|ratelimit]\n");
		return 2;
	}
	if (argc > 3 && strcmp(argv[3], "ratelimit") == 0)
		return ratelimit(argv[2]);
	if (argc > 4 && strcmp(argv[3], "inflight") == 0)
		return inflight(argv[1], argv[2], atoi(argv[4]));
	memset(&p, 0, sizeof(p));
	if (argc > 3 && strcmp(argv[3], "sqpoll") == 0) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 2000;
	}
	plain = argc > 3 && strcmp(argv[3], "syscalls") == 0;
	if (!plain && io_uring_queue_init_params(8, &ring, &p) < 0) {
		perror("io_uring_queue_init");
		return 1;
	}
	snprintf(a, sizeof(a), "%s/secret", argv[1]);
	snprintf(b, sizeof(b), "%s/renamed", argv[1]);
	snprintf(c, sizeof(c), "%s/symlink", argv[1]);
	snprintf(d, sizeof(d), "%s/hardlink", argv[1]);
	snprintf(sub, sizeof(sub), "%s/subdir", argv[1]);
	snprintf(missing, sizeof(missing), "%s/missing", argv[1]);
	snprintf(b2, sizeof(b2), "%s/openat2", argv[1]);

	if (plain) {
		/* where the ring's fd would be: the same fd numbers follow */
		open("/dev/null", O_RDONLY);
		fd = openat(AT_FDCWD, a, O_RDWR | O_CREAT, 0640);
		openat(AT_FDCWD, missing, O_RDONLY, 0);
		mkdirat(AT_FDCWD, sub, 0750);
		renameat(AT_FDCWD, a, AT_FDCWD, b);
		symlinkat(b, AT_FDCWD, c);
		linkat(AT_FDCWD, b, AT_FDCWD, d, 0);
		unlinkat(AT_FDCWD, c, 0);
		unlinkat(AT_FDCWD, sub, AT_REMOVEDIR);
		fsetxattr(fd, "user.sfagent_uring", "v", 1, 0);
		syscall(SYS_openat2, AT_FDCWD, b2, &how, sizeof(how));
		setxattr(b, "user.sfagent_path", "vv", 2, XATTR_CREATE);
	} else {
		io_uring_prep_openat(sqe(), AT_FDCWD, a, O_RDWR | O_CREAT,
				     0640);
		fd = run1();
		io_uring_prep_openat(sqe(), AT_FDCWD, missing, O_RDONLY, 0);
		run1();
		io_uring_prep_mkdirat(sqe(), AT_FDCWD, sub, 0750);
		run1();
		io_uring_prep_renameat(sqe(), AT_FDCWD, a, AT_FDCWD, b, 0);
		run1();
		io_uring_prep_symlinkat(sqe(), b, AT_FDCWD, c);
		run1();
		io_uring_prep_linkat(sqe(), AT_FDCWD, b, AT_FDCWD, d, 0);
		run1();
		io_uring_prep_unlinkat(sqe(), AT_FDCWD, c, 0);
		run1();
		io_uring_prep_unlinkat(sqe(), AT_FDCWD, sub, AT_REMOVEDIR);
		run1();
		io_uring_prep_fsetxattr(sqe(), fd, "user.sfagent_uring", "v", 0,
					1);
		run1();
		/* openat2 (struct open_how) and the path form of setxattr */
		io_uring_prep_openat2(sqe(), AT_FDCWD, b2, &how);
		run1();
		io_uring_prep_setxattr(sqe(), "user.sfagent_path", "vv", b,
				       XATTR_CREATE, 2);
		run1();
		for (int i = 0; i < 20; i++) {
			io_uring_prep_read(sqe(), fd, buf, sizeof(buf), 0);
			run1();
		}
	}

	/* a local listener, connected to through the ring */
	l = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(l, (void *)&sa, sizeof(sa));
	listen(l, 4);
	getsockname(l, (void *)&sa, &sl);
	port = ntohs(sa.sin_port);
	if (plain) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		connect(s, (void *)&sa, sizeof(sa));
	} else {
		io_uring_prep_socket(sqe(), AF_INET, SOCK_STREAM, 0, 0);
		s = run1();
		io_uring_prep_connect(sqe(), s, (void *)&sa, sizeof(sa));
		run1();
	}

	/* a second listener made through the ring: socket, bind, listen
	 * (raw SQEs: liburing 2.3 has no helpers), then accept; and a UDP
	 * sendmsg that names its destination */
	{
		struct sockaddr_in b = {.sin_family = AF_INET}, peer;
		socklen_t bl = sizeof(b), pl = sizeof(peer);
		struct iovec iov = {.iov_base = "u", .iov_len = 1};
		struct msghdr m = {0};
		int s2, c2, u;

		b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (plain) {
			s2 = socket(AF_INET, SOCK_STREAM, 0);
			bind(s2, (void *)&b, sizeof(b));
			listen(s2, 3);
		} else {
			struct io_uring_sqe *q;

			io_uring_prep_socket(sqe(), AF_INET, SOCK_STREAM, 0, 0);
			s2 = run1();
			q = sqe();
			io_uring_prep_rw(OP_BIND, q, s2, &b, 0, sizeof(b));
			run1();
			q = sqe();
			io_uring_prep_rw(OP_LISTEN, q, s2, NULL, 3, 0);
			run1();
		}
		getsockname(s2, (void *)&b, &bl);
		c2 = socket(AF_INET, SOCK_STREAM, 0);
		connect(c2, (void *)&b, sizeof(b));
		if (plain) {
			accept(s2, (void *)&peer, &pl);
		} else {
			io_uring_prep_accept(sqe(), s2, (void *)&peer, &pl, 0);
			run1();
		}
		u = socket(AF_INET, SOCK_DGRAM, 0);
		b.sin_port = htons(9);
		m.msg_name = &b, m.msg_namelen = sizeof(b);
		m.msg_iov = &iov, m.msg_iovlen = 1;
		if (plain) {
			sendmsg(u, &m, 0);
			b.sin_port = htons(10);
			sendto(u, "v", 1, 0, (void *)&b, sizeof(b));
		} else {
			struct io_uring_sqe *q;

			io_uring_prep_sendmsg(sqe(), u, &m, 0);
			run1();
			/* sendto: a SEND naming its destination (addr2) */
			b.sin_port = htons(10);
			q = sqe();
			io_uring_prep_send(q, u, "v", 1, 0);
			q->addr2 = (unsigned long)&b;
			q->addr_len = sizeof(b);
			run1();
		}
	}

	facts = fopen(argv[2], "w");
	if (!facts)
		return 1;
	fprintf(facts,
		"{\"pid\": %d, \"port\": %d, \"fd\": %d, \"sock\": %d, \"sqpoll\": %s}\n",
		getpid(), port, fd, s,
		p.flags & IORING_SETUP_SQPOLL ? "true" : "false");
	fclose(facts);
	if (!plain)
		io_uring_queue_exit(&ring);
	return 0;
}
