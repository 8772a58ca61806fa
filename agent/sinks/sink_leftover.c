// SPDX-License-Identifier: GPL-2.0
/* Replaying spools an earlier agent left behind: see sink_leftover.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "options.h"
#include "sink_leftover.h"
#include "sink_net.h"

#define LEFTOVER_MAX 256

struct sink_leftover {
	const struct sf_options *o;
	char *exporter, *dir;
	struct sink *sinks[LEFTOVER_MAX];
	char *keys[LEFTOVER_MAX];
	bool ended[LEFTOVER_MAX]; /* offered by an ended stream of this run */
	size_t n;
	pthread_mutex_t mu; /* guards offered */
	char **offered;
	size_t noffered, offered_cap;
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
			     const char *key, const char *kind,
			     const char *dest, const char **why,
			     struct sf_error **err)
{
	cleanup_free char *id = NULL;

	if (!strcmp(kind, "mqtt") && o->broker) {
		/* one client per spool: two with one id push each other off */
		id = xasprintf("sfagent-%.64s-%d-replay-%s", exporter,
			       (int)getpid(), key);
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

/* A sink for the spool KEY, if it opens that very spool.  ended: offered
 * by a stream of this run (sink_leftover_offer), not left by an earlier one. */
static void replay(struct sink_leftover *l, int dirfd, const char *key,
		   bool ended)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_free char *dest = NULL;
	const char *why = NULL;
	const char *by = ended ? "of a stream that ended undelivered"
			       : "left by an earlier run";
	struct sf_options o;
	char kind[16];
	struct sink *s;

	if (in_use(dirfd, key) ||
	    !read_dest(dirfd, key, kind, sizeof(kind), &dest))
		return;
	if (l->n == LEFTOVER_MAX) {
		log_warn(
			"spool `%s/%s.*` (%s `%s`) %s: kept, not replayed: %d spools are being replayed already",
			l->dir, key, kind, dest, by, LEFTOVER_MAX);
		return;
	}
	/* that very spool, also one named KEY-N while KEY is free now */
	o = *l->o;
	o.spool_key = key;
	s = open_one(&o, l->exporter, key, kind, dest, &why, &err);
	if (s && strcmp(sink_net_spool_key(s) ? sink_net_spool_key(s) : "",
			key) != 0) {
		why = "this agent's server for it is another one (options changed?)";
		sink_close(s);
		s = NULL;
	}
	if (!s) {
		log_warn("spool `%s/%s.*` (%s `%s`) %s: kept, not replayed: %s",
			 l->dir, key, kind, dest, by, err ? err->msg : why);
		return;
	}
	log_info("spool `%s/%s.*` (%s `%s`) %s: replaying it", l->dir, key,
		 kind, dest, by);
	l->sinks[l->n] = s;
	l->ended[l->n] = ended;
	l->keys[l->n++] = xstrdup(key);
}

struct sink_leftover *sink_leftover_start(const struct sf_options *o,
					  const char *exporter)
{
	struct sink_net_conf c = {0};
	struct sink_leftover *l;
	struct dirent *de;
	DIR *d;

	sink_net_conf_spool(&c, o);
	if (!c.spool_max || !c.spool_dir)
		return NULL;
	l = xzalloc(sizeof(*l));
	l->o = o;
	l->exporter = xstrdup(exporter);
	l->dir = xstrdup(c.spool_dir);
	pthread_mutex_init(&l->mu, NULL);
	d = opendir(c.spool_dir);
	if (!d)
		return l; /* none yet: a stream of this run may make it */
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		cleanup_free char *key = NULL;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".dest") != 0)
			continue;
		key = xstrndup(de->d_name, len - 5);
		replay(l, dirfd(d), key, false);
	}
	closedir(d);
	return l;
}

void sink_leftover_offer(struct sink_leftover *l, const char *key)
{
	if (!l || !key)
		return;
	pthread_mutex_lock(&l->mu);
	if (l->noffered == l->offered_cap) {
		l->offered_cap = l->offered_cap ? l->offered_cap * 2 : 8;
		l->offered = xrealloc(l->offered,
				      l->offered_cap * sizeof(*l->offered));
	}
	l->offered[l->noffered++] = xstrdup(key);
	pthread_mutex_unlock(&l->mu);
}

/* What ended streams offered since the last poll: replayed as at start. */
static void take_offered(struct sink_leftover *l)
{
	char **v;
	size_t n;
	int dfd;

	pthread_mutex_lock(&l->mu);
	v = l->offered;
	n = l->noffered;
	l->offered = NULL;
	l->noffered = l->offered_cap = 0;
	pthread_mutex_unlock(&l->mu);
	if (!n)
		return;
	dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < n; i++) {
		if (dfd >= 0)
			replay(l, dfd, v[i], true);
		free(v[i]);
	}
	if (dfd >= 0)
		close(dfd);
	free(v);
}

void sink_leftover_poll(struct sink_leftover *l)
{
	if (!l)
		return;
	take_offered(l);
	for (size_t i = 0; i < l->n;) {
		if (sink_drain(l->sinks[i], false)) {
			i++;
			continue;
		}
		log_info("spool `%s` %s: all delivered", l->keys[i],
			 l->ended[i] ? "of a stream that ended undelivered"
				     : "left by an earlier run");
		sink_close(l->sinks[i]);
		free(l->keys[i]);
		l->n--;
		l->sinks[i] = l->sinks[l->n];
		l->keys[i] = l->keys[l->n];
		l->ended[i] = l->ended[l->n];
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
	/* offered, not replayed: kept on disk for the next start */
	for (size_t i = 0; i < l->noffered; i++)
		free(l->offered[i]);
	free(l->offered);
	pthread_mutex_destroy(&l->mu);
	free(l->exporter);
	free(l->dir);
	free(l);
}
