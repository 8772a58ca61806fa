// SPDX-License-Identifier: GPL-2.0
#include "seccomp_self.h"

#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

/*
 * What the daemon does after start-up, and so what it may call: serve the
 * hook's unix socket (accept, SO_PEERCRED, recv/send), read OCI bundles and
 * /proc, set and remove trusted.* xattrs on cgroup directories, update BPF
 * maps and attach/detach programs (bpf, perf_event_open, ioctl), poll the
 * ring buffer (epoll), write stream files (openat in the output directory,
 * rename for rotation), run sink threads (clone3, futex) that speak MQTT and
 * HTTP over TCP/TLS (socket, connect, poll, getrandom) and resolve names.
 * clone stays whole: at exit the probe forks a child that only closes
 * tracepoint links (agent/probe.c), and a child can exec nothing either.
 * Not here, so denied: exec, ptrace, process_vm_*, mount and the new
 * mount API, namespaces (unshare, setns), chroot/pivot_root, module and kexec
 * loading, keyrings, userfaultfd, io_uring, personality, reboot, clock
 * setting, setuid and friends, capset after the drop.
 */
static const char *const allowed[] = {
	/* files and directories */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"open",
	"openat",
	"openat2",
	"close",
	"close_range",
	"stat",
	"fstat",
	"lstat",
	"newfstatat",
	"statx",
	"statfs",
	"fstatfs",
	"lseek",
	"access",
	"faccessat",
	"faccessat2",
	"readlink",
	"readlinkat",
	"getdents64",
	"mkdir",
	"mkdirat",
	"unlink",
	"unlinkat",
	"rename",
	"renameat",
	"renameat2",
	"rmdir",
	"ftruncate",
	"fsync",
	"fdatasync",
	"fcntl",
	"dup",
	"dup2",
	"dup3",
	"pipe",
	"pipe2",
	"ioctl",
	"flock",
	"fchmod",
	"fchmodat",
	"umask",
	"chdir",
	"fchdir",
	"getcwd",
	"fadvise64",
	"getxattr",
	"lgetxattr",
	"fgetxattr",
	"setxattr",
	"lsetxattr",
	"fsetxattr",
	"removexattr",
	"lremovexattr",
	"fremovexattr",
	"listxattr",
	"llistxattr",
	"flistxattr",
	"utimensat",
	"sendfile",
	/* memory */
	"mmap",
	"munmap",
	"mprotect",
	"madvise",
	"brk",
	"mremap",
	/* threads, signals, time */
	"futex",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"clone",
	"clone3",
	"exit",
	"exit_group",
	"gettid",
	"getpid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getgroups",
	"getresuid",
	"getresgid",
	"kill",
	"tgkill",
	"tkill",
	/* the old ids of running tasks: a pidfd is task storage's key, and
	 * signal 0 says its task still lives (agent/credseed.c) */
	"pidfd_open",
	"pidfd_send_signal",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"rt_sigtimedwait",
	"sigaltstack",
	"restart_syscall",
	"set_tid_address",
	"sched_yield",
	"sched_getaffinity",
	"prctl",
	"prlimit64",
	"getrlimit",
	"getrusage",
	"wait4",
	"waitid",
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	"uname",
	"sysinfo",
	"getrandom",
	"membarrier",
	/* event loop */
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"signalfd4",
	"eventfd2",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	/* sockets: the hook's, the sinks' */
	"socket",
	"socketpair",
	"connect",
	"accept",
	"accept4",
	"bind",
	"listen",
	"getsockname",
	"getpeername",
	"setsockopt",
	"getsockopt",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"shutdown",
	/* BPF: map updates, programs attached and detached on demand */
	"bpf",
	"perf_event_open",
	/* a stricter filter may still be stacked (no widening is possible) */
	"seccomp",
};

