// SPDX-License-Identifier: GPL-2.0
#include "ia32.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <zlib.h>

#include "util.h"

#if defined(__x86_64__)

#define INT80_FAULTED 3 /* the child's exit status after SIGSEGV */

static void on_segv(int sig)
{
	(void)sig;
	_exit(INT80_FAULTED);
}

/*
 * In a child: getpid (ia32 number 20) through `int $0x80`.  0: it ran,
 * INT80_FAULTED: no gate (SIGSEGV, caught, so no core dump), anything
 * else: something else answered.  With ia32 emulation off the kernel
 * installs no int 0x80 gate and points the 32-bit syscall and sysenter
 * entries at stubs that run nothing, all three from one switch
 * (ia32_enabled()); without CONFIG_IA32_EMULATION none exists.
 */
static int int80_child(void)
{
	struct sigaction sa = {.sa_handler = on_segv};
	sigset_t segv;
	long r;

	sigemptyset(&segv);
	sigaddset(&segv, SIGSEGV);
	sigprocmask(SIG_UNBLOCK, &segv, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	r = 20;
	__asm__ volatile("int $0x80" : "+a"(r) : : "memory");
	_exit(r == (long)getpid() ? 0 : 1);
}

static int int80_probe(void)
{
	int st;
	pid_t pid = fork();

	if (pid == 0)
		int80_child();
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* kstrtobool's words; -1: not a boolean */
static int parse_bool(const char *v)
{
	switch (v[0]) {
	case 'y':
	case 'Y':
	case '1':
	case 't':
	case 'T':
		return 1;
	case 'n':
	case 'N':
	case '0':
	case 'f':
	case 'F':
		return 0;
	case 'o':
	case 'O':
		return v[1] == 'n' || v[1] == 'N'   ? 1
		       : v[1] == 'f' || v[1] == 'F' ? 0
						    : -1;
	}
	return -1;
}

/* ia32_emulation= on the kernel's command line: 1, 0, or -1 (not there) */
static int cmdline_ia32(void)
{
	cleanup_fclose FILE *f = fopen("/proc/cmdline", "re");
	char buf[4096], *tok, *save = NULL;
	int v = -1;

	if (!f || !fgets(buf, sizeof(buf), f))
		return -1;
	for (tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (!strcmp(tok, "--"))
			break; /* init's arguments from here */
		if (!strncmp(tok, "ia32_emulation=", 15))
			v = parse_bool(tok + 15); /* the last one wins */
	}
	return v;
}

/*
 * The kernel's config, from /proc/config.gz or /boot/config-RELEASE:
 * -1 unknown; else bit 0 CONFIG_IA32_EMULATION=y, bit 1 its
 * _DEFAULT_DISABLED=y.
 */
static int config_ia32(void)
{
	struct utsname u;
	char path[300], line[256];
	gzFile g = gzopen("/proc/config.gz", "rb");
	int v = 0;

	if (!g && uname(&u) == 0) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		g = gzopen(path, "rb"); /* reads plain files too */
	}
	if (!g)
		return -1;
	while (gzgets(g, line, sizeof(line))) {
		if (!strcmp(line, "CONFIG_IA32_EMULATION=y\n"))
			v |= 1;
		else if (!strcmp(line,
				 "CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y\n"))
			v |= 2;
	}
	gzclose(g);
	return v;
}

bool ia32_syscalls_run(char *why, size_t n)
{
	const char *t = getenv("SFAGENT_TEST_IA32");
	int r, cfg, cmd;

	if (t && !strcmp(t, "absent")) {
		snprintf(
			why, n,
			"SFAGENT_TEST_IA32=absent: a kernel without ia32 emulation simulated (tests)");
		return false;
	}
	r = int80_probe();
	if (r != INT80_FAULTED) {
		snprintf(
			why, n,
			r == 0	? "int $0x80 ran getpid"
			: r < 0 ? "the int $0x80 probe could not run, so assumed"
				: "int $0x80 did not fault, so assumed");
		return true;
	}
	/* faulted: believed only if nothing says ia32 syscalls are on */
	cfg = config_ia32();
	cmd = cmdline_ia32();
	if (cmd == 1 && cfg != 0) {
		snprintf(
			why, n,
			"int $0x80 faulted, yet the command line has ia32_emulation on: assumed");
		return true;
	}
	if (cfg > 0 && (cfg & 1) && cmd != 0 && !(cfg & 2)) {
		snprintf(
			why, n,
			"int $0x80 faulted, yet the kernel's config enables ia32 emulation and the command line does not turn it off: assumed");
		return true;
	}
	snprintf(why, n, "int $0x80 faulted (no gate)%s",
		 cfg == 0   ? "; the kernel's config has no IA32_EMULATION"
		 : cmd == 0 ? "; ia32_emulation off on the command line"
		 : cfg > 0  ? "; the kernel's config disables it by default"
			    : "");
	return false;
}

#else /* not x86-64: no int $0x80; compat syscalls are sf_sys_exit's */

bool ia32_syscalls_run(char *why, size_t n)
{
	snprintf(why, n, "not x86-64: compat syscalls assumed");
	return true;
}

#endif
