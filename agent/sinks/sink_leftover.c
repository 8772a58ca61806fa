// SPDX-License-Identifier: GPL-2.0
/* Replaying spools an earlier agent left behind: see sink_leftover.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "options.h"
#include "sink_leftover.h"
#include "sink_net.h"

#define LEFTOVER_MAX 256

struct sink_leftover {
	struct sink *sinks[LEFTOVER_MAX];
	char *keys[LEFTOVER_MAX];
	size_t n;
};

/* Some agent holds KEY.lock: the spool is in use. */
static bool in_use(int dirfd, const char *key)
{
	cleanup_free char *name = xasprintf("%s.lock", key);
	int fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_EX | LOCK_NB) < 0;
	close(fd); /* releases it */
	return busy;
}

/* KEY.dest: "KIND\nDEST\n". */
static bool read_dest(int dirfd, const char *key, char *kind, size_t klen,
		      char **dest)
{
	cleanup_free char *name = xasprintf("%s.dest", key);
	char buf[4096], *nl;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (r <= 0)
		return false;
	buf[r] = 0;
	nl = strchr(buf, '\n');
	if (!nl || (size_t)(nl - buf) >= klen)
		return false;
	memcpy(kind, buf, nl - buf);
	kind[nl - buf] = 0;
	*dest = xstrndup(nl + 1, strcspn(nl + 1, "\n"));
	return **dest != 0;
}

static struct sink *open_one(const struct sf_options *o, const char *exporter,
			     const char *kind, const char *dest,
			     const char **why, struct sf_error **err)
{
	cleanup_free char *id = NULL;

	if (!strcmp(kind, "mqtt") && o->broker) {
		id = xasprintf("sfagent-%.64s-%d-replay", exporter,
			       (int)getpid());
		return sink_mqtt_open_background(o, dest, id, err);
	}
	if (!strcmp(kind, "nats") && o->nats_url)
		return sink_nats_open(o, dest, exporter, false, err);
	if (!strcmp(kind, "http"))
		return sink_http_open(o, dest, err);
	*why = !strcmp(kind, "mqtt") ? "this agent has no broker (-b)"
	       : !strcmp(kind, "nats")
		       ? "this agent has no NATS servers (--nats)"
		       : "an unknown kind of sink";
	return NULL;
}

/* A sink for the spool KEY, if it opens that very spool. */
static void replay(struct sink_leftover *l, const struct sf_options *o,
		   const char *exporter, const char *dir, int dirfd,
		   const char *key)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_free char *dest = NULL;
	const char *why = NULL;
	char kind[16];
	struct sink *s;

	if (in_use(dirfd, key) || l->n == LEFTOVER_MAX ||
	    !read_dest(dirfd, key, kind, sizeof(kind), &dest))
		return;
	s = open_one(o, exporter, kind, dest, &why, &err);
	if (s && strcmp(sink_net_spool_key(s) ? sink_net_spool_key(s) : "",
			key) != 0) {
		why = "this agent's server for it is another one (options changed?)";
		sink_close(s);
		s = NULL;
	}
	if (!s) {
		log_warn(
			"spool `%s/%s.*` (%s `%s`) left by an earlier run: kept, not replayed: %s",
			dir, key, kind, dest, err ? err->msg : why);
		return;
	}
	log_info(
		"spool `%s/%s.*` (%s `%s`) left by an earlier run: replaying it",
		dir, key, kind, dest);
	l->sinks[l->n] = s;
	l->keys[l->n++] = xstrdup(key);
}

struct sink_leftover *sink_leftover_start(const struct sf_options *o,
					  const char *exporter)
{
	struct sink_net_conf c = {0};
	struct sink_leftover *l;
	struct dirent *de;
	int dfd;
	DIR *d;

	sink_net_conf_spool(&c, o);
	if (!c.spool_max || !c.spool_dir)
		return NULL;
	d = opendir(c.spool_dir);
	if (!d)
		return NULL;
	dfd = dirfd(d);
	l = xzalloc(sizeof(*l));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		cleanup_free char *key = NULL;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".dest") != 0)
			continue;
		key = xstrndup(de->d_name, len - 5);
		replay(l, o, exporter, c.spool_dir, dfd, key);
	}
	closedir(d);
	if (!l->n) {
		free(l);
		return NULL;
	}
	return l;
}

void sink_leftover_poll(struct sink_leftover *l)
{
	for (size_t i = 0; l && i < l->n;) {
		if (sink_drain(l->sinks[i], false)) {
			i++;
			continue;
		}
		log_info("spool `%s` left by an earlier run: all delivered",
			 l->keys[i]);
		sink_close(l->sinks[i]);
		free(l->keys[i]);
		l->n--;
		l->sinks[i] = l->sinks[l->n];
		l->keys[i] = l->keys[l->n];
	}
}

void sink_leftover_stop(struct sink_leftover *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		sink_drain(l->sinks[i], true);
		sink_close(l->sinks[i]);
		free(l->keys[i]);
	}
	free(l);
}
