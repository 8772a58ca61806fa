// SPDX-License-Identifier: GPL-2.0
/* The host's view of a container's path: see hostpath.h. */
#include "hostpath.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

struct hp_mount {
	uint64_t dev;
	char *root; /* inside the file system: "/" or "/var/lib/x" */
	char *mnt; /* where the host sees it */
	size_t root_len;
};

static struct {
	pthread_mutex_t mu;
	bool enabled;
	char *mountinfo; /* the file's path */
	uint32_t host_ns;
	struct hp_mount *m;
	size_t n;
	uint64_t loaded_ms;
} hp = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
		    r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 |
				      (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

int hostpath_parse_line(char *line, uint64_t *dev, char **root, char **mnt)
{
	char *f[5], *save = NULL, *p = line;
	unsigned maj, min;
	char end;

	for (int i = 0; i < 5; i++) {
		f[i] = strtok_r(p, " \n", &save);
		p = NULL;
		if (!f[i])
			return -1;
	}
	if (sscanf(f[2], "%u:%u%c", &maj, &min, &end) != 2 || f[3][0] != '/' ||
	    f[4][0] != '/')
		return -1;
	unescape(f[3]);
	unescape(f[4]);
	*dev = (uint64_t)maj << 20 | (min & 0xfffff);
	*root = f[3];
	*mnt = f[4];
	return 0;
}

static void table_free(void)
{
	for (size_t i = 0; i < hp.n; i++) {
		free(hp.m[i].root);
		free(hp.m[i].mnt);
	}
	free(hp.m);
	hp.m = NULL;
	hp.n = 0;
}

static int table_load(void)
{
	cleanup_fclose FILE *f = fopen(hp.mountinfo, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0, alloc = 0;

	hp.loaded_ms = now_ms();
	if (!f)
		return -1;
	table_free();
	while (getline(&line, &cap, f) > 0) {
		uint64_t dev;
		char *root, *mnt;

		if (hostpath_parse_line(line, &dev, &root, &mnt) < 0)
			continue;
		if (hp.n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			hp.m = xrealloc(hp.m, alloc * sizeof(*hp.m));
		}
		/* a root of "/" matches every path: kept as "" */
		hp.m[hp.n].dev = dev;
		hp.m[hp.n].root = xstrdup(strcmp(root, "/") ? root : "");
		hp.m[hp.n].root_len = strlen(hp.m[hp.n].root);
		hp.m[hp.n].mnt = xstrdup(mnt);
		hp.n++;
	}
	return 0;
}

int hostpath_enable(const char *proc_dir)
{
	cleanup_free char *ns = xasprintf("%s/ns/mnt", proc_dir);
	struct stat st;
	int ret;

	pthread_mutex_lock(&hp.mu);
	free(hp.mountinfo);
	hp.mountinfo = xasprintf("%s/mountinfo", proc_dir);
	hp.host_ns = stat(ns, &st) == 0 ? (uint32_t)st.st_ino : 0;
	ret = table_load();
	hp.enabled = ret == 0;
	pthread_mutex_unlock(&hp.mu);
	return ret;
}

void hostpath_disable(void)
{
	pthread_mutex_lock(&hp.mu);
	hp.enabled = false;
	table_free();
	free(hp.mountinfo);
	hp.mountinfo = NULL;
	pthread_mutex_unlock(&hp.mu);
}

bool hostpath_is_host_ns(uint32_t mnt_ns)
{
	return hp.host_ns && mnt_ns == hp.host_ns;
}

/* The mount of dev whose root is the longest prefix of fspath; the first
 * in the table (the oldest) among equals. */
static const struct hp_mount *find(uint64_t dev, const char *fspath)
{
	const struct hp_mount *best = NULL;

	for (size_t i = 0; i < hp.n; i++) {
		const struct hp_mount *m = &hp.m[i];

		if (m->dev != dev || strncmp(fspath, m->root, m->root_len) ||
		    (fspath[m->root_len] && fspath[m->root_len] != '/'))
			continue;
		if (!best || m->root_len > best->root_len)
			best = m;
	}
	return best;
}

int hostpath_join(char *out, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb >= cap)
		return -1;
	memcpy(out, a, la);
	memcpy(out + la, b, lb + 1);
	return (int)(la + lb);
}

int hostpath_lookup(uint64_t dev, const char *fspath, char *out, size_t cap)
{
	const struct hp_mount *m;
	int n = -1;

	pthread_mutex_lock(&hp.mu);
	if (!hp.enabled)
		goto out;
	if (now_ms() - hp.loaded_ms >= HOSTPATH_MAX_AGE_MS)
		table_load();
	m = find(dev, fspath);
	if (!m && now_ms() - hp.loaded_ms >= HOSTPATH_MISS_MS) {
		table_load();
		m = find(dev, fspath);
	}
	if (!m)
		goto out;
	{
		const char *rest = fspath + m->root_len;
		bool slash_root = !strcmp(m->mnt, "/");

		/* "/" + "/etc" is "/etc"; "/mnt" + "" is "/mnt" */
		n = hostpath_join(out, cap, slash_root && *rest ? "" : m->mnt,
				  rest);
	}
out:
	pthread_mutex_unlock(&hp.mu);
	return n;
}
