// SPDX-License-Identifier: GPL-2.0
/*
 * credwait GO MODE: the setuid family's old ids, for a task that was
 * already running when its stream began (tests/23-restart.bats) and for
 * ia32 calls (tests/10-core.bats).  Raw syscalls, one thread each (glibc's
 * set*id would change every thread's ids):
 *   before GO exists: a second thread is started, then the main thread
 *   sets its gids to 4321 (ia32 MODE: by int $0x80), the second thread
 *   keeping gid 0;
 *   then: the main thread sets its uids to 4321 (setresuid, ia32: by int
 *   $0x80), the second thread its uids to 5432 (native setresuid).
 * GO "-": no wait.  Static (it runs in busybox containers).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *go;
static int ia32;

static long int80(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory");
	return r;
}

static void wait_go(void)
{
	struct stat st;

	while (strcmp(go, "-") && stat(go, &st) < 0)
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
}

static void *second(void *arg)
{
	(void)arg;
	wait_go();
	return (void *)(long)syscall(SYS_setresuid, 5432, 5432, 5432);
}

int main(int argc, char **argv)
{
	pthread_t t;
	void *r2;
	long r;

	if (argc != 3)
		return 2;
	go = argv[1];
	ia32 = !strcmp(argv[2], "ia32");
	if (pthread_create(&t, NULL, second, NULL) != 0)
		return 3;
	/* ia32 setresgid32 is 210, setresuid32 208 */
	r = ia32 ? int80(210, 4321, 4321, 4321)
		 : syscall(SYS_setresgid, 4321, 4321, 4321);
	if (r != 0)
		return 3;
	wait_go();
	r = ia32 ? int80(208, 4321, 4321, 4321)
		 : syscall(SYS_setresuid, 4321, 4321, 4321);
	if (pthread_join(t, &r2) != 0 || r != 0 || r2 != NULL)
		return 4;
	return 0;
}
