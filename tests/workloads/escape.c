// SPDX-License-Identifier: GPL-2.0
/*
 * What container escapes, fileless and privilege attacks are made of, one
 * step each, for tests/60-escape.bats: ptrace, process_vm_*, namespaces,
 * mounts (old and new API), pivot_root, chroot, module and kexec attempts,
 * bpf(), perf_event_open, open_by_handle_at, xattrs, W+X memory (with a
 * burst for the rate limit), memfd and deleted-file execs, dup onto 0/1/2,
 * sendto with an address, io_uring setup, userfaultfd, keys.
 *
 *   escape DIR FACTS   does all of it, writes what the test needs to FACTS
 *   escape noop        exits 0 (what the memfd/deleted execs run)
 *
 * A step that fails is not fatal: its errno is part of the stream too.
 * Built static so it runs in a busybox container as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static char dir[256];
static FILE *facts;
static volatile uint64_t target_var = 0x1122334455667788ull;

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void wait_child(pid_t p)
{
	int st;

	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
}

static void do_ptrace(void)
{
	struct iovec l, r;
	uint64_t buf = 0, val = 42;
	pid_t c = fork();

	if (c == 0) {
		pause();
		_exit(0);
	}
	fprintf(facts, "\"ptrace_child\": %d, \"ptrace_addr\": %lu, ", c,
		(unsigned long)&target_var);
	l.iov_base = &buf, l.iov_len = sizeof(buf);
	r.iov_base = (void *)&target_var, r.iov_len = sizeof(buf);
	process_vm_readv(c, &l, 1, &r, 1, 0);
	l.iov_base = &val;
	process_vm_writev(c, &l, 1, &r, 1, 0);
	if (ptrace(PTRACE_ATTACH, c, 0, 0) == 0) {
		wait_child(c);
		ptrace(PTRACE_POKEDATA, c, (void *)&target_var, (void *)7);
		ptrace(PTRACE_DETACH, c, 0, 0);
	}
	kill(c, SIGKILL);
	wait_child(c);
}

/* In a child with its own mount namespace: mounts, new mount API,
 * pivot_root, chroot. */
static void do_mounts(void)
{
	char mnt[300], mnt2[300], nr[300], old[320];
	pid_t c = fork();

	if (c != 0) {
		wait_child(c);
		return;
	}
	path(mnt, sizeof(mnt), "mnt");
	path(mnt2, sizeof(mnt2), "mnt2");
	path(nr, sizeof(nr), "newroot");
	snprintf(old, sizeof(old), "%s/old", nr);
	mkdir(mnt, 0755), mkdir(mnt2, 0755), mkdir(nr, 0755);
	if (unshare(CLONE_NEWNS) < 0)
		_exit(1);
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	mount("sfagent-tmp", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m");
	umount2(mnt, MNT_DETACH);
	{
		int fs = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC), m;

		syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
		m = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
		syscall(SYS_move_mount, m, "", AT_FDCWD, mnt2,
			MOVE_MOUNT_F_EMPTY_PATH);
		syscall(SYS_open_tree, AT_FDCWD, mnt2, OPEN_TREE_CLONE);
	}
	mount("sfagent-root", nr, "tmpfs", 0, "size=1m");
	mkdir(old, 0755);
	if (syscall(SYS_pivot_root, nr, old) == 0) {
		chdir("/");
		chroot(".");
	}
	_exit(0);
}

static void do_ns(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY);
	pid_t c;

	setns(fd, CLONE_NEWNET);
	close(fd);
	c = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, NULL, NULL, NULL, 0);
	if (c == 0)
		_exit(0);
	fprintf(facts, "\"ns_child\": %d, ", c);
	wait_child(c);
}

static void do_modules(void)
{
	char buf[16] = {0}, p[300];
	int fd;

	path(p, sizeof(p), "mod.ko");
	fd = open(p, O_RDWR | O_CREAT, 0600);
	syscall(SYS_init_module, buf, sizeof(buf), "sfparam=1");
	syscall(SYS_finit_module, fd, "sfparam=2", 0);
	syscall(SYS_delete_module, "sfagent_dummy", O_NONBLOCK);
	syscall(SYS_kexec_file_load, fd, -1, 1, "", 0);
	close(fd);
}

static void do_bpf(void)
{
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = 2;
	a.license = (uintptr_t) "GPL";
	strcpy(a.prog_name, "sfesc_prog");
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd >= 0)
		close(fd);
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4, a.value_size = 4, a.max_entries = 1;
	strcpy(a.map_name, "sfesc_map");
	fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	if (fd >= 0)
		close(fd);
}

static void do_perf(void)
{
	struct perf_event_attr pa;
	int fd;

	memset(&pa, 0, sizeof(pa));
	pa.type = PERF_TYPE_SOFTWARE;
	pa.size = sizeof(pa);
	pa.config = PERF_COUNT_SW_CPU_CLOCK;
	pa.disabled = 1;
	fd = syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
	if (fd >= 0)
		close(fd);
}

static void do_handle(void)
{
	struct {
		struct file_handle h;
		unsigned char b[128];
	} fh;
	char p[300];
	int mid, mfd, fd;

	path(p, sizeof(p), "handle-target");
	close(open(p, O_WRONLY | O_CREAT, 0600));
	fh.h.handle_bytes = 128;
	if (name_to_handle_at(AT_FDCWD, p, &fh.h, &mid, 0) < 0)
		return;
	mfd = open(dir, O_RDONLY | O_DIRECTORY);
	fprintf(facts, "\"handle_type\": %d, ", fh.h.handle_type);
	fd = open_by_handle_at(mfd, &fh.h, O_RDONLY);
	if (fd >= 0)
		close(fd);
	close(mfd);
}

