// SPDX-License-Identifier: GPL-2.0
#include "cgdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"

#include <ftw.h>

/* Cgroups left by an sfagent that was killed (x-PID, agent-PID whose PID is
 * gone): empty ones are removed, so they do not pile up. */
static void sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *dash = strchr(de->d_name, '-');
		char *end;
		long pid;

		if (!dash || (strncmp(de->d_name, "x-", 2) != 0 &&
			      strncmp(de->d_name, "agent-", 6) != 0))
			continue;
		pid = strtol(dash + 1, &end, 10);
		if (*end || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
			log_info("removed stale cgroup %s/%s", parent,
				 de->d_name);
	}
	closedir(d);
}

int cgdir_create(struct cgdir *c, const char *name, struct sf_error **err)
{
	cleanup_free char *mnt = NULL, *parent = NULL, *ev = NULL;

	memset(c, 0, sizeof(*c));
	c->events_fd = -1;
	if (cg2_mount_point(&mnt, err) < 0)
		return -1;
	parent = xasprintf("%s/sfagent", mnt);
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return sf_fail(err, errno, "create cgroup `%s`", parent);
	sweep_stale(parent);
	c->path = xasprintf("%s/%s", parent, name);
	if (mkdir(c->path, 0755) < 0) {
		sf_fail(err, errno, "create cgroup `%s`", c->path);
		free(steal_pointer(&c->path));
		return -1;
	}
	if (cg2_id(c->path, &c->id, err) < 0) {
		cgdir_remove(c);
		return -1;
	}
	ev = xasprintf("%s/cgroup.events", c->path);
	c->events_fd = open(ev, O_RDONLY | O_CLOEXEC);
	if (c->events_fd < 0) {
		sf_fail(err, errno, "open `%s`", ev);
		cgdir_remove(c);
		return -1;
	}
	return 0;
}

int cgdir_enter_self(const char *dir)
{
	char path[4096];
	int fd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write(fd, "0", 1) == 1 ? 0 : -errno;
	close(fd);
	return r;
}

bool cgdir_populated(struct cgdir *c)
{
	char buf[256];
	ssize_t n;

	if (c->events_fd < 0)
		return false;
	n = pread(c->events_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return true; /* cannot tell: keep waiting for exit */
	buf[n] = 0;
	return !strstr(buf, "populated 0");
}

static int signal_procs(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	cleanup_free char *procs = NULL;
	cleanup_fclose FILE *f = NULL;
	int pid;

	if (flag != FTW_D)
		return 0;
	procs = xasprintf("%s/cgroup.procs", path);
	f = fopen(procs, "re");
	while (f && fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGTERM);
	return 0;
}

void cgdir_terminate(struct cgdir *c)
{
	/* by cgroup membership, never by a pid that may have been reused */
	nftw(c->path, signal_procs, 16, FTW_PHYS | FTW_MOUNT);
}

void cgdir_kill(struct cgdir *c)
{
	cleanup_free char *path = xasprintf("%s/cgroup.kill", c->path);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "1", 1) != 1)
		log_warn("cannot kill the tasks of cgroup `%s`: %s", c->path,
			 strerror(errno));
}

static int rmdir_entry(const char *path, const struct stat *st, int flag,
		       struct FTW *ftw)
{
	if (flag == FTW_DP)
		rmdir(path);
	return 0;
}

/* The workload may have made cgroups of its own below ours. */
static void remove_children(const char *dir)
{
	nftw(dir, rmdir_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void cgdir_remove(struct cgdir *c)
{
	if (c->events_fd >= 0)
		close(c->events_fd);
	c->events_fd = -1;
	if (c->path) {
		/* Tasks leave a cgroup a moment after they are reaped; retry
		 * briefly rather than leave an empty directory behind. */
		for (int i = 0; i < 200 && rmdir(c->path) < 0 && errno == EBUSY;
		     i++) {
			remove_children(c->path);
			nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
		}
		if (access(c->path, F_OK) == 0)
			log_warn("cannot remove cgroup `%s`: %s", c->path,
				 strerror(errno));
	}
	free(c->path);
	c->path = NULL;
}
