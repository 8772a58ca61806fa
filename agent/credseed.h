/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The old ids of the setuid family for tasks already running when their
 * stream begins (a registration, a stream resumed after an agent restart):
 * the kernel side learns a task's ids at its fork and exec and at each of
 * its set*id exits (bpf/process.bpf.h task_ids); for the tasks that were
 * there before, the agent writes them, read from /proc.
 */
#ifndef SF_CREDSEED_H
#define SF_CREDSEED_H

#include "probe.h"

struct credseed_count {
	unsigned seeded; /* threads whose ids were written (or known already) */
	unsigned gone; /* threads that went away while being read */
	unsigned failed; /* any other failure (their set*id: old unknown) */
};

/*
 * Every thread of the cgroup at dir (a path under the cgroup v2 mount) and
 * of its descendants, SF_MAX_CGROUP_DEPTH levels at most.  Call it after
 * the cgroup is tracked: a task forked after that gets its entry at its
 * fork.  What it could not seed is counted, and such a task's set*id event
 * says its old ids were not known (SF_F_OLD_UNKNOWN); it never fails.
 */
void credseed_cgroup(struct probe *p, const char *dir,
		     struct credseed_count *c);

#endif
