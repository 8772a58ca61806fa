// SPDX-License-Identifier: GPL-2.0
/*
 * Container mode (-w NAME): run an OCI bundle with runc, tracked from the
 * container's first instruction, without touching the bundle on disk.
 *
 *   runc create  the container's init waits on runc's exec fifo, in the
 *                cgroup runc made for it; it inherits sfagent's stdio
 *   track        read the init's pid, find its cgroup v2 directory, put
 *                the cgroup id in the BPF map (stream_begin)
 *   runc start   the init execs the bundle's process: already tracked
 *   wait         sfagent is a child subreaper, so once `runc create` has
 *                exited the init is re-parented to sfagent, which waitpid()s
 *                it for its exact exit status; then until the cgroup is empty
 *   finish       drain, stream.end, untrack, `runc delete`
 *
 * SIGINT/SIGTERM are forwarded with `runc kill`; a second one, or the
 * container still running 5 s later, kills every task of its cgroup.
 * SIGHUP reopens the output files, as in the other modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "agent.h"
#include "seccomp_record.h"
#include "bundle.h"
#include "cgdir.h"
#include "cgroup.h"
#include "run.h"

#define TERM_GRACE_NS	      (5 * 1000000000ull)
#define CONTAINER_ID_NAME_MAX 48

struct container {
	char *runc; /* runc binary */
	char *id; /* unique container id */
	char *tmpdir; /* holds runc's pid file */
	char *pidfile;
	pid_t init; /* the container's init, our child once runc exits */
	bool created; /* runc may know the container: delete it */
	bool create_failed;
	bool init_done; /* reaped */
	int init_status;
	struct cgdir cg; /* runc's cgroup, opened, not owned */
	const sigset_t *mask; /* for children */
};

static char *find_in_path(const char *prog)
{
	const char *path = getenv("PATH");
	cleanup_free char *dirs = xstrdup(
		path && *path
			? path
			: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	char *save = NULL, *dir;

	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		cleanup_free char *cand =
			xasprintf("%s/%s", *dir ? dir : ".", prog);
		struct stat st;

		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0)
			return steal_pointer(&cand);
	}
	return NULL;
}

