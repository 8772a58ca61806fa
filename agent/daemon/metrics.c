// SPDX-License-Identifier: GPL-2.0
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "agent.h"
#include "exehash.h"
#include "daemon.h"
#include "sbuf.h"
#include "seccomp_self.h"
#include "sink.h"
#include "watch.h"

#define REQ_MAX	      4096
#define CLIENT_TTL_NS (5 * 1000000000ull)

struct mclient {
	int fd;
	char req[REQ_MAX + 1];
	size_t reqlen;
	struct sbuf out;
	size_t sent;
	bool replied;
	uint64_t deadline;
};

/* A finished stream's last counts. */
struct ended {
	char *workload, *container;
	struct stream_totals t;
	uint64_t gone_at; /* monotonic ns */
};

struct metrics {
	struct daemon *d;
	int listen_fd, epfd;
	struct mclient c[METRICS_CLIENTS];
	struct ended *ended;
	size_t nended;
	uint64_t scrapes;
};

/* label value: \ " and newline escaped, as the exposition format says */
static void label(struct sbuf *o, const char *name, const char *v, bool first)
{
	if (!first)
		sbuf_putc(o, ',');
	sbuf_puts(o, name);
	sbuf_lit(o, "=\"");
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			sbuf_putc(o, '\\');
		if (*v == '\n') {
			sbuf_lit(o, "\\n");
			continue;
		}
		sbuf_putc(o, *v);
	}
	sbuf_putc(o, '"');
}

static void head(struct sbuf *o, const char *name, const char *type,
		 const char *help)
{
	sbuf_lit(o, "# HELP ");
	sbuf_puts(o, name);
	sbuf_putc(o, ' ');
	sbuf_puts(o, help);
	sbuf_lit(o, "\n# TYPE ");
	sbuf_puts(o, name);
	sbuf_putc(o, ' ');
	sbuf_puts(o, type);
	sbuf_putc(o, '\n');
}

static void sample(struct sbuf *o, const char *name, const char *workload,
		   const char *container, const char *k, const char *v,
		   uint64_t value)
{
	sbuf_puts(o, name);
	if (workload) {
		sbuf_putc(o, '{');
		label(o, "workload", workload, true);
		label(o, "container", container ? container : "", false);
		if (k)
			label(o, k, v, false);
		sbuf_putc(o, '}');
	}
	sbuf_putc(o, ' ');
	sbuf_u64(o, value);
	sbuf_putc(o, '\n');
}

/* every stream, running or recently ended, with its totals */
typedef void (*stream_fn)(struct sbuf *o, const char *w, const char *c,
			  const struct stream_totals *t);

static void each_stream(struct metrics *m, struct sbuf *o, stream_fn fn)
{
	struct agent *a = m->d->a;

	for (struct workload *wl = a->wl.active; wl; wl = wl->next) {
		struct stream_totals t = {0};

		agent_stream_totals(a, wl, &t);
		fn(o, wl->name, wl->container_id, &t);
	}
	for (size_t i = 0; i < m->nended; i++)
		fn(o, m->ended[i].workload, m->ended[i].container,
		   &m->ended[i].t);
}

static void s_events(struct sbuf *o, const char *w, const char *c,
		     const struct stream_totals *t)
{
	sample(o, "sfagent_events_total", w, c, NULL, NULL, t->events);
}

static void s_filtered(struct sbuf *o, const char *w, const char *c,
		       const struct stream_totals *t)
{
	sample(o, "sfagent_filtered_total", w, c, NULL, NULL, t->filtered);
}

static void s_missed(struct sbuf *o, const char *w, const char *c,
		     const struct stream_totals *t)
{
	uint64_t other = t->missed - t->missed_ringbuf - t->missed_sink -
			 t->missed_quota;

	sample(o, "sfagent_missed_total", w, c, "reason", "ringbuf",
	       t->missed_ringbuf);
	sample(o, "sfagent_missed_total", w, c, "reason", "sink",
	       t->missed_sink);
	sample(o, "sfagent_missed_total", w, c, "reason", "quota",
	       t->missed_quota);
	sample(o, "sfagent_missed_total", w, c, "reason", "malformed", other);
}

