// SPDX-License-Identifier: GPL-2.0
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "access.h"
#include "agent.h"
#include "daemon.h"
#include "json.h"
#include "sbuf.h"
#include "seccomp_self.h"
#include "sink.h"

#define REQUEST_MAX  8192
#define NAMES_MAX    64
#define NAME_LEN_MAX 256

enum wstate { W_REQUEST, W_WATCHING, W_CLOSING };

struct watcher {
	int fd;
	enum wstate state;
	struct access_peer peer;
	char req[REQUEST_MAX + 1];
	size_t reqlen;
	char *names[NAMES_MAX];
	int nnames; /* 0: every stream it may see */
	struct sbuf out;
	size_t sent; /* of out */
	/* per slot: the stream (cgid) decided for, and the decision */
	uint64_t seen_cgid[SF_MAX_SLOTS];
	bool allowed[SF_MAX_SLOTS];
	uint64_t lost[SF_MAX_SLOTS]; /* records lost since the last notice */
	uint64_t lost_total;
	bool behind;
	struct watcher *next;
};

struct watch_hub {
	struct wl_tap tap; /* first: the tap is the hub */
	struct daemon *d;
	int listen_fd, epfd;
	char *path, *access_path;
	struct access *acc;
	struct watcher *watchers;
	unsigned n;
	uint64_t dropped;
	size_t queue_max;
};

static void hub_epoll(struct watch_hub *h, struct watcher *w, int op)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (w->out.len > w->sent ? EPOLLOUT : 0),
		.data.ptr = w,
	};

	epoll_ctl(h->epfd, op, w->fd, &ev);
}