static void do_xattr(void)
{
	struct vfs_cap_data cap;
	char p[300];
	int fd;

	path(p, sizeof(p), "xattr-target");
	fd = open(p, O_WRONLY | O_CREAT, 0700);
	setxattr(p, "user.sfagent", "v1", 2, XATTR_CREATE);
	fsetxattr(fd, "user.sfagent_fd", "v22", 3, 0);
	removexattr(p, "user.sfagent");
	memset(&cap, 0, sizeof(cap));
	cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
	cap.data[0].permitted = 1u << CAP_NET_RAW;
	setxattr(p, "security.capability", &cap, XATTR_CAPS_SZ_2, 0);
	close(fd);
}

static void do_mem(void)
{
	void *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fprintf(facts, "\"rwx_addr\": %lu, ", (unsigned long)p);
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	     0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	/* anonymous memory made executable afterwards (not writable) */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	fprintf(facts, "\"rx_addr\": %lu, ", (unsigned long)p);
	/* a file's pages made executable: not an event */
	{
		int fd = open("/proc/self/exe", O_RDONLY);

		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		mprotect(p, 4096, PROT_READ | PROT_EXEC);
		close(fd);
	}
	/* a JIT-like burst: rate-limited, counted */
	for (int i = 0; i < 40; i++)
		munmap(mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		       4096);
	usleep(1100 * 1000);
	mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
	     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fprintf(facts, "\"mem_total\": 45, ");
}

static void copy_self(int to)
{
	char buf[65536];
	int from = open("/proc/self/exe", O_RDONLY);
	ssize_t n;

	while ((n = read(from, buf, sizeof(buf))) > 0)
		if (write(to, buf, n) != n)
			break;
	close(from);
}

static void run_fd(int fd)
{
	char *argv[] = {"escape", "noop", NULL}, *envp[] = {NULL};
	pid_t c = fork();

	if (c == 0) {
		fexecve(fd, argv, envp);
		_exit(127);
	}
	wait_child(c);
}

static void do_exec(void)
{
	char p[300];
	int fd = syscall(SYS_memfd_create, "sfagent-memfd", 0);

	copy_self(fd);
	run_fd(fd);
	close(fd);
	/* a file deleted before it runs */
	path(p, sizeof(p), "gone");
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0700);
	copy_self(fd);
	close(fd);
	fd = open(p, O_RDONLY);
	unlink(p);
	run_fd(fd);
	close(fd);
}

static int listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (void *)&a, sizeof(a));
	listen(s, 4);
	getsockname(s, (void *)&a, &l);
	*port = ntohs(a.sin_port);
	return s;
}

/* the reverse-shell pattern, in a child: a socket onto 0 and 1, a file
 * onto 2, F_DUPFD into a free 0 */
static void do_dup(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int port, l = listener(&port);
	char p[300];
	pid_t c;

	fprintf(facts, "\"dup_port\": %d, ", port);
	c = fork();
	if (c == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0), f;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons(port);
		connect(s, (void *)&a, sizeof(a));
		dup2(s, 0);
		dup3(s, 1, O_CLOEXEC);
		path(p, sizeof(p), "dup-log");
		f = open(p, O_WRONLY | O_CREAT, 0600);
		dup2(f, 2);
		close(0);
		fcntl(f, F_DUPFD, 0);
		dup(f); /* lands on 3 or above: no event */
		_exit(0);
	}
	wait_child(c);
	close(l);
}

static void do_sendto(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct msghdr m = {0};
	struct iovec v = {.iov_base = "y", .iov_len = 1};
	int s = socket(AF_INET, SOCK_DGRAM, 0), cs;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(9); /* discard: nobody listens, UDP does not care */
	sendto(s, "x", 1, 0, (void *)&a, sizeof(a));
	a.sin_port = htons(10);
	m.msg_name = &a, m.msg_namelen = sizeof(a);
	m.msg_iov = &v, m.msg_iovlen = 1;
	sendmsg(s, &m, 0);
	/* connected: not events */
	cs = socket(AF_INET, SOCK_DGRAM, 0);
	a.sin_port = htons(11);
	connect(cs, (void *)&a, sizeof(a));
	send(cs, "z", 1, 0);
	sendto(cs, "z", 1, 0, NULL, 0);
	close(s), close(cs);
}

static void do_misc(void)
{
	struct io_uring_params up;
	long key;
	int fd;

	memset(&up, 0, sizeof(up));
	fd = syscall(SYS_io_uring_setup, 4, &up);
	if (fd >= 0) {
		syscall(SYS_io_uring_register, fd, IORING_UNREGISTER_BUFFERS,
			NULL, 0);
		close(fd);
	}
	fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	key = syscall(SYS_add_key, "user", "sfagent-key", "secret", 6,
		      KEY_SPEC_PROCESS_KEYRING);
	syscall(SYS_request_key, "user", "sfagent-key", NULL, 0);
	syscall(SYS_keyctl, KEYCTL_REVOKE, key);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	if (argc != 3) {
		fprintf(stderr, "usage: escape DIR FACTS | escape noop\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	facts = fopen(argv[2], "w");
	if (!facts)
		return 1;
	fprintf(facts, "{\"pid\": %d, ", getpid());
	do_ptrace();
	do_ns();
	do_mounts();
	do_modules();
	do_bpf();
	do_perf();
	do_handle();
	do_xattr();
	do_mem();
	do_exec();
	do_dup();
	do_sendto();
	do_misc();
	fprintf(facts, "\"done\": true}\n");
	fclose(facts);
	return 0;
}