static void render_sinks(struct metrics *m, struct sbuf *o)
{

	head(o, "sfagent_output_dropped_total", "counter",
	     "Records an output of a running stream could not deliver.");
	for (struct workload *wl = m->d->a->wl.active; wl; wl = wl->next)
		for (int i = 0; i < wl->nsinks; i++)
			sample(o, "sfagent_output_dropped_total", wl->name,
			       wl->container_id, "output",
			       wl->sinks[i]->desc ? wl->sinks[i]->desc : "?",
			       sink_dropped(wl->sinks[i]));
	head(o, "sfagent_output_congested", "gauge",
	     "1 while an output cannot deliver (disconnected, queue full).");
	for (struct workload *wl = m->d->a->wl.active; wl; wl = wl->next)
		for (int i = 0; i < wl->nsinks; i++)
			sample(o, "sfagent_output_congested", wl->name,
			       wl->container_id, "output",
			       wl->sinks[i]->desc ? wl->sinks[i]->desc : "?",
			       sink_congested(wl->sinks[i]));
}

static void expire(struct metrics *m)
{
	uint64_t now = sf_monotonic_ns();
	size_t k = 0;

	for (size_t i = 0; i < m->nended; i++) {
		if (now - m->ended[i].gone_at >
		    METRICS_KEEP_S * 1000000000ull) {
			free(m->ended[i].workload);
			free(m->ended[i].container);
			continue;
		}
		m->ended[k++] = m->ended[i];
	}
	m->nended = k;
}

/* sfagent_exe_hashes_total or sfagent_file_hashes_total{result=...} */
static void hash_sample(struct sbuf *o, const char *metric, const char *result,
			uint64_t n)
{
	sbuf_puts(o, metric);
	sbuf_putc(o, '{');
	label(o, "result", result, true);
	sbuf_lit(o, "} ");
	sbuf_u64(o, n);
	sbuf_putc(o, '\n');
}

struct prog_ctx {
	struct sbuf *o;
	bool ns; /* run time, else count */
};

static void prog_sample(void *ctx, const char *name, uint64_t run_ns,
			uint64_t runs)
{
	struct prog_ctx *c = ctx;

	sbuf_puts(c->o, c->ns ? "sfagent_bpf_run_seconds_total{"
			      : "sfagent_bpf_runs_total{");
	label(c->o, "program", name, true);
	sbuf_lit(c->o, "} ");
	if (c->ns) {
		char v[32];

		snprintf(v, sizeof(v), "%.9f", run_ns / 1e9);
		sbuf_puts(c->o, v);
	} else {
		sbuf_u64(c->o, runs);
	}
	sbuf_putc(c->o, '\n');
}

/* the kernel counts program runs only while kernel.bpf_stats_enabled is 1
 * (it costs every run two clock reads): the series are there only then */
static void render_progs(struct metrics *m, struct sbuf *o)
{
	struct probe *p = &m->d->a->probe;
	struct prog_ctx c = {.o = o};
	char buf[4] = "";
	FILE *f;

	if (!p->ops || !p->ops->prog_stats)
		return;
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	if (!f)
		return;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (buf[0] != '1')
		return;
	head(o, "sfagent_bpf_runs_total", "counter",
	     "Runs of each BPF program (kernel.bpf_stats_enabled).");
	p->ops->prog_stats(p, prog_sample, &c);
	head(o, "sfagent_bpf_run_seconds_total", "counter",
	     "Time spent in each BPF program (kernel.bpf_stats_enabled).");
	c.ns = true;
	p->ops->prog_stats(p, prog_sample, &c);
}

