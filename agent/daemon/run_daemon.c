// SPDX-License-Identifier: GPL-2.0
/*
 * Daemon mode (-D): load the BPF programs once, serve sfhook on a unix socket,
 * write each registered container's stream into the output directory, resume
 * tagged containers after a restart.  Runs until SIGINT/SIGTERM, then ends
 * every stream cleanly (drained, stream.end).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "seccomp_self.h"
#include "sink_leftover.h"
#include "watch.h"
#include "metrics.h"
#include "cgroup.h"
#include "daemon.h"
#include "exehash.h"
#include "run.h"
#include "sink.h"

/* How often streams are checked for a cgroup that vanished without poststop */
#define REAP_INTERVAL_NS (1000 * 1000000ull)

static void handle(void *ctx, const struct sf_msg *req, struct sf_msg *reply)
{
	cleanup_error struct sf_error *err = NULL;
	struct daemon *d = ctx;

	if (req->op == SF_MSG_UNREGISTER) {
		daemon_unregister(d, req->container_id);
		reply->op = SF_MSG_ACK;
		return;
	}
	if (daemon_register(d, req, false, &err) < 0) {
		/* the hook's warning goes to its stderr, which runtimes hide
		 * when it exits 0 (fail open): say it where the operator looks */
		log_warn(
			"container `%s` not registered: %s; it starts untracked if its hook is fail-open (the default)",
			req->container_id, err->msg);
		d->refused++;
		reply->op = SF_MSG_ERROR;
		reply->error = xstrdup(err->msg);
		return;
	}
	reply->op = SF_MSG_ACK;
}

static void late_reply(void *ctx, const struct sf_msg *req)
{
	daemon_register_late(ctx, req->container_id);
}

int daemon_check_exports(struct daemon *d, struct sf_error **err)
{
	/* the check's sinks send nothing: no spool of their own */
	struct sf_options check = *d->o;
	const struct sf_options *o = &check;
	const char *tmpl = o->topic ? o->topic : SINK_TOPIC_DEFAULT;
	cleanup_free char *t1 = NULL, *t2 = NULL, *id = NULL;
	struct sink *s;

	check.spool_max = 0;
	if (o->broker) {
		t1 = sink_topic_expand(o->topic_root ? o->topic_root
						     : SINK_TOPIC_ROOT_DEFAULT,
				       d->a->exporter, "w1", "c1", err);
		if (!t1)
			return sf_error_wrap(err, "--topic-root");
		free(t1);
		t1 = sink_topic_expand(tmpl, d->a->exporter, "w1", "c1", err);
		if (!t1)
			return sf_error_wrap(err, "-t/--topic-template");
		t2 = sink_topic_expand(tmpl, d->a->exporter, "w2", "c2", err);
		if (!t2)
			return sf_error_wrap(err, "-t/--topic-template");
		if (!strcmp(t1, t2))
			return sf_usage(
				err,
				"topic template `%s` has neither %%w nor %%c: every container would publish to one topic (try 'sfagent/%%h/%%w')",
				tmpl);
		/* the broker's answer now: credentials and TLS files that do
		 * not work are an error at start, not at each container */
		id = o->mqtt_client_id
			     ? xasprintf("%s-check", o->mqtt_client_id)
			     : xasprintf("sfagent-%.64s-%d-check",
					 d->a->exporter, (int)getpid());
		s = sink_mqtt_open(o, t1, id, err);
		if (!s)
			return -1;
		sink_close(s);
	}
	if (o->http_url) {
		/* URL and --http-cafile; the collector may come later */
		s = sink_http_open(o, o->http_url, err);
		if (!s)
			return -1;
		sink_close(s);
	}
	if (o->nats_url) {
		cleanup_free char *subject = sink_topic_expand_nats(
			o->nats_subject ? o->nats_subject : SINK_NATS_DEFAULT,
			d->a->exporter, "w1", "c1", err);

		/* servers, credentials, TLS and --nats-stream now */
		if (!subject)
			return sf_error_wrap(err, "--nats-subject");
		s = sink_nats_open(o, subject, d->a->exporter, true, err);
		if (!s)
			return -1;
		sink_close(s);
	}
	return 0;
}

