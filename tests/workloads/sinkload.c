// SPDX-License-Identifier: GPL-2.0
/*
 * Deterministic load for the sink and format suites.
 *   sinkload opens N [USEC]   open("/dev/null") N times, USEC apart
 *   sinkload rate N PER_SEC   open("/dev/null") N times at PER_SEC a second,
 *                             paced by the clock (a burst each millisecond)
 *   sinkload known DIR PORT   one of each: create, rename, unlink, mkdir,
 *                             rmdir, socket, connect 127.0.0.1:PORT, kill 0
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int opens(long n, long usec)
{
	for (long i = 0; i < n; i++) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0)
			close(fd);
		if (usec)
			usleep(usec);
	}
	return 0;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

static int rate(long n, long per_sec)
{
	long long t0 = now_us();

	for (long i = 0; i < n; i++) {
		int fd = open("/dev/null", O_RDONLY);
		long long due = t0 + (long long)i * 1000000 / per_sec;

		if (fd >= 0)
			close(fd);
		/* ahead by a millisecond or more: sleep it off */
		if (due - now_us() > 1000)
			usleep(due - now_us());
	}
	return 0;
}

static int known(const char *dir, int port)
{
	char a[4096], b[4096], d[4096];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd;

	snprintf(a, sizeof(a), "%s/known-a", dir);
	snprintf(b, sizeof(b), "%s/known-b", dir);
	snprintf(d, sizeof(d), "%s/known-d", dir);
	fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0)
		return perror(a), 1;
	close(fd);
	if (rename(a, b) < 0 || unlink(b) < 0 || mkdir(d, 0700) < 0 || rmdir(d) < 0)
		return perror("file ops"), 1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return perror("socket"), 1;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	connect(fd, (struct sockaddr *)&sin, sizeof(sin)); /* refused is fine */
	close(fd);
	kill(getpid(), 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "opens") == 0)
		return opens(atol(argv[2]), argc > 3 ? atol(argv[3]) : 0);
	if (argc == 4 && strcmp(argv[1], "rate") == 0 && atol(argv[3]) > 0)
		return rate(atol(argv[2]), atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "known") == 0)
		return known(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: sinkload opens N [USEC] | rate N PER_SEC | known DIR PORT\n");
	return 2;
}