void metrics_render(struct metrics *m, struct sbuf *o)
{
	struct agent *a = m->d->a;

	expire(m);
	head(o, "sfagent_events_total", "counter",
	     "Events written to a stream.");
	each_stream(m, o, s_events);
	head(o, "sfagent_filtered_total", "counter",
	     "Events a stream's filter did not keep (kernel and agent).");
	each_stream(m, o, s_filtered);
	head(o, "sfagent_missed_total", "counter",
	     "Events a stream lost, by reason.");
	each_stream(m, o, s_missed);
	render_sinks(m, o);
	head(o, "sfagent_streams", "gauge", "Streams tracked now.");
	sample(o, "sfagent_streams", NULL, NULL, NULL, NULL, a->wl.count);
	head(o, "sfagent_watchers", "gauge",
	     "sfagent watch clients connected now.");
	sample(o, "sfagent_watchers", NULL, NULL, NULL, NULL,
	       m->d->watch ? watch_hub_watchers(m->d->watch) : 0);
	head(o, "sfagent_watch_dropped_total", "counter",
	     "Records watchers fell too far behind for.");
	sample(o, "sfagent_watch_dropped_total", NULL, NULL, NULL, NULL,
	       m->d->watch ? watch_hub_dropped(m->d->watch) : 0);
	head(o, "sfagent_orphan_events_total", "counter",
	     "Events for a stream that had already ended.");
	sample(o, "sfagent_orphan_events_total", NULL, NULL, NULL, NULL,
	       a->orphans);
	head(o, "sfagent_sandbox_denied_total", "counter",
	     "Syscalls the agent's own seccomp filter refused.");
	sample(o, "sfagent_sandbox_denied_total", NULL, NULL, NULL, NULL,
	       seccomp_self_denied());
	head(o, "sfagent_probe_attached", "gauge",
	     "1 while the BPF programs are attached.");
	sample(o, "sfagent_probe_attached", NULL, NULL, NULL, NULL,
	       a->probe.attached);
	head(o, "sfagent_probe_per_syscall", "gauge",
	     "1: syscall events from the per-syscall tracepoints, this kernel cannot run ia32 syscalls; 0: from the generic sys_exit.");
	sample(o, "sfagent_probe_per_syscall", NULL, NULL, NULL, NULL,
	       a->probe.per_syscall);
	head(o, "sfagent_registrations_refused_total", "counter",
	     "Registrations the agent refused: a fail-open hook then starts the container untracked.");
	sample(o, "sfagent_registrations_refused_total", NULL, NULL, NULL, NULL,
	       m->d->refused);
	head(o, "sfagent_registrations_late_total", "counter",
	     "Registrations ACKed after the hook gave up waiting: a fail-open hook started the container before it was tracked.");
	sample(o, "sfagent_registrations_late_total", NULL, NULL, NULL, NULL,
	       m->d->late);
	if (a->exehash) {
		const struct exehash *h = a->exehash;

		head(o, "sfagent_exe_hashes_total", "counter",
		     "Executables' digests (--hash): computed, answered from the cache, dropped (backlog), failed.");
		hash_sample(o, "sfagent_exe_hashes_total", "computed",
			    __atomic_load_n(&h->computed, __ATOMIC_RELAXED));
		hash_sample(o, "sfagent_exe_hashes_total", "cached",
			    __atomic_load_n(&h->cached, __ATOMIC_RELAXED));
		hash_sample(o, "sfagent_exe_hashes_total", "dropped",
			    __atomic_load_n(&h->dropped, __ATOMIC_RELAXED));
		hash_sample(o, "sfagent_exe_hashes_total", "failed",
			    __atomic_load_n(&h->failed, __ATOMIC_RELAXED));
	}
	if (a->exehash && a->exehash->mode == EXEHASH_OPEN) {
		const struct exehash *h = a->exehash;

		head(o, "sfagent_file_hashes_total", "counter",
		     "Files' digests (--hash open): computed, answered from the cache, dropped (backlog).");
		hash_sample(o, "sfagent_file_hashes_total", "computed",
			    __atomic_load_n(&h->file_computed,
					    __ATOMIC_RELAXED));
		hash_sample(o, "sfagent_file_hashes_total", "cached",
			    __atomic_load_n(&h->file_cached, __ATOMIC_RELAXED));
		hash_sample(o, "sfagent_file_hashes_total", "dropped",
			    __atomic_load_n(&h->file_dropped,
					    __ATOMIC_RELAXED));
	}
	render_progs(m, o);
	head(o, "sfagent_scrapes_total", "counter", "Requests for /metrics.");
	sample(o, "sfagent_scrapes_total", NULL, NULL, NULL, NULL, m->scrapes);
	head(o, "sfagent_uptime_seconds", "gauge",
	     "Seconds since the agent started.");
	sample(o, "sfagent_uptime_seconds", NULL, NULL, NULL, NULL,
	       (sf_monotonic_ns() - a->started_ns) / 1000000000ull);
}