static int open_output_dir(const char *dir, struct sf_error **err)
{
	cleanup_free char *p = xstrdup(dir);
	struct stat st = {0};
	int fd;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return sf_fail(err, errno,
				       "create output directory `%s`", p);
		*s = '/';
	}
	if (mkdir(p, 0750) < 0 && errno != EEXIST)
		return sf_fail(err, errno, "create output directory `%s`", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sf_fail(err, errno, "open output directory `%s`", dir);
	/* whoever else can write there can plant links and FIFOs, or rename
	 * a stream's file away under the agent */
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return sf_usage(
			err,
			"output directory `%s` is owned by uid %d with mode %03o: it must be root's and not writable by group or others (chown root: %s; chmod go-w %s)",
			dir, (int)st.st_uid, (unsigned)(st.st_mode & 07777),
			dir, dir);
	}
	return fd;
}

static pid_t self_walk_pid;
static char *self_walk_found;
static size_t self_walk_mnt_len;

static bool procs_hold(const char *dir, pid_t pid)
{
	cleanup_free char *path = xasprintf("%s/cgroup.procs", dir);
	cleanup_fclose FILE *f = fopen(path, "re");
	long p;

	while (f && fscanf(f, "%ld", &p) == 1)
		if (p == pid)
			return true;
	return false;
}

static int self_visit(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	if (type != FTW_D || !procs_hold(path, self_walk_pid))
		return 0;
	self_walk_found = xstrdup(
		path[self_walk_mnt_len] ? path + self_walk_mnt_len : "/");
	return 1;
}

/*
 * The agent's own cgroup as the mount shows it.  Inside a cgroup namespace
 * /proc/self/cgroup says "/" (or a path relative to the namespace) while
 * the mount may show the host's tree: then the cgroup whose cgroup.procs
 * lists the agent is searched for, so "holds the agent itself" still works.
 */
static int find_self_cgroup(struct daemon *d, struct sf_error **err)
{
	cleanup_free char *dir = NULL;

	if (cg2_path_of_pid(getpid(), &d->self_cgroup, err) < 0)
		return -1;
	dir = xasprintf("%s%s", d->cg_mnt,
			strcmp(d->self_cgroup, "/") ? d->self_cgroup : "");
	if (procs_hold(dir, getpid()))
		return 0;
	self_walk_pid = getpid();
	self_walk_found = NULL;
	self_walk_mnt_len = strlen(d->cg_mnt);
	nftw(d->cg_mnt, self_visit, 32, FTW_PHYS | FTW_MOUNT);
	if (!self_walk_found)
		return sf_fail(
			err, 0,
			"cannot find the agent's own cgroup below `%s` (it says `%s`): run it where the cgroup v2 mount shows its cgroup",
			d->cg_mnt, d->self_cgroup);
	log_info(
		"own cgroup `%s` (it reads as `%s` inside its cgroup namespace)",
		self_walk_found, d->self_cgroup);
	free(d->self_cgroup);
	d->self_cgroup = steal_pointer(&self_walk_found);
	return 0;
}

/* fd's epoll set wakes the agent's wait */
static int epoll_add(int epfd, int fd, struct sf_error **err)
{
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd,
		      &(struct epoll_event){.events = EPOLLIN, .data.fd = fd}) <
	    0)
		return sf_fail(err, errno, "epoll");
	return 0;
}

/* The watch socket (sfagent watch/status) and --metrics. */
static int open_readers(struct daemon *d, struct agent *a,
			struct sf_error **err)
{
	const struct sf_options *o = d->o;

	d->watch = watch_hub_open(d, o->watch_socket, o->access_file, err);
	if (!d->watch ||
	    epoll_add(a->epfd, watch_hub_epoll_fd(d->watch), err) < 0)
		return -1;
	if (!o->metrics)
		return 0;
	d->metrics = metrics_open(d, o->metrics, err);
	if (!d->metrics ||
	    epoll_add(a->epfd, metrics_epoll_fd(d->metrics), err) < 0)
		return -1;
	return 0;
}

