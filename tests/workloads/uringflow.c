// SPDX-License-Identifier: GPL-2.0
/*
 * Reads and writes through io_uring with known counts, for -F sysflow's
 * flows (tests/62-sysflow.bats):
 *
 *   uringflow DIR FACTS CMD
 *
 *   DIR/u    opened with open(2), written with 4 IORING_OP_WRITE of 256
 *            bytes and 1 IORING_OP_WRITEV of 2 x 64, closed with close(2);
 *            opened again with IORING_OP_OPENAT, read back with 3
 *            IORING_OP_READ of 384 bytes, closed with IORING_OP_CLOSE
 *   DIR/s    1 write of 33 bytes and 1 writev of 2 x 16 with
 *            IOSQE_CQE_SKIP_SUCCESS (no completion: each is linked to a
 *            nop waited for), 1 write of 7
 *   DIR/fx   registered as a fixed file: 2 writes of 10 bytes on the fixed
 *            file (in no flow: stream.end counts them); its fd, open, has
 *            no reads or writes of its own
 *   loopback TCP, made with syscalls: the server's IORING_OP_RECV of 3 x
 *            1000 (MSG_WAITALL) is submitted first and waits; CMD runs
 *            then (the test looks at the agent's maps); the client sends
 *            3 x 1000 with IORING_OP_SEND, the server answers 2 x 50 with
 *            IORING_OP_SENDMSG (the second with IOSQE_CQE_SKIP_SUCCESS,
 *            linked to a nop), the client receives them with
 *            IORING_OP_RECVMSG (MSG_WAITALL); then the server's multishot
 *            IORING_OP_RECV (provided buffers) gets 3 x 100 the client
 *            sends with send(2), one completion each, and is cancelled
 * FACTS gets the pid and both ports.
 *
 *   uringflow loop N FILE
 *
 * For tests/bench/uring-flow.sh: N IORING_OP_WRITE + IORING_OP_READ of 64
 * bytes at offset 0 of FILE (opened with open(2): a flow), one request at a
 * time; prints the CPU time (user + system) per request in ns.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static struct io_uring ring;

#define RECV_TAG	1
#define MSHOT_TAG	2
#define MSHOT_GROUP	7
static char pbufs[4][128]; /* the multishot receive's provided buffers */


#define die(what)                   \
	do {                        \
		perror(what);       \
		exit(1);            \
	} while (0)

static struct io_uring_sqe *sqe(void)
{
	struct io_uring_sqe *q = io_uring_get_sqe(&ring);

	if (!q)
		die("io_uring_get_sqe");
	return q;
}

/* submit what is queued, wait for one completion, its result */
static int wait1(void)
{
	struct io_uring_cqe *cqe;
	int r;

	if (io_uring_submit_and_wait(&ring, 1) < 0 ||
	    io_uring_wait_cqe(&ring, &cqe) < 0)
		die("io_uring_wait_cqe");
	r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return r;
}

static void want(int got, int n, const char *what)
{
	if (got != n) {
		fprintf(stderr, "uringflow: %s: %d, not %d\n", what, got, n);
		exit(1);
	}
}

