// SPDX-License-Identifier: GPL-2.0
/*
 * execfail DIR LONG: execs that fail, with known arguments (tests/10-core.bats).
 *   execve of DIR/nosuch-execve (ENOENT) with "two words" and LONG (longer than
 *   the agent's argv cut) and one argument after it;
 *   execveat(AT_FDCWD, DIR/nosuch-execveat) (ENOENT) with three arguments;
 *   execve of /bin/true with argv pointing to unmapped memory (EFAULT), and
 *   with an argv whose second pointer is unmapped (EFAULT).
 * Exits 0 when every exec failed as expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *unmapped(void)
{
	char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);

	if (p == MAP_FAILED || munmap(p, 4096) < 0)
		return NULL;
	return p;
}

static int expect(long r, int err, const char *what)
{
	if (r != -1 || errno != err) {
		fprintf(stderr, "execfail: %s: %ld (errno %d), want errno %d\n",
			what, r, errno, err);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[512], path_at[512];
	char *env[] = {NULL};
	char *gap = unmapped();
	int bad = 0;

	if (argc != 3 || !gap)
		return 2;
	snprintf(path, sizeof(path), "%s/nosuch-execve", argv[1]);
	snprintf(path_at, sizeof(path_at), "%s/nosuch-execveat", argv[1]);
	{
		char *args[] = {"nosuch-execve", "two words", argv[2], "after",
				NULL};

		bad |= expect(execve(path, args, env), ENOENT, "execve");
	}
	{
		char *args[] = {"nosuch-execveat", "a b", "", NULL};

		bad |= expect(syscall(SYS_execveat, AT_FDCWD, path_at, args,
				      env, 0),
			      ENOENT, "execveat");
	}
	bad |= expect(execve("/bin/true", (char **)gap, env), EFAULT,
		      "execve, argv unmapped");
	{
		char *args[] = {"true", gap, NULL};

		bad |= expect(execve("/bin/true", args, env), EFAULT,
			      "execve, argv[1] unmapped");
	}
	return bad;
}