/* The capabilities kept, each for a reason (docs/hook.md). */
static const struct {
	int cap;
	const char *name;
} kept_caps[] = {
	{CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, /* trusted.* xattrs; BPF before 5.8 */
	{CAP_BPF, "CAP_BPF"}, /* map updates, program attach/detach */
	{CAP_PERFMON, "CAP_PERFMON"}, /* tracepoint attach */
	{CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"}, /* bundles, /proc */
	{CAP_SYS_PTRACE, "CAP_SYS_PTRACE"}, /* /proc/PID/{exe,root} */
	{CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE"}, /* memlock before 5.11 */
};
#define NKEPT (sizeof(kept_caps) / sizeof(kept_caps[0]))

/* what status shows: set once the sandbox is in force */
static char kept_names[256];
static unsigned allowed_installed;

#define DENIED_MAX 1024
static unsigned long denied_count[DENIED_MAX];
static unsigned long denied_reported[DENIED_MAX];
static unsigned long denied_total;

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	ucontext_t *uc = uctx;
	unsigned nr = (unsigned)si->si_syscall;

	(void)sig;
	__atomic_fetch_add(&denied_total, 1, __ATOMIC_RELAXED);
	if (nr < DENIED_MAX)
		__atomic_fetch_add(&denied_count[nr], 1, __ATOMIC_RELAXED);
		/* the call returns EPERM, as an ERRNO action would */
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
	uc->uc_mcontext.regs[0] = (unsigned long long)-EPERM;
#else
#error "seccomp_self: set the syscall return register for this architecture"
#endif
}

static bool cap_kept(int cap)
{
	for (size_t i = 0; i < NKEPT; i++)
		if (kept_caps[i].cap == cap)
			return true;
	return false;
}

static int drop_caps(struct sf_error **err)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {};
	char kept[256];
	size_t o = 0;

	if (syscall(SYS_capget, &h, d) < 0)
		return sf_fail(err, errno, "sandbox: capget: %s",
			       strerror(errno));
	/* the bounding set first: dropping it needs CAP_SETPCAP */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!cap_kept(cap) && prctl(PR_CAPBSET_READ, cap) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap) < 0)
			return sf_fail(
				err, errno,
				"sandbox: drop capability %d from the bounding set: %s",
				cap, strerror(errno));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		__u32 keep = 0;

		for (int b = 0; b < 32; b++)
			if (cap_kept(i * 32 + b))
				keep |= 1u << b;
		d[i].permitted &= keep;
		d[i].effective &= keep;
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return sf_fail(err, errno, "sandbox: capset: %s",
			       strerror(errno));
	kept[0] = 0;
	for (size_t i = 0; i < NKEPT; i++) {
		int c = kept_caps[i].cap;

		if (d[c / 32].permitted & (1u << (c % 32)))
			o += (size_t)snprintf(kept + o, sizeof(kept) - o, " %s",
					      kept_caps[i].name);
	}
	log_info("sandbox: capabilities kept:%s", kept[0] ? kept : " none");
	snprintf(kept_names, sizeof(kept_names), "%s", kept[0] ? kept + 1 : "");
	return 0;
}

static int install_filter(struct sf_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	struct sigaction sa = {.sa_sigaction = on_sigsys,
			       .sa_flags = SA_SIGINFO};
	sigset_t sys;
	int rc = 0;

	if (!ctx)
		return sf_fail(err, ENOMEM,
			       "sandbox: libseccomp could not start a filter");
	sigaction(SIGSYS, &sa, NULL);
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		/* names another architecture lacks are skipped */
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) {
			rc = sf_fail(err, 0, "sandbox: libseccomp refuses `%s`",
				     allowed[i]);
			goto out;
		}
	}
	/* every thread, the sinks' too */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (seccomp_load(ctx) < 0)
		rc = sf_fail(
			err, errno,
			"sandbox: install the seccomp filter: %s (run with --no-sandbox to go without)",
			strerror(errno));
	else {
		allowed_installed = sizeof(allowed) / sizeof(allowed[0]);
		log_info(
			"sandbox: seccomp allow-list of %zu syscalls installed, others fail with EPERM and are logged",
			sizeof(allowed) / sizeof(allowed[0]));
	}
out:
	seccomp_release(ctx);
	return rc;
}

int seccomp_self_sandbox(struct sf_error **err)
{
	if (drop_caps(err) < 0 || install_filter(err) < 0)
		return -1;
	return 0;
}

void seccomp_self_report(void)
{
	static unsigned long total_reported;
	unsigned long total = seccomp_self_denied();

	if (total == total_reported)
		return;
	total_reported = total;
	for (unsigned nr = 0; nr < DENIED_MAX; nr++) {
		unsigned long n =
			__atomic_load_n(&denied_count[nr], __ATOMIC_RELAXED);
		char *name;

		if (n == denied_reported[nr])
			continue;
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
							(int)nr);
		log_warn(
			"sandbox: denied syscall %s (%u), %lu calls so far: the agent's seccomp filter refused it with EPERM",
			name ? name : "?", nr, n);
		free(name);
		denied_reported[nr] = n;
	}
}

unsigned long seccomp_self_denied(void)
{
	return __atomic_load_n(&denied_total, __ATOMIC_RELAXED);
}

void seccomp_self_test(void)
{
	/* personality(0xffffffff) only queries: harmless, and allowed to
	 * anyone, so EPERM can only come from the filter. */
	long r = syscall(SYS_personality, 0xffffffffUL);

	if (r == -1 && errno == EPERM)
		log_warn(
			"sandbox self-test: personality() failed with EPERM: denied as designed");
	else
		log_error(
			"sandbox self-test: personality() returned %ld: the sandbox is NOT in force",
			r);
	seccomp_self_report();
}

void seccomp_self_list(FILE *f)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		fprintf(f, "%s\n", allowed[i]);
}

unsigned seccomp_self_allowed(void)
{
	return allowed_installed;
}

const char *seccomp_self_kept_caps(void)
{
	return kept_names;
}