int run_daemon(const struct sf_options *o, struct sf_error **err)
{
	cleanup_close int sigfd = -1;
	struct daemon d = {.o = o, .out_dirfd = -1};
	struct agent a;
	sigset_t oldmask;
	struct sink_leftover *leftover = NULL;
	uint64_t next_reap;
	int ret = -1;

	d.srv.listen_fd = d.srv.epfd = -1;
	if (getenv("SFAGENT_TEST_TRACK_DELAY_MS"))
		d.test_track_delay_ms = strtoul(
			getenv("SFAGENT_TEST_TRACK_DELAY_MS"), NULL, 10);
	/* root: checked by main (the mode table) */
	if (cg2_mount_point(&d.cg_mnt, err) < 0 ||
	    find_self_cgroup(&d, err) < 0)
		goto out_free;
	d.out_dirfd = open_output_dir(o->output_dir, err);
	if (d.out_dirfd < 0)
		goto out_free;
	if (o->select) {
		d.select = filter_parse_arg(o->select, "select", err);
		if (!d.select)
			goto out_free;
	}
	d.budget_dir.dirfd = d.out_dirfd;
	if (budget_dir_limit(&d.budget_dir, o, o->output_dir, err) < 0)
		goto out_free;
	if (agent_init(&a, o, err) < 0)
		goto out_free;
	d.a = &a;
	budget_dir_scan(&d.budget_dir, &a);
	sigfd = agent_signalfd(&oldmask, err);
	if (sigfd < 0)
		goto out;
	/* after the signals are blocked: the sinks' threads inherit that */
	if (daemon_check_exports(&d, err) < 0)
		goto out;
	if (server_open(&d.srv, o->socket_path, handle, &d, err) < 0)
		goto out;
	d.srv.late = late_reply;
	/* the server's own epoll fd wakes agent_wait() for clients */
	if (epoll_ctl(a.epfd, EPOLL_CTL_ADD, d.srv.epfd,
		      &(struct epoll_event){.events = EPOLLIN,
					    .data.fd = d.srv.epfd}) < 0) {
		sf_fail(err, errno, "epoll");
		goto out;
	}
	/* before recovery: resumed streams are watched too */
	if (open_readers(&d, &a, err) < 0)
		goto out;
	if (daemon_recover(&d, err) < 0)
		goto out;
	/* spools of streams that will not open again (sink_leftover.h), and
	 * from now on those of streams that end undelivered */
	leftover = sink_leftover_start(o, a.exporter);
	d.leftover = leftover;
	/* loaded, attached, recovered: from here on it only serves; OpenSSL
	 * has read its configuration (the hash worker does it) */
	exehash_ready(a.exehash);
	if (!o->no_sandbox && seccomp_self_sandbox(err) < 0)
		goto out;
	if (o->sandbox_selftest)
		seccomp_self_test();
	log_info("listening on `%s`, streams in `%s`", o->socket_path,
		 o->output_dir);
	next_reap = sf_monotonic_ns() + REAP_INTERVAL_NS;

	for (;;) {
		struct signalfd_siginfo si;

		if (agent_wait(&a, sigfd, 200, &si) < 0) {
			sf_fail(err, errno, "wait for events");
			goto out;
		}
		server_process(&d.srv);
		watch_hub_process(d.watch);
		metrics_process(d.metrics);
		daemon_close_poll(&d);
		budget_dir_tick(&d.budget_dir, &a);
		seccomp_self_report();
		if (sf_monotonic_ns() >= next_reap) {
			daemon_reap(&d);
			sink_leftover_poll(leftover);
			next_reap = sf_monotonic_ns() + REAP_INTERVAL_NS;
		}
		if (si.ssi_signo == SIGHUP) {
			/* logrotate moved files away: every stream's file */
			log_info("SIGHUP: reopening the files of %u streams",
				 a.wl.count);
			agent_reopen(&a);
			budget_dir_scan(&d.budget_dir, &a);
			watch_hub_reload(d.watch);
		}
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			log_info("signal %d: ending %u streams", si.ssi_signo,
				 a.wl.count);
			break;
		}
	}
	ret = 0;
out:
	if (d.srv.epfd >= 0)
		server_close(&d.srv);
	daemon_finish_all(&d);
	sink_leftover_stop(leftover);
	if (d.watch)
		watch_hub_process(d.watch); /* stream.end to watchers */
	watch_hub_close(d.watch);
	metrics_close(d.metrics);
	agent_fini(&a);
out_free:
	if (d.out_dirfd >= 0)
		close(d.out_dirfd);
	free(d.cg_mnt);
	free(d.self_cgroup);
	filter_free(d.select);
	return ret;
}
