// SPDX-License-Identifier: GPL-2.0
/*
 * compat32 DIR: file work through 32-bit syscalls (int $0x80) from a 64-bit
 * program, as a workload hiding from 64-bit-only tracing would do it.
 * The strings live in static storage, below 4 GiB in this non-PIE binary.
 * The directory is opened by an ia32 openat(AT_FDCWD), whose 32-bit dirfd
 * the agent must keep negative.  Last, an ia32 execve of DIR/nosuch-int80
 * that fails (ENOENT), with a 32-bit argv (tests/10-core.bats: a failed
 * exec's argv).
 */
#include <stdio.h>
#include <string.h>

static char dir_path[256], file_path[256], exec_path[256];
static char arg0[] = "nosuch-int80", arg1[] = "x y";
static unsigned int argv32[3];

static long int80(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory");
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) > 200)
		return 2;
	snprintf(dir_path, sizeof(dir_path), "%s/int80-dir", argv[1]);
	snprintf(file_path, sizeof(file_path), "%s/int80-file", argv[1]);
	snprintf(exec_path, sizeof(exec_path), "%s/nosuch-int80", argv[1]);
	argv32[0] = (unsigned int)(unsigned long)arg0;
	argv32[1] = (unsigned int)(unsigned long)arg1;
	if (int80(39, (long)dir_path, 0750, 0) < 0) /* ia32 mkdir */
		return 3;
	/* openat(AT_FDCWD, dir, O_RDONLY|O_DIRECTORY): a 32-bit -100 */
	long dfd = int80(295, -100, (long)dir_path, 0200000);
	if (dfd < 0)
		return 6;
	int80(6, dfd, 0, 0); /* close */
	long fd = int80(5, (long)file_path, 0101, 0600); /* open O_WRONLY|O_CREAT */
	if (fd < 0)
		return 4;
	int80(6, fd, 0, 0);		     /* close */
	int80(10, (long)file_path, 0, 0);    /* unlink */
	int80(40, (long)dir_path, 0, 0);     /* rmdir */
	if (int80(11, (long)exec_path, (long)argv32, 0) != -2) /* execve */
		return 5;
	return 0;
}
