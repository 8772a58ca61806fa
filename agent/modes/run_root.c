// SPDX-License-Identifier: GPL-2.0
/*
 * Root mode (-R): every task on the host but sfagent itself.  sfagent moves
 * into a cgroup of its own, excluded from the tracked root, so its own writes
 * never feed back into the stream.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "cgdir.h"
#include "cgroup.h"
#include "run.h"

int run_root(const struct sf_options *o, struct sf_error **err)
{
	cleanup_free char *mnt = NULL, *orig = NULL, *orig_dir = NULL,
			  *name = NULL;
	cleanup_close int sigfd = -1;
	struct cgdir self = {.events_fd = -1};
	struct workload *wl = NULL;
	struct agent a;
	sigset_t oldmask;
	uint64_t root_id, deadline;
	int ret = -1, r;
	bool moved = false;

	/* root: checked by main (the mode table) */
	if (cg2_mount_point(&mnt, err) < 0 || cg2_id(mnt, &root_id, err) < 0 ||
	    cg2_path_of_pid(getpid(), &orig, err) < 0)
		return -1;
	orig_dir = xasprintf("%s%s", mnt, orig);
	if (agent_init(&a, o, err) < 0)
		return -1;
	wl = agent_workload_new(&a, o->workload ? o->workload : "host", err);
	if (!wl || agent_workload_sinks_from_options(&a, wl, err) < 0)
		goto out;
	sigfd = agent_signalfd(&oldmask, err);
	if (sigfd < 0)
		goto out;
	name = xasprintf("agent-%d", (int)getpid());
	if (cgdir_create(&self, name, err) < 0)
		goto out;
	r = cgdir_enter_self(self.path);
	if (r < 0) {
		sf_fail(err, -r, "move sfagent into cgroup `%s`", self.path);
		goto out;
	}
	moved = true;
	if (probe_track(&a.probe, self.id, SF_SLOT_EXCLUDED, err) < 0)
		goto out;
	wl->cgid = root_id;
	wl->cgroup_path = xstrdup("/");
	if (stream_begin(&a, wl, 0, err) < 0)
		goto out;

	deadline = sf_monotonic_ns() + o->duration * 1000000000ull;
	for (;;) {
		struct signalfd_siginfo si;

		if (agent_wait(&a, sigfd, 100, &si) < 0) {
			sf_fail(err, errno, "wait for events");
			goto out;
		}
		if (si.ssi_signo == SIGHUP)
			agent_reopen(&a); /* logrotate */
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			log_info("signal %d: stopping", si.ssi_signo);
			break;
		}
		if (!o->follow && sf_monotonic_ns() >= deadline)
			break;
	}
	ret = 0;
out:
	if (wl && wl->cgid)
		stream_finish(&a, wl);
	if (self.id)
		probe_untrack(&a.probe, self.id);
	if (moved && (r = cgdir_enter_self(orig_dir)) < 0)
		log_warn("cannot move back to cgroup `%s`: %s", orig_dir,
			 strerror(-r));
	if (self.path)
		cgdir_remove(&self);
	agent_fini(&a);
	return ret;
}
