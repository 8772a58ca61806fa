// SPDX-License-Identifier: GPL-2.0
/*
 * Workload of tests/52-exehash.bats: execs whose binary digest the agent
 * must get right (agent/exehash.c).
 *
 *   exehash memfd BIN ARG...    BIN's bytes copied into a memfd, fexecve'd
 *   exehash after MODE BIN      with the agent (the parent, sfagent -X)
 *                               stopped: run `BIN 1`, then MODE the file
 *                               (delete | rename: replaced by /bin/true |
 *                               chmod), then let the agent go on; exit-MODE:
 *                               `BIN 0`, gone before the file changes
 *   exehash loop N BIN          run BIN N times, one after the other
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what)
{
	fprintf(stderr, "exehash: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void copy(int from, int to)
{
	char buf[1 << 16];
	ssize_t n;

	while ((n = read(from, buf, sizeof(buf))) > 0)
		if (write(to, buf, (size_t)n) != n)
			die("write");
	if (n < 0)
		die("read");
}

static int run_memfd(char **argv)
{
	int src = open(argv[0], O_RDONLY | O_CLOEXEC);
	int fd = memfd_create("sfagent-exehash", MFD_CLOEXEC);

	if (src < 0 || fd < 0)
		die("memfd");
	copy(src, fd);
	fexecve(fd, argv, environ);
	die("fexecve");
	return 2;
}

/* the agent must be our parent: it is what gets stopped */
static pid_t agent_pid(void)
{
	char path[64], comm[32] = "";
	pid_t pid = getppid();
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f || !fgets(comm, sizeof(comm), f) || strncmp(comm, "sfagent", 7)) {
		fprintf(stderr, "exehash: the parent is not sfagent -X\n");
		exit(2);
	}
	fclose(f);
	return pid;
}

static int run_after(const char *mode, const char *bin)
{
	bool exited = !strncmp(mode, "exit-", 5);
	char *args[] = {(char *)bin, exited ? "0" : "1", NULL};
	pid_t agent = agent_pid(), child;
	char tmp[4096];
	int status = 0;

	if (kill(agent, SIGSTOP) < 0)
		die("stop the agent");
	if (posix_spawn(&child, bin, NULL, NULL, args, environ))
		die("spawn");
	if (exited) {
		/* gone (reaped) before the file changes */
		if (waitpid(child, &status, 0) < 0)
			die("wait");
		child = 0;
		mode += 5;
	}
	/* the exec is done once /proc/PID/exe is the binary */
	for (int i = 0; child && i < 1000; i++) {
		char exe[64], target[4096];
		ssize_t n;

		snprintf(exe, sizeof(exe), "/proc/%d/exe", child);
		n = readlink(exe, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = 0, !strcmp(target, bin)))
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	if (!strcmp(mode, "delete")) {
		if (unlink(bin) < 0)
			die("unlink");
	} else if (!strcmp(mode, "rename")) {
		int from = open("/bin/true", O_RDONLY), to;

		snprintf(tmp, sizeof(tmp), "%s.new", bin);
		to = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
		if (from < 0 || to < 0)
			die("copy /bin/true");
		copy(from, to);
		close(from);
		close(to);
		if (rename(tmp, bin) < 0)
			die("rename");
	} else if (!strcmp(mode, "chmod")) {
		if (chmod(bin, 0700) < 0)
			die("chmod");
	} else {
		fprintf(stderr, "exehash: unknown mode `%s`\n", mode);
		kill(agent, SIGCONT);
		return 2;
	}
	if (kill(agent, SIGCONT) < 0)
		die("continue the agent");
	if (child && waitpid(child, &status, 0) < 0)
		die("wait");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int run_loop(long n, const char *bin)
{
	char *args[] = {(char *)bin, NULL};

	for (long i = 0; i < n; i++) {
		pid_t child;
		int status;

		if (posix_spawn(&child, bin, NULL, NULL, args, environ))
			die("spawn");
		if (waitpid(child, &status, 0) < 0)
			die("wait");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "memfd"))
		return run_memfd(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "after"))
		return run_after(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "loop"))
		return run_loop(strtol(argv[2], NULL, 10), argv[3]);
	fprintf(stderr,
		"usage: exehash memfd BIN ARG... | after [exit-]delete|rename|chmod BIN | loop N BIN\n");
	return 2;
}