void metrics_stream_ended(struct metrics *m, struct workload *wl)
{
	struct ended *e;

	if (!m)
		return;
	expire(m);
	if (m->nended == METRICS_KEEP_MAX) {
		/* the oldest goes first */
		free(m->ended[0].workload);
		free(m->ended[0].container);
		memmove(m->ended, m->ended + 1,
			(m->nended - 1) * sizeof(*m->ended));
		m->nended--;
	}
	m->ended = xrealloc(m->ended, (m->nended + 1) * sizeof(*m->ended));
	e = &m->ended[m->nended++];
	memset(e, 0, sizeof(*e));
	e->workload = xstrdup(wl->name);
	e->container = xstrdup(wl->container_id ? wl->container_id : "");
	agent_stream_totals(m->d->a, wl, &e->t);
	e->t.seccomp_profile = e->t.seccomp_error = NULL;
	e->gone_at = sf_monotonic_ns();
}

static void client_close(struct metrics *m, struct mclient *c)
{
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	sbuf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void respond(struct metrics *m, struct mclient *c)
{
	struct sbuf body = {0};
	const char *status = "200 OK", *ctype = "text/plain; charset=utf-8";
	char hdr[256];

	c->req[c->reqlen] = 0;
	if (!strncmp(c->req, "GET /metrics ", 13) ||
	    !strncmp(c->req, "GET /metrics?", 13)) {
		m->scrapes++;
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		metrics_render(m, &body);
	} else if (!strncmp(c->req, "GET /healthz ", 13)) {
		sbuf_lit(&body, "ok\n");
	} else if (strncmp(c->req, "GET ", 4)) {
		status = "405 Method Not Allowed";
		sbuf_lit(&body, "GET /metrics or /healthz\n");
	} else {
		status = "404 Not Found";
		sbuf_lit(&body, "GET /metrics or /healthz\n");
	}
	snprintf(
		hdr, sizeof(hdr),
		"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		status, ctype, body.len);
	sbuf_puts(&c->out, hdr);
	sbuf_put(&c->out, body.data, body.len);
	sbuf_free(&body);
	c->replied = true;
}

static void client_io(struct metrics *m, struct mclient *c)
{
	if (!c->replied) {
		ssize_t k = recv(c->fd, c->req + c->reqlen, REQ_MAX - c->reqlen,
				 MSG_DONTWAIT);

		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(m, c);
			return;
		}
		if (k > 0)
			c->reqlen += (size_t)k;
		c->req[c->reqlen] = 0;
		if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n") &&
		    c->reqlen < REQ_MAX)
			return;
		respond(m, c);
		epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd,
			  &(struct epoll_event){.events = EPOLLOUT,
						.data.ptr = c});
	}
	while (c->sent < c->out.len) {
		ssize_t k = send(c->fd, c->out.data + c->sent,
				 c->out.len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (k <= 0)
			break;
		c->sent += (size_t)k;
	}
	client_close(m, c);
}

static void accept_clients(struct metrics *m)
{
	for (;;) {
		int fd = accept4(m->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mclient *c = NULL;

		if (fd < 0)
			return;
		for (int i = 0; i < METRICS_CLIENTS && !c; i++)
			if (m->c[i].fd < 0)
				c = &m->c[i];
		if (!c) {
			close(fd); /* a scraper retries */
			continue;
		}
		c->fd = fd;
		c->deadline = sf_monotonic_ns() + CLIENT_TTL_NS;
		epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd,
			  &(struct epoll_event){.events = EPOLLIN,
						.data.ptr = c});
	}
}

