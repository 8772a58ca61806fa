// SPDX-License-Identifier: GPL-2.0
#include "credseed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* 6.9: a pidfd for a thread, not a process */
#endif

/* "Uid:\t<real>\t<effective>\t<saved>\t<fs>" of /proc/<tid>/status */
static int status_ids(pid_t tid, uint32_t ids[4])
{
	cleanup_fclose FILE *f = NULL;
	char path[64], line[256];
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (found != 3 && fgets(line, sizeof(line), f)) {
		unsigned r, e;

		if (sscanf(line, "Uid: %u %u", &r, &e) == 2)
			ids[0] = r, ids[1] = e, found |= 1;
		else if (sscanf(line, "Gid: %u %u", &r, &e) == 2)
			ids[2] = r, ids[3] = e, found |= 2;
	}
	return found == 3 ? 0 : -EPROTO;
}

static int seed_tid(struct probe *p, pid_t tid)
{
	cleanup_close int pidfd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	uint32_t ids[4];
	int r;

	if (pidfd < 0)
		return -errno;
	r = status_ids(tid, ids);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	/* the status read was this task's, not a reuse of its tid, if the
	 * task the pidfd holds is still alive now */
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return -errno;
	return probe_seed_ids(p, pidfd, ids);
}

static void count(struct credseed_count *c, int r, pid_t tid)
{
	if (r == 0) {
		c->seeded++;
	} else if (r == -ESRCH) {
		c->gone++;
	} else {
		if (!c->failed)
			log_debug("old ids of thread %d not seeded: %s",
				  (int)tid, strerror(-r));
		c->failed++;
	}
}

static void seed_dir(struct probe *p, int dfd, int depth,
		     struct credseed_count *c)
{
	int tfd = openat(dfd, "cgroup.threads", O_RDONLY | O_CLOEXEC);
	cleanup_fclose FILE *f = tfd >= 0 ? fdopen(tfd, "re") : NULL;
	DIR *d;
	struct dirent *de;
	long tid;

	if (tfd >= 0 && !f)
		close(tfd);
	while (f && fscanf(f, "%ld", &tid) == 1)
		count(c, seed_tid(p, (pid_t)tid), (pid_t)tid);
	if (depth >= SF_MAX_CGROUP_DEPTH)
		return;
	d = fdopendir(dup(dfd));
	if (!d)
		return;
	while ((de = readdir(d))) {
		cleanup_close int sub = -1;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dfd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			seed_dir(p, sub, depth + 1, c);
	}
	closedir(d);
}

void credseed_cgroup(struct probe *p, const char *dir, struct credseed_count *c)
{
	cleanup_close int dfd =
		open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	memset(c, 0, sizeof(*c));
	if (dfd < 0) {
		log_debug("old ids not seeded: %s: %s", dir, strerror(errno));
		c->failed++;
		return;
	}
	seed_dir(p, dfd, 0, c);
}
