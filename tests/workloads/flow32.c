// SPDX-License-Identifier: GPL-2.0
/*
 * flow32 DIR FACTS: a 32-bit program (built -m32, static, no libc: every
 * syscall an ia32 one) with known reads and writes, for -F sysflow's flows
 * (tests/62-sysflow.bats):
 *
 *   DIR/f32  opened, 3 write(2) of 100 bytes, 1 writev(2) of 2 x 20, 1
 *            pwrite64(2) of 8, closed; opened again, 1 read(2) of 150, 1
 *            readv(2) of 2 x 75, 1 pread64(2) of 48, closed
 *   loopback TCP through socketcall(2): the client sends 3 x 500 (SYS_SEND)
 *            and 10 with sendmsg(2); the server receives 1500 with one
 *            SYS_RECV and 10 with recvmsg(2) (MSG_WAITALL), answers 2 x 25
 *            with sendto(2), which the client receives with 2 recvfrom(2)
 *            (MSG_WAITALL); the client sends 2 messages of 5 with one
 *            sendmmsg(2), the server receives them with one recvmmsg(2)
 *            (struct compat_mmsghdr)
 * FACTS gets the pid and both ports.
 *
 *   flow32 loop N FILE
 *
 * For tests/bench/uring-flow.sh: N pwrite64 + pread64 of 64 bytes at offset
 * 0 of FILE (opened: a flow); prints the CPU time (user + system) per
 * syscall in ns.
 */
typedef unsigned int u32;

#define O_WRONLY     01
#define O_CREAT	     0100
#define O_TRUNC	     01000
#define MSG_WAITALL  0x100
#define SOCK_STREAM  1
#define AF_INET	     2
#define SYS_SOCKET   1
#define SYS_BIND     2
#define SYS_CONNECT  3
#define SYS_LISTEN   4
#define SYS_ACCEPT   5
#define SYS_GETSOCKNAME 6
#define SYS_SEND     9
#define SYS_RECV     10

struct iovec32 {
	u32 base, len;
};
struct msghdr32 { /* struct compat_msghdr */
	u32 name, namelen, iov, iovlen, control, controllen, flags;
};
struct mmsghdr32 { /* struct compat_mmsghdr */
	struct msghdr32 hdr;
	u32 len;
};
struct sockaddr_in32 {
	unsigned short family, port; /* port in network order */
	u32 addr;
	char zero[8];
};

/* up to five arguments (ebx, ecx, edx, esi, edi): no ebp needed here */
static long sys(long nr, long a, long b, long c, long d, long e)
{
	long r;

	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory");
	return r;
}

#define sys3(nr, a, b, c) sys(nr, (long)(a), (long)(b), (long)(c), 0, 0)

static void quit(int code)
{
	sys3(1, code, 0, 0); /* exit */
	for (;;)
		;
}

static void want(long got, long n, int code)
{
	if (got != n)
		quit(code);
}

static long sockcall(int call, long a, long b, long c, long d)
{
	u32 args[6] = {a, b, c, d, 0, 0};

	return sys3(102, call, args, 0);
}

static char buf[2048], path[512], facts[256];

static int put(char *p, const char *s)
{
	int n = 0;

	while (s[n])
		p[n] = s[n], n++;
	return n;
}

static int putn(char *p, long v)
{
	char t[24];
	int n = 0, k = 0;

	do
		t[n++] = '0' + v % 10, v /= 10;
	while (v);
	while (n)
		p[k++] = t[--n];
	return k;
}