void metrics_process(struct metrics *m)
{
	struct epoll_event ev[16];
	uint64_t now = sf_monotonic_ns();
	int n;

	if (!m)
		return;
	while ((n = epoll_wait(m->epfd, ev, 16, 0)) > 0)
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr)
				accept_clients(m);
			else
				client_io(m, ev[i].data.ptr);
		}
	for (int i = 0; i < METRICS_CLIENTS; i++)
		if (m->c[i].fd >= 0 && now > m->c[i].deadline)
			client_close(m, &m->c[i]);
}

/* [ADDR:]PORT: a bare port is 127.0.0.1; [v6]:PORT for IPv6 */
static int parse_spec(const char *spec, struct sockaddr_storage *ss,
		      socklen_t *len, struct sf_error **err)
{
	cleanup_free char *addr = NULL;
	const char *colon = strrchr(spec, ':');
	const char *port_s = colon ? colon + 1 : spec;
	char *end;
	unsigned long port = strtoul(port_s, &end, 10);
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!*port_s || *end || port > 65535)
		return sf_usage(
			err,
			"--metrics `%s`: want [ADDR:]PORT with a port 0-65535 (0: any free one) (e.g. 9464 or 0.0.0.0:9464)",
			spec);
	addr = colon ? xstrndup(spec, (size_t)(colon - spec))
		     : xstrdup("127.0.0.1");
	if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
		addr[strlen(addr) - 1] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr + 1, &in6->sin6_addr) != 1)
			return sf_usage(
				err, "--metrics `%s`: `%s` is no IPv6 address",
				spec, addr + 1);
		*len = sizeof(*in6);
		return 0;
	}
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &in4->sin_addr) != 1)
		return sf_usage(
			err,
			"--metrics `%s`: `%s` is no IPv4 address (IPv6: [ADDR]:PORT)",
			spec, addr);
	*len = sizeof(*in4);
	return 0;
}

struct metrics *metrics_open(struct daemon *d, const char *spec,
			     struct sf_error **err)
{
	struct metrics *m = xzalloc(sizeof(*m));
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int one = 1;

	m->d = d;
	m->listen_fd = m->epfd = -1;
	for (int i = 0; i < METRICS_CLIENTS; i++)
		m->c[i].fd = -1;
	if (parse_spec(spec, &ss, &len, err) < 0)
		goto fail;
	m->listen_fd = socket(ss.ss_family,
			      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0 ||
	    setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) < 0 ||
	    bind(m->listen_fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(m->listen_fd, 16) < 0) {
		sf_fail(err, errno, "--metrics `%s`: %s (is the port in use?)",
			spec, strerror(errno));
		goto fail;
	}
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0) {
		sf_fail(err, errno, "epoll");
		goto fail;
	}
	epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->listen_fd,
		  &(struct epoll_event){.events = EPOLLIN, .data.ptr = NULL});
	{
		char a[INET6_ADDRSTRLEN + 2] = "?";
		struct sockaddr_storage got;
		socklen_t gl = sizeof(got);
		unsigned port = 0;

		getsockname(m->listen_fd, (struct sockaddr *)&got, &gl);
		if (got.ss_family == AF_INET) {
			inet_ntop(AF_INET,
				  &((struct sockaddr_in *)&got)->sin_addr, a,
				  sizeof(a));
			port = ntohs(((struct sockaddr_in *)&got)->sin_port);
		} else {
			inet_ntop(AF_INET6,
				  &((struct sockaddr_in6 *)&got)->sin6_addr, a,
				  sizeof(a));
			port = ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
		}
		log_info("metrics on http://%s:%u/metrics", a, port);
	}
	return m;
fail:
	metrics_close(m);
	return NULL;
}

int metrics_epoll_fd(const struct metrics *m)
{
	return m->epfd;
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	for (int i = 0; i < METRICS_CLIENTS; i++)
		if (m->c[i].fd >= 0)
			client_close(m, &m->c[i]);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->epfd >= 0)
		close(m->epfd);
	for (size_t i = 0; i < m->nended; i++) {
		free(m->ended[i].workload);
		free(m->ended[i].container);
	}
	free(m->ended);
	free(m);
}
