// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark load generator: syscall loops that time themselves, so a
 * tracer's start-up never counts in a figure.
 *
 *   loadgen kill N [RATE [PROCS]]      kill(getpid(), 0) N times (signal.kill)
 *   loadgen openfail N [RATE [PROCS]]  open() of a missing path (file.open)
 *   loadgen orc N FILE [RATE [PROCS]]        open/read/close of FILE
 *   loadgen openclose N FILE [RATE [PROCS]]  open/close of FILE
 *   loadgen getpid N             getpid() through syscall(2)
 *   loadgen forkexec N PROG      fork + exec PROG noop + wait
 *   loadgen noop                 exit 0
 *   loadgen time CMD [ARG...]    run CMD, time it
 *
 * RATE > 0 paces the loop to that many calls per second (checked every
 * 256 calls); PROCS > 1 shares N and RATE among that many processes.
 * Prints one line on stdout:
 *   ops=N elapsed_ns=N rate=N user_ns=N sys_ns=N
 * where user/sys are this process's own CPU time (children excluded, except
 * for `time`, which reports the children's).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ull + tv.tv_usec * 1000ull;
}

static void pace(uint64_t start, uint64_t done, double rate)
{
	uint64_t due, t;

	if (rate <= 0)
		return;
	due = start + (uint64_t)(done / rate * 1e9);
	t = now_ns();
	if (t < due) {
		struct timespec ts = { (due - t) / 1000000000ull,
				       (due - t) % 1000000000ull };

		nanosleep(&ts, NULL);
	}
}

/* PROCS > 1: fork PROCS - 1 more processes, each doing *n / PROCS of the
 * work; *total is what all do.  Returns 1 in the first (which reports),
 * 0 in the others.  The children's CPU time joins ours once reaped. */
static int split(int procs, uint64_t *n, uint64_t *total)
{
	if (procs <= 1)
		return 1;
	*n /= procs;
	*total = *n * procs;
	for (int p = 1; p < procs; p++)
		if (fork() == 0)
			return 0;
	return 1;
}

static void report(uint64_t ops, uint64_t start, int who)
{
	uint64_t el = now_ns() - start;
	struct rusage ru;

	getrusage(who, &ru);
	if (who == RUSAGE_SELF) {
		struct rusage c;

		getrusage(RUSAGE_CHILDREN, &c);
		ru.ru_utime.tv_sec += c.ru_utime.tv_sec;
		ru.ru_utime.tv_usec += c.ru_utime.tv_usec;
		ru.ru_stime.tv_sec += c.ru_stime.tv_sec;
		ru.ru_stime.tv_usec += c.ru_stime.tv_usec;
	}
	printf("ops=%llu elapsed_ns=%llu rate=%.0f user_ns=%llu sys_ns=%llu\n",
	       (unsigned long long)ops, (unsigned long long)el,
	       el ? ops * 1e9 / el : 0, (unsigned long long)tv_ns(ru.ru_utime),
	       (unsigned long long)tv_ns(ru.ru_stime));
	fflush(stdout);
}

static int usage(void)
{
	fprintf(stderr, "usage: loadgen kill|openfail|orc|openclose|rw|getpid|forkexec|noop|time ...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 0, i, start, total;
	int children = 1;
	double rate = 0;
	char buf[4096];
	pid_t me = getpid();

	if (!strcmp(mode, "noop"))
		return 0;
	if (!strcmp(mode, "time")) {
		pid_t c;
		int st;

		if (argc < 3)
			return usage();
		start = now_ns();
		c = fork();
		if (c == 0) {
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		if (c < 0 || waitpid(c, &st, 0) < 0)
			return 1;
		report(1, start, RUSAGE_CHILDREN);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	if (argc < 3)
		return usage();
	start = now_ns();
	total = n;
	if (!strcmp(mode, "kill") || !strcmp(mode, "openfail")) {
		bool kill_mode = mode[0] == 'k';
		int procs = argc > 4 ? atoi(argv[4]) : 1;

		rate = argc > 3 ? atof(argv[3]) : 0;
		rate /= procs > 1 ? procs : 1;
		children = split(procs, &n, &total);
		for (i = 0; i < n; i++) {
			if (kill_mode)
				kill(me, 0);
			else
				open("/nonexistent/sfagent-bench", O_RDONLY);
			if ((i & 255) == 255)
				pace(start, i + 1, rate);
		}
		if (total != n) {
			if (!children)
				return 0;
			while (wait(NULL) > 0)
				;
		}
	} else if (!strcmp(mode, "orc") || !strcmp(mode, "openclose")) {
		bool rd = mode[0] == 'o' && mode[1] == 'r';

		if (argc < 4)
			return usage();
		int procs = argc > 5 ? atoi(argv[5]) : 1;

		rate = argc > 4 ? atof(argv[4]) : 0;
		rate /= procs > 1 ? procs : 1;
		children = split(procs, &n, &total);
		for (i = 0; i < n; i++) {
			int fd = open(argv[3], O_RDONLY);

			if (fd < 0) {
				perror(argv[3]);
				return 1;
			}
			if (rd && read(fd, buf, sizeof(buf)) < 0)
				return 1;
			close(fd);
			if ((i & 255) == 255)
				pace(start, i + 1, rate);
		}
		if (total != n) {
			if (!children)
				return 0;
			while (wait(NULL) > 0)
				;
		}
	} else if (!strcmp(mode, "rw")) {
		/* one fd, N x (pwrite + pread) of 64 bytes: -F sysflow's
		 * counting on every one, no event */
		int fd = argc > 3 ? open(argv[3], O_RDWR | O_CREAT, 0600) : -1;

		if (fd < 0)
			return usage();
		for (i = 0; i < n; i++)
			if (pwrite(fd, buf, 64, 0) != 64 ||
			    pread(fd, buf, 64, 0) != 64)
				return 1;
		close(fd);
		total = 2 * n;
	} else if (!strcmp(mode, "getpid")) {
		for (i = 0; i < n; i++)
			syscall(SYS_getpid);
	} else if (!strcmp(mode, "forkexec")) {
		if (argc < 4)
			return usage();
		for (i = 0; i < n; i++) {
			pid_t c = fork();
			int st;

			if (c == 0) {
				execl(argv[3], argv[3], "noop", (char *)NULL);
				_exit(127);
			}
			if (c < 0 || waitpid(c, &st, 0) < 0 || st != 0)
				return 1;
		}
	} else {
		return usage();
	}
	report(total, start, RUSAGE_SELF);
	return 0;
}