static void file_part(const char *dir)
{
	struct iovec32 iov[2] = {{(u32)buf, 20}, {(u32)buf, 20}};
	int n = put(path, dir), fd;

	put(path + n, "/f32");
	fd = sys3(5, path, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* open */
	if (fd < 0)
		quit(3);
	for (int i = 0; i < 3; i++)
		want(sys3(4, fd, buf, 100), 100, 4); /* write */
	want(sys3(146, fd, iov, 2), 40, 5); /* writev */
	want(sys(181, fd, (long)buf, 8, 340, 0), 8, 6); /* pwrite64 */
	sys3(6, fd, 0, 0); /* close */
	fd = sys3(5, path, 0, 0);
	if (fd < 0)
		quit(7);
	want(sys3(3, fd, buf, 150), 150, 8); /* read */
	iov[0].len = iov[1].len = 75;
	want(sys3(145, fd, iov, 2), 150, 8); /* readv */
	want(sys(180, fd, (long)buf, 48, 300, 0), 48, 9); /* pread64 */
	sys3(6, fd, 0, 0);
}

static void net_part(int *sport, int *cport)
{
	struct sockaddr_in32 a = {AF_INET, 0, 0x0100007f, {0}};
	struct iovec32 iov = {(u32)buf, 10};
	struct msghdr32 m = {0, 0, (u32)&iov, 1, 0, 0, 0};
	struct mmsghdr32 mm[2];
	u32 al = sizeof(a);
	int srv, cli, conn;

	srv = sockcall(SYS_SOCKET, AF_INET, SOCK_STREAM, 0, 0);
	if (srv < 0 || sockcall(SYS_BIND, srv, (long)&a, sizeof(a), 0) < 0 ||
	    sockcall(SYS_LISTEN, srv, 1, 0, 0) < 0 ||
	    sockcall(SYS_GETSOCKNAME, srv, (long)&a, (long)&al, 0) < 0)
		quit(10);
	*sport = (a.port >> 8 | a.port << 8) & 0xffff;
	cli = sockcall(SYS_SOCKET, AF_INET, SOCK_STREAM, 0, 0);
	if (cli < 0 || sockcall(SYS_CONNECT, cli, (long)&a, sizeof(a), 0) < 0)
		quit(11);
	conn = sockcall(SYS_ACCEPT, srv, 0, 0, 0);
	al = sizeof(a);
	if (conn < 0 ||
	    sockcall(SYS_GETSOCKNAME, cli, (long)&a, (long)&al, 0) < 0)
		quit(12);
	*cport = (a.port >> 8 | a.port << 8) & 0xffff;
	for (int i = 0; i < 3; i++)
		want(sockcall(SYS_SEND, cli, (long)buf, 500, 0), 500, 13);
	want(sockcall(SYS_RECV, conn, (long)buf, 1500, MSG_WAITALL), 1500, 14);
	want(sys3(370, cli, &m, 0), 10, 15); /* sendmsg */
	want(sys3(372, conn, &m, MSG_WAITALL), 10, 16); /* recvmsg */
	/* sendto, recvfrom: no address (its registers, edi, ebp: NULL, 0) */
	for (int i = 0; i < 2; i++)
		want(sys(369, conn, (long)buf, 25, 0, 0), 25, 17);
	for (int i = 0; i < 2; i++)
		want(sys(371, cli, (long)buf, 25, MSG_WAITALL, 0), 25, 18);
	iov.len = 5;
	mm[0].hdr = mm[1].hdr = m;
	want(sys(345, cli, (long)mm, 2, 0, 0), 2, 20); /* sendmmsg */
	mm[0].len = mm[1].len = 0;
	want(sys(337, conn, (long)mm, 2, MSG_WAITALL, 0), 2, 21); /* recvmmsg */
	want(mm[0].len + mm[1].len, 10, 22);
	sys3(6, conn, 0, 0);
	sys3(6, cli, 0, 0);
	sys3(6, srv, 0, 0);
}

static long cpu_us(void)
{
	long ru[18] = {0}; /* struct compat_rusage: utime, stime first */

	sys3(77, 0, ru, 0); /* getrusage(RUSAGE_SELF) */
	return (ru[0] + ru[2]) * 1000000L + ru[1] + ru[3];
}

static void loop(const char *num, const char *file)
{
	long n = 0, t0, ns;
	int fd, k;

	while (*num >= '0' && *num <= '9')
		n = n * 10 + *num++ - '0';
	fd = sys3(5, file, 02 | O_CREAT | O_TRUNC, 0644); /* O_RDWR */
	if (fd < 0 || n <= 0)
		quit(2);
	t0 = cpu_us();
	for (long i = 0; i < n; i++) {
		want(sys(181, fd, (long)buf, 64, 0, 0), 64, 3);
		want(sys(180, fd, (long)buf, 64, 0, 0), 64, 4);
	}
	/* ns per syscall: us * 1000 / 2n, in 32-bit arithmetic */
	ns = (cpu_us() - t0) / (2 * n / 1000 ? 2 * n / 1000 : 1);
	k = put(facts, "ns_per_op=");
	k += putn(facts + k, ns);
	facts[k++] = '\n';
	sys3(4, 1, facts, k);
	quit(0);
}

static void run(int argc, char **argv)
{
	int sport, cport, n = 0, fd;

	if (argc == 4 && argv[1][0] == 'l')
		loop(argv[2], argv[3]);
	if (argc != 3)
		quit(2);
	file_part(argv[1]);
	net_part(&sport, &cport);
	n += put(facts + n, "{\"pid\": ");
	n += putn(facts + n, sys3(20, 0, 0, 0)); /* getpid */
	n += put(facts + n, ", \"server_port\": ");
	n += putn(facts + n, sport);
	n += put(facts + n, ", \"client_port\": ");
	n += putn(facts + n, cport);
	n += put(facts + n, "}\n");
	fd = sys3(5, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || sys3(4, fd, facts, n) != n)
		quit(19);
	sys3(6, fd, 0, 0);
	quit(0);
}

/* the entry point: argc, then argv, on the stack */
__attribute__((used)) static void start_c(long *sp)
{
	run((int)sp[0], (char **)(sp + 1));
}

__asm__(".globl _start\n_start:\n\tmov %esp, %eax\n\tand $-16, %esp\n"
	"\tsub $12, %esp\n\tpush %eax\n\tcall start_c\n");