static void watcher_free(struct watch_hub *h, struct watcher *w)
{
	struct watcher **pp;

	for (pp = &h->watchers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	close(w->fd);
	for (int i = 0; i < w->nnames; i++)
		free(w->names[i]);
	sbuf_free(&w->out);
	free(w);
	h->n--;
}

/* Writes what is queued without blocking; frees the watcher on error or
 * when it is closing and everything went out. */
static bool watcher_flush(struct watch_hub *h, struct watcher *w)
{
	while (w->sent < w->out.len) {
		ssize_t k = send(w->fd, w->out.data + w->sent,
				 w->out.len - w->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (k <= 0) {
			watcher_free(h, w);
			return false;
		}
		w->sent += (size_t)k;
	}
	if (w->sent == w->out.len) {
		w->out.len = w->sent = 0;
		if (w->state == W_CLOSING) {
			watcher_free(h, w);
			return false;
		}
	}
	hub_epoll(h, w, EPOLL_CTL_MOD);
	return true;
}

static void put_json_str(struct sbuf *o, const char *s)
{
	sbuf_json_str(o, s, strlen(s));
}

/* The stream's keys for the access rules: workload, container, and image
 * and k8s namespace from its metadata. */
static bool stream_allowed(const struct watch_hub *h, const struct watcher *w,
			   const struct workload *wl)
{
	cleanup_yajl_val yajl_val meta =
		wl->meta_json ? yajl_tree_parse(wl->meta_json, NULL, 0) : NULL;
	yajl_val ann = json_get(meta, "annotations");
	struct access_stream s = {
		.workload = wl->name,
		.container = wl->container_id,
		.image = json_get_str(meta, "image"),
		.k8s_namespace =
			json_get_str(ann, "io.kubernetes.pod.namespace"),
	};

	return access_allows(h->acc, &w->peer, &s);
}

/* A name: a workload name, a glob of them, or a container id prefix. */
static bool name_matches(const char *name, const struct workload *wl)
{
	if (!strcmp(name, wl->name) || fnmatch(name, wl->name, 0) == 0)
		return true;
	return wl->container_id &&
	       !strncmp(wl->container_id, name, strlen(name));
}

static bool wants(const struct watch_hub *h, struct watcher *w,
		  const struct workload *wl)
{
	uint32_t s = wl->slot;
	bool ok = w->nnames == 0;

	if (s >= SF_MAX_SLOTS)
		return false;
	if (w->seen_cgid[s] == wl->cgid + 1)
		return w->allowed[s];
	for (int i = 0; i < w->nnames && !ok; i++)
		ok = name_matches(w->names[i], wl);
	/* a wildcard narrows silently to what the rules grant */
	ok = ok && stream_allowed(h, w, wl);
	w->seen_cgid[s] = wl->cgid + 1;
	w->allowed[s] = ok;
	w->lost[s] = 0;
	return ok;
}

static uint64_t count_lines(const char *buf, size_t len)
{
	uint64_t n = 0;

	for (const char *p = buf;
	     (p = memchr(p, '\n', len - (size_t)(p - buf))); p++)
		n++;
	return n;
}

/* Caught up: one stream.missed per stream it lost records of. */
static void tell_missed(struct watch_hub *h, struct watcher *w)
{
	struct wl_table *t = &h->d->a->wl;

	for (uint32_t s = 0; s < SF_MAX_SLOTS; s++) {
		struct workload *wl = t->slots[s];

		if (!w->lost[s])
			continue;
		sbuf_lit(&w->out,
			 "{\"type\":\"stream.missed\",\"seq\":0,\"ts\":");
		sbuf_u64(&w->out, sf_now_ns());
		if (wl) {
			sbuf_lit(&w->out, ",\"workload\":");
			put_json_str(&w->out, wl->name);
			if (wl->container_id) {
				sbuf_lit(&w->out, ",\"container\":");
				put_json_str(&w->out, wl->container_id);
			}
		}
		sbuf_lit(&w->out, ",\"count\":");
		sbuf_u64(&w->out, w->lost[s]);
		sbuf_lit(&w->out, ",\"reason\":\"subscriber\"}\n");
		w->lost[s] = 0;
	}
	w->behind = false;
}

static void tap_records(struct wl_tap *tap, const struct workload *wl,
			const char *buf, size_t len)
{
	struct watch_hub *h = (struct watch_hub *)tap;
	struct watcher *w, *next;

	for (w = h->watchers; w; w = next) {
		next = w->next;
		if (w->state != W_WATCHING || !wants(h, w, wl))
			continue;
		if (w->behind && w->sent == w->out.len) {
			w->out.len = w->sent = 0;
			tell_missed(h, w);
		}
		/* a backlog over the bound loses the batch; an empty queue
		 * always takes one (a batch is at most SF_FLUSH_BYTES) */
		if (w->out.len > w->sent &&
		    w->out.len - w->sent + len > h->queue_max) {
			uint64_t n = count_lines(buf, len);

			w->lost[wl->slot] += n;
			w->lost_total += n;
			h->dropped += n;
			w->behind = true;
			continue;
		}
		sbuf_put(&w->out, buf, len);
		watcher_flush(h, w);
	}
}

static void reply_error(struct watch_hub *h, struct watcher *w, const char *msg)
{
	sbuf_lit(&w->out, "{\"type\":\"watch.error\",\"error\":");
	put_json_str(&w->out, msg);
	sbuf_lit(&w->out, "}\n");
	w->state = W_CLOSING;
}

/* A name must name a stream the peer may see, unless it is a glob, which
 * also waits for streams to come. */
static int check_names(struct watch_hub *h, struct watcher *w,
		       struct sf_error **err)
{
	for (int i = 0; i < w->nnames; i++) {
		const char *n = w->names[i];
		bool found = false, allowed = false;

		if (strpbrk(n, "*?["))
			continue;
		for (struct workload *wl = h->d->a->wl.active; wl;
		     wl = wl->next)
			if (name_matches(n, wl)) {
				found = true;
				allowed = allowed || stream_allowed(h, w, wl);
			}
		if (!found)
			return sf_usage(
				err,
				"no running stream of workload or container `%s` (a glob such as `%s*` also waits for streams to come)",
				n, n);
		if (!allowed)
			return sf_usage(
				err,
				"not allowed to watch `%s`: no rule of the access file grants it to uid %u",
				n, (unsigned)w->peer.uid);
	}
	return 0;
}

static void start_watch(struct watch_hub *h, struct watcher *w, yajl_val req)
{
	cleanup_error struct sf_error *err = NULL;
	yajl_val names = json_get(req, "names");

	if (names && !YAJL_IS_ARRAY(names)) {
		reply_error(h, w, "\"names\" must be an array of strings");
		return;
	}
	for (size_t i = 0; names && i < names->u.array.len; i++) {
		const char *n = YAJL_GET_STRING(names->u.array.values[i]);

		if (!n || !*n || strlen(n) > NAME_LEN_MAX ||
		    w->nnames == NAMES_MAX) {
			reply_error(
				h, w,
				"bad name: want at most 64 non-empty strings of 256 bytes at most");
			return;
		}
		w->names[w->nnames++] = xstrdup(n);
	}
	if (check_names(h, w, &err) < 0) {
		reply_error(h, w, err->msg);
		return;
	}
	sbuf_lit(&w->out, "{\"type\":\"watch.ok\",\"streams\":[");
	{
		bool first = true;

		for (struct workload *wl = h->d->a->wl.active; wl;
		     wl = wl->next)
			if (!wl->closing && wants(h, w, wl)) {
				if (!first)
					sbuf_putc(&w->out, ',');
				put_json_str(&w->out, wl->name);
				first = false;
			}
	}
	sbuf_lit(&w->out, "]}\n");
	w->state = W_WATCHING;
}

/* a network output's state: connected, backlog, connections, last error */
static void sink_status(struct sbuf *o, struct sink *s)
{
	struct sink_state st;

	sink_get_state(s, &st);
	if (!st.state)
		return;
	sbuf_lit(o, ",\"state\":");
	put_json_str(o, st.state);
	sbuf_lit(o, ",\"backlog\":");
	sbuf_u64(o, st.backlog);
	sbuf_lit(o, ",\"connects\":");
	sbuf_u64(o, st.connects);
	sbuf_lit(o, ",\"last_error\":");
	put_json_str(o, st.last_error);
}

static unsigned watching(const struct watch_hub *h)
{
	unsigned n = 0;

	for (const struct watcher *w = h->watchers; w; w = w->next)
		n += w->state == W_WATCHING;
	return n;
}

/* status: the streams the peer may see, and the agent's totals */
static void status(struct watch_hub *h, struct watcher *w)
{
	struct agent *a = h->d->a;
	bool first = true;

	sbuf_lit(&w->out, "{\"type\":\"status\",\"version\":\"" SF_VERSION
			  "\",\"streams\":[");
	for (struct workload *wl = a->wl.active; wl; wl = wl->next) {
		struct stream_totals t = {0};

		if (!stream_allowed(h, w, wl))
			continue;
		if (!first)
			sbuf_putc(&w->out, ',');
		first = false;
		sbuf_lit(&w->out, "{\"workload\":");
		put_json_str(&w->out, wl->name);
		sbuf_lit(&w->out, ",\"container\":");
		put_json_str(&w->out, wl->container_id ? wl->container_id : "");
		sbuf_lit(&w->out, ",\"since\":");
		sbuf_u64(&w->out, wl->start_ts);
		sbuf_lit(&w->out, ",\"events\":");
		sbuf_u64(&w->out, wl->events);
		agent_stream_totals(a, wl, &t);
		sbuf_lit(&w->out, ",\"missed\":");
		sbuf_u64(&w->out, t.missed);
		sbuf_lit(&w->out, ",\"filtered\":");
		sbuf_u64(&w->out, t.filtered);
		sbuf_lit(&w->out, ",\"closing\":");
		sbuf_puts(&w->out, wl->closing ? "true" : "false");
		sbuf_lit(&w->out, ",\"sinks\":[");
		for (int i = 0; i < wl->nsinks; i++) {
			if (i)
				sbuf_putc(&w->out, ',');
			sbuf_lit(&w->out, "{\"output\":");
			put_json_str(&w->out, wl->sinks[i]->desc
						      ? wl->sinks[i]->desc
						      : "?");
			sbuf_lit(&w->out, ",\"dropped\":");
			sbuf_u64(&w->out, sink_dropped(wl->sinks[i]));
			sbuf_lit(&w->out, ",\"congested\":");
			sbuf_puts(&w->out, sink_congested(wl->sinks[i])
						   ? "true"
						   : "false");
			sink_status(&w->out, wl->sinks[i]);
			sbuf_putc(&w->out, '}');
		}
		sbuf_lit(&w->out, "]}");
	}
	sbuf_lit(&w->out, "],\"uptime_s\":");
	sbuf_u64(&w->out, (sf_monotonic_ns() - a->started_ns) / 1000000000ull);
	sbuf_lit(&w->out, ",\"tracked\":");
	sbuf_u64(&w->out, a->wl.count);
	sbuf_lit(&w->out, ",\"watchers\":");
	sbuf_u64(&w->out, watching(h));
	sbuf_lit(&w->out, ",\"watch_dropped\":");
	sbuf_u64(&w->out, h->dropped);
	sbuf_lit(&w->out, ",\"access_rules\":");
	sbuf_u64(&w->out, access_rules(h->acc));
	sbuf_lit(&w->out, ",\"registrations_refused\":");
	sbuf_u64(&w->out, h->d->refused);
	sbuf_lit(&w->out, ",\"registrations_late\":");
	sbuf_u64(&w->out, h->d->late);
	sbuf_lit(&w->out, ",\"sandbox\":{\"seccomp_allowed\":");
	sbuf_u64(&w->out, seccomp_self_allowed());
	sbuf_lit(&w->out, ",\"denied\":");
	sbuf_u64(&w->out, seccomp_self_denied());
	sbuf_lit(&w->out, ",\"capabilities\":");
	put_json_str(&w->out, seccomp_self_kept_caps());
	sbuf_putc(&w->out, '}');
	sbuf_lit(&w->out, "}\n");
	w->state = W_CLOSING;
}

static void handle_request(struct watch_hub *h, struct watcher *w)
{
	cleanup_yajl_val yajl_val req = NULL;
	char ebuf[128];
	const char *op;

	w->req[w->reqlen] = 0;
	/* one level of nesting is all a request has: refuse deeper input
	 * before yajl's recursive tree parser sees it */
	if (strspn(w->req, " \t") == w->reqlen ||
	    strchr(w->req, '{') != strrchr(w->req, '{')) {
		reply_error(
			h, w,
			"a request is one JSON object: {\"op\":\"watch\",\"names\":[...]} or {\"op\":\"status\"}");
		return;
	}
	req = yajl_tree_parse(w->req, ebuf, sizeof(ebuf));
	op = json_get_str(req, "op");
	if (!op)
		reply_error(
			h, w,
			"a request is one JSON object: {\"op\":\"watch\",\"names\":[...]} or {\"op\":\"status\"}");
	else if (!strcmp(op, "watch"))
		start_watch(h, w, req);
	else if (!strcmp(op, "status"))
		status(h, w);
	else
		reply_error(h, w, "unknown op: use watch or status");
}

static void watcher_read(struct watch_hub *h, struct watcher *w)
{
	char buf[4096];
	ssize_t k = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
	char *nl;

	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
		watcher_free(h, w);
		return;
	}
	if (k < 0 || w->state != W_REQUEST)
		return; /* a watcher has nothing more to say: ignored */
	if (w->reqlen + (size_t)k > REQUEST_MAX) {
		reply_error(h, w, "request over 8192 bytes");
		watcher_flush(h, w);
		return;
	}
	memcpy(w->req + w->reqlen, buf, (size_t)k);
	w->reqlen += (size_t)k;
	nl = memchr(w->req, '\n', w->reqlen);
	if (!nl)
		return;
	w->reqlen = (size_t)(nl - w->req);
	handle_request(h, w);
	watcher_flush(h, w);
}

static void accept_clients(struct watch_hub *h)
{
	for (;;) {
		cleanup_error struct sf_error *err = NULL;
		int fd = accept4(h->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct watcher *w;

		if (fd < 0)
			return;
		if (h->n >= WATCH_MAX_CLIENTS) {
			static const char busy[] =
				"{\"type\":\"watch.error\",\"error\":\"busy: too many watchers\"}\n";

			send(fd, busy, sizeof(busy) - 1,
			     MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		w = xzalloc(sizeof(*w));
		w->fd = fd;
		if (access_peer_of(fd, &w->peer, &err) < 0) {
			close(fd);
			free(w);
			continue;
		}
		w->next = h->watchers;
		h->watchers = w;
		h->n++;
		hub_epoll(h, w, EPOLL_CTL_ADD);
	}
}

void watch_hub_process(struct watch_hub *h)
{
	struct epoll_event ev[16];
	int n;

	while ((n = epoll_wait(h->epfd, ev, 16, 0)) > 0)
		for (int i = 0; i < n; i++) {
			struct watcher *w = ev[i].data.ptr;

			if (!w) {
				accept_clients(h);
				continue;
			}
			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				watcher_read(h, w);
				/* freed there if it went away: look no more */
				continue;
			}
			if (ev[i].events & EPOLLOUT)
				watcher_flush(h, w);
		}
	/* one that caught up with nothing new coming is told now */
	for (struct watcher *w = h->watchers, *next; w; w = next) {
		next = w->next;
		if (w->behind && w->sent == w->out.len) {
			w->out.len = w->sent = 0;
			tell_missed(h, w);
			watcher_flush(h, w);
		}
	}
}

static int hub_listen(struct watch_hub *h, struct sf_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(h->path) >= sizeof(sa.sun_path))
		return sf_usage(err,
				"--watch-socket `%s`: longer than %zu bytes",
				h->path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, h->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sf_fail(err, errno, "watch socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return sf_fail(
			err, 0,
			"another agent serves watchers on `%s`: stop it or give --watch-socket PATH",
			h->path);
	}
	unlink(h->path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(h->path, 0666) < 0 || listen(fd, 16) < 0) {
		int e = errno;

		close(fd);
		return sf_fail(
			err, e,
			"watch socket `%s`: %s (its directory must exist)",
			h->path, strerror(e));
	}
	h->listen_fd = fd;
	return 0;
}

struct watch_hub *watch_hub_open(struct daemon *d, const char *path,
				 const char *access_path, struct sf_error **err)
{
	struct watch_hub *h = xzalloc(sizeof(*h));

	h->tap.records = tap_records;
	h->queue_max = d->o->watch_queue_kb ? (size_t)d->o->watch_queue_kb << 10
					    : WATCH_QUEUE_BYTES;
	h->d = d;
	h->listen_fd = -1;
	h->path = xstrdup(path);
	h->access_path = xstrdup(access_path);
	h->acc = access_load(access_path, err);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!h->acc || h->epfd < 0 || hub_listen(h, err) < 0) {
		if (h->acc && h->epfd < 0)
			sf_fail(err, errno, "epoll");
		watch_hub_close(h);
		return NULL;
	}
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->listen_fd,
		  &(struct epoll_event){.events = EPOLLIN, .data.ptr = NULL});
	log_info("watchers on `%s`, access rules from `%s`: %u", path,
		 access_path, access_rules(h->acc));
	return h;
}