/* sfagent-<name>-<pid>-<nonce>: runc wants [A-Za-z0-9_+.-] */
static char *container_id(const char *name)
{
	char clean[CONTAINER_ID_NAME_MAX + 1];
	size_t i;

	for (i = 0; name[i] && i < CONTAINER_ID_NAME_MAX; i++) {
		char c = name[i];

		clean[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					   (c >= '0' && c <= '9') || c == '_' ||
					   c == '+' || c == '.' || c == '-'
				   ? c
				   : '_';
	}
	clean[i] = 0;
	return xasprintf("sfagent-%s-%d-%04x", clean, (int)getpid(),
			 (unsigned)(sf_monotonic_ns() & 0xffff));
}

/*
 * Runs runc with args and waits for it.  Its stdio is sfagent's (runc create
 * hands it on to the container) unless quiet, which silences its stderr.
 * Returns the wait status, or -1.
 */
static int runc_call(struct container *c, bool quiet, const char *const *args)
{
	const char *argv[16] = {"runc"};
	int n = 1, st;
	pid_t pid;

	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, c->mask, NULL);
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

			if (fd >= 0)
				dup2(fd, STDERR_FILENO);
		}
		execv(c->runc, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

static char *status_str(int st)
{
	if (st < 0)
		return xstrdup("could not run it");
	if (WIFEXITED(st))
		return xasprintf("exit status %d", WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return xasprintf("killed by signal %d", WTERMSIG(st));
	return xasprintf("wait status %#x", st);
}

static pid_t parent_of(pid_t pid)
{
	cleanup_free char *path = xasprintf("/proc/%d/stat", (int)pid),
			  *text = NULL;
	char *p;
	int ppid;

	if (read_file(path, &text, NULL, 4096, NULL) < 0)
		return -1;
	/* pid (comm) state ppid ...: comm may hold anything, even ')' */
	p = strrchr(text, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

static int container_create(struct container *c, const struct bundle *b,
			    struct sf_error **err)
{
	const char *args[] = {"create",	  "--bundle", b->dir, "--pid-file",
			      c->pidfile, c->id,      NULL};
	cleanup_free char *text = NULL, *how = NULL;
	int st;
	char *end;
	long pid;

	st = runc_call(c, false, args);
	/* whatever runc got done, `runc delete --force` undoes */
	c->created = true;
	c->create_failed = st != 0;
	if (st != 0) {
		how = status_str(st);
		return sf_fail(
			err, 0,
			"runc create failed (%s); runc's message is above",
			how);
	}
	if (read_file(c->pidfile, &text, NULL, 64, err) < 0)
		return sf_error_wrap(err, "runc's pid file");
	pid = strtol(text, &end, 10);
	if (pid <= 1 || (*end && *end != '\n'))
		return sf_fail(err, 0, "runc's pid file holds `%s`, not a pid",
			       text);
	c->init = pid;
	if (parent_of(c->init) != getpid())
		/* runc did not leave the init to us: we can still see it end
		 * (its cgroup empties) but not how */
		log_warn(
			"container init %d is not sfagent's child: its exit status will not be known",
			(int)c->init);
	return 0;
}

/* The init's cgroup v2 directory, which must be its own: never the root
 * (that would track the whole host) nor sfagent's. */
static int container_cgroup(struct container *c, const char *mnt, char **cgpath,
			    struct sf_error **err)
{
	cleanup_free char *self = NULL, *ev = NULL;

	if (cg2_path_of_pid(c->init, cgpath, err) < 0 ||
	    cg2_path_of_pid(getpid(), &self, err) < 0)
		return -1;
	if (strcmp(*cgpath, "/") == 0 || strcmp(*cgpath, self) == 0)
		return sf_fail(
			err, 0,
			"runc left the container in cgroup v2 `%s`, not in one of its own: it cannot be tracked alone",
			*cgpath);
	c->cg.path = xasprintf("%s%s", mnt, *cgpath);
	if (cg2_id(c->cg.path, &c->cg.id, err) < 0)
		return -1;
	ev = xasprintf("%s/cgroup.events", c->cg.path);
	c->cg.events_fd = open(ev, O_RDONLY | O_CLOEXEC);
	if (c->cg.events_fd < 0)
		return sf_fail(err, errno, "open `%s`", ev);
	return 0;
}

static void reap(struct container *c)
{
	pid_t w;
	int st;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
		if (w == c->init) {
			c->init_status = st;
			c->init_done = true;
		}
	}
}

static void container_signal(struct container *c, int sig)
{
	const char *args[] = {"kill", c->id, sigabbrev_np(sig), NULL};
	int st = runc_call(c, true, args);

	if (st != 0)
		log_debug("runc kill %s %s: %s", c->id, sigabbrev_np(sig),
			  st < 0 ? "could not run it" : "failed");
}

/* Runs until the init is reaped and the cgroup is empty. */
static int container_wait(struct agent *a, struct container *c, int sigfd,
			  const char *name, struct sf_error **err)
{
	uint64_t deadline = 0;
	bool orphan = parent_of(c->init) != getpid();
	int signals = 0;

	for (;;) {
		struct signalfd_siginfo si;
		bool populated;

		if (agent_wait(a, sigfd, c->init_done ? 20 : 200, &si) < 0)
			return sf_fail(err, errno, "wait for events");
		if (si.ssi_signo == SIGCHLD) {
			reap(c);
		} else if (si.ssi_signo == SIGHUP) {
			agent_reopen(a); /* logrotate, as in every mode */
		} else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			if (signals++ == 0) {
				log_info("signal %d: stopping container `%s`",
					 si.ssi_signo, name);
				container_signal(c, si.ssi_signo);
				deadline = sf_monotonic_ns() + TERM_GRACE_NS;
			} else {
				cgdir_kill(&c->cg);
			}
		}
		if (deadline && sf_monotonic_ns() > deadline) {
			log_info(
				"container `%s` still running %llu s after the signal: killing it",
				name, TERM_GRACE_NS / 1000000000ull);
			cgdir_kill(&c->cg);
			deadline = 0;
		}
		populated = cgdir_populated(&c->cg);
		if (!populated && !c->init_done)
			reap(c); /* the exit and its SIGCHLD may cross */
		if (!populated && (c->init_done || orphan))
			return 0;
	}
}

static void container_cleanup(struct container *c)
{
	if (c->created) {
		const char *force[] = {"delete", "--force", c->id, NULL};
		const char *plain[] = {"delete", c->id, NULL};
		int st = runc_call(c, c->create_failed,
				   c->init_done ? plain : force);

		if (st != 0 && !c->create_failed)
			log_warn(
				"runc delete %s failed: the container may be left over (see `runc list`)",
				c->id);
		if (c->init > 0 && !c->init_done &&
		    waitpid(c->init, &c->init_status, 0) == c->init)
			c->init_done = true;
	}
	if (c->cg.events_fd >= 0)
		close(c->cg.events_fd);
	free(c->cg.path);
	if (c->pidfile)
		unlink(c->pidfile);
	if (c->tmpdir)
		rmdir(c->tmpdir);
	free(c->pidfile);
	free(c->tmpdir);
	free(c->id);
	free(c->runc);
}

int run_container(const struct sf_options *o, struct sf_error **err)
{
	cleanup_free char *bdir = NULL, *name = NULL, *mnt = NULL,
			  *cgpath = NULL;
	cleanup_close int sigfd = -1;
	struct container c = {.cg.events_fd = -1};
	struct bundle b = {0};
	struct workload *wl = NULL;
	const char *tmp = getenv("TMPDIR");
	struct agent a;
	sigset_t oldmask;
	int ret = -1;
	bool out_new;

	if (bundle_resolve(o->bundle_dir, o->workload, &bdir, &name, err) < 0)
		return -1;
	if (bundle_load(&b, bdir, name, err) < 0) {
		sf_error_wrap(err, "bundle `%s`", bdir);
		bundle_free(&b);
		return -1;
	}
	c.runc = find_in_path("runc");
	if (!c.runc) {
		bundle_free(&b);
		return sf_fail(
			err, 0,
			"runc not found in PATH: install it (apt-get install runc)");
	}
	/* root: checked by main (the mode table) */
	if (cg2_mount_point(&mnt, err) < 0) {
		free(c.runc);
		bundle_free(&b);
		return -1;
	}
	if (agent_init(&a, o, err) < 0) {
		free(c.runc);
		bundle_free(&b);
		return -1;
	}
	/* an output file made for a stream that never began is removed */
	out_new = o->output && strcmp(o->output, "-") != 0 &&
		  access(o->output, F_OK) < 0;
	wl = agent_workload_new(&a, name, err);
	if (!wl || agent_workload_sinks_from_options(&a, wl, err) < 0 ||
	    seccomp_record_from_options(o, &wl->seccomp, err) < 0)
		goto out;
	sigfd = agent_signalfd(&oldmask, err);
	if (sigfd < 0)
		goto out;
	c.mask = &oldmask;
	/* the container's init comes back to us when `runc create` exits */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		sf_fail(err, errno, "become a child subreaper");
		goto out;
	}
	c.tmpdir = xasprintf("%s/sfagent-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(c.tmpdir)) {
		sf_fail(err, errno,
			"create a directory for runc's pid file in `%s`",
			tmp && *tmp ? tmp : "/tmp");
		free(steal_pointer(&c.tmpdir));
		goto out;
	}
	c.pidfile = xasprintf("%s/pid", c.tmpdir);
	c.id = container_id(name);

	if (container_create(&c, &b, err) < 0 ||
	    container_cgroup(&c, mnt, &cgpath, err) < 0)
		goto out;
	wl->cgid = c.cg.id;
	wl->cgroup_path = xstrdup(cgpath);
	wl->container_id = xstrdup(c.id);
	wl->meta_json = steal_pointer(&b.meta_json);
	if (stream_begin(&a, wl, 0, err) < 0)
		goto out;
	{
		const char *args[] = {"start", c.id, NULL};
		int st = runc_call(&c, false, args);

		if (st != 0) {
			cleanup_free char *how = status_str(st);

			sf_fail(err, 0,
				"runc start failed (%s); runc's message is above",
				how);
			goto out;
		}
	}
	if (container_wait(&a, &c, sigfd, name, err) < 0)
		goto out;
	if (c.init_done) {
		ret = sf_exit_status(c.init_status);
	} else {
		log_warn("the exit status of container `%s` is unknown", name);
		ret = SF_EXIT_ENV;
	}
out:
	/* a container still running is killed first: its last events (the
	 * exits) still belong to the stream */
	container_cleanup(&c);
	if (wl && wl->cgid)
		stream_finish(&a, wl);
	else if (out_new && ret < 0)
		unlink(o->output);
	agent_fini(&a);
	bundle_free(&b);
	return ret;
}
