// SPDX-License-Identifier: GPL-2.0
/*
 * Execute (-X) and process (-P) modes: run a program in a fresh cgroup that
 * is tracked before the program's first instruction, export everything it and
 * its descendants do, and exit with its status once the last of them is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/sched.h> /* struct clone_args, CLONE_INTO_CGROUP */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "seccomp_record.h"
#include "cgdir.h"
#include "cgroup.h"
#include "run.h"

#define TERM_GRACE_NS (5 * 1000000000ull)

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* PROGRAM as execvp would find it; errors name the problem. */
static char *resolve_program(const char *prog, struct sf_error **err)
{
	const char *path = getenv("PATH");
	cleanup_free char *dirs = NULL;
	char *save = NULL, *dir;

	if (strchr(prog, '/')) {
		if (is_executable(prog))
			return xstrdup(prog);
		sf_usage(
			err, "program `%s` %s", prog,
			access(prog, F_OK) == 0
				? "is not an executable file: make it executable (chmod +x) or run another"
				: "not found: check the path");
		return NULL;
	}
	dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		cleanup_free char *cand =
			xasprintf("%s/%s", *dir ? dir : ".", prog);

		if (is_executable(cand))
			return steal_pointer(&cand);
	}
	sf_usage(
		err,
		"program `%s` not found in PATH: install it, or give its path (./%s)",
		prog, prog);
	return NULL;
}

/*
 * fork(), the child born in the cgroup cgfd (clone3 CLONE_INTO_CGROUP,
 * Linux 5.7): a write to cgroup.procs takes cgroup_threadgroup_rwsem for
 * writing, which waits for an RCU grace period (15 ms of a 25 ms -X
 * /bin/true in strace), a fork into the cgroup takes it for reading.  The
 * child only calls async-signal-safe functions, as after fork().  -1 with
 * errno ENOSYS, EINVAL, E2BIG... on older kernels: fork and write.
 * SFAGENT_TEST_FORK=1 takes that way (tests).
 */
static pid_t fork_into(int cgfd)
{
	struct clone_args ca = {
		.flags = CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = (__u64)cgfd,
	};

	if (cgfd < 0 || getenv("SFAGENT_TEST_FORK")) {
		errno = ENOSYS;
		return -1;
	}
	return syscall(SYS_clone3, &ca, sizeof(ca));
}

/* Forks the program into the cgroup at cgpath.  *exec_errno: why it could
 * not be run (0 if it runs).  Returns the child's pid or -1. */