int watch_hub_epoll_fd(const struct watch_hub *h)
{
	return h->epfd;
}

void watch_hub_reload(struct watch_hub *h)
{
	cleanup_error struct sf_error *err = NULL;
	struct access *a = access_load(h->access_path, &err);

	if (!a) {
		log_error("%s: keeping the %u rules read before", err->msg,
			  access_rules(h->acc));
		return;
	}
	access_free(h->acc);
	h->acc = a;
	/* decisions are made again with the new rules */
	for (struct watcher *w = h->watchers; w; w = w->next)
		memset(w->seen_cgid, 0, sizeof(w->seen_cgid));
	log_info("access rules reloaded from `%s`: %u", h->access_path,
		 access_rules(a));
}

struct wl_tap *watch_hub_tap(struct watch_hub *h)
{
	return &h->tap;
}

unsigned watch_hub_watchers(const struct watch_hub *h)
{
	return watching(h);
}

uint64_t watch_hub_dropped(const struct watch_hub *h)
{
	return h->dropped;
}

void watch_hub_close(struct watch_hub *h)
{
	if (!h)
		return;
	while (h->watchers)
		watcher_free(h, h->watchers);
	if (h->listen_fd >= 0) {
		close(h->listen_fd);
		unlink(h->path);
	}
	if (h->epfd >= 0)
		close(h->epfd);
	access_free(h->acc);
	free(h->path);
	free(h->access_path);
	free(h);
}