static void file_part(const char *dir)
{
	char path[512], buf[1152], v1[64], v2[64];
	struct iovec iov[2] = {{v1, sizeof(v1)}, {v2, sizeof(v2)}};
	int fd;

	memset(buf, 'u', sizeof(buf));
	memset(v1, 'v', sizeof(v1));
	memset(v2, 'w', sizeof(v2));
	snprintf(path, sizeof(path), "%s/u", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open u");
	for (int i = 0; i < 4; i++) {
		io_uring_prep_write(sqe(), fd, buf, 256, i * 256);
		want(wait1(), 256, "write");
	}
	io_uring_prep_writev(sqe(), fd, iov, 2, 1024);
	want(wait1(), 128, "writev");
	close(fd);
	io_uring_prep_openat(sqe(), AT_FDCWD, path, O_RDONLY, 0);
	fd = wait1();
	if (fd < 0)
		die("io_uring openat");
	for (int i = 0; i < 3; i++) {
		io_uring_prep_read(sqe(), fd, buf, 384, i * 384);
		want(wait1(), 384, "read");
	}
	io_uring_prep_close(sqe(), fd);
	want(wait1(), 0, "io_uring close");
}

static void skip_and_fixed(const char *dir)
{
	char path[512], buf[33];
	struct iovec iov[2] = {{buf, 16}, {buf, 16}};
	struct io_uring_sqe *q;
	int fd;

	memset(buf, 's', sizeof(buf));
	snprintf(path, sizeof(path), "%s/s", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open s");
	q = sqe();
	io_uring_prep_write(q, fd, buf, 33, 0);
	q->flags |= IOSQE_CQE_SKIP_SUCCESS | IOSQE_IO_LINK;
	io_uring_prep_nop(sqe());
	want(wait1(), 0, "nop after a skipped write");
	q = sqe();
	io_uring_prep_writev(q, fd, iov, 2, 33);
	q->flags |= IOSQE_CQE_SKIP_SUCCESS | IOSQE_IO_LINK;
	io_uring_prep_nop(sqe());
	want(wait1(), 0, "nop after a skipped writev");
	io_uring_prep_write(sqe(), fd, buf, 7, 65);
	want(wait1(), 7, "write");
	close(fd);

	snprintf(path, sizeof(path), "%s/fx", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || io_uring_register_files(&ring, &fd, 1) < 0)
		die("fixed file");
	for (int i = 0; i < 2; i++) {
		q = sqe();
		io_uring_prep_write(q, 0, buf, 10, i * 10);
		q->flags |= IOSQE_FIXED_FILE;
		want(wait1(), 10, "fixed-file write");
	}
	io_uring_unregister_files(&ring);
	close(fd);
}

/* a multishot receive on conn: 3 completions of the client's 3 sends of
 * 100, one at a time, then its cancel */
static void multishot(int cli, int conn)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *q;
	char b[100] = {0};

	io_uring_prep_provide_buffers(sqe(), pbufs, sizeof(pbufs[0]), 4,
				      MSHOT_GROUP, 0);
	want(wait1(), 0, "provide buffers");
	q = sqe();
	io_uring_prep_recv_multishot(q, conn, NULL, 0, 0);
	q->flags |= IOSQE_BUFFER_SELECT;
	q->buf_group = MSHOT_GROUP;
	io_uring_sqe_set_data64(q, MSHOT_TAG);
	io_uring_submit(&ring);
	for (int i = 0; i < 3; i++) {
		want(send(cli, b, sizeof(b), 0), sizeof(b), "send");
		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			die("multishot recv");
		want(cqe->user_data == MSHOT_TAG && (cqe->flags & IORING_CQE_F_MORE),
		     1, "a multishot completion");
		want(cqe->res, sizeof(b), "multishot recv");
		io_uring_cqe_seen(&ring, cqe);
	}
	q = sqe();
	io_uring_prep_cancel64(q, MSHOT_TAG, 0);
	io_uring_sqe_set_data64(q, 0);
	io_uring_submit(&ring);
	for (int n = 0; n < 2; n++) { /* the cancel's and the receive's last */
		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			die("cancel");
		io_uring_cqe_seen(&ring, cqe);
	}
}

static void net_part(const char *cmd, int *sport, int *cport)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	char big[3000], rbuf[3000], small[100];
	struct iovec iov = {small, sizeof(small)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *q;
	int srv, cli, conn, recvd = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv = socket(AF_INET, SOCK_STREAM, 0);
	if (srv < 0 || bind(srv, (void *)&a, sizeof(a)) < 0 ||
	    listen(srv, 1) < 0 || getsockname(srv, (void *)&a, &al) < 0)
		die("listener");
	*sport = ntohs(a.sin_port);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	if (cli < 0 || connect(cli, (void *)&a, sizeof(a)) < 0)
		die("connect");
	conn = accept(srv, NULL, NULL);
	al = sizeof(a);
	if (conn < 0 || getsockname(cli, (void *)&a, &al) < 0)
		die("accept");
	*cport = ntohs(a.sin_port);
	/* the receive first: in flight while CMD looks */
	q = sqe();
	io_uring_prep_recv(q, conn, rbuf, sizeof(rbuf), MSG_WAITALL);
	io_uring_sqe_set_data64(q, RECV_TAG);
	io_uring_submit(&ring);
	if (system(cmd) != 0)
		die(cmd);
	memset(big, 'c', sizeof(big));
	for (int i = 0; i < 3; i++) {
		q = sqe();
		io_uring_prep_send(q, cli, big + i * 1000, 1000, 0);
		io_uring_sqe_set_data64(q, 0);
		io_uring_submit(&ring);
		/* the send's completion; the receive's may come first */
		for (int sent = 0; !sent;) {
			if (io_uring_wait_cqe(&ring, &cqe) < 0)
				die("send");
			if (cqe->user_data == RECV_TAG)
				recvd = cqe->res;
			else
				want(cqe->res, 1000, "send"), sent = 1;
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	if (recvd < 0) {
		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			die("recv");
		recvd = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	want(recvd, 3000, "recv");
	memset(small, 's', sizeof(small));
	iov.iov_len = 50;
	io_uring_prep_sendmsg(sqe(), conn, &m, 0);
	want(wait1(), 50, "sendmsg");
	q = sqe();
	io_uring_prep_sendmsg(q, conn, &m, 0);
	q->flags |= IOSQE_CQE_SKIP_SUCCESS | IOSQE_IO_LINK;
	io_uring_prep_nop(sqe());
	want(wait1(), 0, "nop after a skipped sendmsg");
	iov.iov_len = 100;
	io_uring_prep_recvmsg(sqe(), cli, &m, MSG_WAITALL);
	want(wait1(), 100, "recvmsg");
	multishot(cli, conn);
	close(conn);
	close(cli);
	close(srv);
}

static double cpu_ns(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e9 +
	       (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e3;
}

static int loop(long n, const char *path)
{
	char buf[64] = "0123456789";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	double t0;

	if (fd < 0 || n <= 0)
		die("loop");
	t0 = cpu_ns();
	for (long i = 0; i < n; i++) {
		io_uring_prep_write(sqe(), fd, buf, sizeof(buf), 0);
		want(wait1(), sizeof(buf), "write");
		io_uring_prep_read(sqe(), fd, buf, sizeof(buf), 0);
		want(wait1(), sizeof(buf), "read");
	}
	printf("ns_per_op=%.0f\n", (cpu_ns() - t0) / (2.0 * n));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int sport, cport;
	FILE *f;

	if (argc != 4)
		return 2;
	if (io_uring_queue_init(8, &ring, 0) < 0)
		die("io_uring_queue_init");
	if (!strcmp(argv[1], "loop"))
		return loop(atol(argv[2]), argv[3]);
	file_part(argv[1]);
	skip_and_fixed(argv[1]);
	net_part(argv[3], &sport, &cport);
	f = fopen(argv[2], "w");
	if (!f)
		die(argv[2]);
	fprintf(f, "{\"pid\": %d, \"server_port\": %d, \"client_port\": %d}\n",
		getpid(), sport, cport);
	fclose(f);
	return 0;
}