static pid_t spawn(const char *prog, char **argv, const sigset_t *oldmask,
		   const char *cgpath, int *exec_errno, struct sf_error **err)
{
	cleanup_close int cgfd =
		open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool entered = true;
	int pipefd[2];
	pid_t child;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return sf_fail(err, errno, "pipe");
	child = fork_into(cgfd);
	if (child < 0) {
		log_debug("fork into the cgroup: %s: fork, then join it",
			  strerror(errno));
		entered = false;
		child = fork();
	}
	if (child < 0) {
		sf_fail(err, errno, "fork");
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (child == 0) {
		int e = 0;

		close(pipefd[0]);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (!entered)
			e = -cgdir_enter_self(cgpath);
		if (!e) {
			execv(prog, argv);
			e = errno;
		}
		if (write(pipefd[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(e == ENOENT ? 127 : 126);
	}
	close(pipefd[1]);
	if (read(pipefd[0], exec_errno, sizeof(*exec_errno)) ==
	    sizeof(*exec_errno))
		log_error("cannot run `%s`: %s", prog, strerror(*exec_errno));
	close(pipefd[0]);
	return child;
}

struct supervised {
	pid_t child;
	int status; /* the child's wait status, once done */
	bool done;
};

/* Runs the consumer loop until the program and everything it started are
 * gone; SIGINT/SIGTERM stop it politely, then by force. */
static int supervise(struct agent *a, int sigfd, struct workload *wl,
		     struct cgdir *cg, struct supervised *c,
		     struct sf_error **err)
{
	bool term_sent = false;
	uint64_t term_deadline = 0;

	for (;;) {
		struct signalfd_siginfo si;

		if (agent_wait(a, sigfd, c->done ? 20 : 200, &si) < 0)
			return sf_fail(err, errno, "wait for events");
		if (si.ssi_signo == SIGCHLD) {
			pid_t w;
			int st;

			while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
				if (w == c->child) {
					c->status = st;
					c->done = true;
				}
			}
		} else if (si.ssi_signo == SIGHUP) {
			agent_reopen(a); /* logrotate */
		} else if ((si.ssi_signo == SIGINT &&
			    si.ssi_code != SI_KERNEL) ||
			   si.ssi_signo == SIGTERM) {
			/* A terminal's ^C reaches the program itself; a kill
			 * aimed at sfagent ends the workload, politely first. */
			if (!term_sent) {
				log_info("signal %d: stopping workload `%s`",
					 si.ssi_signo, wl->name);
				/* once reaped, the pid may belong to someone else */
				if (!c->done)
					kill(c->child, SIGTERM);
				else
					cgdir_terminate(cg);
				term_sent = true;
				term_deadline =
					sf_monotonic_ns() + TERM_GRACE_NS;
			} else {
				cgdir_kill(cg);
			}
		}
		if (term_sent && term_deadline &&
		    sf_monotonic_ns() > term_deadline) {
			cgdir_kill(cg);
			term_deadline = 0;
		}
		if (c->done && !cgdir_populated(cg))
			return 0;
	}
}

int run_execute(const struct sf_options *o, struct sf_error **err)
{
	char *shell_argv[] = {getenv("SHELL"), NULL};
	char **argv = o->mode == SF_MODE_PROCESS ? shell_argv : o->argv;
	cleanup_free char *prog = NULL, *mnt = NULL, *base = NULL,
			  *cgname = NULL;
	cleanup_close int sigfd = -1;
	struct cgdir cg = {.events_fd = -1};
	struct supervised c = {.child = -1};
	struct agent a;
	struct workload *wl;
	sigset_t oldmask;
	int exec_errno = 0, ret = -1;

	if (!shell_argv[0] || !*shell_argv[0])
		shell_argv[0] = "/bin/sh";
	prog = resolve_program(argv[0], err);
	if (!prog)
		return -1;
	/* root: checked by main (the mode table) */
	if (cg2_mount_point(&mnt, err) < 0)
		return -1;
	base = xstrdup(prog);
	if (agent_init(&a, o, err) < 0)
		return -1;
	wl = agent_workload_new(&a, o->workload ? o->workload : basename(base),
				err);
	if (!wl || agent_workload_sinks_from_options(&a, wl, err) < 0 ||
	    seccomp_record_from_options(o, &wl->seccomp, err) < 0)
		goto out;
	sigfd = agent_signalfd(&oldmask, err);
	if (sigfd < 0)
		goto out;
	/* orphaned descendants come back to us, so none escapes the count */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	cgname = xasprintf("x-%d", (int)getpid());
	if (cgdir_create(&cg, cgname, err) < 0)
		goto out;
	wl->cgid = cg.id;
	wl->cgroup_path = xstrdup(cg.path + strlen(mnt));
	if (stream_begin(&a, wl, 0, err) < 0)
		goto out;
	c.child = spawn(prog, argv, &oldmask, cg.path, &exec_errno, err);
	if (c.child < 0 || supervise(&a, sigfd, wl, &cg, &c, err) < 0)
		goto out;
	ret = exec_errno ? (exec_errno == ENOENT ? 127 : 126)
			 : sf_exit_status(c.status);
out:
	if (c.child > 0 && !c.done) {
		cgdir_kill(&cg);
		waitpid(c.child, NULL, 0);
	}
	if (wl && wl->cgid)
		stream_finish(&a, wl);
	if (cg.path)
		cgdir_remove(&cg);
	agent_fini(&a);
	return ret;
}
